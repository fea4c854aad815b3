package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/detect"
	"github.com/aiwatch/aiwatch/internal/store"
)

// demoDetect runs the built-in rule pack over what the demo collected,
// prints the incidents it raised, and says which injected scenarios they
// found among those whose records have arrived.
func demoDetect(ctx context.Context, out io.Writer, st *store.Store, ts []fakeTenant) error {
	rs, bad, err := loadRuleSet(config.Default(), nil, io.Discard)
	if err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("the built-in rule pack has %d errors", bad)
	}
	eng, err := detect.New(st, rs, detect.Options{Labels: simLabels(), Logger: quietLogger()})
	if err != nil {
		return err
	}
	began := time.Now()
	sum, err := eng.RunOnce(ctx)
	if err != nil {
		return fmt.Errorf("detections: %w", err)
	}
	fmt.Fprintf(out, "\n== Detections: the built-in rule pack (%d rules) over the collected records, in %.1fs\n", sum.Rules, time.Since(began).Seconds())
	fmt.Fprintf(out, "%d windows evaluated, %d alerts, %d incidents\n", sum.Windows, sum.Alerts, sum.Incidents)
	desk := detect.NewDesk(st, nil)
	incs, err := desk.Incidents(ctx, detect.IncidentFilter{Limit: 20})
	if err != nil {
		return err
	}
	printIncidents(out, incs)
	if sum.Incidents > len(incs) {
		fmt.Fprintf(out, "… %d more (aiwatch incidents list)\n", sum.Incidents-len(incs))
	}
	alerts, err := desk.Alerts(ctx, detect.AlertFilter{})
	if err != nil {
		return err
	}
	for _, t := range ts {
		arrived, found := 0, 0
		var missed []string
		for _, sc := range t.Truth.Scenarios {
			var n int
			if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM CopilotActivityData WHERE list_contains($1::VARCHAR[], RecordId)`, sc.RecordIDs).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			arrived++
			hit := false
			for _, a := range alerts {
				if alertCovers(a, sc) {
					hit = true
					break
				}
			}
			if hit {
				found++
			} else {
				missed = append(missed, sc.Name)
			}
		}
		fmt.Fprintf(out, "%s: the incidents cover %d of the %d injected scenarios whose records have arrived", t.Name, found, arrived)
		if len(missed) > 0 {
			fmt.Fprintf(out, " (not yet: %v — some of their records arrive later)", missed)
		}
		fmt.Fprintln(out)
	}
	return nil
}
