package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Over n rounds each server runs once in each place of a round; with two
// servers the rounds alternate A B, B A.
func TestRoundOrder(t *testing.T) {
	for _, tc := range []struct {
		servers []string
		want    [][]string
	}{
		{[]string{"a", "p"}, [][]string{{"a", "p"}, {"p", "a"}, {"a", "p"}, {"p", "a"}}},
		{[]string{"a", "f", "p"}, [][]string{{"a", "f", "p"}, {"f", "p", "a"}, {"p", "a", "f"}, {"a", "f", "p"}}},
	} {
		for i, want := range tc.want {
			if got := roundOrder(tc.servers, i); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%v round %d: %v, want %v", tc.servers, i, got, want)
			}
		}
	}
}

// The audit file's size counts the files it was rotated into, not the
// sink's hidden marker of a running plugin.
func TestDirSize(t *testing.T) {
	dir := t.TempDir()
	for name, n := range map[string]int{"audit.log": 100, "audit-20261201T050000.000000000Z.log": 40, ".audit.log.running": 37} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	size, files, err := dirSize(dir)
	if err != nil || size != 140 || files != 2 {
		t.Errorf("dirSize = %d bytes in %d files, %v; want 140 in 2", size, files, err)
	}
}

// A warm-up of 0 is none: it returns at once, without connecting (it used
// to run until interrupted).
func TestRunLoadZeroDuration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := runLoad(ctx, "warm-up", filepath.Join(t.TempDir(), "none.sock"), nil, 8, 0, 0)
	if ctx.Err() != nil || len(r.lat) != 0 || r.errors != 0 {
		t.Errorf("runLoad with d=0: %d calls, %d errors, ctx %v", len(r.lat), r.errors, ctx.Err())
	}
}
