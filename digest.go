package placement

import (
	"crypto/sha256"
	"encoding/hex"
)

// Digest is a SHA-256 hash of a map's replicated state, as View.Digest
// computes it. It is comparable with ==.
type Digest [sha256.Size]byte

// String returns the digest in lower-case hex, 64 characters.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Digest returns a hash of the view's replicated state, so that a host can
// compare servers: two that applied the same log have the same digest, and
// maps that differ have different ones (as far as SHA-256 tells them
// apart). It hashes exactly what WriteSnapshot writes: nodes with their
// states and the log time of each state, shards with their ranges, owners
// and epochs, moves in flight, the next-ID counter, the format version,
// the rebalancing flags, the pause, the policy and the recent moves. Soft
// stats (ReportStats, ReportNodeStats, ReportPressure, ReportProgress) and
// Index are not part of it. The
// snapshot of a map is one byte string (every map has exactly one
// encoding, see the format in registry_snapshot.go), so a map restored
// from a snapshot has the digest of the map that wrote it.
//
// It costs O(map): a pass over every node, shard and move, as long as
// WriteSnapshot takes to io.Discard, with no allocation a shard. Take it
// off raft's apply goroutine.
func (v View) Digest() Digest {
	h := sha256.New()
	// A hash's Write never fails, so WriteSnapshot does not either.
	_ = v.WriteSnapshot(h)
	var d Digest
	h.Sum(d[:0])
	return d
}

// Equal reports whether v and other hold the same replicated state: the
// same Digest. Views of the same version of a registry's map are equal in
// O(1); otherwise it costs two Digests, O(map) each.
func (v View) Equal(other View) bool {
	return v.state() == other.state() || v.Digest() == other.Digest()
}
