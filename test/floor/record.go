package main

import (
	"errors"
	"os"
	"runtime"
	"sync"
)

// recorder hands one request's record to the kernel and returns when it
// has (or could not).
type recorder interface {
	write() error
}

// single writes each record with its own write(2), under a mutex
// (-group-commit=false).
type single struct {
	mu     sync.Mutex
	out    *os.File
	record []byte
}

func (s *single) write() error {
	s.mu.Lock()
	_, err := s.out.Write(s.record)
	s.mu.Unlock()
	return err
}

// group is a group commit (-group-commit): the records of calls waiting
// together go out in one write(2), each call answered only after the
// write holding its record returned, as Portcullis's file sink does
// (internal/audit/sink: a batch fills while the previous one is written,
// and a writer whose batch holds only its own record first lets the
// goroutines ready to run go once, so that calls that arrived meanwhile
// join it). The rules ask for every record to be handed to the kernel
// before its answer, not for a write(2) of its own.
type group struct {
	out    *os.File
	record []byte

	mu   sync.Mutex
	cond sync.Cond
	// Batches are numbered from 0; open is the one filling, with n
	// records; written counts the batches written (open or open-1, while
	// one is being written).
	open, written uint64
	n             int
	flushing      bool
	// failures counts the batches whose write failed.
	failures uint64
	buf      []byte
}

func newGroup(out *os.File, record []byte) *group {
	g := &group{out: out, record: record}
	g.cond.L = &g.mu
	return g
}

var errBatch = errors.New("a batch of records was not written")

func (g *group) write() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	my, failures := g.open, g.failures
	g.n++
	yielded := false
	for g.written <= my {
		if g.flushing {
			g.cond.Wait()
			continue
		}
		// No write in progress, so every closed batch is written and
		// mine is the open one.
		if !yielded && g.n == 1 {
			yielded = true
			g.mu.Unlock()
			runtime.Gosched()
			g.mu.Lock()
			continue
		}
		g.buf = g.buf[:0]
		for range g.n {
			g.buf = append(g.buf, g.record...)
		}
		g.n = 0
		g.open++
		g.flushing = true
		g.mu.Unlock()
		_, err := g.out.Write(g.buf)
		g.mu.Lock()
		g.flushing = false
		if err != nil {
			g.failures++
		}
		g.written++
		g.cond.Broadcast()
	}
	// A failure of any batch written since this record was queued denies
	// it: fail closed, never an allow for a record that may be lost.
	if g.failures != failures {
		return errBatch
	}
	return nil
}
