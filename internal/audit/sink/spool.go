package sink

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/portcullis/portcullis/internal/audit"
)

// queue is a bounded FIFO of formatted messages: in memory, or, when a
// spool directory is configured, on disk. With a spool every message is
// written to it (handed to the kernel) before Write returns, so that a
// kill -9 loses none of them; memory then holds nothing. Without one, a
// crash loses what memory holds and the next start says so
// (plugin.crashed).
type queue struct {
	mu      sync.Mutex
	mem     [][]byte
	head    int // index of the oldest message in mem
	memCap  int
	spool   *spool // nil without a spool directory
	dropped uint64 // messages lost since the last loss message
	// droppedBy counts them by record type, phase and decision.
	droppedBy map[lossKey]uint64
	// lossMsg returns the loss message for n dropped messages and a
	// function to call, outside mu, once that message is queued.
	lossMsg func(n uint64, by map[lossKey]uint64) (msg []byte, queued func())
	reports []func()      // queued calls of lossMsg's functions
	wake    chan struct{} // capacity 1: something was queued
	// queued, spooled and lost count messages put in memory, in the
	// spool, and dropped (Auditor.Stats).
	queued, spooled, lost atomic.Uint64
}

func newQueue(memCap int, sp *spool, lossMsg func(uint64, map[lossKey]uint64) ([]byte, func())) *queue {
	return &queue{memCap: memCap, spool: sp, lossMsg: lossMsg, droppedBy: map[lossKey]uint64{}, wake: make(chan struct{}, 1)}
}

// drop counts msg lost, under q.mu.
func (q *queue) drop(msg []byte) {
	q.dropped++
	q.droppedBy[messageKey(msg)]++
	q.lost.Add(1)
}

// messageKey reads the record type, phase and decision of a formatted
// message (its MSG is the record's JSON). Only lost messages are read.
func messageKey(msg []byte) lossKey {
	var r struct {
		Type     audit.Type     `json:"type"`
		Phase    audit.Phase    `json:"phase"`
		Decision audit.Decision `json:"decision"`
	}
	if i := bytes.Index(msg, []byte(" - {")); i >= 0 {
		_ = json.Unmarshal(msg[i+3:], &r)
	}
	if r.Type == "" {
		r.Type = "unknown"
	}
	return lossKey{r.Type, r.Phase, r.Decision}
}

func (q *queue) memLen() int { return len(q.mem) - q.head }

func (q *queue) len() int {
	n := q.memLen()
	if q.spool != nil {
		n += q.spool.count
	}
	return n
}

// put queues msg when there is room, under q.mu.
func (q *queue) put(msg []byte) bool {
	if q.spool == nil && q.memLen() < q.memCap {
		if q.head > 0 && q.head == len(q.mem) {
			q.mem, q.head = q.mem[:0], 0
		}
		q.mem = append(q.mem, msg)
		q.queued.Add(1)
		return true
	}
	if q.spool != nil {
		if err := q.spool.append(msg); err == nil {
			q.spooled.Add(1)
			return true
		}
	}
	return false
}

// reportLoss queues the loss message for the messages dropped so far,
// when there is room, under q.mu.
func (q *queue) reportLoss() {
	if q.dropped == 0 {
		return
	}
	msg, queued := q.lossMsg(q.dropped, q.droppedBy)
	if q.put(msg) {
		q.dropped, q.droppedBy = 0, map[lossKey]uint64{}
		if queued != nil {
			q.reports = append(q.reports, queued)
		}
	}
}

// takeReports returns the loss reports to run, under q.mu.
func (q *queue) takeReports() []func() {
	r := q.reports
	q.reports = nil
	return r
}

func runReports(reports []func()) {
	for _, f := range reports {
		f()
	}
}

// push queues msg (a copy is not made: msg must not be reused) or counts
// it lost and returns ErrQueueFull.
func (q *queue) push(msg []byte) error {
	q.mu.Lock()
	q.reportLoss()
	ok := q.dropped == 0 && q.put(msg)
	if !ok {
		q.drop(msg)
	}
	reports := q.takeReports()
	q.mu.Unlock()
	runReports(reports)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	if !ok {
		return ErrQueueFull
	}
	return nil
}

// peek returns the oldest message without removing it.
func (q *queue) peek() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.memLen() > 0 {
		return q.mem[q.head], true
	}
	if q.spool != nil && q.spool.count > 0 {
		m, err := q.spool.peek()
		if err == nil {
			return m, true
		}
	}
	return nil, false
}

// pop removes the oldest message, after its delivery, and reports losses
// now that there is room.
func (q *queue) pop() {
	q.mu.Lock()
	q.removeHead()
	q.reportLoss()
	reports := q.takeReports()
	q.mu.Unlock()
	runReports(reports)
}

// dropHead removes the oldest message undelivered and counts it lost.
func (q *queue) dropHead() {
	q.mu.Lock()
	if q.memLen() > 0 {
		q.drop(q.mem[q.head])
	} else if q.spool != nil && len(q.spool.rbuf) > 0 {
		q.drop(q.spool.rbuf[0])
	} else {
		q.drop(nil)
	}
	q.removeHead()
	q.reportLoss()
	reports := q.takeReports()
	q.mu.Unlock()
	runReports(reports)
}

func (q *queue) removeHead() {
	if q.memLen() > 0 {
		q.mem[q.head] = nil
		q.head++
	} else if q.spool != nil {
		q.spool.pop()
	}
}

// spillAll moves what is in memory to the spool (at Close) and returns the
// number of messages that did not fit and are lost, with those dropped
// and not yet reported, by record type, phase and decision.
func (q *queue) spillAll() (int, map[lossKey]uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	lost := 0
	if q.spool == nil {
		lost = q.memLen()
	} else if q.memLen() > 0 {
		// Memory is older than the spool: write it to a new segment that
		// sorts first.
		lost = q.spool.prepend(q.mem[q.head:])
	}
	mem := q.mem[q.head:]
	for _, m := range mem[len(mem)-lost:] {
		q.drop(m)
	}
	q.mem, q.head = nil, 0
	n, by := int(q.dropped), q.droppedBy
	q.dropped, q.droppedBy = 0, map[lossKey]uint64{}
	return n, by
}

// spool is a directory of segment files holding length-prefixed messages:
// a 4-byte big-endian length, then the message. Segments are named by a
// sequence number and read oldest first; a segment is loaded whole when
// reading reaches it and deleted once delivered. A spool found at start is
// delivered first (messages delivered just before a crash may be sent
// again).
type spool struct {
	dir      string
	maxBytes int64
	bytes    int64 // on disk, undelivered
	count    int   // messages not yet delivered
	segs     []int64
	w        *os.File // open tail segment
	wseq     int64
	wsize    int64
	rseq     int64 // segment loaded in rbuf, or -1
	rbuf     [][]byte
}

const segmentMax = 1 << 20

func openSpool(dir string, maxBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create spool directory: %w", err)
	}
	sp := &spool{dir: dir, maxBytes: maxBytes, rseq: -1}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool directory: %w", err)
	}
	for _, e := range entries {
		seq, err := strconv.ParseInt(strings.TrimSuffix(e.Name(), ".spool"), 10, 64)
		if err != nil || !strings.HasSuffix(e.Name(), ".spool") {
			continue
		}
		msgs, size, err := readSegment(sp.path(seq))
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			os.Remove(sp.path(seq))
			continue
		}
		sp.segs = append(sp.segs, seq)
		sp.count += len(msgs)
		sp.bytes += size
	}
	sort.Slice(sp.segs, func(i, j int) bool { return sp.segs[i] < sp.segs[j] })
	if n := len(sp.segs); n > 0 {
		sp.wseq = sp.segs[n-1] + 1
	} else {
		sp.wseq = 1 << 40 // leaves room for prepend
	}
	return sp, nil
}

func (sp *spool) path(seq int64) string {
	return filepath.Join(sp.dir, fmt.Sprintf("%020d.spool", seq))
}

func readSegment(path string) ([][]byte, int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read spool segment: %w", err)
	}
	var msgs [][]byte
	var size int64
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint32(b))
		if len(b)-4 < n {
			break // a write cut short by a crash
		}
		msgs = append(msgs, b[4:4+n])
		b = b[4+n:]
		size += int64(4 + n)
	}
	return msgs, size, nil
}

var errSpoolFull = errors.New("spool is full")

func (sp *spool) append(msg []byte) error {
	need := int64(4 + len(msg))
	if sp.bytes+need > sp.maxBytes {
		return errSpoolFull
	}
	if sp.w != nil && sp.wsize+need > segmentMax {
		sp.w.Close()
		sp.w = nil
	}
	if sp.w == nil {
		f, err := os.OpenFile(sp.path(sp.wseq), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("create spool segment: %w", err)
		}
		sp.w, sp.wsize = f, 0
		sp.segs = append(sp.segs, sp.wseq)
		sp.wseq++
	}
	buf := make([]byte, 4, need)
	binary.BigEndian.PutUint32(buf, uint32(len(msg)))
	if _, err := sp.w.Write(append(buf, msg...)); err != nil {
		// Do not leave a partial record in the middle of the segment.
		sp.w.Close()
		sp.w = nil
		return fmt.Errorf("write spool segment: %w", err)
	}
	sp.wsize += need
	sp.bytes += need
	sp.count++
	return nil
}

// prepend writes msgs to a new segment ordered before all others. It
// returns how many did not fit.
func (sp *spool) prepend(msgs [][]byte) int {
	// Memory holds messages only while nothing is being read from the
	// spool, so a segment before the first one is read first.
	var seq int64
	if len(sp.segs) > 0 {
		seq = sp.segs[0] - 1
	} else {
		seq = sp.wseq
		sp.wseq++
	}
	f, err := os.OpenFile(sp.path(seq), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return len(msgs)
	}
	defer f.Close()
	sp.segs = append([]int64{seq}, sp.segs...)
	for i, m := range msgs {
		need := int64(4 + len(m))
		if sp.bytes+need > sp.maxBytes {
			return len(msgs) - i
		}
		buf := make([]byte, 4, need)
		binary.BigEndian.PutUint32(buf, uint32(len(m)))
		if _, err := f.Write(append(buf, m...)); err != nil {
			return len(msgs) - i
		}
		sp.bytes += need
		sp.count++
	}
	return 0
}

func (sp *spool) peek() ([]byte, error) {
	if len(sp.rbuf) == 0 {
		if len(sp.segs) == 0 {
			return nil, errors.New("spool is empty")
		}
		seq := sp.segs[0]
		if sp.w != nil && seq == sp.wseq-1 {
			sp.w.Close()
			sp.w = nil
		}
		msgs, _, err := readSegment(sp.path(seq))
		if err != nil {
			return nil, err
		}
		sp.rbuf, sp.rseq = msgs, seq
		if len(msgs) == 0 {
			sp.finishSegment()
			return sp.peek()
		}
	}
	return sp.rbuf[0], nil
}

func (sp *spool) pop() {
	if len(sp.rbuf) == 0 {
		return
	}
	sp.bytes -= int64(4 + len(sp.rbuf[0]))
	sp.count--
	sp.rbuf = sp.rbuf[1:]
	if len(sp.rbuf) == 0 {
		sp.finishSegment()
	}
}

func (sp *spool) finishSegment() {
	os.Remove(sp.path(sp.rseq))
	sp.segs = sp.segs[1:]
	sp.rbuf, sp.rseq = nil, -1
}

func (sp *spool) close() {
	if sp.w != nil {
		sp.w.Close()
		sp.w = nil
	}
}
