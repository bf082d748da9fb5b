package main

import (
	"strings"
	"testing"
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
