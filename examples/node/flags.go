package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement/admin"
	"go.uber.org/zap/zapcore"
)

// config is the parsed command line.
type config struct {
	id          raft.ServerID
	raftAddr    string
	httpAddr    string
	adminPublic bool
	dataDir     string
	bootstrap   bool
	peers       []raft.Server // with bootstrap: the first configuration
	join        string        // an existing node's admin base URL
	adminPeers  map[raft.ServerID]string
	token       string

	tick              time.Duration
	copyTime          time.Duration
	raftTimeout       time.Duration
	snapshotThreshold uint64
	snapshotInterval  time.Duration
	logLevel          zapcore.Level
}

// tokenEnv is the environment variable the token is read from when -token
// is not given, so that it need not appear in the process list.
const tokenEnv = "PLACEMENT_TOKEN"

// parseFlags parses and checks args (without the program name). getenv reads
// the environment. Usage and errors are written to out.
func parseFlags(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var (
		c                 config
		id, peers, admins string
		logLevel          string
	)
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&id, "id", "", "this server's raft ID (required)")
	fs.StringVar(&c.raftAddr, "raft-addr", "", "raft TCP address, host:port (required); raft traffic is not authenticated, so keep it on loopback or a private network")
	fs.StringVar(&c.httpAddr, "http-addr", "127.0.0.1:0", "admin HTTP address; port 0 picks a free port")
	fs.BoolVar(&c.adminPublic, "admin-public", false, "allow an admin address that is not loopback")
	fs.StringVar(&c.dataDir, "data-dir", "", "directory for the raft log, stable store and snapshots (required)")
	fs.BoolVar(&c.bootstrap, "bootstrap", false, "bootstrap a new cluster (ignored if the data dir holds raft state)")
	fs.StringVar(&peers, "peers", "", "with -bootstrap: the first voters as id=host:port,...; default this server alone")
	fs.StringVar(&c.join, "join", "", "admin URL of a running node to ask to add this server as a voter (ignored if the data dir holds raft state)")
	fs.StringVar(&admins, "admin-peers", "", "other servers' admin URLs as id=http://host:port,..., so a follower can name the leader's")
	fs.StringVar(&c.token, "token", "", "bearer token for admin writes and joining, at least 16 bytes (default $"+tokenEnv+")")
	fs.DurationVar(&c.tick, "tick", 5*time.Second, "scheduler tick interval")
	fs.DurationVar(&c.copyTime, "copy-time", 2*time.Second, "how long a simulated shard copy takes before its move completes; 0: no simulated copies (data-node processes copy)")
	fs.DurationVar(&c.raftTimeout, "raft-timeout", time.Second, "raft heartbeat and election timeout (the leader lease is half)")
	fs.Uint64Var(&c.snapshotThreshold, "snapshot-threshold", 8192, "log entries between raft snapshots")
	fs.DurationVar(&c.snapshotInterval, "snapshot-interval", 2*time.Minute, "how often raft checks whether to snapshot")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.id = raft.ServerID(id)
	if c.token == "" {
		c.token = getenv(tokenEnv)
	}
	var err error
	if c.logLevel, err = zapcore.ParseLevel(logLevel); err != nil {
		return config{}, fmt.Errorf("-log-level: %w", err)
	}
	if c.peers, err = parsePeers(peers); err != nil {
		return config{}, fmt.Errorf("-peers: %w", err)
	}
	if c.adminPeers, err = parseAdminPeers(admins); err != nil {
		return config{}, fmt.Errorf("-admin-peers: %w", err)
	}
	return c, c.check()
}

// check reports the first flag that is missing, malformed or in conflict.
func (c *config) check() error {
	switch {
	case c.id == "":
		return errors.New("-id is required")
	case c.dataDir == "":
		return errors.New("-data-dir is required")
	case c.token == "":
		return fmt.Errorf("a token is required: -token or $%s", tokenEnv)
	case len(c.token) < admin.MinTokenBytes:
		return fmt.Errorf("the token is %d bytes; it must be at least %d (make one with: head -c 18 /dev/urandom | base64)",
			len(c.token), admin.MinTokenBytes)
	case c.bootstrap && c.join != "":
		return errors.New("-bootstrap and -join exclude each other")
	case len(c.peers) > 0 && !c.bootstrap:
		return errors.New("-peers needs -bootstrap")
	case c.tick <= 0 || c.raftTimeout <= 0 || c.snapshotInterval <= 0 || c.copyTime < 0:
		return errors.New("-tick, -raft-timeout and -snapshot-interval must be positive, -copy-time not negative")
	}
	if err := checkRaftAddr(c.raftAddr); err != nil {
		return fmt.Errorf("-raft-addr: %w", err)
	}
	if err := checkAdminAddr(c.httpAddr, c.adminPublic); err != nil {
		return fmt.Errorf("-http-addr: %w", err)
	}
	if c.join != "" {
		if err := checkURL(c.join); err != nil {
			return fmt.Errorf("-join: %w", err)
		}
	}
	if c.bootstrap {
		if len(c.peers) == 0 {
			c.peers = []raft.Server{{Suffrage: raft.Voter, ID: c.id, Address: raft.ServerAddress(c.raftAddr)}}
		}
		found := false
		for _, p := range c.peers {
			if p.ID == c.id {
				if string(p.Address) != c.raftAddr {
					return fmt.Errorf("-peers gives %s the address %s, -raft-addr %s", c.id, p.Address, c.raftAddr)
				}
				found = true
			}
		}
		if !found {
			return fmt.Errorf("-peers must include this server, %s", c.id)
		}
	}
	return nil
}

// parsePeers parses "id=host:port,...".
func parsePeers(s string) ([]raft.Server, error) {
	pairs, err := parsePairs(s)
	if err != nil {
		return nil, err
	}
	var out []raft.Server
	for _, p := range pairs {
		if err := checkRaftAddr(p.value); err != nil {
			return nil, fmt.Errorf("%s: %w", p.id, err)
		}
		out = append(out, raft.Server{Suffrage: raft.Voter, ID: p.id, Address: raft.ServerAddress(p.value)})
	}
	return out, nil
}

// parseAdminPeers parses "id=http://host:port,...".
func parseAdminPeers(s string) (map[raft.ServerID]string, error) {
	pairs, err := parsePairs(s)
	if err != nil {
		return nil, err
	}
	out := map[raft.ServerID]string{}
	for _, p := range pairs {
		if err := checkURL(p.value); err != nil {
			return nil, fmt.Errorf("%s: %w", p.id, err)
		}
		out[p.id] = strings.TrimRight(p.value, "/")
	}
	return out, nil
}

type pair struct {
	id    raft.ServerID
	value string
}

// parsePairs splits "id=value,..." and refuses empty parts and repeated IDs.
func parsePairs(s string) ([]pair, error) {
	if s == "" {
		return nil, nil
	}
	var out []pair
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		id, value, ok := strings.Cut(item, "=")
		switch {
		case !ok || id == "" || value == "":
			return nil, fmt.Errorf("%q is not id=value", item)
		case seen[id]:
			return nil, fmt.Errorf("%s given twice", id)
		}
		seen[id] = true
		out = append(out, pair{id: raft.ServerID(id), value: value})
	}
	return out, nil
}

// checkRaftAddr requires host:port with an IP that other servers can dial:
// the TCP transport advertises it as given.
func checkRaftAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return fmt.Errorf("%q: need a specific IP address to advertise", addr)
	}
	return nil
}

// checkAdminAddr keeps the admin listener on loopback unless public is set:
// /status and /metrics need no token, and a token is only as safe as the
// network under it.
func checkAdminAddr(addr string, public bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if public {
		return nil
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q is not a loopback address; pass -admin-public to allow it", addr)
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s)://host:port URL", s)
	}
	return nil
}
