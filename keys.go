package placement

import "bytes"

// KeyRange is the half-open key range [Start, End). Keys are compared with
// bytes.Compare; a nil or empty Start is the smallest key. A nil End means
// the range is unbounded above, so KeyRange{} covers the whole key space. A
// non-nil empty End is an (invalid) empty range, not "unbounded".
type KeyRange struct {
	Start, End []byte
}

// Unbounded reports whether the range has no upper bound.
func (r KeyRange) Unbounded() bool { return r.End == nil }

// Valid reports whether the range is non-empty: Start < End, or End is nil.
func (r KeyRange) Valid() bool {
	return r.End == nil || bytes.Compare(r.Start, r.End) < 0
}

// Contains reports whether key lies in [Start, End).
func (r KeyRange) Contains(key []byte) bool {
	return bytes.Compare(r.Start, key) <= 0 && r.below(key)
}

// below reports whether key < End (always true for an unbounded range).
func (r KeyRange) below(key []byte) bool {
	return r.End == nil || bytes.Compare(key, r.End) < 0
}

// Overlaps reports whether the two ranges share at least one key. Invalid
// (empty) ranges overlap nothing.
func (r KeyRange) Overlaps(o KeyRange) bool {
	if !r.Valid() || !o.Valid() {
		return false
	}
	return r.below(o.Start) && o.below(r.Start)
}

// Adjacent reports whether r ends exactly where next begins, so the two can
// be merged into [r.Start, next.End).
func (r KeyRange) Adjacent(next KeyRange) bool {
	return r.End != nil && bytes.Equal(r.End, next.Start)
}

// Inside reports whether key lies strictly inside the range: Start < key and
// key < End. Only such a key can split the range into two non-empty parts.
func (r KeyRange) Inside(key []byte) bool {
	return bytes.Compare(r.Start, key) < 0 && r.below(key)
}

// String formats the range as [start, end) with keys quoted; an unbounded
// end prints as +inf.
func (r KeyRange) String() string {
	end := "+inf"
	if r.End != nil {
		end = QuoteKey(r.End)
	}
	return "[" + QuoteKey(r.Start) + ", " + end + ")"
}

// QuoteKey returns key as a double-quoted Go string literal in which every
// byte outside printable ASCII is a \xNN escape, so binary keys print
// unambiguously.
func QuoteKey(key []byte) string {
	out := make([]byte, 0, len(key)+2)
	out = append(out, '"')
	for _, b := range key {
		switch {
		case b == '"' || b == '\\':
			out = append(out, '\\', b)
		case b >= 0x20 && b < 0x7f:
			out = append(out, b)
		default:
			out = append(out, '\\', 'x', hexDigits[b>>4], hexDigits[b&0xf])
		}
	}
	return string(append(out, '"'))
}

const hexDigits = "0123456789abcdef"

// MidKey returns a key strictly inside r (Start < key < End), close to the
// middle of the range when both bounds are known. It returns false when no
// such key exists: when r is invalid, or when End is the immediate successor
// of Start (End == Start + "\x00", as in ["a", "a\x00")).
func MidKey(r KeyRange) ([]byte, bool) {
	if !r.Valid() {
		return nil, false
	}
	if r.End == nil {
		return midUnbounded(r.Start), true
	}
	mid := midpoint(r.Start, r.End)
	if r.Inside(mid) {
		return mid, true
	}
	// The midpoint collapsed onto a bound. The immediate successor of
	// Start is the only other candidate; if it is not below End, no key
	// lies strictly between the bounds.
	succ := append(append(make([]byte, 0, len(r.Start)+1), r.Start...), 0)
	if r.Inside(succ) {
		return succ, true
	}
	return nil, false
}

// midUnbounded returns a key above start for a range with no upper bound:
// half-way between start and the top of the key space at start's first
// non-0xff byte, or start followed by 0x80 when start is all 0xff.
func midUnbounded(start []byte) []byte {
	for i, b := range start {
		if b != 0xff {
			out := append([]byte(nil), start[:i+1]...)
			out[i] = b + byte((0x100-int(b))/2)
			return out
		}
	}
	return append(append(make([]byte, 0, len(start)+1), start...), 0x80)
}

// midpoint reads a and b as base-256 fractions (0.a₀a₁…), returns their
// mean with one extra digit of precision, and drops trailing zero bytes
// while the result stays above a.
func midpoint(a, b []byte) []byte {
	n := max(len(a), len(b)) + 1
	sum := make([]byte, n)
	carry := 0
	for i := n - 1; i >= 0; i-- {
		s := carry
		if i < len(a) {
			s += int(a[i])
		}
		if i < len(b) {
			s += int(b[i])
		}
		sum[i] = byte(s)
		carry = s >> 8
	}
	// Halve (carry:sum) in place, most significant digit first.
	rem := carry
	for i := range sum {
		v := rem<<8 | int(sum[i])
		sum[i] = byte(v >> 1)
		rem = v & 1
	}
	for len(sum) > 0 && sum[len(sum)-1] == 0 && bytes.Compare(a, sum[:len(sum)-1]) < 0 {
		sum = sum[:len(sum)-1]
	}
	return sum
}
