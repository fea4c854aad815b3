package server

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestEndpointFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadEndpoint(dir); !errors.Is(err, ErrNoServer) {
		t.Fatalf("no file: %v", err)
	}
	if err := WriteEndpoint(dir, "0.0.0.0:8443"); err != nil {
		t.Fatal(err)
	}
	ep, err := ReadEndpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	if ep.Addr != "0.0.0.0:8443" || ep.PID != os.Getpid() || ep.DataDir != abs || ep.Started.IsZero() {
		t.Fatalf("endpoint %+v", ep)
	}
	if ep.URL() != "http://127.0.0.1:8443" {
		t.Fatalf("URL %s", ep.URL())
	}
	// Only the endpoint file is left: the temporary file was renamed.
	if ents, _ := os.ReadDir(dir); len(ents) != 1 || ents[0].Name() != EndpointFile {
		t.Fatalf("directory holds %v", ents)
	}
	if err := RemoveEndpoint(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, EndpointFile)); !os.IsNotExist(err) {
		t.Fatalf("endpoint file not removed: %v", err)
	}
	if err := RemoveEndpoint(dir); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
}

func TestEndpointURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080":   "http://127.0.0.1:8080",
		":8080":            "http://127.0.0.1:8080",
		"[::]:8080":        "http://127.0.0.1:8080",
		"[::1]:9000":       "http://[::1]:9000",
		"192.0.2.10:80":    "http://192.0.2.10:80",
		"aiwatch.lan:8080": "http://aiwatch.lan:8080",
	} {
		if got := (Endpoint{Addr: addr}).URL(); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
}

// TestEndpointStale: a file whose process has exited is ignored, and
// another live process's file is not removed by us.
func TestEndpointStale(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("process liveness is not checked on Windows")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	write := func(pid int) {
		b, _ := json.Marshal(Endpoint{Addr: "127.0.0.1:1", PID: pid})
		if err := os.WriteFile(filepath.Join(dir, EndpointFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(dead)
	_, err := ReadEndpoint(dir)
	if !errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "is not running") {
		t.Fatalf("stale file: %v", err)
	}
	// The parent of this test (go test) is alive and not us.
	write(os.Getppid())
	if _, err := ReadEndpoint(dir); err != nil {
		t.Fatalf("live pid: %v", err)
	}
	if err := RemoveEndpoint(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, EndpointFile)); err != nil {
		t.Fatalf("another process's endpoint file was removed: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, EndpointFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadEndpoint(dir); err == nil || errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged file: %v", err)
	}
}

func TestConnectMessages(t *testing.T) {
	dir := t.TempDir()
	_, err := Connect(dir, "tok")
	if !errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "in use by another aiwatch process that serves no API") {
		t.Fatalf("no server: %v", err)
	}
	if err := WriteEndpoint(dir, "127.0.0.1:8080"); err != nil {
		t.Fatal(err)
	}
	_, err = Connect(dir, "")
	var iu *InUseError
	if !errors.As(err, &iu) {
		t.Fatalf("no token: %v", err)
	}
	want := "the data directory " + dir + " is in use by aiwatch serve (pid " + strconv.Itoa(os.Getpid()) +
		", listening on 127.0.0.1:8080); set AIWATCH_TOKEN (or --token-file) to the server's token to run this through it"
	if err.Error() != want {
		t.Fatalf("message:\n%s\nwant:\n%s", err, want)
	}
	c, err := Connect(dir, "tok")
	if err != nil || c.BaseURL != "http://127.0.0.1:8080" || c.Token != "tok" {
		t.Fatalf("client %+v %v", c, err)
	}
}

func TestClientToken(t *testing.T) {
	t.Setenv(TokenEnv, "from-env")
	if tok, err := ClientToken(""); tok != "from-env" || err != nil {
		t.Fatalf("env: %q %v", tok, err)
	}
	f := filepath.Join(t.TempDir(), "token")
	os.WriteFile(f, []byte("from-file\r\n"), 0o600)
	if tok, err := ClientToken(f); tok != "from-file" || err != nil {
		t.Fatalf("file: %q %v", tok, err)
	}
	os.WriteFile(f, []byte("\n"), 0o600)
	if _, err := ClientToken(f); err == nil {
		t.Fatal("an empty token file is accepted")
	}
	if _, err := ClientToken(f + ".missing"); err == nil {
		t.Fatal("a missing token file is accepted")
	}
}
