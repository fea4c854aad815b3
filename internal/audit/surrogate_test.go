package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestFixSurrogates(t *testing.T) {
	cases := []struct {
		name, in, want string // want "" means unchanged
	}{
		{"lone high", `"a\ud800b"`, `"a\ufffdb"`},
		{"lone low", `"a\udc00b"`, `"a\ufffdb"`},
		{"upper-case hex", `"a\uD800b"`, `"a\ufffdb"`},
		{"high at end of string", `"a\ud800"`, `"a\ufffd"`},
		{"high at end of text", `\ud800`, `\ufffd`},
		{"reversed pair", `"\udc00\ud800x"`, `"\ufffd\ufffdx"`},
		{"high then non-surrogate", `"\ud800\u0041"`, `"\ufffd\u0041"`},
		{"high, then a pair", `"\ud800\ud83d\ude00"`, `"\ufffd\ud83d\ude00"`},
		{"pair, then lone low", `"\ud83d\ude00\ude00"`, `"\ud83d\ude00\ufffd"`},
		{"high then other escape", `"\ud800\n"`, `"\ufffd\n"`},
		{"valid pair", `"\ud83d\ude00"`, ""},
		{"valid pair, upper case", `"\uD83D\uDE00"`, ""},
		{"escaped backslash before u", `"\\ud800"`, ""},
		{"escaped backslash, then lone", `"\\\ud800"`, `"\\\ufffd"`},
		{"not a surrogate", `"\u00e9\ud7ff\ue000"`, ""},
		{"short escape", `"\ud8"`, ""},
		{"no escapes", `{"a":"b"}`, ""},
		{"cut after a backslash", `"\ud800\`, `"\ufffd\`},
		{"cut inside the low half", `"\ud800\udc0`, `"\ufffd\udc0`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := fixSurrogates([]byte(c.in))
			want := c.want
			if want == "" {
				want = c.in
			}
			if string(got) != want || ok != (c.want != "") {
				t.Errorf("fixSurrogates(%s) = %s, %v; want %s, %v", c.in, got, ok, want, c.want != "")
			}
			if c.want != "" && !hasSurrogateEscape([]byte(c.in)) {
				t.Errorf("hasSurrogateEscape(%s) = false", c.in)
			}
			// What is written must decode as Go's decoder reads the original.
			if strings.HasPrefix(c.in, `"`) {
				var orig, fixed string
				if err := json.Unmarshal([]byte(c.in), &orig); err == nil {
					if err := json.Unmarshal(got, &fixed); err != nil || fixed != orig {
						t.Errorf("%s decodes to %q (%v), Go decodes the original to %q", got, fixed, err, orig)
					}
				}
			}
		})
	}
}

// Records cut anywhere (the normalizer sees them before the parser says
// they are not JSON) are read without going past the end.
func TestFixSurrogatesTruncated(t *testing.T) {
	full := `{"a":"x\ud800\udc00\\\udbff\ud800\u00e9\"\ud83d\ude00\udfff"}`
	for i := range len(full) + 1 {
		in := []byte(full[:i])
		out, ok := fixSurrogates(in)
		if again, changed := fixSurrogates(out); changed {
			t.Errorf("%s: %s keeps a lone surrogate (%s)", in, out, again)
		}
		if !ok && !bytes.Equal(out, in) {
			t.Errorf("%s: changed to %s without saying so", in, out)
		}
	}
	out, _ := fixSurrogates([]byte(full))
	if want := `{"a":"x\ud800\udc00\\\ufffd\ufffd\u00e9\"\ud83d\ude00\ufffd"}`; string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

// Ordinary records never take the rewrite: the check says no for every
// fixture line.
func TestHasSurrogateEscapeOrdinary(t *testing.T) {
	for _, name := range []string{"copilot-interactions.jsonl", "edge-cases.jsonl"} {
		for n, line := range fixtureLines(t, name) {
			if hasSurrogateEscape(line) {
				t.Errorf("%s line %d: hasSurrogateEscape = true", name, n)
			}
		}
	}
	for _, s := range []string{`"\u00e9"`, `"\\ud"`, `"\ud"`, `"\u0d80"`, `"\uc800"`, `"\ud7ff"`} {
		if hasSurrogateEscape([]byte(s)) {
			t.Errorf("hasSurrogateEscape(%s) = true", s)
		}
	}
}

// withResourceId puts id (JSON text, escapes as written) as the Id of
// AccessedResources[0] in line 2 of copilot-interactions.jsonl.
func withResourceId(t *testing.T, id string) []byte {
	t.Helper()
	line := fixtureLines(t, "copilot-interactions.jsonl")[2]
	out := bytes.Replace(line, []byte(`"AccessedResources":[{`), []byte(`"AccessedResources":[{"Id":`+id+`,`), 1)
	if bytes.Equal(out, line) {
		t.Fatal("fixture line 2 has no AccessedResources")
	}
	return out
}

func TestNormalizeSurrogates(t *testing.T) {
	cases := []struct {
		name string
		id   string // as written in the record
		want string // AccessedResources[0].Id read back from LLMEventData
		span bool   // LLMEventData is still a span of Raw
	}{
		{"lone high", `"sur\ud800x"`, "sur\uFFFDx", false},
		{"lone low", `"sur\udc00x"`, "sur\uFFFDx", false},
		{"upper-case hex", `"sur\uDBFFx"`, "sur\uFFFDx", false},
		{"high at end of string", `"sur\ud800"`, "sur\uFFFD", false},
		{"reversed pair", `"sur\udc00\ud800x"`, "sur\uFFFD\uFFFDx", false},
		{"valid pair", `"sur\ud83d\ude00x"`, "sur\U0001F600x", true},
		{"escaped backslash", `"sur\\ud800x"`, `sur\ud800x`, true},
	}
	n := NewNormalizer(nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := withResourceId(t, c.id)
			orig := append([]byte(nil), rec...)
			r := mustNormalize(t, n, rec)
			if !bytes.Equal(r.Raw, orig) || !bytes.Equal(rec, orig) {
				t.Errorf("Raw is not the record as received")
			}
			got := llm(t, r)["AccessedResources"].([]any)[0].(map[string]any)["Id"]
			if got != c.want {
				t.Errorf("AccessedResources[0].Id = %q, want %q", got, c.want)
			}
			if !c.span && hasSurrogateEscape(r.LLMEventData) {
				t.Errorf("LLMEventData keeps a surrogate escape: %s", r.LLMEventData)
			}
			if gotSpan := r.LLMSpan.Length > 0; gotSpan != c.span {
				t.Errorf("LLMSpan = %+v, want a span: %v", r.LLMSpan, c.span)
			}
			if c.span && !bytes.Contains(r.LLMEventData, []byte(`"Id":`+c.id)) {
				t.Errorf("LLMEventData does not hold the Id as written: %s", r.LLMEventData)
			}
			if r.AppHost != "Teams" || r.RecordId != "88cf8aaf-40c6-4b5e-9b94-dac1be798bd1" {
				t.Errorf("AppHost %q RecordId %q", r.AppHost, r.RecordId)
			}
		})
	}
}

// Everywhere in the record, not just in CopilotEventData, and in nested
// JSON-encoded strings, an unpaired surrogate reads as U+FFFD, as Go's
// decoder reads it; the content hash treats it as that character.
func TestNormalizeSurrogatesElsewhere(t *testing.T) {
	n := NewNormalizer(nil)
	base := fixtureLines(t, "copilot-interactions.jsonl")[2]

	user := bytes.Replace(base, []byte(`"UserId":"user2@contoso.example"`), []byte(`"UserId":"user2\udfff@contoso.example"`), 1)
	r := mustNormalize(t, n, user)
	if r.ActorName != "user2\uFFFD@contoso.example" {
		t.Errorf("ActorName = %q", r.ActorName)
	}
	same := bytes.Replace(base, []byte(`"UserId":"user2@contoso.example"`), []byte(`"UserId":"user2\ufffd@contoso.example"`), 1)
	if h := mustNormalize(t, n, same).ContentHash; h != r.ContentHash {
		t.Errorf("ContentHash %x, with \\ufffd written out %x", r.ContentHash, h)
	}
	if h := mustNormalize(t, n, base).ContentHash; h == r.ContentHash {
		t.Errorf("ContentHash ignores the replaced character")
	}

	// CopilotEventData as a JSON-encoded string: its escapes are doubled in
	// the record and are surrogate escapes only once decoded.
	nested := []byte(`{"Id":"n1","CreationTime":"2026-03-02T08:00:00","RecordType":261,"Workload":"Copilot",` +
		`"CopilotEventData":"{\"AppHost\":\"Teams\",\"AccessedResources\":[{\"Id\":\"a\\ud800b\\udc00\\ud800c\\ud83d\\ude00\"}]}"}`)
	r = mustNormalize(t, n, nested)
	if got := llm(t, r)["AccessedResources"].([]any)[0].(map[string]any)["Id"]; got != "a\uFFFDb\uFFFD\uFFFDc\U0001F600" {
		t.Errorf("nested AccessedResources[0].Id = %q", got)
	}
	if r.AppHost != "Teams" {
		t.Errorf("nested AppHost = %q", r.AppHost)
	}
}
