package placement

import (
	"bytes"
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// ktB converts a string literal to a key; ktR builds a bounded range and
// ktU an unbounded one. The kt prefix keeps these helpers from colliding
// with helpers in other test files of the package.
func ktB(s string) []byte { return []byte(s) }

func ktR(start, end string) KeyRange { return KeyRange{Start: ktB(start), End: ktB(end)} }

func ktU(start string) KeyRange { return KeyRange{Start: ktB(start)} }

func TestKeyRangeValid(t *testing.T) {
	tests := []struct {
		name string
		r    KeyRange
		want bool
	}{
		{name: "zero value is whole key space", r: KeyRange{}, want: true},
		{name: "unbounded with start", r: ktU("a"), want: true},
		{name: "unbounded with 0xff start", r: ktU("\xff\xff"), want: true},
		{name: "ordered bounds", r: ktR("a", "b"), want: true},
		{name: "nil start to key", r: KeyRange{End: ktB("a")}, want: true},
		{name: "empty start to 0x00", r: ktR("", "\x00"), want: true},
		{name: "immediate successor", r: ktR("a", "a\x00"), want: true},
		{name: "equal bounds", r: ktR("a", "a"), want: false},
		{name: "reversed bounds", r: ktR("b", "a"), want: false},
		{name: "prefix end before start", r: ktR("a\x00", "a"), want: false},
		{name: "non-nil empty end", r: KeyRange{Start: ktB("a"), End: []byte{}}, want: false},
		{name: "nil start and non-nil empty end", r: KeyRange{End: []byte{}}, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.r.Valid())
			require.Equal(t, tc.r.End == nil, tc.r.Unbounded())
		})
	}
}

func TestKeyRangeContains(t *testing.T) {
	tests := []struct {
		name string
		r    KeyRange
		key  []byte
		want bool
	}{
		{name: "start is included", r: ktR("b", "d"), key: ktB("b"), want: true},
		{name: "middle", r: ktR("b", "d"), key: ktB("c"), want: true},
		{name: "extension of start", r: ktR("b", "d"), key: ktB("b\x00"), want: true},
		{name: "just below end", r: ktR("b", "d"), key: ktB("c\xff\xff"), want: true},
		{name: "end is excluded", r: ktR("b", "d"), key: ktB("d"), want: false},
		{name: "above end", r: ktR("b", "d"), key: ktB("d\x00"), want: false},
		{name: "below start", r: ktR("b", "d"), key: ktB("a\xff"), want: false},
		{name: "empty key below start", r: ktR("b", "d"), key: nil, want: false},
		{name: "empty key in nil-start range", r: KeyRange{End: ktB("a")}, key: nil, want: true},
		{name: "non-nil empty key in nil-start range", r: KeyRange{End: ktB("a")}, key: []byte{}, want: true},
		{name: "whole key space holds empty key", r: KeyRange{}, key: nil, want: true},
		{name: "whole key space holds 0xff keys", r: KeyRange{}, key: ktB("\xff\xff\xff"), want: true},
		{name: "unbounded above start", r: ktU("m"), key: ktB("\xff"), want: true},
		{name: "unbounded below start", r: ktU("m"), key: ktB("l\xff"), want: false},
		{name: "successor range holds only start", r: ktR("a", "a\x00"), key: ktB("a"), want: true},
		{name: "successor range excludes successor", r: ktR("a", "a\x00"), key: ktB("a\x00"), want: false},
		{name: "equal bounds hold nothing", r: ktR("a", "a"), key: ktB("a"), want: false},
		{name: "reversed bounds hold nothing", r: ktR("b", "a"), key: ktB("a\x80"), want: false},
		{name: "non-nil empty end holds nothing", r: KeyRange{End: []byte{}}, key: nil, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.r.Contains(tc.key))
		})
	}
}

func TestKeyRangeOverlaps(t *testing.T) {
	tests := []struct {
		name string
		a, b KeyRange
		want bool
	}{
		{name: "identical", a: ktR("a", "c"), b: ktR("a", "c"), want: true},
		{name: "partial", a: ktR("a", "c"), b: ktR("b", "d"), want: true},
		{name: "nested", a: ktR("a", "z"), b: ktR("m", "n"), want: true},
		{name: "adjacent do not overlap", a: ktR("a", "b"), b: ktR("b", "c"), want: false},
		{name: "disjoint", a: ktR("a", "b"), b: ktR("c", "d"), want: false},
		{name: "successor ranges share start", a: ktR("a", "a\x00"), b: ktR("a", "b"), want: true},
		{name: "successor range adjacent to next", a: ktR("a", "a\x00"), b: ktR("a\x00", "b"), want: false},
		{name: "whole space overlaps bounded", a: KeyRange{}, b: ktR("x", "y"), want: true},
		{name: "whole space overlaps whole space", a: KeyRange{}, b: KeyRange{}, want: true},
		{name: "two unbounded always overlap", a: ktU("a"), b: ktU("\xff\xff"), want: true},
		{name: "unbounded overlaps range ending above its start", a: ktU("m"), b: ktR("a", "m\x00"), want: true},
		{name: "unbounded does not overlap range ending at its start", a: ktU("m"), b: ktR("a", "m"), want: false},
		{name: "unbounded does not overlap range below", a: ktU("m"), b: ktR("a", "b"), want: false},
		{name: "nil-start range overlaps range from empty", a: KeyRange{End: ktB("b")}, b: ktR("", "\x00"), want: true},
		{name: "equal-bounds range overlaps nothing", a: ktR("b", "b"), b: KeyRange{}, want: false},
		{name: "reversed range overlaps nothing", a: ktR("c", "a"), b: ktR("a", "d"), want: false},
		{name: "non-nil empty end overlaps nothing", a: KeyRange{End: []byte{}}, b: KeyRange{}, want: false},
		{name: "invalid with itself", a: ktR("b", "a"), b: ktR("b", "a"), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.a.Overlaps(tc.b), "a.Overlaps(b)")
			require.Equal(t, tc.want, tc.b.Overlaps(tc.a), "b.Overlaps(a)")
		})
	}
}

func TestKeyRangeAdjacent(t *testing.T) {
	tests := []struct {
		name       string
		left, next KeyRange
		want       bool
	}{
		{name: "end equals start", left: ktR("a", "b"), next: ktR("b", "c"), want: true},
		{name: "next unbounded", left: ktR("a", "b"), next: ktU("b"), want: true},
		{name: "left from nil start", left: KeyRange{End: ktB("m")}, next: ktU("m"), want: true},
		{name: "successor range", left: ktR("a", "a\x00"), next: ktR("a\x00", "b"), want: true},
		{name: "gap", left: ktR("a", "b"), next: ktR("c", "d"), want: false},
		{name: "overlap", left: ktR("a", "c"), next: ktR("b", "d"), want: false},
		{name: "end is prefix of start", left: ktR("a", "b"), next: ktR("b\x00", "c"), want: false},
		{name: "reversed order", left: ktR("b", "c"), next: ktR("a", "b"), want: false},
		{name: "nil end never adjacent", left: ktU("a"), next: ktU("b"), want: false},
		{name: "nil end and nil start", left: KeyRange{}, next: KeyRange{}, want: false},
		{name: "nil end and empty start", left: ktU("a"), next: ktR("", "a"), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.left.Adjacent(tc.next))
		})
	}
}

func TestKeyRangeInside(t *testing.T) {
	tests := []struct {
		name string
		r    KeyRange
		key  []byte
		want bool
	}{
		{name: "middle", r: ktR("a", "c"), key: ktB("b"), want: true},
		{name: "start excluded", r: ktR("a", "c"), key: ktB("a"), want: false},
		{name: "end excluded", r: ktR("a", "c"), key: ktB("c"), want: false},
		{name: "successor of start", r: ktR("a", "c"), key: ktB("a\x00"), want: true},
		{name: "below start", r: ktR("b", "c"), key: ktB("a"), want: false},
		{name: "above end", r: ktR("a", "c"), key: ktB("c\x00"), want: false},
		{name: "empty key never inside", r: KeyRange{}, key: nil, want: false},
		{name: "0x00 inside whole space", r: KeyRange{}, key: ktB("\x00"), want: true},
		{name: "unbounded high key", r: ktU("\xff"), key: ktB("\xff\x00"), want: true},
		{name: "unbounded start excluded", r: ktU("\xff"), key: ktB("\xff"), want: false},
		{name: "successor range has no inside key", r: ktR("a", "a\x00"), key: ktB("a\x00"), want: false},
		{name: "two-zero successor range", r: ktR("a", "a\x00\x00"), key: ktB("a\x00"), want: true},
		{name: "invalid range", r: ktR("c", "a"), key: ktB("b"), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.r.Inside(tc.key))
		})
	}
}

func TestKeyRangeString(t *testing.T) {
	tests := []struct {
		name string
		r    KeyRange
		want string
	}{
		{name: "bounded", r: ktR("a", "b"), want: `["a", "b")`},
		{name: "unbounded", r: ktU("a"), want: `["a", +inf)`},
		{name: "whole key space", r: KeyRange{}, want: `["", +inf)`},
		{name: "non-nil empty end", r: KeyRange{Start: ktB("a"), End: []byte{}}, want: `["a", "")`},
		{name: "binary bytes are escaped", r: ktR("\x00\x01", "\xff\xfe"), want: `["\x00\x01", "\xff\xfe")`},
		{name: "quotes are escaped", r: ktR(`a"b`, "c"), want: `["a\"b", "c")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.r.String())
		})
	}
}

func TestMidKey(t *testing.T) {
	tests := []struct {
		name   string
		r      KeyRange
		wantOK bool
		want   []byte // checked only when non-nil; otherwise any inside key
	}{
		{name: "immediate successor has no key", r: ktR("a", "a\x00"), wantOK: false},
		{name: "empty to 0x00 has no key", r: ktR("", "\x00"), wantOK: false},
		{name: "nil to 0x00 has no key", r: KeyRange{End: ktB("\x00")}, wantOK: false},
		{name: "a to b", r: ktR("a", "b"), wantOK: true},
		{name: "whole key space", r: KeyRange{}, wantOK: true, want: ktB("\x80")},
		{name: "unbounded all 0xff start", r: ktU("\xff\xff"), wantOK: true, want: ktB("\xff\xff\x80")},
		{name: "unbounded 0xfe start", r: ktU("\xfe"), wantOK: true},
		{name: "unbounded 0x00 start", r: ktU("\x00"), wantOK: true},
		{name: "unbounded 0x00 start with tail", r: ktU("\x00abc"), wantOK: true},
		{name: "unbounded 0xff 0x00 start", r: ktU("\xff\x00"), wantOK: true},
		{name: "unbounded start", r: ktU("a"), wantOK: true},
		{name: "two-zero successor forces single key", r: ktR("a", "a\x00\x00"), wantOK: true, want: ktB("a\x00")},
		{name: "neighbouring last bytes", r: ktR("a\x00", "a\x01"), wantOK: true},
		{name: "empty to 0x01", r: ktR("", "\x01"), wantOK: true},
		{name: "empty to 0x00 0x00", r: ktR("", "\x00\x00"), wantOK: true, want: ktB("\x00")},
		{name: "0xff to 0xff 0x01", r: ktR("\xff", "\xff\x01"), wantOK: true},
		{name: "carry across bytes", r: ktR("\xff\xff", "\xff\xff\xff"), wantOK: true},
		{name: "long shared prefix", r: ktR("abc\xff\xff", "abd"), wantOK: true},
		{name: "end one past start", r: ktR("a\xff", "b"), wantOK: true},
		{name: "reversed range", r: ktR("b", "a"), wantOK: false},
		{name: "equal bounds", r: ktR("a", "a"), wantOK: false},
		{name: "non-nil empty end", r: KeyRange{End: []byte{}}, wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := MidKey(tc.r)
			require.Equal(t, tc.wantOK, ok, "MidKey(%s) = %q", tc.r, got)
			if !ok {
				require.Nil(t, got)
				return
			}
			require.True(t, tc.r.Inside(got), "MidKey(%s) = %q is not inside", tc.r, got)
			if tc.want != nil {
				require.Equal(t, tc.want, got)
			}
		})
	}
}

// ktAlphabet is biased toward bytes that sit on carry and ordering
// boundaries.
var ktAlphabet = []byte{0x00, 0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0xff, 'a', 'b'}

func ktKeyGen() *rapid.Generator[[]byte] {
	return rapid.SliceOfN(rapid.SampledFrom(ktAlphabet), 0, 6)
}

func ktConcat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	if out == nil {
		out = []byte{}
	}
	return out
}

// ktValidRangeGen draws ranges with Start < End or End == nil, with extra
// weight on the narrow ranges where MidKey's edge cases live.
func ktValidRangeGen() *rapid.Generator[KeyRange] {
	return rapid.Custom(func(t *rapid.T) KeyRange {
		start := ktKeyGen().Draw(t, "start")
		switch rapid.IntRange(0, 4).Draw(t, "shape") {
		case 0: // unbounded
			return KeyRange{Start: start}
		case 1: // immediate successor: no key strictly inside
			return KeyRange{Start: start, End: ktConcat(start, []byte{0})}
		case 2: // start plus a non-empty suffix
			suffix := rapid.SliceOfN(rapid.SampledFrom(ktAlphabet), 1, 3).Draw(t, "suffix")
			return KeyRange{Start: start, End: ktConcat(start, suffix)}
		default: // two independent keys, ordered
			other := ktKeyGen().Draw(t, "other")
			switch c := bytes.Compare(start, other); {
			case c < 0:
				return KeyRange{Start: start, End: other}
			case c > 0:
				return KeyRange{Start: other, End: start}
			default:
				return KeyRange{Start: start, End: ktConcat(start, []byte{0, 0})}
			}
		}
	})
}

// ktRapidCheck runs rapid.Check without writing fail files into the package
// directory (the seed printed on failure still reproduces the case).
func ktRapidCheck(t *testing.T, prop func(*rapid.T)) {
	t.Helper()
	if f := flag.Lookup("rapid.nofailfile"); f != nil {
		old := f.Value.String()
		require.NoError(t, flag.Set("rapid.nofailfile", "true"))
		t.Cleanup(func() { _ = flag.Set("rapid.nofailfile", old) })
	}
	rapid.Check(t, prop)
}

func ktClone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func TestMidKeyProperty(t *testing.T) {
	ktRapidCheck(t, func(t *rapid.T) {
		r := ktValidRangeGen().Draw(t, "range")
		if !r.Valid() {
			t.Fatalf("generator produced invalid range %s", r)
		}
		startBefore, endBefore := ktClone(r.Start), ktClone(r.End)

		// Naive: an unbounded range always has a key above Start; a
		// bounded one lacks a key strictly inside only when End is the
		// immediate successor Start+"\x00".
		wantOK := r.End == nil || !bytes.Equal(r.End, ktConcat(r.Start, []byte{0}))

		got, ok := MidKey(r)
		if ok != wantOK {
			t.Fatalf("MidKey(%s) ok = %v, want %v (key %q)", r, ok, wantOK, got)
		}
		if !bytes.Equal(r.Start, startBefore) || !bytes.Equal(r.End, endBefore) || (r.End == nil) != (endBefore == nil) {
			t.Fatalf("MidKey mutated its input: now %s", r)
		}
		if !ok {
			if got != nil {
				t.Fatalf("MidKey(%s) returned key %q with ok = false", r, got)
			}
			return
		}
		if bytes.Compare(r.Start, got) >= 0 {
			t.Fatalf("MidKey(%s) = %q is not above Start", r, got)
		}
		if r.End != nil && bytes.Compare(got, r.End) >= 0 {
			t.Fatalf("MidKey(%s) = %q is not below End", r, got)
		}
		if !r.Inside(got) || !r.Contains(got) {
			t.Fatalf("MidKey(%s) = %q: Inside/Contains disagree", r, got)
		}
		// Splitting at the key yields two valid, adjacent, disjoint halves.
		left := KeyRange{Start: r.Start, End: got}
		right := KeyRange{Start: got, End: r.End}
		if !left.Valid() || !right.Valid() || !left.Adjacent(right) || left.Overlaps(right) {
			t.Fatalf("splitting %s at %q gives %s and %s", r, got, left, right)
		}
		// Deterministic.
		again, ok2 := MidKey(r)
		if !ok2 || !bytes.Equal(got, again) {
			t.Fatalf("MidKey(%s) not deterministic: %q then %q", r, got, again)
		}
	})
}

func TestMidKeyInvalidRangeProperty(t *testing.T) {
	ktRapidCheck(t, func(t *rapid.T) {
		a := ktKeyGen().Draw(t, "a")
		b := ktKeyGen().Draw(t, "b")
		if bytes.Compare(a, b) < 0 {
			a, b = b, a
		}
		r := KeyRange{Start: a, End: ktConcat(b)} // End <= Start, End non-nil
		if got, ok := MidKey(r); ok || got != nil {
			t.Fatalf("MidKey(%s) = %q, %v; want nil, false", r, got, ok)
		}
	})
}

func TestMidKeyNearMiddleProperty(t *testing.T) {
	ktRapidCheck(t, func(t *rapid.T) {
		a0 := rapid.IntRange(0, 0xfd).Draw(t, "a0")
		b0 := rapid.IntRange(a0+2, 0xff).Draw(t, "b0")
		start := ktConcat([]byte{byte(a0)}, rapid.SliceOfN(rapid.SampledFrom(ktAlphabet), 0, 5).Draw(t, "startTail"))
		end := ktConcat([]byte{byte(b0)}, rapid.SliceOfN(rapid.SampledFrom(ktAlphabet), 0, 5).Draw(t, "endTail"))
		r := KeyRange{Start: start, End: end}

		got, ok := MidKey(r)
		if !ok {
			t.Fatalf("MidKey(%s) found no key", r)
		}
		if !r.Inside(got) {
			t.Fatalf("MidKey(%s) = %q is not inside", r, got)
		}
		if len(got) == 0 || int(got[0]) <= a0 || int(got[0]) >= b0 {
			t.Fatalf("MidKey(%s) = %q: first byte not strictly between %#x and %#x", r, got, a0, b0)
		}
		// Near the middle: within one of the mean of the first bytes.
		if d := 2*int(got[0]) - (a0 + b0); d < -2 || d > 2 {
			t.Fatalf("MidKey(%s) = %q: first byte %#x far from middle of %#x and %#x", r, got, got[0], a0, b0)
		}
	})
}

// ktSmallAlphabet and ktSmallKeys enumerate every key of length 0..3 over a
// tiny alphabet. Ranges whose bounds come from the same set overlap iff the
// larger of their starts (itself in the set) lies in both, so checking every
// enumerated key is an exact naive Overlaps.
var ktSmallAlphabet = []byte{0x00, 0x01, 0x80, 0xff}

func ktSmallKeys() [][]byte {
	keys := [][]byte{{}}
	frontier := [][]byte{{}}
	for range 3 {
		var next [][]byte
		for _, p := range frontier {
			for _, c := range ktSmallAlphabet {
				next = append(next, ktConcat(p, []byte{c}))
			}
		}
		keys = append(keys, next...)
		frontier = next
	}
	return keys
}

func ktNaiveContains(r KeyRange, k []byte) bool {
	return string(r.Start) <= string(k) && (r.End == nil || string(k) < string(r.End))
}

// ktAnyRangeGen draws possibly invalid ranges over the small alphabet:
// unbounded, non-nil empty End, or arbitrary (possibly reversed) bounds.
func ktAnyRangeGen() *rapid.Generator[KeyRange] {
	key := rapid.SliceOfN(rapid.SampledFrom(ktSmallAlphabet), 0, 3)
	return rapid.Custom(func(t *rapid.T) KeyRange {
		var start []byte
		if s := key.Draw(t, "start"); len(s) > 0 || rapid.Bool().Draw(t, "emptyStart") {
			start = s
		} // else nil Start
		switch rapid.IntRange(0, 5).Draw(t, "shape") {
		case 0:
			return KeyRange{Start: start}
		case 1:
			return KeyRange{Start: start, End: []byte{}}
		default:
			return KeyRange{Start: start, End: ktConcat(key.Draw(t, "end"))}
		}
	})
}

func TestKeyRangeContainsOverlapsProperty(t *testing.T) {
	keys := ktSmallKeys()
	require.Len(t, keys, 1+4+16+64)
	ktRapidCheck(t, func(t *rapid.T) {
		a := ktAnyRangeGen().Draw(t, "a")
		b := ktAnyRangeGen().Draw(t, "b")

		naiveOverlap := false
		aHasKey := false
		for _, k := range keys {
			inA, inB := ktNaiveContains(a, k), ktNaiveContains(b, k)
			if a.Contains(k) != inA {
				t.Fatalf("%s.Contains(%q) = %v, want %v", a, k, !inA, inA)
			}
			wantInside := inA && string(a.Start) < string(k)
			if a.Inside(k) != wantInside {
				t.Fatalf("%s.Inside(%q) = %v, want %v", a, k, !wantInside, wantInside)
			}
			aHasKey = aHasKey || inA
			naiveOverlap = naiveOverlap || (inA && inB)
		}
		if a.Valid() != aHasKey {
			t.Fatalf("%s.Valid() = %v, but contains an enumerated key = %v", a, a.Valid(), aHasKey)
		}
		if got := a.Overlaps(b); got != naiveOverlap {
			t.Fatalf("%s.Overlaps(%s) = %v, want %v", a, b, got, naiveOverlap)
		}
		if a.Overlaps(b) != b.Overlaps(a) {
			t.Fatalf("Overlaps not symmetric for %s and %s", a, b)
		}
		// Adjacent valid ranges never overlap.
		if a.Valid() && b.Valid() && a.Adjacent(b) && a.Overlaps(b) {
			t.Fatalf("adjacent %s and %s overlap", a, b)
		}
	})
}
