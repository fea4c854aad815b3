package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"
)

// EndpointFile is the file in a data directory that tells the CLI where
// the serve process holding that directory listens. It holds no secret.
const EndpointFile = "serve.json"

// Endpoint is the content of EndpointFile.
type Endpoint struct {
	Addr    string    `json:"addr"` // the address actually listened on, host:port
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	DataDir string    `json:"dataDir"` // absolute
}

// ErrNoServer means no running serve process announced itself in the
// data directory (no endpoint file, or one left by a process that died).
var ErrNoServer = errors.New("no aiwatch serve process announced itself in the data directory")

// URL is the base URL a client on this machine uses: an unspecified host
// (listening on every interface) is reached through loopback.
func (e Endpoint) URL() string {
	host, port, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return "http://" + e.Addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// WriteEndpoint announces this process, listening on addr, as the server
// of dataDir. The file is replaced atomically, so a reader never sees half
// of it.
func WriteEndpoint(dataDir, addr string) error {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return fmt.Errorf("cannot resolve data directory %s: %w", dataDir, err)
	}
	b, err := json.MarshalIndent(Endpoint{Addr: addr, PID: os.Getpid(), Started: time.Now().UTC().Truncate(time.Second), DataDir: abs}, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dataDir, EndpointFile)
	tmp, err := os.CreateTemp(dataDir, EndpointFile+".*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// ReadEndpoint returns the serve process announced in dataDir. It returns
// an error matching ErrNoServer when there is none, or when the file was
// left by a process that is no longer running.
func ReadEndpoint(dataDir string) (Endpoint, error) {
	path := filepath.Join(dataDir, EndpointFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Endpoint{}, fmt.Errorf("%w (%s)", ErrNoServer, dataDir)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("cannot read %s: %w", path, err)
	}
	var e Endpoint
	if err := json.Unmarshal(b, &e); err != nil || e.Addr == "" || e.PID <= 0 {
		return Endpoint{}, fmt.Errorf("%s is damaged (%v); if no aiwatch serve runs, delete it", path, err)
	}
	if !processAlive(e.PID) {
		return Endpoint{}, fmt.Errorf("%w (%s: pid %d is not running)", ErrNoServer, path, e.PID)
	}
	return e, nil
}

// RemoveEndpoint deletes the endpoint file if this process wrote it.
func RemoveEndpoint(dataDir string) error {
	path := filepath.Join(dataDir, EndpointFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	var e Endpoint
	if json.Unmarshal(b, &e) == nil && e.PID != os.Getpid() {
		return nil // another process's announcement
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove %s: %w", path, err)
	}
	return nil
}
