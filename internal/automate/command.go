package automate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"time"
)

// runCommand runs the playbook's program directly (no shell) with the
// payload JSON on stdin. Exit status 0 is delivered; another status or a
// timeout is retried; a program that cannot be started fails at once.
// The environment holds PATH, the variables the playbook names in env, and
// AIWATCH_DELIVERY_ID, AIWATCH_PLAYBOOK, AIWATCH_INCIDENT_ID and
// AIWATCH_EVENT: nothing else of aiwatch's own environment, which holds
// secrets.
func (e *Engine) runCommand(ctx context.Context, b *book, d delivery) result {
	cmd := exec.CommandContext(ctx, b.Command[0], b.Command[1:]...)
	cmd.Stdin = bytes.NewReader(d.payload)
	var out tailBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"AIWATCH_DELIVERY_ID=" + d.id,
		"AIWATCH_PLAYBOOK=" + d.playbook,
		"AIWATCH_INCIDENT_ID=" + d.incident,
		"AIWATCH_EVENT=" + d.event,
	}
	for _, n := range b.Env {
		if v, ok := os.LookupEnv(n); ok {
			cmd.Env = append(cmd.Env, n+"="+v)
		}
	}
	// A child that keeps the output pipes open must not hang the engine.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if err == nil {
		return result{ok: true}
	}
	tail := printable(out.Bytes())
	if ctx.Err() != nil {
		return result{retry: true, reason: fmt.Sprintf("no exit within %s", b.timeout())}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		reason := fmt.Sprintf("exit status %d", ee.ExitCode())
		if ee.ExitCode() < 0 {
			reason = ee.String()
		}
		if tail != "" {
			reason += ": " + tail
		}
		return result{retry: true, code: ee.ExitCode(), reason: reason}
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return result{reason: "cannot start the command: " + err.Error()}
	}
	return result{retry: true, reason: "command: " + err.Error()}
}

// tailBuffer keeps the last 400 bytes written: enough to say why a command
// failed, bounded whatever it prints.
type tailBuffer struct{ b []byte }

const tailMax = 400

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = append(t.b[:0], t.b[len(t.b)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte { return bytes.TrimSpace(t.b) }
