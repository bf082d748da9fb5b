package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/request"
)

const killChildEnv = "PORTCULLIS_STATE_KILL_CHILD"

var web = request.Owner{Team: "web", User: "w1"}

func cid(i int) string { return fmt.Sprintf("%064x", i) }

// killChild runs in the subprocess of TestKill9: it records owners,
// printing each id once Record has returned (the moment the plugin
// would answer), until it is killed. mode "held": bbolt never commits
// (only the journal has them); "live": commits run as in service.
func killChild(dir, mode string) {
	if mode == "held" {
		beforeCommit = func() error { select {} }
	}
	s, err := Open(dir)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	if mode == "held" {
		for i := 0; i < 20; i++ {
			if err := s.Record(request.Object{Kind: request.KindContainer, ID: cid(i), Name: fmt.Sprint("c", i), Owner: web}); err != nil {
				fmt.Println("record:", err)
				os.Exit(2)
			}
		}
		s.Rename(request.KindContainer, cid(1), "renamed")
		s.Remove(request.KindContainer, cid(2))
		fmt.Println("ready")
		select {}
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; ; i += 8 {
				if err := s.Record(request.Object{Kind: request.KindContainer, ID: cid(i), Owner: web}); err != nil {
					mu.Lock()
					fmt.Fprintln(out, "record:", err)
					out.Flush()
					mu.Unlock()
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintln(out, "ok", i)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestKill9: a process that recorded owners and is killed with SIGKILL
// (no Close, no deferred code) loses none of the owners its Record
// calls returned: the next Open finds them, by replaying the journal.
// "held": no bbolt commit ever ran, so everything comes from the
// journal, renames and removals included. "live": commits ran and were
// interrupted at a random point.
func TestKill9(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		mode, dir, _ := strings.Cut(dir, ":")
		killChild(dir, mode)
		return
	}
	for _, mode := range []string{"held", "live"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$", "-test.count=1")
			cmd.Env = append(os.Environ(), killChildEnv+"="+mode+":"+dir)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			acked := map[int]bool{}
			killed := false
			for sc.Scan() {
				line := sc.Text()
				switch {
				case line == "ready":
				case strings.HasPrefix(line, "ok "):
					var i int
					fmt.Sscan(line[3:], &i)
					acked[i] = true
					if len(acked) < 300 {
						continue
					}
				default:
					t.Fatalf("child: %s", line)
				}
				if !killed {
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					killed = true
				}
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child did not die of SIGKILL: %v", err)
			}
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rep := s.Replayed()
			if len(rep.Corrupt) != 0 {
				t.Errorf("corrupt entries after kill -9: %v", rep.Corrupt)
			}
			if mode == "held" {
				if rep.Applied != 22 {
					t.Errorf("replayed %d entries, want 22 (20 records, a rename, a removal)", rep.Applied)
				}
				for i := 0; i < 20; i++ {
					o, ok := s.Get(request.KindContainer, cid(i))
					switch {
					case i == 2 && ok:
						t.Error("the removed container is back")
					case i == 2:
					case !ok || o.Owner != web || !o.Owned:
						t.Errorf("container %d after kill -9: %+v %v", i, o, ok)
					case i == 1 && o.Name != "renamed":
						t.Errorf("rename lost: %q", o.Name)
					}
				}
				return
			}
			t.Logf("%d records acknowledged before the kill; %d journal entries replayed", len(acked), rep.Applied)
			for i := range acked {
				if o, ok := s.Get(request.KindContainer, cid(i)); !ok || o.Owner != web {
					t.Errorf("acknowledged record %d lost: %+v %v", i, o, ok)
				}
			}
		})
	}
}

// writeSegment writes a journal segment of the given lines by hand.
func writeSegment(t *testing.T, dir string, n uint64, lines ...[]byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, segName(n)), bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func putLine(t *testing.T, id, name string) []byte {
	t.Helper()
	v := fmt.Sprintf(`{"name":%q,"owner":{"team":"web"},"created":"2026-12-01T00:00:00Z"}`, name)
	l, err := encodeEntry(&entry{Put: "container/" + id, V: []byte(v)})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func delLine(t *testing.T, keys ...string) []byte {
	t.Helper()
	l, err := encodeEntry(&entry{Del: keys})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func journalFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, journalPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestReplay: what Open does with the journal it finds: entries applied
// in order across segments, a torn last line ignored, a corrupt entry in
// the middle skipped and reported (never a panic), the segments removed,
// and the same segments replayed twice give the same store.
func TestReplay(t *testing.T) {
	torn := putLine(t, cid(9), "torn")
	corrupt := putLine(t, cid(8), "corrupt")
	corrupt[20] ^= 0x01
	cases := []struct {
		name     string
		segs     [][][]byte
		want     map[int]string // id -> name; absent: not known
		torn     int
		corrupts int
	}{
		{"in order", [][][]byte{
			{putLine(t, cid(1), "a"), putLine(t, cid(2), "b")},
			{putLine(t, cid(1), "a2"), delLine(t, "container/"+cid(2))},
		}, map[int]string{1: "a2"}, 0, 0},
		{"torn last line", [][][]byte{
			{putLine(t, cid(1), "a"), torn[:len(torn)-1]},
		}, map[int]string{1: "a"}, 1, 0},
		{"torn in the middle of a line", [][][]byte{
			{putLine(t, cid(1), "a"), torn[:17]},
		}, map[int]string{1: "a"}, 1, 0},
		{"corrupt middle entry", [][][]byte{
			{putLine(t, cid(1), "a"), corrupt, putLine(t, cid(3), "c")},
		}, map[int]string{1: "a", 3: "c"}, 0, 1},
		{"garbage lines", [][][]byte{
			{[]byte("\n"), []byte("not a journal line\n"), []byte("00000000 {}\n"), putLine(t, cid(3), "c")},
		}, map[int]string{3: "c"}, 0, 3},
		{"empty segment", [][][]byte{{}}, map[int]string{}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for pass := 1; pass <= 2; pass++ {
				dir := t.TempDir()
				if pass == 2 {
					// Replay twice: the first replay's result, then
					// the same segments again.
					s, err := Open(dir)
					if err != nil {
						t.Fatal(err)
					}
					s.Close()
					for i, seg := range tc.segs {
						writeSegment(t, dir, uint64(i+1), seg...)
					}
					if s, err = Open(dir); err != nil {
						t.Fatal(err)
					}
					s.Close()
				}
				for i, seg := range tc.segs {
					writeSegment(t, dir, uint64(i+10), seg...)
				}
				s, err := Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				rep := s.Replayed()
				if rep.Torn != tc.torn || len(rep.Corrupt) != tc.corrupts {
					t.Errorf("pass %d: report %+v, want %d torn and %d corrupt", pass, rep, tc.torn, tc.corrupts)
				}
				for i := 0; i < 10; i++ {
					o, ok := s.Get(request.KindContainer, cid(i))
					name, want := tc.want[i]
					if ok != want || ok && (o.Name != name || o.Owner.Team != "web") {
						t.Errorf("pass %d: container %d: %+v %v, want name %q %v", pass, i, o, ok, name, want)
					}
				}
				if files := journalFiles(t, dir); len(files) != 1 {
					t.Errorf("pass %d: journal files after Open: %v, want the new segment only", pass, files)
				}
				s.Close()
			}
		})
	}
}

// TestJournalCommitted: bbolt commits behind the journal; once it has,
// the closed segments are deleted, so the journal stays small however
// many writes pass through it; Close leaves nothing to replay but the
// open segment's committed entries (replayed again harmlessly).
func TestJournalCommitted(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.commitMu.Lock()
	s.j.segSize = 4096
	s.commitMu.Unlock()
	for i := 0; i < 500; i++ {
		if err := s.Record(request.Object{Kind: request.KindContainer, ID: cid(i), Owner: web}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			s.Remove(request.KindContainer, cid(i))
		}
	}
	waitCommitted(t, s)
	s.commitMu.Lock()
	total, closed := s.j.total, len(s.j.closed)
	s.commitMu.Unlock()
	if files := journalFiles(t, dir); len(files) > 2 || total > 2*4096+1024 || closed > 1 {
		t.Errorf("after 750 writes: %d journal files (%d bytes, %d closed), want at most 2 segments", len(files), total, closed)
	}
	// bbolt has everything without the journal.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range journalFiles(t, dir) {
		os.Remove(f)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Len(request.KindContainer); got != 250 {
		t.Errorf("bbolt holds %d containers, want 250", got)
	}
}

// waitCommitted waits until the committer has nothing left to do.
func waitCommitted(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	for s.committing || len(s.pending) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the committer did not finish")
		}
		s.commitMu.Unlock()
		time.Sleep(time.Millisecond)
		s.commitMu.Lock()
	}
}

// TestJournalBounded: while bbolt cannot commit, writes keep succeeding
// (journaled, the commit retried) until the journal holds its maximum;
// then Record fails (the plugin answers ownership.unrecorded) instead
// of the journal growing. Once commits succeed again the journal drains
// and Record works.
func TestJournalBounded(t *testing.T) {
	var failing sync.Mutex
	fail := true
	beforeCommit = func() error {
		failing.Lock()
		defer failing.Unlock()
		if fail {
			return errors.New("injected: disk failing")
		}
		return nil
	}
	t.Cleanup(func() { beforeCommit = nil })
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The committer runs in the background: it may not have tried its
	// first commit by the time the journal is full.
	reported := make(chan struct{}, 1)
	s.OnError(func(error) {
		select {
		case reported <- struct{}{}:
		default:
		}
	})
	s.commitMu.Lock()
	s.j.segSize, s.j.max = 2048, 16384
	s.commitMu.Unlock()
	n := 0
	for ; n < 1000; n++ {
		err := s.Record(request.Object{Kind: request.KindContainer, ID: cid(n), Owner: web})
		if errors.Is(err, ErrJournalFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 1000 || n < 16384/300 {
		t.Fatalf("journal full after %d records, want it full at 16 KiB", n)
	}
	if _, ok := s.Get(request.KindContainer, cid(n)); ok {
		t.Error("a record the journal refused is in the index")
	}
	// A removal still goes to the journal: it forgets a recorded owner.
	s.Remove(request.KindContainer, cid(0))
	del := delLine(t, "container/"+cid(0))
	found := false
	for _, f := range journalFiles(t, dir) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found = found || bytes.HasSuffix(data, del)
	}
	if !found {
		t.Error("a removal past the journal's cap was not journaled")
	}
	var size int64
	for _, f := range journalFiles(t, dir) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		size += fi.Size()
	}
	if size > 16384+200 {
		t.Errorf("journal on disk %d bytes, over its maximum 16384 and one removal", size)
	}
	select {
	case <-reported:
	case <-time.After(10 * time.Second):
		t.Error("failed commits were not reported")
	}
	failing.Lock()
	fail = false
	failing.Unlock()
	// The committer retries with a pause; wait for it to drain.
	waitCommitted(t, s)
	if err := s.Record(request.Object{Kind: request.KindContainer, ID: cid(n), Owner: web}); err != nil {
		t.Fatalf("after the disk recovered: %v", err)
	}
	waitCommitted(t, s)
	s.commitMu.Lock()
	total := s.j.total
	s.commitMu.Unlock()
	if total > 2048+512 {
		t.Errorf("journal holds %d bytes after the commits caught up", total)
	}
}

// TestJournalWriteFault: a journal write that fails after writing part
// of its line (a full disk) fails its Record and is cut back to the last
// whole line, so the entries after it replay; when the cut-back fails
// too, the next write starts a new segment.
func TestJournalWriteFault(t *testing.T) {
	for _, cutFails := range []bool{false, true} {
		t.Run(fmt.Sprintf("cut-back fails %v", cutFails), func(t *testing.T) {
			beforeCommit = func() error { return errors.New("held") }
			t.Cleanup(func() { beforeCommit = nil })
			dir := t.TempDir()
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			record := func(i int) error {
				return s.Record(request.Object{Kind: request.KindContainer, ID: cid(i), Owner: web})
			}
			if err := record(1); err != nil {
				t.Fatal(err)
			}
			s.commitMu.Lock()
			s.j.writeFile = func(f *os.File, b []byte) (int, error) {
				n, _ := f.Write(b[:len(b)/2])
				if cutFails {
					// A cut-back that cannot happen: the file is
					// no longer writable through this descriptor.
					ro, err := os.Open(f.Name())
					if err != nil {
						t.Error(err)
					}
					*f = *ro
				}
				return n, syscall.ENOSPC
			}
			s.commitMu.Unlock()
			if err := record(2); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("a failed journal write: Record returned %v, want ENOSPC", err)
			}
			if _, ok := s.Get(request.KindContainer, cid(2)); ok {
				t.Error("an unjournaled record is in the index")
			}
			s.commitMu.Lock()
			s.j.writeFile = (*os.File).Write
			s.commitMu.Unlock()
			if err := record(3); err != nil {
				t.Fatal(err)
			}
			crash(s)
			s, err = Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rep := s.Replayed()
			wantTorn := 0
			if cutFails {
				wantTorn = 1
			}
			if len(rep.Corrupt) != 0 || rep.Torn != wantTorn || rep.Applied != 2 {
				t.Errorf("replay %+v, want 2 applied, %d torn, none corrupt", rep, wantTorn)
			}
			for i, want := range map[int]bool{1: true, 2: false, 3: true} {
				if _, ok := s.Get(request.KindContainer, cid(i)); ok != want {
					t.Errorf("container %d known %v, want %v", i, ok, want)
				}
			}
		})
	}
}

// TestJournalFullDisk: the same on a real full file system (a 64 KiB
// tmpfs; root only): Record fails with ENOSPC once the disk is full,
// the journal holds whole lines only, and every record that succeeded
// comes back.
func TestJournalFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; TestJournalWriteFault injects the same fault")
	}
	beforeCommit = func() error { return errors.New("held") }
	t.Cleanup(func() { beforeCommit = nil })
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=128k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	// bbolt's file takes its first pages; the journal fills the rest.
	dir := filepath.Join(mnt, "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ok []int
	var ferr error
	for i := 0; i < 10000; i++ {
		// Long names: lines that straddle the last free block.
		err := s.Record(request.Object{Kind: request.KindContainer, ID: cid(i), Name: strings.Repeat("n", 700+i%300), Owner: web})
		if err != nil {
			ferr = err
			break
		}
		ok = append(ok, i)
	}
	if !errors.Is(ferr, syscall.ENOSPC) {
		t.Fatalf("on a full disk Record returned %v, want ENOSPC", ferr)
	}
	crash(s)
	for _, f := range journalFiles(t, dir) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Errorf("%s ends with a torn line", f)
		}
	}
	// Make room for bbolt to replay into.
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT, "size=4m"); err != nil {
		t.Fatal(err)
	}
	beforeCommit = nil
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep := s.Replayed()
	if len(rep.Corrupt) != 0 || rep.Torn != 0 || rep.Applied != len(ok) {
		t.Errorf("replay %+v, want %d applied, none torn or corrupt", rep, len(ok))
	}
	for _, i := range ok {
		if _, found := s.Get(request.KindContainer, cid(i)); !found {
			t.Errorf("record %d, acknowledged before the disk filled, lost", i)
		}
	}
	t.Logf("%d records before ENOSPC", len(ok))
}

// crash drops s as a kill -9 would: no commit, no Close; the committer
// stops at its next attempt.
func crash(s *Store) {
	s.commitMu.Lock()
	s.closing = true
	s.j.close()
	s.commitMu.Unlock()
	s.db.Close()
}

// TestJournalVolumesSynced: a volume's creation and removal are synced
// to disk before they return (its key is a name the daemon gives again:
// a lost removal after a power loss would hand the next volume of that
// name to the old owner); other kinds are not; a segment is synced when
// it is closed. A failed sync fails the Record.
func TestJournalVolumesSynced(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	syncs := 0
	var fail error
	s.commitMu.Lock()
	s.j.syncFile = func(f *os.File) error {
		mu.Lock()
		defer mu.Unlock()
		syncs++
		if fail != nil {
			return fail
		}
		return fdatasync(f)
	}
	s.commitMu.Unlock()
	count := func() int { mu.Lock(); defer mu.Unlock(); return syncs }
	steps := []struct {
		name string
		do   func() error
		want int
	}{
		{"container record", func() error {
			return s.Record(request.Object{Kind: request.KindContainer, ID: cid(1), Owner: web})
		}, 0},
		{"volume record", func() error {
			return s.Record(request.Object{Kind: request.KindVolume, ID: "v", Name: "v", Owner: web})
		}, 1},
		{"volume remove", func() error { s.Remove(request.KindVolume, "v"); return nil }, 2},
		{"container remove", func() error { s.Remove(request.KindContainer, cid(1)); return nil }, 2},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := count(); got != st.want {
			t.Errorf("after %s: %d syncs, want %d", st.name, got, st.want)
		}
	}
	s.commitMu.Lock()
	err = s.j.rotate()
	s.commitMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 3 {
		t.Errorf("a closed segment was not synced: %d syncs, want 3", got)
	}
	mu.Lock()
	fail = syscall.EIO
	mu.Unlock()
	if err := s.Record(request.Object{Kind: request.KindVolume, ID: "w", Name: "w", Owner: web}); !errors.Is(err, syscall.EIO) {
		t.Errorf("a volume record whose sync failed returned %v, want EIO", err)
	}
	if _, ok := s.Get(request.KindVolume, "w"); ok {
		t.Error("a volume whose record failed is owned")
	}
	// A segment closed by rotate between a write and its sync is synced
	// through its path; one already deleted was covered by bbolt.
	mu.Lock()
	fail = nil
	mu.Unlock()
	s.commitMu.Lock()
	f := s.j.f
	err = s.j.rotate()
	s.commitMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	before := count()
	if err := s.j.syncSegment(f); err != nil || count() != before+2 {
		t.Errorf("sync of a closed segment: %v, %d syncs, want the closed fd tried and the path synced", err, count()-before)
	}
	if err := os.Remove(f.Name()); err != nil {
		t.Fatal(err)
	}
	if err := s.j.syncSegment(f); err != nil {
		t.Errorf("sync of a closed, deleted segment: %v", err)
	}
}

// FuzzDecodeEntry: a journal line, whatever the disk gives back, decodes
// to an entry or an error, never a panic; an entry decoded encodes to a
// line that decodes to the same entry.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range []*entry{
		{Put: "container/" + cid(1), V: []byte(`{"owner":{"team":"web"},"created":"2026-12-01T00:00:00Z"}`)},
		{Del: []string{"container/" + cid(1), "exec/" + cid(2)}},
	} {
		l, err := encodeEntry(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(l[:len(l)-1])
		f.Add(l[:len(l)/2])
	}
	f.Add([]byte("00000000 {}"))
	f.Add([]byte("zzzzzzzz {\"put\":\"x\"}"))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := decodeEntry(line)
		if err != nil {
			return
		}
		l, err := encodeEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := decodeEntry(l[:len(l)-1])
		if err != nil {
			t.Fatalf("re-encoded line %q: %v", l, err)
		}
		var v1, v2 bytes.Buffer
		_ = json.Compact(&v1, e.V)
		_ = json.Compact(&v2, e2.V)
		if e2.Put != e.Put || !bytes.Equal(v1.Bytes(), v2.Bytes()) || strings.Join(e2.Del, "\x00") != strings.Join(e.Del, "\x00") {
			t.Fatalf("round trip: %+v -> %+v", e, e2)
		}
	})
}
