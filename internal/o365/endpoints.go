// Package o365 is a thin network client for the Office 365 Management
// Activity API and the Microsoft Graph audit log query API. It knows tokens,
// URLs, retries and error codes; windows, cursors and storage belong to the
// caller.
package o365

import (
	"fmt"
	"strings"
)

// Cloud names a Microsoft 365 national cloud.
type Cloud string

// The clouds the Management Activity API is documented for.
const (
	Commercial Cloud = "commercial"
	GCC        Cloud = "gcc"
	GCCHigh    Cloud = "gcchigh"
	DoD        Cloud = "dod"
)

// Clouds lists the valid clouds in the order users see them in messages.
var Clouds = []Cloud{Commercial, GCC, GCCHigh, DoD}

// Resource URLs used as the token audience.
const (
	GraphResource   = "https://graph.microsoft.com"
	DefaultGraphURL = "https://graph.microsoft.com/v1.0"
)

// Endpoints returns the login and management hosts of a cloud. The empty
// cloud means commercial.
func Endpoints(c Cloud) (login, manage string, err error) {
	switch Cloud(strings.ToLower(string(c))) {
	case "", Commercial:
		return "https://login.microsoftonline.com", "https://manage.office.com", nil
	case GCC:
		return "https://login.microsoftonline.com", "https://manage-gcc.office.com", nil
	case GCCHigh:
		return "https://login.microsoftonline.us", "https://manage.office365.us", nil
	case DoD:
		return "https://login.microsoftonline.us", "https://manage.protection.apps.mil", nil
	}
	return "", "", fmt.Errorf("unknown cloud %q; use one of %s", string(c), cloudList())
}

// GraphEndpoint returns the Graph base URL (with version) of a cloud. The
// audit log query API is documented for the global service only; the
// national hosts are given so an operator can try them.
func GraphEndpoint(c Cloud) (string, error) {
	switch Cloud(strings.ToLower(string(c))) {
	case "", Commercial, GCC:
		return DefaultGraphURL, nil
	case GCCHigh:
		return "https://graph.microsoft.us/v1.0", nil
	case DoD:
		return "https://dod-graph.microsoft.us/v1.0", nil
	}
	return "", fmt.Errorf("unknown cloud %q; use one of %s", string(c), cloudList())
}

func cloudList() string {
	s := make([]string, len(Clouds))
	for i, c := range Clouds {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
