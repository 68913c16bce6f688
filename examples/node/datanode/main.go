// Command datanode runs one data node of a placement deployment that is
// not a raft server, as most sharded databases have them: a few placement
// servers (cmd node) and many data nodes. It registers as data node N
// through the admin API's client (package admin/client), heartbeats its
// capacity to every placement server, and copies the shards moving into
// it with a placement.Mover, which completes each move through the
// client. The copy is simulated: it takes -copy-time.
//
//	datanode -node 4 -servers http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003
//
// Run the placement servers with -copy-time 0, so that they leave the
// copies to the data nodes. The token comes from -token or
// $PLACEMENT_TOKEN. Once registered, it prints "data node running: N" on
// standard output. On SIGTERM or SIGINT it stops its copies (a move in
// flight is copied again by its next start, or aborted by the leader
// after Policy.MoveTimeout) and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/client"
	"go.uber.org/zap"
)

type config struct {
	node      placement.NodeID
	servers   []string
	token     string
	copyTime  time.Duration
	heartbeat time.Duration
	capacity  uint64
	debug     bool
}

func parseFlags(args []string) (config, error) {
	var c config
	var node uint64
	var servers string
	fs := flag.NewFlagSet("datanode", flag.ContinueOnError)
	fs.Uint64Var(&node, "node", 0, "this data node's ID (required)")
	fs.StringVar(&servers, "servers", "", "the placement servers' admin URLs, comma-separated (required)")
	fs.StringVar(&c.token, "token", os.Getenv("PLACEMENT_TOKEN"), "admin bearer token (default $PLACEMENT_TOKEN)")
	fs.DurationVar(&c.copyTime, "copy-time", 2*time.Second, "how long a simulated shard copy takes")
	fs.DurationVar(&c.heartbeat, "heartbeat", 5*time.Second, "how often the node reports its capacity")
	fs.Uint64Var(&c.capacity, "capacity", 0, "bytes this node may hold; 0: unknown (not reported)")
	fs.BoolVar(&c.debug, "debug", false, "log at Debug")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	c.node, c.servers = placement.NodeID(node), strings.Split(servers, ",")
	switch {
	case fs.NArg() > 0:
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	case node == 0 || servers == "":
		return config{}, errors.New("-node and -servers are required")
	case c.copyTime <= 0 || c.heartbeat <= 0:
		return config{}, errors.New("-copy-time and -heartbeat must be positive")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "datanode:", err)
		os.Exit(2)
	}
	zc := zap.NewDevelopmentConfig()
	if !cfg.debug {
		zc.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
	}
	log, _ := zc.Build()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("stopped", zap.Error(err))
		os.Exit(1)
	}
	log.Info("stopped cleanly")
}

func run(ctx context.Context, cfg config, log *zap.Logger) error {
	c, err := client.New(client.Config{Servers: cfg.servers, Token: cfg.token, Logger: log})
	if err != nil {
		return err
	}
	if err := register(ctx, c, cfg.node, log.With(zap.Uint64("data_node", uint64(cfg.node)))); err != nil {
		return err
	}
	mv, err := placement.NewMover(placement.MoverConfig{
		Node: cfg.node, Source: c, Completer: c, Logger: log,
		Copy: func(ctx context.Context, m placement.Move) error { return simulateCopy(ctx, m, cfg.copyTime) },
		// The leader aborts a copy whose progress stops growing for
		// Policy.MoveTimeout; a report every 10 seconds at most is plenty.
		OnProgress: newProgressReporter(c, 10*time.Second, log).report,
	})
	if err != nil {
		return err
	}
	moving := mv.Start()
	defer moving.Stop()
	fmt.Printf("data node running: %d\n", cfg.node)
	heartbeat(ctx, c, cfg, log)
	return nil
}

// progressReporter sends copies' progress to every server
// (client.ReportProgress), at most once per interval per shard, on the
// copy's goroutine: a copy that reports faster loses nothing but the
// requests.
type progressReporter struct {
	c     *client.Client
	every time.Duration
	log   *zap.Logger
	mu    sync.Mutex
	last  map[placement.ShardID]time.Time // one entry per shard moved here
}

func newProgressReporter(c *client.Client, every time.Duration, log *zap.Logger) *progressReporter {
	return &progressReporter{c: c, every: every, log: log, last: map[placement.ShardID]time.Time{}}
}

// report is MoverConfig.OnProgress.
func (p *progressReporter) report(m placement.Move, copied uint64) {
	p.mu.Lock()
	if time.Since(p.last[m.Shard]) < p.every {
		p.mu.Unlock()
		return
	}
	p.last[m.Shard] = time.Now()
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), p.every)
	defer cancel()
	if err := p.c.ReportProgress(ctx, m, copied); err != nil {
		p.log.Debug("progress not reported everywhere; the next report retries", zap.Stringer("move", m), zap.Error(err))
	}
}
