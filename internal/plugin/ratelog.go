package plugin

import (
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// rateLog logs one line per interval for an error that can repeat once
// per request (a full disk fails every audit record): the first
// occurrence at once, then at most one line per interval carrying the
// number of occurrences it stands for.
type rateLog struct {
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether to log now, and how many occurrences since the
// last line were not logged.
func (r *rateLog) allow() (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		return false, 0
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	return true, n
}

// log writes entry's message when allowed, with the count of the
// occurrences left out since the last line.
func (r *rateLog) log(entry *logrus.Entry, level logrus.Level, msg string) {
	ok, n := r.allow()
	if !ok {
		return
	}
	if n > 0 {
		entry = entry.WithField("repeated", n)
	}
	entry.WithField("log_interval", r.every).Log(level, msg)
}
