package rulepack

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/kql"
)

// TestRulesOnHandWrittenRecords imports, for every rule, hand-written
// AuditData records (testdata/<rule>.jsonl) into a fresh store and runs the
// rule over the scheduler's windows around them. Records whose Id contains
// "-fire-" must be covered by the rule's output rows and no other record
// may be: the near misses sit next to them (a jailbreak flag in a context
// URL, an admin creating a plugin, 9 promptbook deletions, a 100.64/10 address…).
func TestRulesOnHandWrittenRecords(t *testing.T) {
	cases := []struct {
		rule      string
		wantFires int // how many records must fire, counted by hand
	}{
		{"jailbreak-any-message.yaml", 3},
		{"jailbreak-repeated.yaml", 3},
		{"prompt-injection-in-resource.yaml", 2},
		{"sensitive-label-above-baseline.yaml", 1},
		{"bulk-resource-access.yaml", 5},
		{"plugin-created-by-non-admin.yaml", 3},
		{"plugin-toggle-churn.yaml", 4},
		{"file-uploads-disabled.yaml", 2},
		{"settings-unusual-actor-or-off-hours.yaml", 3},
		{"promptbooks-bulk-deleted.yaml", 10},
		{"agent-managed-by-unusual-admin.yaml", 4},
		{"scheduled-prompt-exfiltration.yaml", 4},
		{"new-region-or-network.yaml", 2},
		{"public-ip-first-use.yaml", 4},
		{"guest-or-service-principal-first-use.yaml", 4},
		{"interaction-volume-spike.yaml", 22},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.rule] = true
	}
	for _, r := range loadRules(t) {
		if !covered[r.File] {
			t.Errorf("rule %s has no hand-written test records", r.File)
		}
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.rule, ".yaml"), func(t *testing.T) {
			t.Parallel()
			r := ruleByFile(t, c.rule)
			name := filepath.Join("testdata", strings.TrimSuffix(c.rule, ".yaml")+".jsonl")
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var want, all []string
			for _, line := range bytes.Split(data, []byte("\n")) {
				if len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				var rec struct{ Id string }
				if err := json.Unmarshal(line, &rec); err != nil {
					t.Fatal(err)
				}
				all = append(all, rec.Id)
				if strings.Contains(rec.Id, "-fire-") {
					want = append(want, rec.Id)
				}
			}
			if len(want) != c.wantFires {
				t.Fatalf("%s holds %d records named -fire-, the table says %d", name, len(want), c.wantFires)
			}
			st := openStore(t)
			if sum := importRecords(t, st, name, bytes.NewReader(data)); sum.Stored != len(all) {
				t.Fatalf("stored %d of %d records: %+v", sum.Stored, len(all), sum)
			}
			from, to := timeSpan(t, data)
			rows := runSpan(t, st, baseCatalog(t), r, from, to)
			got := recordSet(rows)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("rule covers %v\nwant %v", got, want)
			}
		})
	}
}

// TestIsPublicIP applies the address test shared by the two IP rules to
// ClientIP values as records carry them (IPv4, IPv6, mapped, compressed,
// malformed); each record's Id says whether its address is public.
func TestIsPublicIP(t *testing.T) {
	def := regexp.MustCompile(`(?s)(// A valid address.*?\nlet isPublicIp = .*?\n};)\n`)
	var fn string
	for _, file := range []string{"new-region-or-network.yaml", "public-ip-first-use.yaml"} {
		m := def.FindStringSubmatch(ruleByFile(t, file).Query)
		if m == nil {
			t.Fatalf("%s: no isPublicIp definition", file)
		}
		if fn == "" {
			fn = m[1]
		} else if m[1] != fn {
			t.Fatalf("the isPublicIp definitions of the two rules differ; keep them identical")
		}
	}
	data, err := os.ReadFile(filepath.Join("testdata", "ip-forms.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	importRecords(t, st, "ip-forms", bytes.NewReader(data))
	comp, err := kql.Compile(fn+"\nCopilotActivity | project RecordId, ClientIP, Public = isPublicIp(ClientIP)", nil, kql.Options{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.DB().QueryContext(context.Background(), comp.SQL)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, ip string
		var public *bool
		if err := rows.Scan(&id, &ip, &public); err != nil {
			t.Fatal(err)
		}
		n++
		want := strings.HasSuffix(id, "-public")
		if public == nil || *public != want {
			t.Errorf("isPublicIp(%q) = %v, want %v", ip, public, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Errorf("%d address forms checked, want at least 40", n)
	}
}
