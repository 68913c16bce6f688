package placement

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// policyJSON is Policy's JSON form: every field in snake case, MoveTimeout
// as a Go duration string ("10m0s").
type policyJSON struct {
	SplitKeys               uint64  `json:"split_keys"`
	SplitBytes              uint64  `json:"split_bytes"`
	MergeKeys               uint64  `json:"merge_keys"`
	MergeBytes              uint64  `json:"merge_bytes"`
	MergeMaxFraction        float64 `json:"merge_max_fraction"`
	MergeEmbargo            uint32  `json:"merge_embargo"`
	ImbalanceThreshold      float64 `json:"imbalance_threshold"`
	StopBand                float64 `json:"stop_band"`
	CountTolerance          float64 `json:"count_tolerance"`
	LoadThreshold           float64 `json:"load_threshold"`
	LoadStopBand            float64 `json:"load_stop_band"`
	MaxMovesPerNode         int     `json:"max_moves_per_node"`
	MaxInflightPerNode      int     `json:"max_inflight_per_node"`
	MaxInflightBytesPerNode uint64  `json:"max_inflight_bytes_per_node"`
	MoveTimeout             string  `json:"move_timeout"`
	InstantMoves            bool    `json:"instant_moves"`
	DownTimeout             string  `json:"down_timeout"`
	MinGain                 float64 `json:"min_gain"`
	MoveCooldown            string  `json:"move_cooldown"`
	LoadHalfLife            uint32  `json:"load_half_life"`
	MinCopyRate             uint64  `json:"min_copy_rate"`
	ChurnBytesPerHour       float64 `json:"churn_bytes_per_hour,omitempty"`
	ChurnShardsPerHour      float64 `json:"churn_shards_per_hour,omitempty"`
	// The fields below are left out at their defaults (0, no ranges), so
	// forms without them are unchanged.
	RebalanceWindows      []windowJSON `json:"rebalance_windows,omitempty"`
	SendBytesPerSecond    uint64       `json:"send_bytes_per_second,omitempty"`
	ReceiveBytesPerSecond uint64       `json:"receive_bytes_per_second,omitempty"`
}

// windowJSON is a TimeOfDayRange's JSON form: minutes after midnight UTC.
type windowJSON struct {
	Start uint16 `json:"start"`
	End   uint16 `json:"end"`
}

// MarshalJSON encodes the policy as an object of its fields in snake case
// ("split_keys", "imbalance_threshold", "max_inflight_per_node", ...), with
// "move_timeout" and "down_timeout" as Go duration strings such as "10m0s". It does not
// validate the policy.
func (p Policy) MarshalJSON() ([]byte, error) {
	return marshalJSON("Policy", policyJSON{
		p.SplitKeys, p.SplitBytes, p.MergeKeys, p.MergeBytes, p.MergeMaxFraction,
		p.MergeEmbargo, p.ImbalanceThreshold, p.StopBand, p.CountTolerance,
		p.LoadThreshold, p.LoadStopBand, p.MaxMovesPerNode, p.MaxInflightPerNode,
		p.MaxInflightBytesPerNode, p.MoveTimeout.String(), p.InstantMoves, p.DownTimeout.String(),
		p.MinGain, p.MoveCooldown.String(), p.LoadHalfLife, p.MinCopyRate,
		p.ChurnBytesPerHour, p.ChurnShardsPerHour, windowsJSON(p),
		p.SendBytesPerSecond, p.ReceiveBytesPerSecond,
	})
}

// UnmarshalJSON decodes the form MarshalJSON writes, strictly: every field
// is required but for those added after format version 3 ("min_gain",
// "move_cooldown", "load_half_life", "min_copy_rate",
// "churn_bytes_per_hour", "churn_shards_per_hour", "rebalance_windows",
// "send_bytes_per_second", "receive_bytes_per_second"),
// which take
// DefaultPolicy's values when absent, as in forms written before they
// existed; names are exact, unknown fields are refused. It checks the form
// only; Policy.Validate checks the values.
func (p *Policy) UnmarshalJSON(data []byte) error {
	v, err := decodePolicy(data)
	if err != nil {
		return encodingError("Policy", err)
	}
	*p = v
	return nil
}

func decodePolicy(data []byte) (Policy, error) {
	var p Policy
	d := newObjectDecoder(data)
	d.req("split_keys", policyValue(&p.SplitKeys))
	d.req("split_bytes", policyValue(&p.SplitBytes))
	d.req("merge_keys", policyValue(&p.MergeKeys))
	d.req("merge_bytes", policyValue(&p.MergeBytes))
	d.req("merge_max_fraction", policyValue(&p.MergeMaxFraction))
	d.req("merge_embargo", policyValue(&p.MergeEmbargo))
	d.req("imbalance_threshold", policyValue(&p.ImbalanceThreshold))
	d.req("stop_band", policyValue(&p.StopBand))
	d.req("count_tolerance", policyValue(&p.CountTolerance))
	d.req("load_threshold", policyValue(&p.LoadThreshold))
	d.req("load_stop_band", policyValue(&p.LoadStopBand))
	d.req("max_moves_per_node", policyValue(&p.MaxMovesPerNode))
	d.req("max_inflight_per_node", policyValue(&p.MaxInflightPerNode))
	d.req("max_inflight_bytes_per_node", policyValue(&p.MaxInflightBytesPerNode))
	d.req("move_timeout", jsonDuration(&p.MoveTimeout))
	d.req("instant_moves", policyValue(&p.InstantMoves))
	d.req("down_timeout", jsonDuration(&p.DownTimeout))
	p = p.withLaterDefaults()
	d.opt("min_gain", policyValue(&p.MinGain))
	d.opt("move_cooldown", jsonDuration(&p.MoveCooldown))
	d.opt("load_half_life", policyValue(&p.LoadHalfLife))
	d.opt("min_copy_rate", policyValue(&p.MinCopyRate))
	d.opt("churn_bytes_per_hour", policyValue(&p.ChurnBytesPerHour))
	d.opt("churn_shards_per_hour", policyValue(&p.ChurnShardsPerHour))
	d.opt("rebalance_windows", decodeWindows(&p.RebalanceWindows))
	d.opt("send_bytes_per_second", policyValue(&p.SendBytesPerSecond))
	d.opt("receive_bytes_per_second", policyValue(&p.ReceiveBytesPerSecond))
	if err := d.done(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

type (
	setPauseJSON struct {
		Type   CommandType `json:"type"`
		Paused bool        `json:"paused"`
		// Until is RFC 3339 with nanoseconds, or null for no expiry.
		Until *string `json:"until"`
	}
	setPolicyJSON struct {
		Type              CommandType `json:"type"`
		Policy            Policy      `json:"policy"`
		MaxActionsPerTick int         `json:"max_actions_per_tick"`
	}
)

func pauseJSON(c SetPause) setPauseJSON {
	v := setPauseJSON{Type: c.Type(), Paused: c.Paused}
	if !c.Until.IsZero() {
		s := c.Until.UTC().Format(time.RFC3339Nano)
		v.Until = &s
	}
	return v
}

func decodePause(d *objectDecoder) SetPause {
	var v SetPause
	d.req("paused", jsonValue(&v.Paused))
	d.req("until", func(raw json.RawMessage) error {
		if isNull(raw) {
			return nil
		}
		s, err := jsonString(raw)
		if err != nil {
			return err
		}
		if v.Until, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("until: want RFC 3339")
		}
		return nil
	})
	return v
}

func decodeSetPolicy(d *objectDecoder) SetPolicy {
	var v SetPolicy
	d.req("policy", func(raw json.RawMessage) error {
		var err error
		v.Policy, err = decodePolicy(raw)
		return err
	})
	d.req("max_actions_per_tick", jsonValue(&v.MaxActionsPerTick))
	return v
}

// jsonDuration decodes a Go duration string ("10m0s") into *p. Its error
// does not repeat the input, which may be long.
func jsonDuration(p *time.Duration) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		s, err := jsonString(raw)
		if err == nil {
			*p, err = time.ParseDuration(s)
		}
		if err != nil {
			return errors.New(`want a duration such as "10m0s"`)
		}
		return nil
	}
}

// policyValue decodes a number or a boolean of the policy into *p, as
// jsonValue does, with an error that says what the field takes in JSON's
// words rather than naming a Go type: the admin server passes it on.
func policyValue[T uint64 | uint32 | int | float64 | bool](p *T) func(json.RawMessage) error {
	decode := jsonValue(p)
	return func(raw json.RawMessage) error {
		if decode(raw) == nil {
			return nil
		}
		switch any(*p).(type) {
		case uint64:
			return fmt.Errorf("want an integer from 0 to %d", uint64(math.MaxUint64))
		case uint32:
			return fmt.Errorf("want an integer from 0 to %d", uint64(math.MaxUint32))
		case int:
			return fmt.Errorf("want an integer from %d to %d", math.MinInt, math.MaxInt)
		case float64:
			return errors.New("want a number")
		}
		return errors.New("want true or false")
	}
}

// windowsJSON is p's used RebalanceWindows in JSON form.
func windowsJSON(p Policy) []windowJSON {
	var out []windowJSON
	for _, r := range p.RebalanceWindows {
		if r != (TimeOfDayRange{}) {
			out = append(out, windowJSON(r))
		}
	}
	return out
}

// decodeWindows decodes "rebalance_windows": an array of at most
// MaxRebalanceWindows objects, each exactly "start" and "end" as integers.
// Policy.Validate checks the values.
func decodeWindows(w *[MaxRebalanceWindows]TimeOfDayRange) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		var items []json.RawMessage
		if isNull(raw) || json.Unmarshal(raw, &items) != nil {
			return errors.New("want an array of {\"start\", \"end\"} minutes")
		}
		if len(items) > MaxRebalanceWindows {
			return fmt.Errorf("want at most %d ranges, got %d", MaxRebalanceWindows, len(items))
		}
		var out [MaxRebalanceWindows]TimeOfDayRange
		for i, it := range items {
			d := newObjectDecoder(it)
			d.req("start", policyWindowValue(&out[i].Start))
			d.req("end", policyWindowValue(&out[i].End))
			if err := d.done(); err != nil {
				return fmt.Errorf("range %d: %w", i, err)
			}
		}
		*w = out
		return nil
	}
}

// policyWindowValue decodes a minute of the day (0 to MinutesPerDay).
func policyWindowValue(p *uint16) func(json.RawMessage) error {
	decode := jsonValue(p)
	return func(raw json.RawMessage) error {
		if decode(raw) != nil || *p > MinutesPerDay {
			return fmt.Errorf("want an integer from 0 to %d", MinutesPerDay)
		}
		return nil
	}
}
