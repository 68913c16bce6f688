package placement

import (
	"fmt"
	"testing"
)

// Reproduce with:
//
//	go test -run '^$' -bench 'Encode|Decode' -benchmem .

// codecBenchBatch returns n PlaceTransfer commands, boxed up front so the
// benchmarks do not count interface conversions.
func codecBenchBatch(n int) []Command {
	cmds := make([]Command, n)
	for i := range cmds {
		cmds[i] = PlaceTransfer{Shard: ShardID(1000 + i), Epoch: 42, From: 3, To: 7}
	}
	return cmds
}

var codecBenchSizes = []int{1, 16}

func BenchmarkEncode(b *testing.B) {
	for _, n := range codecBenchSizes {
		b.Run(fmt.Sprintf("cmds=%d", n), func(b *testing.B) {
			cmds := codecBenchBatch(n)
			b.ReportAllocs()
			for b.Loop() {
				Encode(cmds...)
			}
		})
	}
}

func BenchmarkAppendEncode(b *testing.B) {
	for _, n := range codecBenchSizes {
		b.Run(fmt.Sprintf("cmds=%d", n), func(b *testing.B) {
			cmds := codecBenchBatch(n)
			buf := make([]byte, 0, len(Encode(cmds...)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendEncode(buf[:0], cmds...)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, n := range codecBenchSizes {
		b.Run(fmt.Sprintf("cmds=%d", n), func(b *testing.B) {
			entry := Encode(codecBenchBatch(n)...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(entry); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
