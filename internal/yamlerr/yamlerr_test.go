package yamlerr

import (
	"errors"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSyntaxLine(t *testing.T) {
	const indent = " (check this line's indentation against the lines above)"
	tests := []struct {
		name, yaml string
		want       string
	}{
		{"list entry key one space short", "data_dir: ./x\ntenants:\n  - name: contoso\n   tenant_id: abc\n",
			"line 4: did not find expected '-' indicator" + indent},
		{"mapping key one space short", "data_dir: ./x\ncollector:\n  poll_interval: 5m\n backfill: 24h\n",
			"line 4: did not find expected key" + indent},
		{"deep in a block", "a:\n  b: 1\n  c: 2\n  d: 3\n  e: 4\n   f: 5\n",
			"line 6: mapping values are not allowed in this context" + indent},
		{"key indented under a value", "data_dir: ./x\n  collector: 3\n",
			"line 2: mapping values are not allowed in this context" + indent},
		{"tab", "data_dir: ./x\ncollector:\n\tpoll_interval: 5m\n",
			"line 3: found character that cannot start any token (this line is indented with a tab; YAML indents with spaces only)"},
		{"unclosed flow list", "tenants: [\n", "line 1: did not find expected node content"},
		{"multi-line flow before the error", "a: [1,\n  2]\nb:\n  c: 1\n d: 2\n",
			"line 5: did not find expected key" + indent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			err := yaml.Unmarshal([]byte(tc.yaml), &v)
			if err == nil {
				t.Fatal("the YAML parsed")
			}
			got := Syntax([]byte(tc.yaml), err)
			var se *SyntaxError
			if !errors.As(got, &se) || got.Error() != tc.want {
				t.Fatalf("Syntax(%q) = %q (yaml said %q), want %q", tc.yaml, got, err, tc.want)
			}
		})
	}
}

func TestSyntaxLeavesOtherErrors(t *testing.T) {
	var n struct{ N int }
	err := yaml.Unmarshal([]byte("n: many\n"), &n)
	other := errors.New("cannot read")
	for _, e := range []error{nil, err, other} {
		if got := Syntax([]byte("n: many\n"), e); got != e {
			t.Errorf("Syntax(%v) = %v, want it unchanged", e, got)
		}
	}
}
