package o365fake

import (
	"strconv"

	"github.com/aiwatch/aiwatch/internal/audit"
)

// registry names record types as Graph's auditLogRecordType does, in the
// numbering Graph's enum order supports (371/389/390).
var registry = audit.NewRegistry(audit.Numbering371)

// RecordTypeName is the PascalCase name Graph shows for a RecordType number;
// an unknown number comes back as its decimal text.
func RecordTypeName(n int) string {
	if name := registry.Name(n); name != "" {
		return name
	}
	return strconv.Itoa(n)
}

// UserTypeName is the name of an AuditData UserType (0 Regular … 10 Guest);
// an unknown number comes back as its decimal text.
func UserTypeName(n int) string { return audit.UserTypeName(n) }
