package o365

import (
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	tests := []struct {
		cloud               Cloud
		login, manage, grph string
	}{
		{"", "https://login.microsoftonline.com", "https://manage.office.com", "https://graph.microsoft.com/v1.0"},
		{Commercial, "https://login.microsoftonline.com", "https://manage.office.com", "https://graph.microsoft.com/v1.0"},
		{GCC, "https://login.microsoftonline.com", "https://manage-gcc.office.com", "https://graph.microsoft.com/v1.0"},
		{GCCHigh, "https://login.microsoftonline.us", "https://manage.office365.us", "https://graph.microsoft.us/v1.0"},
		{DoD, "https://login.microsoftonline.us", "https://manage.protection.apps.mil", "https://dod-graph.microsoft.us/v1.0"},
		{"GCCHigh", "https://login.microsoftonline.us", "https://manage.office365.us", "https://graph.microsoft.us/v1.0"},
	}
	for _, tc := range tests {
		login, manage, err := Endpoints(tc.cloud)
		g, gerr := GraphEndpoint(tc.cloud)
		if err != nil || gerr != nil || login != tc.login || manage != tc.manage || g != tc.grph {
			t.Errorf("%q: %s %s %s %v %v", tc.cloud, login, manage, g, err, gerr)
		}
	}
	_, _, err := Endpoints("china")
	if err == nil || err.Error() != `unknown cloud "china"; use one of commercial, gcc, gcchigh, dod` {
		t.Errorf("err = %v", err)
	}
	if _, err := GraphEndpoint("china"); err == nil || !strings.Contains(err.Error(), "unknown cloud") {
		t.Errorf("graph err = %v", err)
	}
}
