package placement

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// reasonPhaseFits reports whether a reason's phase is one that plans
// commands of cmd's type.
func reasonPhaseFits(p Phase, cmd Command) bool {
	switch cmd.(type) {
	case PlaceSplit:
		return p == PhaseSplit || p == PhaseSplitHot
	case PlaceMerge:
		return p == PhaseMerge
	case PlaceTransfer:
		return p != PhaseSplit && p != PhaseSplitHot && p != PhaseMerge && p.String() != ""
	}
	return false
}

// naiveSpread is max − min over the up nodes of amountᵢ / (total ×
// shareᵢ), from per-node amounts: Plan.Balance's measure, recomputed.
func naiveSpread(v View, caps, amount map[NodeID]float64) float64 {
	total, capSum := 0.0, 0.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, n := range v.Nodes() {
		if n.State == NodeUp {
			total += amount[n.ID]
			capSum += caps[n.ID]
		}
	}
	for _, n := range v.Nodes() {
		if n.State == NodeUp {
			r := amount[n.ID] / (total * caps[n.ID] / capSum)
			lo, hi = min(lo, r), max(hi, r)
		}
	}
	if total <= 0 {
		return 0
	}
	return hi - lo
}

// Every plan's reasons are one per command, each for its command, from a
// phase that plans that kind of command; a rebalancing move's spread
// before and after is the dimension's spread over the up nodes recomputed
// from the plan's commands (a swap's two transfers share the swap's), and
// a hot split's shard is hotter than the threshold it names.
func TestReasonsAgreeWithPlans(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g, pol := genBytesCluster(t)
		if rapid.Bool().Draw(t, "withload") {
			genLoads(t, g)
		}
		limit := rapid.IntRange(1, 8).Draw(t, "limit")
		c := NewCoordinator(pol)
		for round := 0; round < 30; round++ {
			v := g.View()
			plan := c.Plan(v, limit)
			if len(plan.Commands) == 0 {
				return
			}
			require.Len(t, plan.Reasons, len(plan.Commands))
			p := project(v)
			est := estimated(v)
			p.load = map[NodeID]float64{}
			_, meanLoad := est(0)
			for _, n := range v.Nodes() {
				u, _ := v.Usage(n.ID)
				p.load[n.ID] = u.Load + float64(n.Shards-u.Known)*meanLoad
			}
			amounts := map[Dimension]map[NodeID]float64{DimBytes: p.bytes, DimLoad: p.load, DimCount: p.counts}
			spread := func(d Dimension) float64 { return naiveSpread(v, p.caps, amounts[d]) }
			var before float64
			for k, cmd := range plan.Commands {
				r := plan.Reasons[k]
				require.Equal(t, cmd, r.Command, "reason %d", k)
				require.True(t, reasonPhaseFits(r.Phase, cmd), "%v for %v", r.Phase, cmd)
				require.NotEmpty(t, r.String())
				switch c := cmd.(type) {
				case PlaceSplit:
					sh, _ := v.Shard(c.Shard)
					p.counts[sh.Node]++
					if r.Phase == PhaseSplitHot {
						require.Greater(t, r.Load, r.Threshold, "a hot split's shard is over its node's fair load")
					}
				case PlaceTransfer:
					x, l := est(c.Shard)
					swapSecond := r.Partner != 0 && k > 0 && plan.Reasons[k-1].Partner == c.Shard
					if !swapSecond {
						before = spread(r.Dimension)
					}
					p.bytes[c.From] -= x
					p.bytes[c.To] += x
					p.load[c.From] -= l
					p.load[c.To] += l
					p.counts[c.From]--
					p.counts[c.To]++
					swapFirst := r.Partner != 0 && (r.Phase == PhaseBytesSwap || r.Phase == PhaseLoadSwap) && !swapSecond
					if r.Phase == PhaseBytes || r.Phase == PhaseLoad || r.Phase == PhaseRepair ||
						r.Phase == PhaseBytesSwap || r.Phase == PhaseLoadSwap {
						require.InDelta(t, before, r.Before, 1e-6*max(1, before), "%v: spread before", r)
						if !swapFirst {
							require.InDelta(t, spread(r.Dimension), r.After, 1e-6*max(1, r.After), "%v: spread after", r)
						}
					}
				}
				require.NoError(t, g.Apply(cmd))
			}
		}
	})
}

// A plan's JSON carries its reasons; a reason's JSON round-trips, and its
// derived fields must agree with the rest.
func TestReasonJSON(t *testing.T) {
	r := Reason{
		Command: PlaceTransfer{Shard: 17, Epoch: 2, From: 3, To: 9}, Phase: PhaseBytes, Dimension: DimBytes,
		Before: 0.3125, After: 0.25, Bytes: 2254857830, Keys: 1000,
	}
	require.Equal(t, "move shard 17 (2.1 GiB) from node 3 to node 9: bytes spread 0.31 → 0.25", r.String())
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.JSONEq(t, `{"command":{"type":"transfer","shard":17,"epoch":2,"from":3,"to":9},"phase":"bytes",
		"dimension":"bytes","before":0.3125,"after":0.25,"gain":0.0625,"pair":false,"bytes":2254857830,"keys":1000,
		"load":0,"estimated":false,"threshold":0,"left":0,"partner":0,
		"text":"move shard 17 (2.1 GiB) from node 3 to node 9: bytes spread 0.31 → 0.25"}`, string(b))
	var back Reason
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, r, back)

	for _, bad := range []string{
		`"gain":0.0625`, `"text":"move shard 17 (2.1 GiB) from node 3 to node 9: bytes spread 0.31 → 0.25"`, `"phase":"bytes"`,
	} {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(b, &m))
		switch bad[1] {
		case 'g':
			m["gain"] = json.RawMessage(`0.5`)
		case 't':
			m["text"] = json.RawMessage(`"something else"`)
		case 'p':
			m["phase"] = json.RawMessage(`"sideways"`)
		}
		data, _ := json.Marshal(m)
		require.ErrorIs(t, json.Unmarshal(data, &back), ErrInvalidEncoding, "changed %s", bad)
	}

	// In a plan: one reason a command, each for its command.
	plan := Plan{Commands: []Command{r.Command}, Reasons: []Reason{r}}
	b, err = json.Marshal(plan)
	require.NoError(t, err)
	var got Plan
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, plan, got)
	other := plan
	other.Commands = []Command{PlaceTransfer{Shard: 18, Epoch: 2, From: 3, To: 9}}
	b, err = json.Marshal(other)
	require.NoError(t, err)
	require.ErrorIs(t, json.Unmarshal(b, &got), ErrInvalidEncoding, "a reason for another command")
	other.Commands = nil
	b, err = json.Marshal(other)
	require.NoError(t, err)
	require.ErrorIs(t, json.Unmarshal(b, &got), ErrInvalidEncoding, "more reasons than commands")
}

// Each kind of reason reads as a person would say it.
func TestReasonString(t *testing.T) {
	tests := []struct {
		name string
		r    Reason
		want string
	}{
		{"drain", Reason{Command: PlaceTransfer{Shard: 8, From: 5, To: 2}, Phase: PhaseDrain, Bytes: 1 << 30, Left: 3},
			"drain node 5: move shard 8 (1.0 GiB) to node 2, 3 shards left"},
		{"re-home", Reason{Command: PlaceTransfer{Shard: 8, From: 5, To: 2}, Phase: PhaseRehome, Estimated: true, Left: 1},
			"re-home shard 8 (stats unknown) from lost node 5 to node 2, 1 shard left"},
		{"split", Reason{Command: PlaceSplit{Shard: 4, SplitKey: []byte("m")}, Phase: PhaseSplit, Dimension: DimBytes,
			Bytes: 9.5 * (1 << 30), Threshold: 8 << 30},
			`split shard 4 (9.5 GiB, over SplitBytes 8.0 GiB) at key "m"`},
		{"split keys", Reason{Command: PlaceSplit{Shard: 4, SplitKey: []byte("m")}, Phase: PhaseSplit, Dimension: DimKeys,
			Keys: 2000, Bytes: 512, Threshold: 1000},
			`split shard 4 (2000 keys, 512 B, over SplitKeys 1000) at key "m"`},
		{"hot split", Reason{Command: PlaceSplit{Shard: 4, SplitKey: []byte("m")}, Phase: PhaseSplitHot, Dimension: DimLoad,
			Bytes: 1 << 20, Load: 900, Threshold: 250},
			`split shard 4 (1.0 MiB, load 900, over its node's fair load 250) at key "m"`},
		{"merge", Reason{Command: PlaceMerge{Left: 4, Right: 5}, Phase: PhaseMerge, Bytes: 3 << 20, Partner: 5},
			"merge shard 4 with its neighbour 5 (3.0 MiB together): cold neighbours"},
		{"bring together", Reason{Command: PlaceTransfer{Shard: 5, From: 2, To: 3}, Phase: PhaseBringTogether, Bytes: 100, Partner: 4},
			"move shard 5 (100 B) from node 2 to node 3, next to its cold neighbour 4: merge next"},
		{"counts", Reason{Command: PlaceTransfer{Shard: 5, From: 2, To: 3}, Phase: PhaseCounts, Dimension: DimCount, Pair: true,
			Estimated: true, Before: 1.5, After: 1},
			"move shard 5 (stats unknown) from node 2 to node 3: count gap between the nodes 1.50 → 1.00"},
		{"swap", Reason{Command: PlaceTransfer{Shard: 5, From: 2, To: 3}, Phase: PhaseLoadSwap, Dimension: DimLoad,
			Bytes: 100, Load: 10, Partner: 9, Before: 0.5, After: 0.499},
			"move shard 5 (100 B, load 10) from node 2 to node 3 in a swap with shard 9: load spread 0.500 → 0.499"},
		{"repair", Reason{Command: PlaceTransfer{Shard: 5, From: 2, To: 3}, Phase: PhaseRepair, Dimension: DimCount,
			Bytes: 100, Before: 0.6, After: 0.4},
			"move shard 5 (100 B) from node 2 to node 3: count spread 0.60 → 0.40 (count band repair)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.r.String())
		})
	}
}
