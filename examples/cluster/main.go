// Command cluster is placement's main demonstration: three raft servers in
// one process share a placement map of five data nodes, one of them just
// added and empty. Their schedulers split oversized shards, merge cold
// neighbours and even out shard counts; part-way through, the raft leader is
// killed and a new one carries on. The run ends with a summary and exits
// non-zero if the map does not converge or the replicas differ.
//
//	go run ./examples/cluster
package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

const (
	dataNodes    = 5
	killAfter    = 6 // transfers applied before the leader is killed
	quietTicks   = 3 // leader ticks with nothing to do that mean "converged"
	deadline     = 25 * time.Second
	tickInterval = 100 * time.Millisecond
	// copyTime is how long the host takes to copy a shard to its new
	// owner: moves stay in flight that long before they complete.
	copyTime = 250 * time.Millisecond
)

// demo holds what the tick and apply callbacks share with main.
type demo struct {
	mu        sync.Mutex
	cluster   *placementtest.Cluster
	ticks     int
	quiet     int
	minBytes  int64                                 // MinBytes of the first plan with a transfer, or -1
	applied   map[int]map[placement.CommandType]int // per raft server
	started   bool                                  // the map and stats are in
	converged chan struct{}
	lastTerm  uint64
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run() error {
	d := &demo{
		applied:   map[int]map[placement.CommandType]int{},
		converged: make(chan struct{}),
		minBytes:  -1,
	}
	cfg := placement.DefaultConfig()
	cfg.TickInterval = tickInterval
	cfg.MaxActionsPerTick = 2
	cfg.ApplyTimeout = 2 * time.Second
	cfg.SplitKeys = 50_000
	c, err := placementtest.NewCluster(placementtest.ClusterOptions{
		Config:  cfg,
		OnApply: d.onApply,
		OnTick:  d.onTick,
		// The host: each copy takes copyTime, then the new owner's
		// CompleteTransfer goes through the leader.
		Mover: &placementtest.MoverOptions{Delay: copyTime},
	})
	if err != nil {
		return err
	}
	defer c.Shutdown()
	d.cluster = c
	start := time.Now()
	// Hold the schedulers while the map and the stats go in.
	for _, s := range c.Servers {
		s.Scheduler.PauseLocal()
	}

	results, err := c.Apply(5*time.Second, bootstrap()...)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := errors.Join(results...); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := c.WaitIdentical(5 * time.Second); err != nil {
		return fmt.Errorf("bootstrap not replicated: %w", err)
	}
	// The host reports shard sizes on every server: stats are soft state.
	// New shards are under the merge embargo for MergeEmbargo reports, as
	// if they had been split: report past it, as a host that has run a
	// while would have.
	for _, s := range c.Servers {
		for range cfg.MergeEmbargo {
			for id, st := range stats() {
				if err := s.Registry.ReportStats(id, st); err != nil {
					return err
				}
			}
		}
	}
	fmt.Printf("3 raft servers, %d data nodes (node %d new and empty), %d shards\n",
		dataNodes, dataNodes, len(stats()))
	d.mu.Lock()
	d.started = true
	d.mu.Unlock()
	for _, s := range c.Servers {
		s.Scheduler.ResumeLocal()
	}

	if err := placementtest.WaitFor(deadline, func() bool { return d.mostApplied(placement.TypePlaceTransfer) >= killAfter }); err != nil {
		return fmt.Errorf("waiting for %d transfers: %w", killAfter, err)
	}
	victim := c.Leader()
	if victim >= 0 {
		fmt.Printf("--- killing the leader, server%d ---\n", victim)
		c.Kill(victim)
	}

	select {
	case <-d.converged:
	case <-time.After(deadline - time.Since(start)):
		return fmt.Errorf("did not converge within %v", deadline)
	}
	if victim >= 0 {
		fmt.Printf("--- restarting server%d from its stores ---\n", victim)
		if err := c.Restart(victim); err != nil {
			return err
		}
	}
	identical := c.WaitIdentical(10*time.Second) == nil
	// Count on a server that ran throughout: a restarted one re-applies.
	return d.summary(time.Since(start), (victim+1)%3, identical)
}

// bootstrap is one entry: a new cluster's format version (every server runs
// this release), five data nodes and 60 shards over a skewed key space
// (node 1 holds 24, node 5 none).
func bootstrap() []placement.Command {
	cmds := []placement.Command{placement.SetFormatVersion{Version: placement.FormatVersion}}
	for n := placement.NodeID(1); n <= dataNodes; n++ {
		cmds = append(cmds, placement.AddNode{Node: n})
	}
	owners := []placement.NodeID{}
	for n, count := range map[placement.NodeID]int{1: 24, 2: 16, 3: 12, 4: 8} {
		for ; count > 0; count-- {
			owners = append(owners, n)
		}
	}
	slices.Sort(owners)
	for i, n := range owners {
		r := placement.KeyRange{Start: key(i)}
		if i < len(owners)-1 {
			r.End = key(i + 1)
		}
		cmds = append(cmds, placement.CreateShard{ID: placement.ShardID(i + 1), Range: r, Node: n})
	}
	return cmds
}

func key(i int) []byte { return []byte(fmt.Sprintf("user/%06d", i*250)) }

// stats gives most shards middling sizes, three oversized ones and two
// pairs of cold neighbours.
func stats() map[placement.ShardID]placement.Stats {
	out := map[placement.ShardID]placement.Stats{}
	for id := placement.ShardID(1); id <= 60; id++ {
		out[id] = placement.Stats{Keys: 20_000 + uint64(id)*100, Bytes: 64 << 20}
	}
	for _, id := range []placement.ShardID{2, 30, 45} {
		out[id] = placement.Stats{Keys: 80_000, Bytes: 300 << 20}
	}
	for _, id := range []placement.ShardID{5, 6, 12, 13, 50, 51} {
		out[id] = placement.Stats{Keys: 300, Bytes: 1 << 20}
	}
	return out
}

func (d *demo) onApply(server int, _ uint64, cmd placement.Command) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.applied[server] == nil {
		d.applied[server] = map[placement.CommandType]int{}
	}
	d.applied[server][cmd.Type()]++
}

func (d *demo) mostApplied(typ placement.CommandType) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	most := 0
	for _, counts := range d.applied {
		most = max(most, counts[typ])
	}
	return most
}

func (d *demo) onTick(server int, rep placement.TickReport, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !rep.Leader || !d.started {
		return
	}
	d.ticks++
	if d.minBytes < 0 && hasTransfer(rep.Commands) {
		// The host reports sizes, so the planner balances bytes: the
		// first plan with a transfer reports the least bytes that even
		// them out (splits and merges change no node's bytes).
		d.minBytes = int64(rep.MinBytes)
	}
	if rep.Term != d.lastTerm {
		note := ""
		if rep.Barrier {
			note = " (barrier before planning)"
		}
		fmt.Printf("server%d leads term %d%s\n", server, rep.Term, note)
		d.lastTerm = rep.Term
	}
	counts := d.counts(server)
	inFlight := d.cluster.Servers[server].Registry.View().MoveCount()
	fmt.Printf("tick %3d  server%d  spread %v  after: shards/node %s  in flight %d  %s\n",
		d.ticks, server, rep.Balance, counts, inFlight, describe(rep, err))
	// Converged: nothing to plan, and every move begun has completed.
	if err == nil && len(rep.Commands) == 0 && inFlight == 0 {
		d.quiet++
		if d.quiet == quietTicks {
			close(d.converged)
		}
	} else {
		d.quiet = 0
	}
}

func (d *demo) counts(server int) string {
	var parts []string
	for _, n := range d.cluster.Servers[server].Registry.View().Nodes() {
		parts = append(parts, fmt.Sprintf("%d:%-2d", n.ID, n.Shards))
	}
	return strings.Join(parts, " ")
}

func hasTransfer(cmds []placement.Command) bool {
	for _, c := range cmds {
		if c.Type() == placement.TypePlaceTransfer {
			return true
		}
	}
	return false
}

func describe(rep placement.TickReport, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	if len(rep.Commands) == 0 {
		return "nothing to do"
	}
	kinds := map[string]int{}
	for _, c := range rep.Commands {
		kinds[strings.Fields(c.String())[0]]++
	}
	var parts []string
	for _, k := range []string{"split", "merge", "transfer"} {
		if kinds[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
		}
	}
	return "proposed " + strings.Join(parts, ", ") + moved(rep)
}

// moved notes what the tick's transfers begin: moves the new owners copy
// before they complete.
func moved(rep placement.TickReport) string {
	if !hasTransfer(rep.Commands) {
		return ""
	}
	return " (moves begin; the owners serve until the copies complete)"
}

func (d *demo) summary(elapsed time.Duration, witness int, identical bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	applied := d.applied[witness]
	fmt.Printf("\nsummary after %v: %d leader ticks, %d splits, %d merges, %d moves begun, %d completed, %d aborted (lower bound on bytes to move: %d MiB)\n",
		elapsed.Round(time.Millisecond), d.ticks, applied[placement.TypePlaceSplit],
		applied[placement.TypePlaceMerge], applied[placement.TypePlaceTransfer],
		applied[placement.TypeCompleteTransfer], applied[placement.TypeAbortTransfer], max(d.minBytes, 0)>>20)
	if !identical {
		fmt.Println("replicas differ")
		return fmt.Errorf("replicas differ")
	}
	fmt.Printf("converged: yes; every replica's map identical: yes\n")
	return nil
}
