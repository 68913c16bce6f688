package placement

import (
	"fmt"
	"time"
)

// MaxRebalanceWindows is how many ranges Policy.RebalanceWindows holds.
const MaxRebalanceWindows = 3

// MinutesPerDay bounds a TimeOfDayRange's minutes.
const MinutesPerDay = 24 * 60

// ChurnWindow is the sliding period of the churn budget
// (Policy.ChurnBytesPerHour, ChurnShardsPerHour).
const ChurnWindow = time.Hour

// TimeOfDayRange is a range of UTC times of day, in minutes after
// midnight: from Start (included) to End (excluded), each 0 to
// MinutesPerDay. An End before its Start wraps past midnight ({22×60,
// 6×60} is 22:00 to 06:00); {0, MinutesPerDay} is the whole day. Start and
// End must differ; the zero value is an unused entry of
// Policy.RebalanceWindows.
type TimeOfDayRange struct {
	Start, End uint16
}

// contains reports whether minute m of the day (0 to MinutesPerDay-1) is
// in the range.
func (r TimeOfDayRange) contains(m int) bool {
	s, e := int(r.Start), int(r.End)
	if s < e {
		return m >= s && m < e
	}
	return m >= s || m < e
}

// String formats the range as "hh:mm-hh:mm".
func (r TimeOfDayRange) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", r.Start/60, r.Start%60, r.End/60, r.End%60)
}

// windowCount is how many of p's RebalanceWindows are used.
func (p Policy) windowCount() int {
	n := 0
	for _, r := range p.RebalanceWindows {
		if r != (TimeOfDayRange{}) {
			n++
		}
	}
	return n
}

// validWindows returns why p.RebalanceWindows is invalid, or nil: a range
// outside 0..MinutesPerDay, an empty one, or an unused entry before a used
// one.
func (p Policy) validWindows() error {
	unused := false
	for i, r := range p.RebalanceWindows {
		switch {
		case r == (TimeOfDayRange{}):
			unused = true
		case unused:
			return fmt.Errorf("%w: Policy.RebalanceWindows[%d] %v follows an unused entry",
				ErrInvalidConfig, i, r)
		case r.Start > MinutesPerDay || r.End > MinutesPerDay:
			return fmt.Errorf("%w: Policy.RebalanceWindows[%d] %d-%d outside 0..%d minutes",
				ErrInvalidConfig, i, r.Start, r.End, MinutesPerDay)
		case r.Start == r.End:
			return fmt.Errorf("%w: Policy.RebalanceWindows[%d] %v is empty",
				ErrInvalidConfig, i, r)
		}
	}
	return nil
}

// rebalanceOpen reports whether rebalancing may begin transfers at t: no
// windows, or t's UTC time of day is within one.
func (p Policy) rebalanceOpen(t time.Time) bool {
	if p.windowCount() == 0 {
		return true
	}
	u := t.UTC()
	m := u.Hour()*60 + u.Minute()
	for _, r := range p.RebalanceWindows[:p.windowCount()] {
		if r.contains(m) {
			return true
		}
	}
	return false
}

// churnOn reports whether a churn budget is set.
func (p Policy) churnOn() bool { return p.ChurnBytesPerHour > 0 || p.ChurnShardsPerHour > 0 }

// windowsWire packs p.RebalanceWindows into one tagged value: 21 bits a
// used range, (Start × (MinutesPerDay+1) + End + 1), the first range
// lowest; 0 for none.
func windowsWire(p Policy) uint64 {
	var v uint64
	for i, r := range p.RebalanceWindows[:p.windowCount()] {
		v |= (uint64(r.Start)*(MinutesPerDay+1) + uint64(r.End) + 1) << (21 * i)
	}
	return v
}

// setWindowsWire unpacks windowsWire's value into p, reporting whether it
// is one windowsWire writes for a valid policy.
func setWindowsWire(p *Policy, v uint64) bool {
	var w [MaxRebalanceWindows]TimeOfDayRange
	for i := range w {
		c := v >> (21 * i) & (1<<21 - 1)
		if c == 0 {
			if v>>(21*i) != 0 {
				return false
			}
			break
		}
		c--
		w[i] = TimeOfDayRange{Start: uint16(c / (MinutesPerDay + 1)), End: uint16(c % (MinutesPerDay + 1))}
	}
	if v>>(21*MaxRebalanceWindows) != 0 {
		return false
	}
	q := Policy{RebalanceWindows: w}
	if q.validWindows() != nil {
		return false
	}
	p.RebalanceWindows = w
	return true
}
