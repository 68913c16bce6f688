// Command node runs one raft server of a placement deployment, as a database
// server would: raft over TCP, its log and stable store on disk
// (hashicorp/raft-wal), file snapshots, the placement FSM and Scheduler, and
// the admin HTTP surface of package admin. Run three of them for a cluster;
// see the README's "Run a 3-node cluster".
//
//	node -id n1 -raft-addr 127.0.0.1:7001 -data-dir /tmp/n1 -bootstrap \
//	     -peers n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003
//	node -id n4 -raft-addr 127.0.0.1:7004 -data-dir /tmp/n4 -join http://127.0.0.1:8001
//
// The admin token comes from -token or $PLACEMENT_TOKEN and is required, at
// least 16 bytes long. The admin listener stays on loopback unless
// -admin-public is given; the line "admin listening on http://HOST:PORT" on
// standard output gives its address. Any server takes admin writes: a
// follower forwards them to the leader's admin URL from -admin-peers. Logs,
// raft's included, go to standard error through zap.
//
// Restarting with the same -data-dir brings the map back: raft restores the
// latest snapshot and replays the log after it into the FSM. -bootstrap and
// -join are ignored then. On SIGTERM or SIGINT the node stops taking admin
// requests, stops its scheduler, hands leadership to another server if it
// leads, shuts raft down and closes its stores, and exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-metrics"
	metricsprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/ukehi/placement/admin/promdefs"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	log, err := newLogger(cfg.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	log = log.With(zap.String("server", string(cfg.id)))

	// go-metrics' global sink is where the scheduler and raft send their
	// metrics; the Prometheus sink registers with Prometheus' default
	// registry, which the admin handler serves on /metrics. The scheduler's
	// metrics carry help text and units (promdefs).
	opts := metricsprom.DefaultPrometheusOpts
	opts.GaugeDefinitions, opts.SummaryDefinitions, opts.CounterDefinitions = promdefs.Definitions()
	sink, err := metricsprom.NewPrometheusSinkFrom(opts)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	mc := metrics.DefaultConfig("")
	mc.EnableHostname = false
	mc.EnableRuntimeMetrics = false // Prometheus' own Go collector has them
	if _, err := metrics.NewGlobal(mc, sink); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	s, err := startServer(cfg, log)
	if err != nil {
		return err
	}
	if cfg.join != "" && !s.existed {
		jctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := join(jctx, log, cfg)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil: // a signal while joining
			return s.shutdown()
		case err != nil:
			return errors.Join(fmt.Errorf("join %s: %w", cfg.join, err), s.shutdown())
		}
	}

	select {
	case <-ctx.Done():
		log.Info("signal received; shutting down")
	case err := <-s.serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return errors.Join(fmt.Errorf("admin server: %w", err), s.shutdown())
		}
	}
	if err := s.shutdown(); err != nil {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

// newLogger returns a console logger on standard error: readable in a
// terminal and in a test's log.
func newLogger(level zapcore.Level) (*zap.Logger, error) {
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.Encoding = "console"
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	zc.Sampling = nil
	return zc.Build()
}
