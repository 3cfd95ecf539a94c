//go:build linux

package mpqueue

import "testing"

func BenchmarkExpEncode(b *testing.B) {
	for i := 0; i < b.N; i++ {
		encode(benchPayload)
	}
}

func BenchmarkExpDecode(b *testing.B) {
	f, _ := encode(benchPayload)
	for i := 0; i < b.N; i++ {
		decode(f.payload)
	}
}
