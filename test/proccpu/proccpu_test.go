package proccpu

import (
	"os"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       time.Duration
		err        bool
	}{
		{"plain", "42 (portcullis) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0", 3250 * time.Millisecond, false},
		{"name with spaces and parentheses", "42 (a) b (c)) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0", 100 * time.Millisecond, false},
		{"no command name", "42 portcullis S 1", 0, true},
		{"too few fields", "42 (p) S 1 2 3", 0, true},
		{"not numbers", "42 (p) S 1 42 42 0 -1 0 0 0 0 0 x 3 0 0", 0, true},
	} {
		got, err := parse(42, []byte(tc.line))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: %v, %v; want %v, error %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// This process has used some CPU time by now, and a process that does
// not exist is an error.
func TestOf(t *testing.T) {
	deadline := time.Now().Add(2 * time.Second)
	var d time.Duration
	for d == 0 && time.Now().Before(deadline) {
		for i := 0; i < 1e6; i++ {
			_ = i * i
		}
		var err error
		if d, err = Of(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if d <= 0 {
		t.Errorf("Of(self) = %v after spinning for 2 s", d)
	}
	if _, err := Of(1 << 30); err == nil {
		t.Error("Of(a pid that does not exist): no error")
	}
}
