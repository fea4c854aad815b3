package kql

import "testing"

// Queries run on copilot-interactions.jsonl (17 records). Every expectation
// is worked out by hand from the fixture file and testdata/fixtures/README.md,
// never from the compiler's output. Rows are "|"-joined; "sorted" compares
// rows as a set where the query has no order.
var interactionQueries = []queryCase{
	// README: records with any jailbreak message 2 (lines 7, 8).
	{"jailbreak any message (workbook mv-expand)", `CopilotActivity
| where RecordType == "CopilotInteraction"
| mv-expand Message = LLMEventData.Messages
| where tobool(Message.JailbreakDetected)
| distinct RecordId
| count`, "2", false},
	// README: found by Messages[0] only 1 (line 7, user6).
	{"jailbreak rule (Microsoft, parse_json)", `CopilotActivity
| where RecordType == "CopilotInteraction"
| where LLMEventData has "JailbreakDetected"
| extend JailbreakDetected = tostring(parse_json(LLMEventData).Messages[0].JailbreakDetected)
| where JailbreakDetected == "true"
| project TimeGenerated, ActorName, RecordId`, "2026-03-02T13:22:10Z|user6@contoso.example|4e814558-4e74-4a98-9267-9fad350f5e18", false},
	{"jailbreak rule (Microsoft, extractjson)", `CopilotActivity
| where RecordType == "CopilotInteraction"
| where extractjson("$.Messages[0].JailbreakDetected", tostring(LLMEventData)) == "true"
| count`, "1", false},
	{"jailbreak: dynamic compared with bool", `CopilotActivity | where LLMEventData.Messages[0].JailbreakDetected == true | count`, "1", false},
	{"jailbreak: tobool(...) == true", `CopilotActivity | mv-expand m = LLMEventData.Messages | where tobool(m.JailbreakDetected) == true | count`, "2", false},
	// README: distinct ActorName 7.
	{"dcount actors", `CopilotActivity | summarize dcount(ActorName)`, "7", false},
	// README: XPIA resources 1 (line 6); SensitivityLabelId on 6 resources.
	{"xpia", `CopilotActivity | mv-expand R = LLMEventData.AccessedResources | where tobool(R.XPIADetected) | project RecordId`, "87528f19-336f-4b48-ac86-23fd68943158", false},
	{"labelled resources", `CopilotActivity | mv-expand R = LLMEventData.AccessedResources | where isnotempty(tostring(R.SensitivityLabelId)) | count`, "6", false},
	// Rule "File uploads disabled": line 15.
	{"file uploads disabled", `CopilotActivity
| where RecordType == "DisableCopilotPlugin"
| extend Resource = parse_json(LLMEventData).Resource[0]
| where tostring(Resource.Property) == "FileUploads" and tostring(Resource.OriginalValue) == "Enabled" and tostring(Resource.NewValue) == "Disabled"
| project TimeGenerated, AccountName = ActorName, IPAddress = SrcIpAddr`, "2026-03-03T15:04:02Z|user7@contoso.example|192.0.2.50", false},
	// Rule "Plugin created by a non-admin": line 13.
	{"plugin created by non-admin", `CopilotActivity
| where RecordType == "CreateCopilotPlugin" and ActorUserType != "Admin"
| extend PluginName = tostring(LLMEventData.Resource[0].Property)
| project ActorName, ActorUserType, PluginName, SrcIpAddr`, "user4@contoso.example|Regular|Contoso Threat Feed|203.0.113.41", false},
	// Rule "Plugin tampering": lines 14 and 15, 2 min 52 s apart.
	{"plugin tampering", `let window = 5m;
CopilotActivity
| where RecordType in ("EnableCopilotPlugin", "DisableCopilotPlugin")
| summarize Operations = make_set(RecordType), StartTime = min(TimeGenerated), EndTime = max(TimeGenerated) by ActorName, SrcIpAddr
| where Operations has "EnableCopilotPlugin" and Operations has "DisableCopilotPlugin"
| where EndTime - StartTime <= window
| extend AccountName = tostring(split(ActorName, "@")[0]), UPNSuffix = tostring(split(ActorName, "@")[1])
| project ActorName, SrcIpAddr, StartTime, EndTime, AccountName, UPNSuffix, Operations`,
		`user7@contoso.example|192.0.2.50|2026-03-03T15:01:10Z|2026-03-03T15:04:02Z|user7|contoso.example|["DisableCopilotPlugin","EnableCopilotPlugin"]`, false},
	{"plugin tampering, 2m window misses it", `CopilotActivity
| where RecordType in ("EnableCopilotPlugin", "DisableCopilotPlugin")
| summarize StartTime = min(TimeGenerated), EndTime = max(TimeGenerated) by ActorName, SrcIpAddr
| where EndTime - StartTime <= 2m | count`, "0", false},
	// Hunting "access from an external IP": every non-empty SrcIpAddr here is a documentation range.
	{"external ip", `CopilotActivity
| where isnotempty(SrcIpAddr) and SrcIpAddr !startswith "10." and SrcIpAddr !startswith "172." and SrcIpAddr !startswith "192.168"
| summarize count()`, "16", false},
	{"external ip distinct", `CopilotActivity | where isnotempty(SrcIpAddr) | distinct SrcIpAddr | count`, "8", false},
	// Hunting "plugin enabled after being disabled": line 14.
	{"plugin re-enabled", `CopilotActivity
| where RecordType == "EnableCopilotPlugin"
| where extractjson("$.Resource[0].OriginalValue", tostring(LLMEventData)) == "Disabled"
    and extractjson("$.Resource[0].NewValue", tostring(LLMEventData)) == "Enabled"
| project ActorName, Workspace = tostring(LLMEventData.Workspace.Name)`, "user7@contoso.example|Contoso SOC", false},
	// Workbook "top users": countif per actor. RecordType has "Plugin" is
	// false for "EnableCopilotPlugin" (one term), so the panel must use contains.
	{"top users", `CopilotActivity
| summarize Interactions = countif(RecordType == "CopilotInteraction"), PluginActions = countif(RecordType contains "plugin") by ActorName, ActorUserType
| sort by Interactions desc, ActorName asc`, `user1@contoso.example|Regular|2|0
user2@contoso.example|Regular|2|0
user3@contoso.example|Regular|2|0
user4@contoso.example|Regular|2|1
user5@contoso.example|Regular|1|0
user6@contoso.example|Regular|1|0
user7@contoso.example|Admin|0|2`, false},
	{"has is whole-term", `CopilotActivity | where RecordType has "Plugin" | count`, "0", false},
	{"has whole term", `CopilotActivity | where RecordType has "enablecopilotplugin" | count`, "1", false},
	{"contains is substring, case-insensitive", `CopilotActivity | where RecordType contains "plugin" | count`, "3", false},
	{"contains_cs", `CopilotActivity | where RecordType contains_cs "plugin" | count`, "0", false},
	// Line 9: AgentId CopilotStudio.Declarative.T_bb1318e6-…: "_" separates terms.
	{"has after underscore", `CopilotActivity | where AgentId has "bb1318e6" | count`, "1", false},
	{"has single-letter term before underscore", `CopilotActivity | where AgentId has "T" | count`, "1", false},
	{"has not a prefix of a term", `CopilotActivity | where AgentId has "Declar" | count`, "0", false},
	{"has_cs", `CopilotActivity | where AppIdentity has_cs "TRAVELHELPER" | count`, "0", false},
	{"has case-insensitive", `CopilotActivity | where AppIdentity has "TRAVELHELPER" | count`, "1", false},
	{"!has", `CopilotActivity | where AppHost !has "teams" | count`, "13", false},
	{"has_any", `CopilotActivity | where AppHost has_any ("word", "excel") | count`, "3", false},
	{"== is case-sensitive", `CopilotActivity | where AppHost == "BizChat" | count`, "0", false},
	{"=~", `CopilotActivity | where AppHost =~ "BizChat" | count`, "1", false},
	{"!~", `CopilotActivity | where AppHost !~ "teams" | count`, "13", false},
	{"in", `CopilotActivity | where AppHost in ("Word", "Excel") | count`, "3", false},
	{"!in counts empty strings", `CopilotActivity | where AppHost !in ("Word", "Excel") | count`, "14", false},
	{"in~", `CopilotActivity | where AppHost in~ ("BIZCHAT", "word") | count`, "3", false},
	{"in with a dynamic let", `let hosts = dynamic(["Word", "Excel"]); CopilotActivity | where AppHost in (hosts) | count`, "3", false},
	{"startswith / endswith", `CopilotActivity | where ActorName startswith "USER7" and ActorName endswith ".EXAMPLE" | count`, "3", false},
	// 26 messages on lines 1-11; lines 12-17 have none, one row each with null.
	{"mv-expand missing gives a null row", `CopilotActivity | mv-expand M = LLMEventData.Messages | count`, "32", false},
	{"mv-expand nulls", `CopilotActivity | mv-expand M = LLMEventData.Messages | where isnull(M) | count`, "6", false},
	{"mv-expand to typeof", `CopilotActivity | where RecordType == "EnableCopilotPlugin" | extend ids = pack_array(1, 2, 3) | mv-expand ids to typeof(long) | summarize sum(ids)`, "6", false},
	{"mv-expand of a scalar gives one row", `CopilotActivity | where RecordType == "EnableCopilotPlugin" | mv-expand p = LLMEventData.Resource[0].Property | project tostring(p)`, "Contoso Threat Feed", false},
	{"sort asc", `CopilotActivity | project ActorName, TimeGenerated | sort by TimeGenerated asc | take 3`, `user1@contoso.example|2026-03-02T08:03:11Z
user2@contoso.example|2026-03-02T08:17:45Z
user3@contoso.example|2026-03-02T09:02:09Z`, false},
	{"top defaults to desc", `CopilotActivity | top 2 by TimeGenerated | project ActorName, TimeGenerated`, `user2@contoso.example|2026-03-04T09:45:30Z
user7@contoso.example|2026-03-03T16:20:45Z`, false},
	{"order survives project", `CopilotActivity | sort by TimeGenerated | project RecordType | take 2`, "CreateCopilotPromptBook\nUpdateCopilotSettings", false},
	// Nulls are the smallest value: first ascending, last descending.
	{"nulls first ascending", `CopilotActivity | mv-expand M = LLMEventData.Messages | extend j = tobool(M.JailbreakDetected) | sort by j asc | take 1 | project j`, "null", false},
	{"nulls last descending", `CopilotActivity | mv-expand M = LLMEventData.Messages | extend j = tobool(M.JailbreakDetected) | sort by j desc | take 3 | project j`, "true\ntrue\nfalse", false},
	{"bin 1d", `CopilotActivity | summarize count() by bin(TimeGenerated, 1d) | sort by TimeGenerated asc`, `2026-03-02T00:00:00Z|8
2026-03-03T00:00:00Z|8
2026-03-04T00:00:00Z|1`, false},
	{"bin 1h", `CopilotActivity | where TimeGenerated < datetime(2026-03-03) | summarize n = count() by Hour = bin(TimeGenerated, 1h) | sort by Hour asc`, `2026-03-02T08:00:00Z|2
2026-03-02T09:00:00Z|2
2026-03-02T10:00:00Z|1
2026-03-02T11:00:00Z|1
2026-03-02T13:00:00Z|1
2026-03-02T14:00:00Z|1`, false},
	// 1970-01-01 is a Thursday; the 7-day bin holding 2026-03-02 starts Thursday 2026-02-26.
	{"bin 7d aligned to the epoch", `CopilotActivity | summarize count() by bin(TimeGenerated, 7d)`, "2026-02-26T00:00:00Z|17", false},
	{"startofday", `CopilotActivity | summarize count() by Day = startofday(TimeGenerated) | sort by Day desc | take 1`, "2026-03-04T00:00:00Z|1", false},
	{"integer division truncates", `CopilotActivity | take 1 | project a = -7 / 2, b = 7 / 2, c = 7.0 / 2, d = 7 % 3`, "-3|3|3.5|1", false},
	{"tostring of missing is empty", `CopilotActivity | extend s = tostring(LLMEventData.NoSuchKey) | where s == "" and isnull(LLMEventData.NoSuchKey) | count`, "17", false},
	{"strings are never null", `CopilotActivity | where isnull(AIModelName) | count`, "0", false},
	// AIModelName comes from ModelTransparencyDetails: set on lines 2, 4, 5, 9, 10 only.
	{"isempty string", `CopilotActivity | where isempty(AIModelName) | count`, "12", false},
	{"parse_json of invalid text returns the text", `CopilotActivity | take 1 | project t = tostring(parse_json("not json")), n = toint(parse_json("{\"a\": 12}").a)`, "not json|12", false},
	{"summarize with no rows yields one row", `CopilotActivity | where ActorName == "nobody" | summarize count(), dcount(RecordId), make_set(RecordId)`, "0|0|[]", false},
	{"string aggregates over no rows are empty", `CopilotActivity | where ActorName == "nobody" | summarize max(ActorName), take_any(AppHost), min(TimeGenerated) | project m = strlen(max_ActorName), a = strlen(any_AppHost), isnull(min_TimeGenerated)`, "0|0|true", false},
	{"summarize by with no rows yields none", `CopilotActivity | where ActorName == "nobody" | summarize count() by ActorName | count`, "0", false},
	// testNow is 2026-03-10; 7 days back is 2026-03-03 00:00, so lines 9-17.
	{"ago", `CopilotActivity | where TimeGenerated > ago(7d) | count`, "9", false},
	{"now minus", `CopilotActivity | where TimeGenerated > now() - 7d | count`, "9", false},
	{"between datetimes", `CopilotActivity | where TimeGenerated between (datetime(2026-03-02) .. datetime(2026-03-02 23:59:59)) | count`, "8", false},
	{"between datetime and timespan", `CopilotActivity | where TimeGenerated between (datetime(2026-03-04) .. 1d) | count`, "1", false},
	{"!between", `CopilotActivity | where RecordTypeNumber !between (300 .. 399) | count`, "10", false},
	{"arg_max keeps names", `CopilotActivity | summarize arg_max(TimeGenerated, RecordType, SrcIpAddr) by ActorName | sort by ActorName asc`, `user1@contoso.example|2026-03-02T09:15:22Z|CopilotInteraction|2001:db8:4:17::b148
user2@contoso.example|2026-03-04T09:45:30Z|CreateCopilotPromptBook|2001:db8:10::25
user3@contoso.example|2026-03-03T08:30:00Z|CopilotInteraction|198.51.100.61
user4@contoso.example|2026-03-03T11:14:00Z|CreateCopilotPlugin|203.0.113.41
user5@contoso.example|2026-03-03T10:00:05Z|TeamCopilotInteraction|203.0.113.77
user6@contoso.example|2026-03-03T07:00:02Z|Microsoft365CopilotScheduledPrompt|
user7@contoso.example|2026-03-03T16:20:45Z|UpdateCopilotSettings|192.0.2.50`, false},
	{"arg_min with star", `CopilotActivity | summarize arg_min(TimeGenerated, *) by ActorName | where ActorName == "user7@contoso.example" | project ActorName, TimeGenerated, RecordType, ActorUserType`, "user7@contoso.example|2026-03-03T15:01:10Z|EnableCopilotPlugin|Admin", false},
	{"sum min max avg", `CopilotActivity | summarize sum(RecordTypeNumber), min(RecordTypeNumber), max(RecordTypeNumber), a = toint(avg(RecordTypeNumber))`, "4889|261|363|287", false},
	{"make_set ignores nulls", `CopilotActivity | mv-expand M = LLMEventData.Messages | summarize s = make_set(M.JailbreakDetected)`, `[false,true]`, false},
	{"make_set keeps empty strings", `CopilotActivity | summarize make_set(ClientRegion)`, `["","IN","US","WEU"]`, false},
	{"make_list", `CopilotActivity | where ActorName == "user7@contoso.example" | summarize l = make_list(RecordTypeNumber) | project array_length(l)`, "3", false},
	{"distinct two columns", `CopilotActivity | distinct ActorName, ActorUserType | count`, "7", false},
	{"scalar functions", `CopilotActivity
| where RecordId == "4e814558-4e74-4a98-9267-9fad350f5e18"
| project a = array_length(LLMEventData.Messages), b = strlen(ActorName), c = toupper(AppHost), d = substring(ActorName, 0, 5),
    e = extract("user([0-9]+)@", 1, ActorName), f = iff(AppHost == "Teams", "t", "o"), g = case(strlen(ActorName) > 100, "big", strlen(ActorName) > 10, "mid", "small"),
    h = strcat(ActorName, "/", AppHost), i = tostring(split(ActorName, "@")[1]), j = pack_array(1, "x"), k = tostring(LLMEventData.Messages[-1].isPrompt),
    l = coalesce("", AppHost), m = tolower("ÄB"), n = LLMEventData["Messages"][0]["JailbreakDetected"]`,
		`2|21|TEAMS|user6|6|t|mid|user6@contoso.example/Teams|contoso.example|[1,"x"]|false|Teams|äb|true`, false},
	{"bag_keys", `CopilotActivity | where RecordType == "EnableCopilotPlugin" | project k = array_length(bag_keys(LLMEventData.Resource[0]))`, "3", false},
	{"project-away, rename, reorder", `CopilotActivity | where RecordType == "EnableCopilotPlugin" | project ActorName, SrcIpAddr, AppHost | project-away AppHost | project-rename IP = SrcIpAddr | project-reorder IP`, "192.0.2.50|user7@contoso.example", false},
	{"extend replaces in place", `CopilotActivity | where RecordType == "EnableCopilotPlugin" | project A = 1, B = 2 | extend A = 3, Column1 = 4, strlen("ab")`, "3|2|4|2", false},
	{"let tabular and scalar", `let window = 7d;
let Interactions = CopilotActivity | where RecordType == "CopilotInteraction";
Interactions | where TimeGenerated > ago(window) | count`, "2", false},
	{"union", `union CopilotActivity, CopilotActivity | count`, "34", false},
	{"union of a sub-pipeline", `CopilotActivity | where RecordTypeNumber == 313 | project A = 1 | union (CopilotActivity | where RecordTypeNumber == 314 | project B = "b") | project A, B | sort by A asc`, "null|b\n1|", false},
	{"escapes in string literals", "print x = \"it's \\\"q\\\" \\\\ ; --\" | where x == @'it''s \"q\" \\ ; --' | project strlen(x)", "15", false},
	{"union operator", `CopilotActivity | where RecordTypeNumber == 313 | union CopilotActivity | count`, "18", false},
	{"take", `CopilotActivity | take 5 | count`, "5", false},
	{"limit", `CopilotActivity | limit 0 | count`, "0", false},
	{"filter alias and comments", `CopilotActivity // all rows
| filter ActorUserType == 'Admin' // user7's three records
| count`, "3", false},
	{"verbatim strings", `CopilotActivity | where ActorName == @"user1@contoso.example" or ActorName == @'user2@contoso.example' | count`, "5", false},
	{"dynamic member compared with number", `CopilotActivity | where array_length(LLMEventData.Messages) == 4 | count`, "2", false},
	{"not()", `CopilotActivity | where not(ActorUserType == "Admin") | count`, "14", false},
	{"bin with a size of zero per row is null", `print s = 0 | extend b = bin(7, s), c = bin(7, s + 2), d = bin(datetime(2026-01-01 10:17), s * 1m) | project b, c, d`, "null|6|null", false},
	{"bracketed names", `CopilotActivity | where ['ActorUserType'] == "Admin" | extend ["Two words"] = 2 | summarize ['n'] = count() by ['Two words'] | project ["Two words"], n`, "2|3", false},
	{"quotes in values are data, not SQL", `CopilotActivity | where ActorName == "x'); DROP TABLE CopilotActivityData; --" | count`, "0", false},
	{"datetime arithmetic", `CopilotActivity | where RecordType == "DisableCopilotPlugin" | project d = TimeGenerated - datetime(2026-03-03 15:01:10) < 3m, e = TimeGenerated + 1h > datetime(2026-03-03 16:00)`, "true|true", false},
	{"tostring of datetime and bool", `CopilotActivity | where RecordType == "DisableCopilotPlugin" | project tostring(TimeGenerated), tostring(true), tostring(1.5)`, "2026-03-03T15:04:02Z|true|1.5", false},
	{"tolong toreal tobool of strings", `CopilotActivity | take 1 | project tolong("42"), toreal("1.5"), tobool("TRUE"), tolong("x"), toint(2.9)`, "42|1.5|true|null|2", false},
	{"matches regex", `CopilotActivity | where ActorName matches regex "^user[12]@" | count`, "5", false},
	{"string functions", `CopilotActivity | where RecordType == "DisableCopilotPlugin"
| project replace_string(ActorName, "@contoso.example", ""), indexof("abcdef", "cd"), indexof("abc", "z"), strcat_delim("-", "a", 1),
    hash_sha256("abc"), round(2.567, 2), abs(-3), column_ifexists("AppHost", "none"), column_ifexists("Nope", "none")`,
		"user7|2|-1|a-1|ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad|2.57|3||none", false},
	// Line 15 is Tuesday 2026-03-03 15:04:02.
	{"datetime functions", `CopilotActivity | where RecordType == "DisableCopilotPlugin"
| project hourofday(TimeGenerated), dayofweek(TimeGenerated) / 1d, startofweek(TimeGenerated), endofday(TimeGenerated),
    datetime_diff("minute", TimeGenerated, datetime(2026-03-03 15:01:10)), datetime_diff("day", datetime(2026-03-04 00:00:01), datetime(2026-03-03 23:59:59)),
    datetime_add("hour", 2, TimeGenerated), startofmonth(TimeGenerated)`,
		"15|2|2026-03-01T00:00:00Z|2026-03-03T23:59:59.999999Z|3|1|2026-03-03T17:04:02Z|2026-03-01T00:00:00Z", false},
	{"dynamic functions", `CopilotActivity | take 1 | project pack("a", 1, "b", "x"), set_has_element(dynamic(["a", "b"]), "b"), set_has_element(dynamic(["a", "b"]), "c")`,
		`{"a":1,"b":"x"}|true|false`, false},
	{"ipv4", `CopilotActivity | take 1 | project ipv4_is_private("10.1.2.3"), ipv4_is_private("172.32.0.1"), ipv4_is_private("192.168.1.1"), ipv4_is_private("not ip"), ipv4_is_private("256.1.1.1"),
    ipv4_is_in_range("192.0.2.50", "192.0.2.0/24"), ipv4_is_in_range("198.51.100.23", "192.0.2.0/24")`, "true|false|true|null|null|true|false", false},
	// 203.0.113.41 on lines 5, 10, 13; 203.0.113.77 on lines 6, 11.
	{"ipv4 range over the data", `CopilotActivity | where ipv4_is_in_range(SrcIpAddr, "203.0.113.0/24") | count`, "5", false},
	// RecordTypeNumber sorted: 261 ×10, 310, 313, 314, 320, 325, 334, 363. Nearest rank:
	// 50% → 9th (261), 90% → 16th (334), 100% → 17th (363).
	{"percentile", `CopilotActivity | summarize percentile(RecordTypeNumber, 50), percentile(RecordTypeNumber, 90), p = percentile(RecordTypeNumber, 100)`, "261|334|363", false},
	// Times 15:01:10 and 15:04:02 are 172 s apart: sample variance of {0, 172} is 14792, stdev 121.62…
	{"stdev variance", `CopilotActivity | where RecordType in ("EnableCopilotPlugin", "DisableCopilotPlugin") | extend s = (TimeGenerated - datetime(2026-03-03 15:01:10)) / 1s | summarize v = variance(s), sd = toint(stdev(s))`, "14792|121", false},
	// Sample queries (Azure Monitor docs) and workbook panels.
	{"ai model usage", `CopilotActivity | where isnotempty(AIModelName) | summarize count() by AIModelName | sort by AIModelName asc`, "DEEP_LEO|4\ngpt-4o|1", false},
	// 11 resources on lines 2-6 and 9; lines 1, 7, 8, 10, 11 have empty arrays (no row); lines 12-17 have none (a null row each).
	{"resources accessed", `CopilotActivity | mv-expand Resource = LLMEventData.AccessedResources | summarize Resources = countif(isnotnull(Resource)), Rows = count()`, "11|17", false},
	{"promptbook id", `CopilotActivity | where RecordType == "CreateCopilotPromptBook" | project PromptBookId = tostring(LLMEventData.Resource[0].Property)`, "0cfc115b-ce8c-4235-94b8-975a3c04186a", false},
	{"security events sample", `CopilotActivity | mv-expand Message = LLMEventData.Messages | where tobool(Message.JailbreakDetected) == true | project RecordId, IsPrompt = tobool(Message.isPrompt)`,
		"4e814558-4e74-4a98-9267-9fad350f5e18|true\ne59c80b3-e6f4-42b3-a363-15d97b9c3f08|true", true},
	{"mv-expand of a bag gives one row per property", `CopilotActivity | where RecordType == "EnableCopilotPlugin" | mv-expand p = LLMEventData.Resource[0] | project tostring(p)`,
		"{\"NewValue\":\"Enabled\"}\n{\"OriginalValue\":\"Disabled\"}\n{\"Property\":\"Contoso Threat Feed\"}", true},
	// Line 8's four messages keep their order after a sort.
	{"mv-expand keeps element order after sort", `CopilotActivity | where ActorName == "user2@contoso.example" | sort by TimeGenerated asc | mv-expand m = LLMEventData.Messages | project RecordType, j = tostring(m.JailbreakDetected)`,
		"CopilotInteraction|false\nCopilotInteraction|false\nCopilotInteraction|false\nCopilotInteraction|false\nCopilotInteraction|false\nCopilotInteraction|false\nCopilotInteraction|true\nCopilotInteraction|false\nCreateCopilotPromptBook|", false},
	// Line 2: 4 messages and 2 resources zip into 4 rows, resources padded with null.
	{"mv-expand zips columns", `CopilotActivity | where RecordId == "88cf8aaf-40c6-4b5e-9b94-dac1be798bd1" | mv-expand m = LLMEventData.Messages, r = LLMEventData.AccessedResources | summarize count(), countif(isnull(r))`, "4|2", false},
	{"mv-expand limit", `CopilotActivity | mv-expand m = LLMEventData.Messages limit 1 | count`, "17", false},
	{"tostring and isnull of JSON null", `CopilotActivity | take 1 | project tostring(dynamic(null)), isnull(dynamic(null)), isempty(dynamic(null)), isempty(dynamic("")), isempty(dynamic([])), tostring(dynamic({"a": [1, "x"]}))`,
		`|true|true|true|false|{"a":[1,"x"]}`, false},
	// Joins. Admins: user7 only (lines 14-16); interactions: users 1-6.
	{"join inner on two keys", `CopilotActivity | where RecordType == "EnableCopilotPlugin"
| join kind=inner (CopilotActivity | where RecordType == "DisableCopilotPlugin") on ActorName, SrcIpAddr
| project ActorName, ActorName1, TimeGenerated, TimeGenerated1, RecordType, RecordType1`,
		"user7@contoso.example|user7@contoso.example|2026-03-03T15:01:10Z|2026-03-03T15:04:02Z|EnableCopilotPlugin|DisableCopilotPlugin", false},
	// innerunique keeps one left row per ActorName: user7 once, times 3 right rows.
	{"join innerunique is the default", `CopilotActivity | join (CopilotActivity | where ActorUserType == "Admin") on ActorName | count`, "3", false},
	{"join inner keeps every left row", `CopilotActivity | join kind=inner (CopilotActivity | where ActorUserType == "Admin") on ActorName | count`, "9", false},
	{"join leftouter", `CopilotActivity | summarize n = count() by ActorName
| join kind=leftouter (CopilotActivity | where ActorUserType == "Admin" | summarize a = count() by ActorName) on ActorName
| where isnull(a) and ActorName1 == "" | count`, "6", false},
	{"join rightouter", `CopilotActivity | where ActorUserType == "Admin" | summarize a = count() by ActorName
| join kind=rightouter (CopilotActivity | summarize n = count() by ActorName) on ActorName
| where ActorName == "" | count`, "6", false},
	{"join fullouter", `CopilotActivity | where ActorUserType == "Admin" | distinct ActorName
| join kind=fullouter (CopilotActivity | where RecordType == "CopilotInteraction" | distinct ActorName) on ActorName | count`, "7", false},
	{"join leftanti", `CopilotActivity | distinct ActorName | join kind=leftanti (CopilotActivity | where RecordType == "CopilotInteraction") on ActorName`, "user7@contoso.example", false},
	{"join rightanti", `CopilotActivity | where RecordType == "CopilotInteraction" | join kind=rightanti (CopilotActivity | distinct ActorName) on ActorName`, "user7@contoso.example", false},
	// Teams on lines 2 (user2), 7 (user6), 9 (user3), 11 (user5).
	{"join leftsemi", `CopilotActivity | distinct ActorName | join kind=leftsemi (CopilotActivity | where AppHost == "Teams") on ActorName | count`, "4", false},
	{"join rightsemi", `CopilotActivity | where AppHost == "Teams" | join kind=rightsemi (CopilotActivity | distinct ActorName) on ActorName | count`, "4", false},
	// Line 13 (user4 creates "Contoso Threat Feed"), line 14 (user7 enables it).
	{"join on $left/$right", `CopilotActivity | where RecordType == "CreateCopilotPlugin" | project Creator = ActorName, Plugin = tostring(LLMEventData.Resource[0].Property)
| join kind=inner (CopilotActivity | where RecordType == "EnableCopilotPlugin" | project Enabler = ActorName, Name = tostring(LLMEventData.Resource[0].Property)) on $left.Plugin == $right.Name
| project Creator, Enabler, Plugin`, "user4@contoso.example|user7@contoso.example|Contoso Threat Feed", false},
	{"print", `print a = 1 + 2, "x", strlen("abc"), now(), 7 / 2.0`, "3|x|3|2026-03-10T00:00:00Z|3.5", false},
	// user4 has 2 interactions (lines 5, 10); user7 none.
	{"lookup", `CopilotActivity | where RecordType in ("CreateCopilotPlugin", "EnableCopilotPlugin") | project ActorName, RecordType
| lookup (CopilotActivity | where RecordType == "CopilotInteraction" | summarize n = count() by ActorName) on ActorName
| sort by ActorName asc`, "user4@contoso.example|CreateCopilotPlugin|2\nuser7@contoso.example|EnableCopilotPlugin|null", false},
	{"bin_at and trim", `print bin_at(datetime(2026-03-03 15:04:02), 1h, datetime(2026-03-03 00:30)), trim(" +", "  a b  "), trim_start("x", "xxaxx"), trim_end("x", "xxaxx")`,
		"2026-03-03T14:30:00Z|a b|axx|xxa", false},
	{"array sets", `print array_concat(dynamic([1, "a"]), dynamic([2])), set_union(dynamic(["b", "a"]), dynamic(["a", "c"])), set_difference(dynamic(["a", "b", "c"]), dynamic(["b"])), array_concat(dynamic([1]), dynamic({"a": 1}))`,
		`[1,"a",2]|["a","b","c"]|["a","c"]|null`, false},
	{"render hint is not a column", `CopilotActivity | summarize count() by RecordType | where RecordType == "CopilotInteraction" | render columnchart`, "CopilotInteraction|10", false},
}

func TestInteractionQueries(t *testing.T) {
	runQueryCases(t, fixtureStore(t, "interactions"), interactionQueries)
}

// Queries on edge-cases.jsonl (13 stored records), expectations from its README table.
func TestEdgeCaseQueries(t *testing.T) {
	st := fixtureStore(t, "edge")
	cases := []struct{ name, q, want string }{
		{"count", `CopilotActivity | count`, "13"},
		// Line 9: AccessedResources is the string "[]", stored as an empty array: no row.
		{"mv-expand of an empty array gives no row", `CopilotActivity | where RecordId == "3f5d5ee3-e490-41ac-8fb0-2f8790e9fdf1" | mv-expand R = LLMEventData.AccessedResources | count`, "0"},
		{"mv-expand of a missing value gives one row", `CopilotActivity | where RecordId == "3f5d5ee3-e490-41ac-8fb0-2f8790e9fdf1" | mv-expand R = LLMEventData.NoSuchKey | project isnull(R)`, "true"},
		// Line 14: 300 resources.
		{"array_length 300", `CopilotActivity | where RecordId == "0d936a87-801b-4c4c-be09-c83aaf99653b" | project array_length(LLMEventData.AccessedResources)`, "300"},
		{"mv-expand 300", `CopilotActivity | where RecordId == "0d936a87-801b-4c4c-be09-c83aaf99653b" | mv-expand R = LLMEventData.AccessedResources | count`, "300"},
		// Line 8: CopilotEventData was a JSON string; Messages[0] is a jailbreak.
		{"jailbreak in string-encoded event data", `CopilotActivity | where tostring(LLMEventData.Messages[0].JailbreakDetected) == "true" | project RecordId`, "f7165dd0-777d-463b-aa3b-0403756d7c62"},
		// Lines 6 and 7 have an empty ClientIP.
		{"empty SrcIpAddr", `CopilotActivity | where isempty(SrcIpAddr) | count`, "2"},
		// Line 11: RecordType 9999.
		{"unknown record type kept", `CopilotActivity | where RecordTypeNumber == 9999 | project Operation`, "FutureCopilotThing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := flat(run(t, st, c.q)); got != c.want {
				t.Errorf("%s\n got: %s\nwant: %s", c.q, got, c.want)
			}
		})
	}
}
