package sink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/portcullis/portcullis/internal/audit"
)

// lossKey is what an audit.loss record counts records by.
type lossKey struct {
	typ      audit.Type
	phase    audit.Phase
	decision audit.Decision
}

func keyOf(r *audit.Record) lossKey { return lossKey{r.Type, r.Phase, r.Decision} }

// lossTally counts the records one sink did not take, twice: once until
// an audit.loss record reaches that sink itself (when it recovers), once
// until one reaches the other sinks (at the next report).
type lossTally struct {
	mu    sync.Mutex
	self  map[lossKey]uint64
	other map[lossKey]uint64
}

func (t *lossTally) add(keys ...lossKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.self == nil {
		t.self, t.other = map[lossKey]uint64{}, map[lossKey]uint64{}
	}
	for _, k := range keys {
		t.self[k]++
		t.other[k]++
	}
}

// take returns and clears one of the tallies (self or other).
func (t *lossTally) take(self bool) map[lossKey]uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := &t.other
	if self {
		m = &t.self
	}
	if len(*m) == 0 {
		return nil
	}
	out := *m
	*m = map[lossKey]uint64{}
	return out
}

// putBack returns counts whose report was not written.
func (t *lossTally) putBack(self bool, counts map[lossKey]uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.other
	if self {
		m = t.self
	}
	for k, n := range counts {
		m[k] += n
	}
}

// lossCounts lists counts in a stable order and returns their sum.
func lossCounts(counts map[lossKey]uint64) ([]audit.LossCount, uint64) {
	out := make([]audit.LossCount, 0, len(counts))
	var sum uint64
	for k, n := range counts {
		out = append(out, audit.LossCount{Type: k.typ, Phase: k.phase, Decision: k.decision, Count: n})
		sum += n
	}
	slices.SortFunc(out, func(a, b audit.LossCount) int {
		return strings.Compare(string(a.Type)+"\x00"+string(a.Phase)+"\x00"+string(a.Decision),
			string(b.Type)+"\x00"+string(b.Phase)+"\x00"+string(b.Decision))
	})
	return out, sum
}

// countLoss counts rec as lost by sink i after err. A full syslog queue
// counts and reports its own losses.
func (a *Auditor) countLoss(i int, rec *audit.Record, err error) {
	if errors.Is(err, ErrQueueFull) || errors.Is(err, ErrClosed) {
		return
	}
	a.lost[i].Add(1)
	a.losses[i].add(keyOf(rec))
	a.lossPending.Store(true)
}

// lossRecord is an audit.loss record for counts lost by the sink named.
func (a *Auditor) lossRecord(sink string, counts map[lossKey]uint64, where string) *audit.Record {
	list, sum := lossCounts(counts)
	rec := a.newRecord(audit.TypeAuditLoss)
	rec.Sink, rec.Dropped, rec.Losses = sink, sum, list
	rec.Message = fmt.Sprintf("%d audit records were not written to %s %s", sum, sink, where)
	return rec
}

// reportSelf writes to each sink that just took a record the audit.loss
// record of what it lost before; failed marks the sinks that did not.
func (a *Auditor) reportSelf(failed uint64) {
	for i, s := range a.sinks {
		if failed&(1<<i) != 0 {
			continue
		}
		counts := a.losses[i].take(true)
		if counts == nil {
			continue
		}
		rec := a.lossRecord(s.Name, counts, "while it failed; it takes records again")
		line := audit.AppendRecord(nil, rec)
		if err := s.Sink.Write(rec, line); err != nil {
			a.losses[i].putBack(true, counts)
		}
	}
}

// reportOthers writes, for each sink that lost records since the last
// report, an audit.loss record to every other sink: the trail there says
// what is missing from that sink's.
func (a *Auditor) reportOthers() {
	if !a.lossPending.Swap(false) {
		return
	}
	for i, s := range a.sinks {
		counts := a.losses[i].take(false)
		if counts == nil {
			continue
		}
		rec := a.lossRecord(s.Name, counts, "(it failed or was full)")
		line := audit.AppendRecord(nil, rec)
		for j, o := range a.sinks {
			if j == i {
				continue
			}
			if err := o.Sink.Write(rec, line); err != nil {
				a.countLoss(j, rec, err)
			}
		}
		a.log.WithFields(map[string]any{"sink": s.Name, "dropped": rec.Dropped}).Warn("audit records lost; reported by an audit.loss record")
	}
	for i := range a.losses {
		a.losses[i].mu.Lock()
		if len(a.losses[i].self) > 0 {
			a.lossPending.Store(true)
		}
		a.losses[i].mu.Unlock()
	}
}

// markerPath is the file that says a run is in progress: written at
// start, removed by a clean Close. Finding it at start means the last
// run stopped without closing the trail.
func markerPath(cfg Config) string {
	switch {
	case cfg.File != nil:
		dir, base := filepath.Split(cfg.File.Path)
		return filepath.Join(dir, "."+base+".running")
	case cfg.Syslog != nil && cfg.Syslog.SpoolDir != "":
		return filepath.Join(cfg.Syslog.SpoolDir, ".running")
	}
	return ""
}

// lastRecord returns the id and instance of the last whole record in
// the active file at path, or in its newest backup when the active file
// holds none.
func lastRecord(path string) (id, instance string) {
	files, _ := Backups(path)
	files = append(files, path)
	for i := len(files) - 1; i >= 0; i-- {
		if id, instance = lastRecordIn(files[i]); id != "" {
			return id, instance
		}
	}
	return "", ""
}

func lastRecordIn(path string) (string, string) {
	f, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", ""
	}
	const tail = 1 << 20
	off := max(fi.Size()-tail, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return "", ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, tail)
	var id, instance string
	for sc.Scan() {
		var r struct {
			ID       string `json:"id"`
			Instance string `json:"instance"`
		}
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.ID != "" {
			id, instance = r.ID, r.Instance
		}
	}
	return id, instance
}
