package main

import (
	"io"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testFlagToken is a token of the shortest length allowed.
const testFlagToken = "0123456789abcdef"

func parse(args ...string) (config, error) {
	env := func(string) string { return "" }
	return parseFlags(args, env, io.Discard)
}

func TestParseFlagsBootstrap(t *testing.T) {
	c, err := parse("-id", "n1", "-raft-addr", "127.0.0.1:7001", "-data-dir", "/tmp/x", "-token", testFlagToken,
		"-bootstrap", "-peers", "n1=127.0.0.1:7001,n2=127.0.0.1:7002")
	if err != nil {
		t.Fatal(err)
	}
	want := []raft.Server{
		{Suffrage: raft.Voter, ID: "n1", Address: "127.0.0.1:7001"},
		{Suffrage: raft.Voter, ID: "n2", Address: "127.0.0.1:7002"},
	}
	if len(c.peers) != 2 || c.peers[0] != want[0] || c.peers[1] != want[1] {
		t.Errorf("peers %v", c.peers)
	}
	if c.httpAddr != "127.0.0.1:0" {
		t.Errorf("default -http-addr %q, want loopback port 0", c.httpAddr)
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	c, err := parse("-id", "n1", "-raft-addr", "127.0.0.1:7001", "-data-dir", "/tmp/x", "-token", testFlagToken, "-bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.peers) != 1 || c.peers[0].ID != "n1" || c.peers[0].Address != "127.0.0.1:7001" {
		t.Errorf("-bootstrap alone: peers %v, want this server", c.peers)
	}
}

func TestTokenFromEnvironment(t *testing.T) {
	env := func(k string) string {
		if k == tokenEnv {
			return "from-env-0123456789"
		}
		return ""
	}
	c, err := parseFlags([]string{"-id", "n1", "-raft-addr", "127.0.0.1:7001", "-data-dir", "d"}, env, io.Discard)
	if err != nil || c.token != "from-env-0123456789" {
		t.Errorf("token %q, %v", c.token, err)
	}
}

func TestParseFlagsRefuses(t *testing.T) {
	base := []string{"-id", "n1", "-raft-addr", "127.0.0.1:7001", "-data-dir", "d", "-token", testFlagToken}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no id", args: []string{"-raft-addr", "127.0.0.1:7001", "-data-dir", "d", "-token", testFlagToken}, want: "-id"},
		{name: "no token", args: []string{"-id", "n1", "-raft-addr", "127.0.0.1:7001", "-data-dir", "d"}, want: "token"},
		{name: "no data dir", args: []string{"-id", "n1", "-raft-addr", "127.0.0.1:7001", "-token", testFlagToken}, want: "-data-dir"},
		{name: "public admin", args: append(base, "-http-addr", "0.0.0.0:8000"), want: "-admin-public"},
		{name: "all interfaces", args: append(base, "-http-addr", ":8000"), want: "-admin-public"},
		{name: "host name", args: append(base, "-http-addr", "example.com:80"), want: "loopback"},
		{name: "unspecified raft", args: []string{"-id", "n1", "-raft-addr", "0.0.0.0:7001", "-data-dir", "d", "-token", testFlagToken}, want: "advertise"},
		{name: "raft no port", args: []string{"-id", "n1", "-raft-addr", "127.0.0.1", "-data-dir", "d", "-token", testFlagToken}, want: "-raft-addr"},
		{name: "bootstrap and join", args: append(base, "-bootstrap", "-join", "http://127.0.0.1:1"), want: "exclude"},
		{name: "peers without bootstrap", args: append(base, "-peers", "n1=127.0.0.1:7001"), want: "needs -bootstrap"},
		{name: "peers without self", args: append(base, "-bootstrap", "-peers", "n2=127.0.0.1:7002"), want: "include this server"},
		{name: "self at another address", args: append(base, "-bootstrap", "-peers", "n1=127.0.0.1:7009"), want: "address"},
		{name: "peer twice", args: append(base, "-bootstrap", "-peers", "n1=127.0.0.1:7001,n1=127.0.0.1:7001"), want: "twice"},
		{name: "peer malformed", args: append(base, "-bootstrap", "-peers", "n1"), want: "id=value"},
		{name: "join not a URL", args: append(base, "-join", "127.0.0.1:8000"), want: "-join"},
		{name: "admin peer not a URL", args: append(base, "-admin-peers", "n2=ftp://x"), want: "-admin-peers"},
		{name: "bad log level", args: append(base, "-log-level", "loud"), want: "-log-level"},
		{name: "zero tick", args: append(base, "-tick", "0s"), want: "positive"},
		{name: "stray argument", args: append(base, "extra"), want: "unexpected"},
		{name: "short token", args: []string{"-id", "n1", "-raft-addr", "127.0.0.1:7001", "-data-dir", "d", "-token", "0123456789abcde"},
			want: "the token is 15 bytes; it must be at least 16"},
		{name: "one-character token", args: []string{"-id", "n1", "-raft-addr", "127.0.0.1:7001", "-data-dir", "d", "-token", "t"},
			want: "at least 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestAdminAddrPublicAllowed(t *testing.T) {
	if err := checkAdminAddr("0.0.0.0:8000", true); err != nil {
		t.Error(err)
	}
	for _, ok := range []string{"127.0.0.1:0", "[::1]:8000", "localhost:8000", "127.0.0.2:80"} {
		if err := checkAdminAddr(ok, false); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
