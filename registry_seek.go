package placement

import (
	"bytes"
	"sync"
)

// seeker runs point lookups in a state's trees. B-tree lookups take a probe
// record and a callback; building those per lookup costs allocations that,
// on a heap holding a million shards, mostly turn into GC work. A seeker
// keeps one probe and its callbacks, so the registry's writes (which own the
// state's seeker, under the registry's lock) allocate nothing to look up.
// Readers of a shared state borrow one from a pool.
type seeker struct {
	probe shardRec
	found *shardRec
	skip  []byte
	first func(*shardRec) bool // records the first item visited
	below func(*shardRec) bool // the first item whose start is not skip
}

func newSeeker() *seeker {
	k := &seeker{}
	k.first = func(r *shardRec) bool { k.found = r; return false }
	k.below = func(r *shardRec) bool {
		if bytes.Equal(r.Range.Start, k.skip) {
			return true
		}
		k.found = r
		return false
	}
	return k
}

var seekers = sync.Pool{New: func() any { return newSeeker() }}

// borrow runs fn with a pooled seeker, for readers.
func borrow[T any](fn func(k *seeker) (T, bool)) (T, bool) {
	k := seekers.Get().(*seeker)
	defer seekers.Put(k)
	return fn(k)
}

// result returns and clears what the last visit found.
func (k *seeker) result() (*shardRec, bool) {
	r := k.found
	k.found, k.skip, k.probe = nil, nil, shardRec{}
	return r, r != nil
}

// shard returns the shard with the given ID.
func (k *seeker) shard(s *state, id ShardID) (*shardRec, bool) {
	k.probe.ID = id
	r, ok := s.byID.Get(&k.probe)
	k.probe = shardRec{}
	return r, ok
}

// floor returns the shard with the greatest start at or below key.
func (k *seeker) floor(s *state, key []byte) (*shardRec, bool) {
	k.probe.Range.Start = key
	s.byStart.DescendLessOrEqual(&k.probe, k.first)
	return k.result()
}

// ceil returns the shard with the least start at or above key.
func (k *seeker) ceil(s *state, key []byte) (*shardRec, bool) {
	k.probe.Range.Start = key
	s.byStart.AscendGreaterOrEqual(&k.probe, k.first)
	return k.result()
}

// prev returns the shard that ends where r starts, if any.
func (k *seeker) prev(s *state, r *shardRec) (*shardRec, bool) {
	k.skip = r.Range.Start
	s.byStart.DescendLessOrEqual(r, k.below)
	p, ok := k.result()
	if !ok || !p.Range.Adjacent(r.Range) {
		return nil, false
	}
	return p, true
}

// next returns the shard that starts where r ends, if any.
func (k *seeker) next(s *state, r *shardRec) (*shardRec, bool) {
	if r.Range.End == nil {
		return nil, false
	}
	n, ok := k.ceil(s, r.Range.End)
	if !ok || !r.Range.Adjacent(n.Range) {
		return nil, false
	}
	return n, true
}

// Reader lookups, safe on a state shared with the registry.

func (s *state) shard(id ShardID) (*shardRec, bool) {
	return borrow(func(k *seeker) (*shardRec, bool) { return k.shard(s, id) })
}

func (s *state) floor(key []byte) (*shardRec, bool) {
	return borrow(func(k *seeker) (*shardRec, bool) { return k.floor(s, key) })
}

func (s *state) next(r *shardRec) (*shardRec, bool) {
	return borrow(func(k *seeker) (*shardRec, bool) { return k.next(s, r) })
}
