package placement

import "testing"

// FuzzDecode checks that Decode never panics and accepts only canonical
// entries: whatever it decodes re-encodes to the input byte for byte.
// Seeds come from codecSamples and testdata/fuzz/FuzzDecode.
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 30s .
func FuzzDecode(f *testing.F) {
	for _, cmds := range codecSamples() {
		f.Add(Encode(cmds...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		codecRequireCanonical(t, data)
	})
}
