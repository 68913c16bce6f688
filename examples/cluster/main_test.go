package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestDemo runs the whole demonstration: it must converge with identical
// replicas and leave no goroutine behind.
func TestDemo(t *testing.T) {
	defer goleak.VerifyNone(t)
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
