package simulate

import (
	"fmt"
	"io"
)

// WriteJSONL writes ev's record as one JSONL line (the record bytes, then \n).
func WriteJSONL(w io.Writer, ev Event) error {
	if _, err := w.Write(ev.Record); err != nil {
		return fmt.Errorf("cannot write record %s: %w", ev.ID, err)
	}
	if _, err := w.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("cannot write record %s: %w", ev.ID, err)
	}
	return nil
}
