package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/aiwatch/aiwatch/internal/audit"
	"github.com/aiwatch/aiwatch/internal/config"
	"github.com/aiwatch/aiwatch/internal/server"
	"github.com/aiwatch/aiwatch/internal/store"
)

func init() { rootCmd.AddCommand(newServeCmd()) }

// HOOK (lead): serveHooks start what else runs inside serve (the detection
// scheduler, automation). Each is called once the store is open and the
// collectors are set up, in order; the returned stop is called on shutdown,
// in reverse order, after the HTTP server has stopped and before the store
// closes. An error stops serve (hooks already started are stopped).
var serveHooks []func(ctx context.Context, st *store.Store, cfg *config.Config, reg prometheus.Registerer) (stop func(), err error)

// HOOK (lead): serveDetections builds the API's rules/alerts/incidents
// backend. Nil (or a nil result) serves those endpoints as 503.
var serveDetections func(st *store.Store, cfg *config.Config) server.Detections

// serveShutdownTimeout bounds how long in-flight requests may finish.
const serveShutdownTimeout = 10 * time.Second

func newServeCmd() *cobra.Command {
	var cfgPath, numbering string
	cmd := &cobra.Command{
		Use:   "serve --config FILE [--data DIR]",
		Short: "Run the collectors, detections and the JSON API in one long-running process",
		Long: `Serve holds the data directory and runs, until SIGINT or SIGTERM: the
collectors of every configured tenant (as "aiwatch collect" does; no
tenants is fine), the detection scheduler and automation, and a JSON API on
server.listen:

  GET   /healthz                          liveness, no token
  GET   /metrics                          Prometheus metrics
  GET   /api/v1/status                    collector status
  POST  /api/v1/query                     {"query": "KQL", "format": "json"|"csv"}
  GET   /api/v1/rules
  GET   /api/v1/alerts?since=24h&severity=High&rule=ID&limit=100
  GET   /api/v1/incidents?status=New&severity=High&limit=100
  GET   /api/v1/incidents/{id}
  PATCH /api/v1/incidents/{id}            {"status", "severity", "owner", "classification",
                                           "classificationComment", "addTags", "removeTags", "comment"}
  POST  /api/v1/incidents/{id}/comments   {"message": "text"}

Everything but /healthz requires "Authorization: Bearer <token>", the token
read from server.token_env or server.token_file (required). Query results
are capped at 10,000 rows ("truncated": true says so) and stopped after a
minute.

While serve runs, the data directory holds serve.json with its address and
pid; CLI commands that find the directory in use go through the API with
the token from $AIWATCH_TOKEN.`,
		Example: `  AIWATCH_API_TOKEN=$(cat token) aiwatch serve --config aiwatch.yaml
  curl -H "Authorization: Bearer $(cat token)" -d '{"query":"CopilotActivity | count"}' http://127.0.0.1:8080/api/v1/query`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, cfgPath, numbering)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file (required)")
	cmd.Flags().StringVar(&numbering, "record-type-numbering", "371", "numbering of the disputed record types: 371 or 373")
	cmd.MarkFlagRequired("config")
	return cmd
}

func runServe(cmd *cobra.Command, cfgPath, numbering string) error {
	num, err := audit.ParseNumbering(numbering)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(cmd, cfgPath)
	if err != nil {
		return err
	}
	if cfg.Server.TokenEnv == "" && cfg.Server.TokenFile == "" {
		return &exitError{code: 2, msg: fmt.Sprintf("aiwatch serve needs an API token: set server.token_env (an environment variable holding it) or server.token_file in %s", cfgPath)}
	}
	token, err := cfg.Server.Token()
	if err != nil {
		return &exitError{code: 2, msg: err.Error()}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir := dataDirOr(cfg.DataDir)
	st, err := openStoreWith(ctx, dir, detectStoreOptions())
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			if ep, eerr := server.ReadEndpoint(dir); eerr == nil {
				return fmt.Errorf("aiwatch serve already runs for %s (pid %d, listening on %s)", dir, ep.PID, ep.Addr)
			}
		}
		return err
	}
	storeOpen := true
	defer func() {
		if storeOpen {
			st.Close()
		}
	}()

	if cfg.Server.Listen == "off" {
		return &exitError{code: 2, msg: "serve needs server.listen, the address of its API; \"off\" is for collect alone"}
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on server.listen %s: %w", cfg.Server.Listen, err)
	}
	defer ln.Close()

	reg := prometheus.NewRegistry()
	c, err := newCollector(ctx, st, cfg, num, reg)
	if err != nil {
		return err
	}
	closeCollector := sync.OnceFunc(c.Close) // Close twice would panic
	defer closeCollector()

	var stops []func()
	stopHooks := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		stops = nil
	}
	defer stopHooks()
	for _, h := range serveHooks {
		s, err := h(ctx, st, &cfg, reg)
		if err != nil {
			return err
		}
		if s != nil {
			stops = append(stops, s)
		}
	}
	var det server.Detections
	if serveDetections != nil {
		det = serveDetections(st, &cfg)
	}

	handler, err := server.New(server.Options{
		Store:      st,
		Detections: det,
		Status:     c.Report,
		Gatherer:   reg,
		Registerer: reg,
		Token:      token,
		Logger:     slog.Default(),
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		// A query may run for DefaultQueryTimeout before its answer is written.
		WriteTimeout: server.DefaultQueryTimeout + time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	addr := ln.Addr().String()
	if err := server.WriteEndpoint(dir, addr); err != nil {
		shutdownHTTP(srv)
		return err
	}
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		c.Run(ctx)
	}()
	slog.Info("serving", "addr", addr, "data_dir", dir, "tenants", len(cfg.Tenants), "detections", det != nil)

	var runErr error
	select {
	case <-ctx.Done():
		slog.Info("stopping")
	case err := <-served:
		runErr = fmt.Errorf("the API server stopped: %w", err)
		stop()
	}
	shutdownHTTP(srv)
	<-collected
	stopHooks()
	closeCollector()
	st.Close()
	storeOpen = false
	// Removed last: while the file exists the CLI may still find the
	// directory locked and should learn why.
	if err := server.RemoveEndpoint(dir); err != nil {
		slog.Error("cannot remove the endpoint file", "err", err)
	}
	if runErr == nil {
		slog.Info("stopped")
	}
	return runErr
}

// shutdownHTTP lets in-flight requests finish, then closes what is left.
func shutdownHTTP(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		slog.Warn("API requests cut short at shutdown", "err", err)
		srv.Close()
	}
}
