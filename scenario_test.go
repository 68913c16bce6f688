package placement

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/plan scenarios")

// TestPlanScenarios runs the planner scenarios in testdata/plan. Each file is
// a script of directives; after every "plan" or "run" directive comes a
// "----" line and the expected output up to the next blank line. Run with
// -rewrite to regenerate the expected output.
//
// Directives:
//
//	policy split-keys=N split-bytes=N merge-keys=N merge-bytes=N fraction=F embargo=N trigger=F stop=F cap=N
//	       counts=F load-trigger=F load-stop=F inflight=N
//	       churn-bytes=F churn-shards=F send-rate=N recv-rate=N
//	       window=HH:MM-HH:MM (adds a rebalancing window)
//	clock HH:MM                 (the time of day, UTC, from now on: the log
//	                            time of what is applied and the planner's
//	                            clock)
//	node ID                     (an up node)
//	state ID up|draining|down|lost
//	capacity ID BYTES           (report the node's capacity)
//	format N                    (apply SetFormatVersion N)
//	shard ID START END NODE     (END "+inf" is unbounded; keys may be Go-quoted)
//	shards NODE COUNT [keys=N bytes=N load=F]
//	                            (COUNT consecutive shards after the last one,
//	                            with these stats if given)
//	stats ID keys=N bytes=N [load=F] [hint=KEY] [times=N]
//	split ID KEY                (apply a split now)
//	plan limit=N [apply]        (print one plan; with apply, apply its
//	                            commands: at format 3 a transfer begins a
//	                            move that stays in flight)
//	begin SHARD TO              (begin moving SHARD from its owner to TO)
//	complete SHARD|all          (complete the move of SHARD, or every move)
//	abort SHARD                 (abort the move of SHARD)
//	moves                       (print every node's shards and the moves in
//	                            flight)
//	run limit=N                 (plan and apply until a plan is empty; print
//	                            each, then every node's shards, bytes and load)
func TestPlanScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/plan/*.txt")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 15)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			got := runScenario(t, string(data))
			if *rewrite {
				require.NoError(t, os.WriteFile(file, []byte(got), 0o644))
				return
			}
			require.Equal(t, string(data), got)
		})
	}
}

// runScenario executes a script and returns it with fresh expected output.
func runScenario(t *testing.T, script string) string {
	sc := &scenario{t: t, g: NewShardRegistry(), pol: DefaultPolicy()}
	var out strings.Builder
	lines := strings.Split(strings.TrimRight(script, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		out.WriteString(line + "\n")
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(line, "#") {
			continue
		}
		result, printed := sc.do(fields)
		if !printed {
			continue
		}
		// Drop the old expected block, write the new one.
		if i+1 < len(lines) && lines[i+1] == "----" {
			i++
			for i+1 < len(lines) && lines[i+1] != "" {
				i++
			}
		}
		out.WriteString("----\n" + result + "\n")
		if i+1 < len(lines) && lines[i+1] == "" {
			i++ // the blank line that ended the old block
		}
	}
	return strings.TrimRight(out.String(), "\n") + "\n"
}

type scenario struct {
	t     *testing.T
	g     *ShardRegistry
	pol   Policy
	coord *Coordinator
	next  int // name of the next bulk shard
	// now is the scenario's clock (the "clock" directive): the log time
	// of the commands it applies and the planner's clock; zero for none.
	now time.Time
}

// apply applies c at the scenario's clock.
func (sc *scenario) apply(c Command) error { return sc.g.ApplyAt(c, sc.now) }

func (sc *scenario) do(f []string) (string, bool) {
	t := sc.t
	args := kv(f[1:])
	switch f[0] {
	case "policy":
		sc.setPolicy(args)
	case "clock":
		at, err := time.Parse("15:04", f[1])
		require.NoError(t, err)
		sc.now = time.Date(2026, 12, 5, at.Hour(), at.Minute(), 0, 0, time.UTC)
	case "node":
		require.NoError(t, sc.apply(AddNode{Node: NodeID(atoi(t, f[1]))}))
	case "state":
		st, ok := map[string]NodeState{"up": NodeUp, "draining": NodeDraining, "down": NodeDown, "lost": NodeLost}[f[2]]
		require.True(t, ok, "unknown state %q", f[2])
		require.NoError(t, sc.apply(SetNodeState{Node: NodeID(atoi(t, f[1])), State: st}))
	case "shard":
		r := KeyRange{Start: scenarioKey(t, f[2])}
		if f[3] != "+inf" {
			r.End = scenarioKey(t, f[3])
		}
		require.NoError(t, sc.apply(CreateShard{ID: ShardID(atoi(t, f[1])), Range: r, Node: NodeID(atoi(t, f[4]))}))
	case "shards":
		for n := atoi(t, f[2]); n > 0; n-- {
			r := KeyRange{Start: []byte(fmt.Sprintf("s%04d", sc.next)), End: []byte(fmt.Sprintf("s%04d", sc.next+1))}
			sc.next++
			id := sc.g.View().NextShardID()
			require.NoError(t, sc.apply(CreateShard{Range: r, Node: NodeID(atoi(t, f[1]))}))
			if len(args) > 0 {
				require.NoError(t, sc.g.ReportStats(id, sc.stats(args)))
			}
		}
	case "format":
		require.NoError(t, sc.apply(SetFormatVersion{Version: u64(t, f[1])}))
	case "capacity":
		require.NoError(t, sc.g.ReportNodeStats(NodeID(atoi(t, f[1])), NodeStats{Capacity: u64(t, f[2])}))
	case "stats":
		st := sc.stats(args)
		if h, ok := args["hint"]; ok {
			st.SplitKey = scenarioKey(t, h)
		}
		times := 1
		if n, ok := args["times"]; ok {
			times = atoi(t, n)
		}
		for ; times > 0; times-- {
			require.NoError(t, sc.g.ReportStats(ShardID(atoi(t, f[1])), st))
		}
	case "split":
		sh, ok := sc.g.View().Shard(ShardID(atoi(t, f[1])))
		require.True(t, ok)
		require.NoError(t, sc.apply(PlaceSplit{Shard: sh.ID, Epoch: sh.Epoch, SplitKey: scenarioKey(t, f[2])}))
	case "plan":
		p := sc.coordinator().Plan(sc.g.View(), atoi(t, args["limit"]))
		if len(f) > 2 && f[2] == "apply" {
			for _, c := range p.Commands {
				require.NoError(t, sc.apply(c), "apply %v", c)
			}
		}
		return formatPlan(p), true
	case "begin":
		sh, ok := sc.g.View().Shard(ShardID(atoi(t, f[1])))
		require.True(t, ok)
		require.NoError(t, sc.apply(PlaceTransfer{Shard: sh.ID, Epoch: sh.Epoch, From: sh.Node, To: NodeID(atoi(t, f[2]))}))
	case "complete", "abort":
		sc.endMoves(f[0] == "abort", f[1])
	case "moves":
		return formatMoves(sc.g.View()), true
	case "run":
		var b strings.Builder
		for round := 1; round <= 100; round++ {
			p := sc.coordinator().Plan(sc.g.View(), atoi(t, args["limit"]))
			fmt.Fprintf(&b, "round %d: ", round)
			b.WriteString(formatPlan(p))
			if len(p.Commands) == 0 {
				break
			}
			for _, c := range p.Commands {
				require.NoError(t, sc.apply(c))
			}
		}
		fmt.Fprintf(&b, "counts %v\n", nodeCounts(sc.g.View()))
		if u := nodeUsage(sc.g.View()); u != nil {
			fmt.Fprintf(&b, "bytes %v\n", u)
		}
		return b.String(), true
	default:
		t.Fatalf("unknown directive %q", f[0])
	}
	return "", false
}

// endMoves completes (or aborts) the move of the shard named by arg, or
// every move in flight when arg is "all".
func (sc *scenario) endMoves(abort bool, arg string) {
	t := sc.t
	var moves []Move
	for m := range sc.g.View().Moves() {
		if arg == "all" || m.Shard == ShardID(atoi(t, arg)) {
			moves = append(moves, m)
		}
	}
	require.NotEmpty(t, moves, "no move in flight for %q", arg)
	for _, m := range moves {
		var c Command = CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch}
		if abort {
			c = AbortTransfer{Shard: m.Shard, Epoch: m.Epoch}
		}
		require.NoError(t, sc.apply(c), "apply %v", c)
	}
}

// formatMoves prints every node's shard count (a moving shard counts on
// its owner) and the moves in flight.
func formatMoves(v View) string {
	var b strings.Builder
	fmt.Fprintf(&b, "counts %v\n", nodeCounts(v))
	for m := range v.Moves() {
		fmt.Fprintf(&b, "in flight: shard %d %d -> %d\n", m.Shard, m.From, m.To)
	}
	return b.String()
}

// stats reads keys=, bytes= and load= (absent ones are zero).
func (sc *scenario) stats(args map[string]string) Stats {
	st := Stats{}
	if k, ok := args["keys"]; ok {
		st.Keys = u64(sc.t, k)
	}
	if b, ok := args["bytes"]; ok {
		st.Bytes = u64(sc.t, b)
	}
	if l, ok := args["load"]; ok {
		v, err := strconv.ParseFloat(l, 64)
		require.NoError(sc.t, err)
		st.Load = v
	}
	return st
}

func (sc *scenario) coordinator() *Coordinator {
	if sc.coord == nil {
		require.NoError(sc.t, sc.pol.Validate())
		sc.coord = NewCoordinator(sc.pol)
	}
	sc.coord.SetClock(sc.now, time.Time{})
	return sc.coord
}

func (sc *scenario) setPolicy(args map[string]string) {
	t, p := sc.t, &sc.pol
	u := func(s string) uint64 { return u64(t, s) }
	fl := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		return v
	}
	setters := map[string]func(string){
		"split-keys":     func(s string) { p.SplitKeys = u(s) },
		"split-bytes":    func(s string) { p.SplitBytes = u(s) },
		"merge-keys":     func(s string) { p.MergeKeys = u(s) },
		"merge-bytes":    func(s string) { p.MergeBytes = u(s) },
		"fraction":       func(s string) { p.MergeMaxFraction = fl(s) },
		"embargo":        func(s string) { p.MergeEmbargo = uint32(u(s)) },
		"trigger":        func(s string) { p.ImbalanceThreshold = fl(s) },
		"stop":           func(s string) { p.StopBand = fl(s) },
		"cap":            func(s string) { p.MaxMovesPerNode = atoi(t, s) },
		"counts":         func(s string) { p.CountTolerance = fl(s) },
		"load-trigger":   func(s string) { p.LoadThreshold = fl(s) },
		"load-stop":      func(s string) { p.LoadStopBand = fl(s) },
		"inflight":       func(s string) { p.MaxInflightPerNode = atoi(t, s) },
		"inflight-bytes": func(s string) { p.MaxInflightBytesPerNode = u(s) },
		"min-gain":       func(s string) { p.MinGain = fl(s) },
		"churn-bytes":    func(s string) { p.ChurnBytesPerHour = fl(s) },
		"churn-shards":   func(s string) { p.ChurnShardsPerHour = fl(s) },
		"send-rate":      func(s string) { p.SendBytesPerSecond = u(s) },
		"recv-rate":      func(s string) { p.ReceiveBytesPerSecond = u(s) },
		"window": func(s string) {
			var h1, m1, h2, m2 uint16
			_, err := fmt.Sscanf(s, "%d:%d-%d:%d", &h1, &m1, &h2, &m2)
			require.NoError(t, err)
			p.RebalanceWindows[p.windowCount()] = TimeOfDayRange{Start: h1*60 + m1, End: h2*60 + m2}
		},
	}
	for k, v := range args {
		set, ok := setters[k]
		require.True(t, ok, "unknown policy field %q", k)
		set(v)
	}
}

func formatPlan(p Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "imbalance=%.2f rebalancing=%t min-moves=%d\n", p.Imbalance, p.Rebalancing, p.MinMoves)
	if p.Balance.Bytes > 0 || p.Balance.Load > 0 || p.MinBytes > 0 {
		fmt.Fprintf(&b, "  balance %v min-bytes=%d load-rebalancing=%t\n", p.Balance, p.MinBytes, p.RebalancingLoad)
	}
	if len(p.Reasons) != len(p.Commands) {
		panic(fmt.Sprintf("plan of %d commands has %d reasons", len(p.Commands), len(p.Reasons)))
	}
	for i, c := range p.Commands {
		if !reflect.DeepEqual(p.Reasons[i].Command, c) {
			panic(fmt.Sprintf("reason %d is for %v, not %v", i, p.Reasons[i].Command, c))
		}
		b.WriteString("  " + c.String() + "\n")
		b.WriteString("    why: " + p.Reasons[i].String() + "\n")
	}
	for _, s := range p.Skipped {
		b.WriteString("  skip: " + s.String() + "\n")
	}
	return b.String()
}

func nodeCounts(v View) []string {
	var out []string
	for _, n := range v.Nodes() {
		out = append(out, fmt.Sprintf("%d:%d", n.ID, n.Shards))
	}
	return out
}

// nodeUsage formats each node's known bytes and load, or returns nil when
// no shard has known stats.
func nodeUsage(v View) []string {
	var out []string
	any := false
	for _, n := range v.Nodes() {
		u, _ := v.Usage(n.ID)
		any = any || u.Known > 0
		s := fmt.Sprintf("%d:%d", n.ID, u.Bytes)
		if u.Load > 0 {
			s += fmt.Sprintf("/%g", u.Load)
		}
		out = append(out, s)
	}
	if !any {
		return nil
	}
	return out
}

func kv(fields []string) map[string]string {
	m := map[string]string{}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

// u64 parses a size or count that may exceed a 32-bit int.
func u64(t *testing.T, s string) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	require.NoError(t, err, "number %q", s)
	return n
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err, "number %q", s)
	return n
}

func scenarioKey(t *testing.T, s string) []byte {
	if strings.HasPrefix(s, `"`) {
		u, err := strconv.Unquote(s)
		require.NoError(t, err)
		return []byte(u)
	}
	return []byte(s)
}
