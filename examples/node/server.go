package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
	"github.com/ukehi/placement/hclogzap"
	"go.uber.org/zap"
)

// server is one raft server with its placement pieces and admin listener.
type server struct {
	cfg      config
	log      *zap.Logger
	wal      *wal.WAL
	raft     *raft.Raft
	node     *placement.RaftAdapter
	sched    *placement.Scheduler
	reg      *placement.ShardRegistry
	loop     *placement.Handle
	mover    *placement.Handle // the simulated copies, if any (-copy-time)
	http     *http.Server
	adminURL string
	serveErr chan error // the admin server's exit
	existed  bool       // the data dir held raft state at start
}

// startServer opens the stores in cfg.dataDir, starts raft (bootstrapping
// it if asked and the stores are new), the scheduler loop and the admin
// listener. On error it releases whatever it had opened.
func startServer(cfg config, log *zap.Logger) (_ *server, err error) {
	s := &server{cfg: cfg, log: log, serveErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	rlog := hclogzap.New(log, "raft")
	walDir := filepath.Join(cfg.dataDir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, err
	}
	// raft-wal fsyncs each append: a SIGKILL loses no acknowledged entry.
	if s.wal, err = wal.Open(walDir, wal.WithLogger(rlog.Named("wal"))); err != nil {
		return nil, fmt.Errorf("open raft log: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.dataDir, 2, rlog.Named("snapshots"))
	if err != nil {
		return nil, err
	}
	if s.existed, err = raft.HasExistingState(s.wal, s.wal, snaps); err != nil {
		return nil, err
	}
	advertise, err := net.ResolveTCPAddr("tcp", cfg.raftAddr)
	if err != nil {
		return nil, err
	}
	trans, err := raft.NewTCPTransportWithLogger(cfg.raftAddr, advertise, 3, 10*time.Second, rlog.Named("transport"))
	if err != nil {
		return nil, fmt.Errorf("raft transport: %w", err)
	}

	reg := placement.NewShardRegistry()
	s.reg = reg
	fsm := placement.NewFSM(reg, placement.WithApplyFunc(s.onApply))
	if s.raft, err = raft.NewRaft(s.raftConfig(rlog), fsm, s.wal, s.wal, snaps, trans); err != nil {
		_ = trans.Close()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	if cfg.bootstrap && !s.existed {
		if err := s.raft.BootstrapCluster(raft.Configuration{Servers: cfg.peers}).Error(); err != nil {
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
		log.Info("bootstrapped a new cluster", zap.Int("voters", len(cfg.peers)))
	}

	s.node = placement.NewRaftNode(s.raft)
	sc := placement.DefaultConfig()
	sc.TickInterval = cfg.tick
	sc.Logger = log
	// The format version rises by itself once every voter's admin endpoint
	// reports that it reads the newer format (a rolling upgrade's end).
	sc.ClusterFormat = admin.ClusterFormat(s.raft, cfg.id, func(id raft.ServerID) string { return cfg.adminPeers[id] }, nil)
	if s.sched, err = placement.New(s.node, reg, sc); err != nil {
		return nil, err
	}
	s.loop = s.sched.Start()
	if cfg.copyTime > 0 {
		if s.mover, err = s.simulateCopies(); err != nil {
			return nil, err
		}
	}
	if err := s.serveAdmin(reg); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *server) raftConfig(logger hclog.Logger) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = s.cfg.id
	c.HeartbeatTimeout = s.cfg.raftTimeout
	c.ElectionTimeout = s.cfg.raftTimeout
	c.LeaderLeaseTimeout = s.cfg.raftTimeout / 2
	c.SnapshotThreshold = s.cfg.snapshotThreshold
	c.SnapshotInterval = s.cfg.snapshotInterval
	c.Logger = logger
	return c
}

// onApply is where a database would act on placement changes: here, a
// move's beginning is only logged (the copier simulates the copy). It runs
// on raft's apply goroutine, on every server, and again for old entries
// when a server starts or joins and replays the log: so Debug. The leader's
// "plan applied" and "shard copied; move completed" are the Info lines.
func (s *server) onApply(index uint64, cmd placement.Command) {
	if t, ok := cmd.(placement.PlaceTransfer); ok {
		s.log.Debug("move begun; the new owner copies the shard's data now",
			zap.Uint64("index", index), zap.Uint64("shard", uint64(t.Shard)),
			zap.Uint64("from", uint64(t.From)), zap.Uint64("to", uint64(t.To)))
	}
}

// maxHeaderBytes bounds a request's header on the admin listener; a longer
// one gets 431, in JSON like every admin error (admin.Listener).
const maxHeaderBytes = 16 << 10

// serveAdmin binds the admin listener, prints its URL for scripts and tests
// to read, and serves on a goroutine that reports its exit on serveErr.
func (s *server) serveAdmin(reg *placement.ShardRegistry) error {
	ln, err := net.Listen("tcp", s.cfg.httpAddr)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	s.adminURL = "http://" + ln.Addr().String()
	peers := map[raft.ServerID]string{s.cfg.id: s.adminURL}
	for id, u := range s.cfg.adminPeers {
		if id != s.cfg.id {
			peers[id] = u
		}
	}
	stopping := make(chan struct{})
	h, err := admin.New(admin.Options{
		Scheduler: s.sched,
		Registry:  reg,
		Node:      s.node,
		Raft:      s.raft,
		ID:        s.cfg.id,
		Token:     s.cfg.token,
		// The map holds the keys of the host's data: reading it needs the
		// token too. /status and /metrics stay open.
		TokenForReads: true,
		AdminURL:      func(id raft.ServerID) string { return peers[id] },
		Logger:        s.log,
		// Data nodes long-poll GET /moves; a stop answers them at once.
		Stopping: stopping,
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	s.http = &http.Server{
		Handler:           h,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	s.http.RegisterOnShutdown(func() { close(stopping) })
	// admin.Listener makes the errors net/http answers before the handler
	// (431 for a header over MaxHeaderBytes, 400 for a malformed request)
	// JSON too.
	go func() { s.serveErr <- s.http.Serve(admin.Listener(ln)) }()
	fmt.Printf("admin listening on %s\n", s.adminURL)
	return nil
}

// shutdown stops the server in the order that loses nothing and leaves the
// cluster a leader: no new admin requests, no new proposals, then (on the
// leader) a leadership transfer so the others need not wait out an election
// timeout, then raft, then the stores.
func (s *server) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("admin shutdown: %w", err))
		}
	}
	if s.loop != nil {
		s.loop.Stop()
	}
	if s.raft != nil && s.raft.State() == raft.Leader && s.otherVoters() {
		// Bounded by raft: it gives up after an election timeout.
		if err := s.raft.LeadershipTransfer().Error(); err != nil {
			s.log.Warn("leadership transfer failed; the others will elect a leader after a timeout", zap.Error(err))
		} else {
			s.log.Info("leadership transferred")
		}
	}
	return errors.Join(append(errs, s.close())...)
}

// otherVoters reports whether the raft configuration has a voter other
// than this server, to hand leadership to.
func (s *server) otherVoters() bool {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == raft.Voter && srv.ID != s.cfg.id {
			return true
		}
	}
	return false
}

// close releases raft and the stores without the courtesies of shutdown.
func (s *server) close() error {
	var errs []error
	if s.mover != nil {
		s.mover.Stop()
	}
	if s.loop != nil {
		s.loop.Stop()
	}
	if s.node != nil {
		s.node.Close()
	}
	if s.raft != nil {
		// Shutdown also closes the transport.
		if err := s.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
		}
	}
	if s.wal != nil {
		if err := s.wal.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close raft log: %w", err))
		}
	}
	return errors.Join(errs...)
}
