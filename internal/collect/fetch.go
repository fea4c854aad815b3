package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aiwatch/aiwatch/internal/o365"
)

// spool holds one downloaded blob: in memory up to a limit, then in a file,
// so blobs are fetched in parallel while only the writer stores them, and a
// blob of hundreds of MB costs disk, not heap.
type spool struct {
	mem  []byte
	file *os.File
	size int64
}

// spoolPrefix names spool files, so leftovers of a killed process can be
// removed at the next start.
const spoolPrefix = "blob-"

// fill copies r into a new spool. Past memLimit bytes it continues in a
// temporary file in dir.
func fill(r io.Reader, dir string, memLimit int64) (*spool, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, memLimit+1))
	if err != nil {
		return nil, err
	}
	if n <= memLimit {
		return &spool{mem: buf.Bytes(), size: n}, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create spool directory: %w", err)
	}
	f, err := os.CreateTemp(dir, spoolPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("cannot create spool file: %w", err)
	}
	sp := &spool{file: f}
	if _, err := f.Write(buf.Bytes()); err != nil {
		sp.Close()
		return nil, fmt.Errorf("cannot write spool file: %w", err)
	}
	buf = bytes.Buffer{}
	m, err := copyBody(f, r)
	if err != nil {
		sp.Close()
		return nil, err
	}
	sp.size = n + m
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		sp.Close()
		return nil, fmt.Errorf("cannot rewind spool file: %w", err)
	}
	return sp, nil
}

// copyBody copies like io.Copy but tells a failed read (the network, to
// retry) from a failed write (the disk).
func copyBody(dst io.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			if _, err := dst.Write(buf[:k]); err != nil {
				return n, &diskError{fmt.Errorf("cannot write spool file: %w", err)}
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

type diskError struct{ err error }

func (e *diskError) Error() string { return e.err.Error() }
func (e *diskError) Unwrap() error { return e.err }

// Reader reads the blob from its start.
func (s *spool) Reader() io.Reader {
	if s.file != nil {
		if _, err := s.file.Seek(0, io.SeekStart); err != nil {
			return errReader{fmt.Errorf("cannot rewind spool file: %w", err)}
		}
		return s.file
	}
	return bytes.NewReader(s.mem)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Close frees the spool and removes its file.
func (s *spool) Close() error {
	s.mem = nil
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := errors.Join(s.file.Close(), os.Remove(name))
	s.file = nil
	return err
}

// cleanSpool removes spool files left by a process that was killed.
func cleanSpool(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, spoolPrefix+"*"))
	for _, f := range files {
		_ = os.Remove(f)
	}
}

// errStalled is a body that sent nothing for the idle timeout.
var errStalled = errors.New("content body stalled")

// idleReader cancels its request when no byte arrives for the timeout: a
// blob body has no overall deadline (it may be hundreds of MB), but a stuck
// one must not hang the tenant.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	idle  time.Duration
	ctx   context.Context
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.idle)
	}
	if err != nil && err != io.EOF && errors.Is(context.Cause(ir.ctx), errStalled) {
		return n, fmt.Errorf("%w: no data for %s", errStalled, ir.idle)
	}
	return n, err
}

// download fetches one blob into a spool.
func (s *stream) download(ctx context.Context, uri string) (*spool, error) {
	dctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body, err := s.t.client.OpenBlob(dctx, uri)
	if err != nil {
		return nil, &openError{err}
	}
	defer body.Close()
	idle := s.c.opts.IdleTimeout
	timer := time.AfterFunc(idle, func() { cancel(errStalled) })
	defer timer.Stop()
	return fill(&idleReader{r: body, timer: timer, idle: idle, ctx: dctx}, s.c.spoolDir, s.c.opts.SpoolMemory)
}

// openError is a failure of the request itself, already retried by the
// client.
type openError struct{ err error }

func (e *openError) Error() string { return e.err.Error() }
func (e *openError) Unwrap() error { return e.err }

// fetch downloads a blob, retrying a body that was cut short or stalled
// (the client retries the request; a body failing after the headers is
// this caller's to retry).
func (s *stream) fetch(ctx context.Context, item itemRef) (*spool, error) {
	pol := s.c.opts.Retry
	attempts := pol.MaxAttempts
	if attempts <= 0 {
		attempts = o365.DefaultMaxAttempts
	}
	reauths := 0
	for n := 1; ; n++ {
		sp, err := s.download(ctx, item.uri)
		if err == nil {
			return sp, nil
		}
		if isUnauthorized(err) && reauths < maxReauths && ctx.Err() == nil {
			// Revoked again right after the client's one re-authentication.
			reauths++
			n--
			s.t.retried("content", 401, 0)
			continue
		}
		var oe *openError
		var de *diskError
		if errors.As(err, &oe) || errors.As(err, &de) || ctx.Err() != nil {
			return nil, err
		}
		if !o365.IsRetryable(err) && !errors.Is(err, errStalled) && !isConnError(err) {
			return nil, fmt.Errorf("cannot read content %s: %w", item.id, err)
		}
		if n >= attempts {
			return nil, fmt.Errorf("cannot read content %s: giving up after %d attempts: %w", item.id, n, err)
		}
		wait := pol.Wait(n, 0)
		s.t.retried("content_body", 0, wait)
		s.c.log.Warn("content body failed, fetching it again", "tenant", s.t.cfg.Name, "content_type", s.ct,
			"content_id", item.id, "attempt", n, "wait", wait, "err", err)
		if err := s.c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// isConnError catches transport failures that surface as plain errors from
// a body read (a reset connection).
func isConnError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "use of closed network connection")
}
