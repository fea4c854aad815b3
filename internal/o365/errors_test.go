package o365

import (
	"context"
	"fmt"
	"io"
	"testing"
)

func TestAPIErrorClassification(t *testing.T) {
	tests := []struct {
		status    int
		code      string
		retryable bool
		fatal     bool
		helper    func(error) bool
	}{
		{403, "AF429", true, false, nil},
		{429, "AF429", true, false, nil},
		{429, "", true, false, nil},
		{500, "", true, false, nil},
		{503, "", true, false, nil},
		{400, "AF50000", true, false, nil},
		{401, "AF10001", false, true, nil},
		{400, "AF20010", false, true, nil},
		{400, "AF20011", false, true, nil},
		{400, "AF20012", false, true, nil},
		{400, "AF20013", false, true, nil},
		{400, "AF20020", false, true, nil},
		{400, "AF20022", false, false, IsNoSubscription},
		{400, "AF20023", false, false, IsDisabled},
		{400, "AF20024", false, false, IsAlreadyEnabled},
		{400, "AF20030", false, false, IsBadWindow},
		{400, "AF20055", false, false, IsBadWindow},
		{400, "AF20031", false, false, IsBadNextPage},
		{400, "AF20050", false, false, IsContentGone},
		{400, "AF20051", false, false, IsContentGone},
		{404, "", false, false, nil},
	}
	helpers := []func(error) bool{IsNoSubscription, IsDisabled, IsAlreadyEnabled, IsBadWindow, IsBadNextPage, IsContentGone}
	for _, tc := range tests {
		e := &APIError{Status: tc.status, Code: tc.code}
		wrapped := fmt.Errorf("context: %w", e)
		if e.Retryable() != tc.retryable || IsRetryable(wrapped) != tc.retryable {
			t.Errorf("%d %s: retryable = %v, want %v", tc.status, tc.code, e.Retryable(), tc.retryable)
		}
		if e.Fatal() != tc.fatal || IsFatal(wrapped) != tc.fatal {
			t.Errorf("%d %s: fatal = %v, want %v", tc.status, tc.code, e.Fatal(), tc.fatal)
		}
		matched := 0
		for _, h := range helpers {
			if h(wrapped) {
				matched++
			}
		}
		wantMatched := 0
		if tc.helper != nil {
			wantMatched = 1
			if !tc.helper(wrapped) {
				t.Errorf("%d %s: its helper does not match", tc.status, tc.code)
			}
		}
		if matched != wantMatched {
			t.Errorf("%d %s: %d helpers match, want %d", tc.status, tc.code, matched, wantMatched)
		}
	}
	if IsRetryable(context.Canceled) || IsRetryable(nil) || !IsRetryable(fmt.Errorf("x: %w", io.ErrUnexpectedEOF)) {
		t.Error("IsRetryable on plain errors")
	}
	if got := (&APIError{Status: 400, Code: "AF20030", Message: "window too long"}).Error(); got != "HTTP 400 AF20030: window too long" {
		t.Errorf("Error() = %q", got)
	}
}
