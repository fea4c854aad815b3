package rules

import "strings"

// entitySpec is what Sentinel accepts for one entity type in entityMappings:
// the identifiers it may carry and the sets of which at least one must be
// fully mapped. The identifiers follow Sentinel's entity reference
// ("Microsoft Sentinel entity types reference", entities-reference.md)
// and the required sets follow the Azure-Sentinel repository's template
// validation (EntityMappingIdentifiers).
type entitySpec struct {
	identifiers []string
	required    [][]string
	core        bool // turned into alert entities by aiwatch; others are kept with a warning
}

var entityTypes = map[string]entitySpec{
	"Account": {core: true,
		identifiers: []string{"Name", "FullName", "NTDomain", "DnsDomain", "UPNSuffix", "Sid", "AadTenantId", "AadUserId", "PUID", "IsDomainJoined", "DisplayName", "ObjectGuid"},
		required:    [][]string{{"FullName"}, {"Sid"}, {"Name"}, {"AadUserId"}, {"PUID"}, {"ObjectGuid"}}},
	"Host": {core: true,
		identifiers: []string{"DnsDomain", "NTDomain", "HostName", "FullName", "NetBiosName", "AzureID", "OMSAgentID", "OSFamily", "OSVersion", "IsDomainJoined"},
		required:    [][]string{{"FullName"}, {"HostName"}, {"NetBiosName"}, {"AzureID"}, {"OMSAgentID"}}},
	"IP":               {core: true, identifiers: []string{"Address", "AddressScope"}, required: [][]string{{"Address"}}},
	"URL":              {core: true, identifiers: []string{"Url"}, required: [][]string{{"Url"}}},
	"CloudApplication": {core: true, identifiers: []string{"AppId", "Name", "InstanceName"}, required: [][]string{{"AppId"}, {"Name"}}},
	"File":             {core: true, identifiers: []string{"Directory", "Name"}, required: [][]string{{"Name"}}},
	"Mailbox": {core: true,
		identifiers: []string{"MailboxPrimaryAddress", "DisplayName", "Upn", "ExternalDirectoryObjectId", "RiskLevel"},
		required:    [][]string{{"MailboxPrimaryAddress"}}},
	"AzureResource": {identifiers: []string{"ResourceId"}, required: [][]string{{"ResourceId"}}},
	"DNS":           {identifiers: []string{"DomainName"}, required: [][]string{{"DomainName"}}},
	"FileHash":      {identifiers: []string{"Algorithm", "Value"}, required: [][]string{{"Algorithm", "Value"}}},
	"Malware":       {identifiers: []string{"Name", "Category"}, required: [][]string{{"Name"}}},
	"Process":       {identifiers: []string{"ProcessId", "CommandLine", "ElevationToken", "CreationTimeUtc"}, required: [][]string{{"CommandLine"}, {"ProcessId"}}},
	"RegistryKey":   {identifiers: []string{"Hive", "Key"}, required: [][]string{{"Key"}, {"Hive"}}},
	"RegistryValue": {identifiers: []string{"Name", "Value", "ValueType"}, required: [][]string{{"Name"}}},
	"SecurityGroup": {identifiers: []string{"DistinguishedName", "SID", "ObjectGuid"}, required: [][]string{{"DistinguishedName"}, {"SID"}, {"ObjectGuid"}}},
	"IoTDevice": {identifiers: []string{"DeviceId", "DeviceName", "Manufacturer", "Model", "FirmwareVersion", "OperatingSystem", "MacAddress", "Protocols", "SerialNumber", "Source", "IoTSecurityAgentId", "DeviceType"},
		required: [][]string{{"DeviceId"}}},
	"MailCluster": {identifiers: []string{"NetworkMessageIds", "CountByDeliveryStatus", "CountByThreatType", "CountByProtectionStatus", "Threats", "Query", "QueryTime", "MailCount", "IsVolumeAnomaly", "Source", "ClusterSourceIdentifier", "ClusterSourceType", "ClusterQueryStartTime", "ClusterQueryEndTime", "ClusterGroup"},
		required: [][]string{{"Query"}, {"Source"}}},
	"MailMessage": {identifiers: []string{"Recipient", "Urls", "Threats", "Sender", "P1Sender", "P1SenderDisplayName", "P1SenderDomain", "SenderIP", "P2Sender", "P2SenderDisplayName", "P2SenderDomain", "ReceivedDate", "NetworkMessageId", "InternetMessageId", "Subject", "BodyFingerprintBin1", "BodyFingerprintBin2", "BodyFingerprintBin3", "BodyFingerprintBin4", "BodyFingerprintBin5", "AntispamDirection", "DeliveryAction", "DeliveryLocation", "Language", "ThreatDetectionMethods"},
		required: [][]string{{"NetworkMessageId"}, {"Recipient"}}},
	"SubmissionMail": {identifiers: []string{"NetworkMessageId", "Timestamp", "Recipient", "Sender", "SenderIp", "Subject", "ReportType", "SubmissionId", "SubmissionDate", "Submitter"},
		required: [][]string{{"SubmissionId"}, {"NetworkMessageId"}, {"Recipient"}, {"Submitter"}}},
}

// tactics are the values of Sentinel's AttackTactic enumeration: the
// ATT&CK Enterprise tactics without spaces, Sentinel's PreAttack, and the
// two ATT&CK for ICS tactics it added.
var tactics = []string{
	"Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence",
	"PrivilegeEscalation", "DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement",
	"Collection", "Exfiltration", "CommandAndControl", "Impact", "PreAttack",
	"ImpairProcessControl", "InhibitResponseFunction",
}

// dynamicProperties are the alert properties alertDynamicProperties may set
// (Sentinel's AlertProperty enumeration).
var dynamicProperties = []string{
	"AlertLink", "ConfidenceLevel", "ConfidenceScore", "ExtendedLinks", "ProductName",
	"ProviderName", "ProductComponentName", "RemediationSteps", "Techniques", "SubTechniques",
}

// canonical finds s in names ignoring case (and spaces, which people type in
// "Initial Access"), returning the spelling Sentinel uses.
func canonical(s string, names []string) (string, bool) {
	k := strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	for _, n := range names {
		if strings.EqualFold(k, n) {
			return n, true
		}
	}
	return "", false
}

// entityTypeNames lists the known entity types, core ones first.
func entityTypeNames() []string {
	core := []string{"Account", "Host", "IP", "URL", "CloudApplication", "File", "Mailbox"}
	rest := []string{"AzureResource", "DNS", "FileHash", "Malware", "Process", "RegistryKey", "RegistryValue", "SecurityGroup", "IoTDevice", "MailCluster", "MailMessage", "SubmissionMail"}
	return append(core, rest...)
}

// IsCoreEntityType reports whether aiwatch builds alert entities of this type
// (the types Copilot records can fill).
func IsCoreEntityType(t string) bool { return entityTypes[t].core }
