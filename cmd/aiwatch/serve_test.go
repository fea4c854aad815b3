package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aiwatch/aiwatch/internal/o365fake"
	"github.com/aiwatch/aiwatch/internal/server"
)

// serveProc is a running "aiwatch serve".
type serveProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan error // receives Wait's result once
	ep     server.Endpoint
}

// startServe starts "aiwatch serve" and waits until it announced itself in
// dir and answers /healthz.
func startServe(t *testing.T, cfg, dir string) *serveProc {
	t.Helper()
	p := &serveProc{cmd: exec.Command(binPath, "serve", "--config", cfg), stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		ep, err := server.ReadEndpoint(dir)
		if err == nil && server.NewClient(ep.URL(), "").Health(context.Background()) == nil {
			p.ep = ep
			return p
		}
		select {
		case werr := <-p.exited:
			t.Fatalf("serve exited before it came up: %v\n%s", werr, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up: %v\n%s", err, p.stderr.String())
		}
	}
}

// apiQuery posts a KQL query with the given bearer token ("" for none).
func apiQuery(t *testing.T, base, token, kql string) (int, http.Header, []byte) {
	t.Helper()
	body, _ := json.Marshal(server.QueryRequest{Query: kql})
	req, err := http.NewRequest("POST", base+"/api/v1/query", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// stop sends SIGTERM and requires a clean exit that removed the endpoint
// file.
func (p *serveProc) stop(t *testing.T, dir string) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("serve did not exit 0 on SIGTERM: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not stop within a minute of SIGTERM\n%s", p.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, server.EndpointFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("endpoint file left behind: %v", err)
	}
	if !strings.Contains(p.stderr.String(), "msg=stopped") {
		t.Fatalf("no clean stop in the log:\n%s", p.stderr.String())
	}
}

// TestServeAPI runs serve against the fake Management API: the API refuses
// queries without the token, answers them with it, and sees the records
// the collector stores; SIGTERM stops it cleanly.
func TestServeAPI(t *testing.T) {
	f, base := startFakeAPI(t, o365fake.Options{})
	want := publishSet(f, crashTenantA, "v", 4, 10, time.Now())
	dir := t.TempDir()
	cfg := collectConfig(t, base, dir, "127.0.0.1:0", false)
	p := startServe(t, cfg, dir)
	if p.ep.PID != p.cmd.Process.Pid {
		t.Fatalf("endpoint pid %d, serve pid %d", p.ep.PID, p.cmd.Process.Pid)
	}
	url := p.ep.URL()

	const count = "CopilotActivity | count"
	for _, tok := range []string{"", "wrong-token"} {
		code, hdr, body := apiQuery(t, url, tok, count)
		if code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(string(body), `"error"`) {
			t.Fatalf("token %q: HTTP %d %s", tok, code, body)
		}
	}
	// The collector stores the 4 published blobs' Copilot records (8 of
	// each 10, see publishSet) while the API answers.
	if len(want) != 32 {
		t.Fatalf("publishSet made %d Copilot records, want 32", len(want))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, body := apiQuery(t, url, "api-token", count)
		if code != http.StatusOK {
			t.Fatalf("with the token: HTTP %d %s", code, body)
		}
		var res server.QueryResult
		if err := json.Unmarshal(body, &res); err != nil || len(res.Rows) != 1 {
			t.Fatalf("answer %s: %v", body, err)
		}
		if string(res.Rows[0]) == `{"Count":32}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API never saw the %d collected records: %s\n%s", len(want), body, p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer api-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(metrics), `aiwatch_server_requests_total{code="401",route="/api/v1/query"} 2`) {
		t.Fatalf("metrics: HTTP %d\n%s", resp.StatusCode, metrics)
	}
	if strings.Contains(p.stderr.String(), "api-token") {
		t.Fatalf("the token is in the log:\n%s", p.stderr.String())
	}

	// A second serve on the same directory says who holds it.
	_, errOut, code := run(t, "serve", "--config", cfg)
	if code == 0 || !strings.Contains(errOut, "aiwatch serve already runs for "+dir) {
		t.Fatalf("second serve: exit %d %s", code, errOut)
	}
	p.stop(t, dir)
	assertCollected(t, collectedIDs(t, dir), want)
}

// TestServeNeedsToken: without server.token_env/token_file serve refuses to
// start; with one, and no tenants at all, it serves.
func TestServeNeedsToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(t.TempDir(), "aiwatch.yaml")
	write := func(cfg string) {
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("data_dir: " + dir + "\nserver:\n  listen: 127.0.0.1:0\n")
	_, errOut, code := run(t, "serve", "--config", path)
	if code != 2 || !strings.Contains(errOut, "aiwatch serve needs an API token: set server.token_env") {
		t.Fatalf("no token: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, server.EndpointFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused serve wrote an endpoint file: %v", err)
	}

	t.Setenv("AIWATCH_TEST_SERVE_TOKEN", "zero-tenants")
	write("data_dir: " + dir + "\nserver:\n  listen: 127.0.0.1:0\n  token_env: AIWATCH_TEST_SERVE_TOKEN\n")
	p := startServe(t, path, dir)
	if code, _, body := apiQuery(t, p.ep.URL(), "", "CopilotActivity | count"); code != http.StatusUnauthorized {
		t.Fatalf("without token: HTTP %d %s", code, body)
	}
	if code, _, body := apiQuery(t, p.ep.URL(), "zero-tenants", "CopilotActivity | count"); code != http.StatusOK || !strings.Contains(string(body), `{"Count":0}`) {
		t.Fatalf("with token: HTTP %d %s", code, body)
	}
	p.stop(t, dir)
}
