package gateway

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Peer is who is on the other end of a connection to the gateway: what
// the kernel says (SO_PEERCRED) and what the user database says about
// that uid.
type Peer struct {
	UID, GID uint32
	// PID is the client process as the kernel saw it when it connected, in
	// the gateway's PID namespace; 0 when the kernel could not map it (a
	// client in another PID namespace).
	PID int32
	// Exe is /proc/PID/exe when it could be read; informational only (the
	// process may have exited, or its PID been reused, by the time it is
	// read).
	Exe string
	Account
}

// Account is a user as the user database knows them.
type Account struct {
	// Name is the user name.
	Name string
	// Groups are the user's group names: the primary group first, then the
	// supplementary groups sorted by name, each once.
	Groups []string
}

// Accounts looks users up by uid.
type Accounts interface {
	Lookup(uid uint32) (Account, error)
}

// ErrUnknownUser is returned by Accounts for a uid the user database does
// not know.
var ErrUnknownUser = errors.New("no such user in the user database")

// peerCred asks the kernel who is on the other end of c (a Unix socket).
func peerCred(c net.Conn) (*syscall.Ucred, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("connection %T is not a socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("SO_PEERCRED: %w", serr)
	}
	return cred, nil
}

// exeOf is the executable of pid, or "" when the kernel does not say.
func exeOf(pid int32) string {
	if pid <= 0 {
		return ""
	}
	p, err := os.Readlink("/proc/" + strconv.Itoa(int(pid)) + "/exe")
	if err != nil {
		return ""
	}
	return p
}

// SystemAccounts reads the system's user database (os/user: /etc/passwd
// and /etc/group in a static build), and remembers each answer for ttl so
// that a busy client does not make the gateway read the files on every
// connection. A change of a user's groups is seen within ttl.
func SystemAccounts(ttl time.Duration) Accounts {
	return &systemAccounts{ttl: ttl, m: map[uint32]cachedAccount{}, now: time.Now}
}

type systemAccounts struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[uint32]cachedAccount
}

type cachedAccount struct {
	a   Account
	err error
	at  time.Time
}

const maxCachedAccounts = 4096

func (s *systemAccounts) Lookup(uid uint32) (Account, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.m[uid]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < s.ttl {
		return c.a, c.err
	}
	a, err := lookupSystem(uid)
	s.mu.Lock()
	if len(s.m) >= maxCachedAccounts {
		clear(s.m)
	}
	s.m[uid] = cachedAccount{a: a, err: err, at: now}
	s.mu.Unlock()
	return a, err
}

func lookupSystem(uid uint32) (Account, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		var unknown user.UnknownUserIdError
		if errors.As(err, &unknown) {
			return Account{}, ErrUnknownUser
		}
		return Account{}, fmt.Errorf("look up uid %d: %w", uid, err)
	}
	if u.Username == "" {
		return Account{}, ErrUnknownUser
	}
	a := Account{Name: u.Username}
	primary, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return Account{}, fmt.Errorf("look up primary group %s of %s: %w", u.Gid, u.Username, err)
	}
	a.Groups = append(a.Groups, primary.Name)
	gids, err := u.GroupIds()
	if err != nil {
		return Account{}, fmt.Errorf("look up groups of %s: %w", u.Username, err)
	}
	var rest []string
	for _, gid := range gids {
		if gid == u.Gid {
			continue
		}
		g, err := user.LookupGroupId(gid)
		if err != nil {
			return Account{}, fmt.Errorf("look up group %s of %s: %w", gid, u.Username, err)
		}
		rest = append(rest, g.Name)
	}
	a.Groups = append(a.Groups, sortedUnique(rest, primary.Name)...)
	return a, nil
}

// sortedUnique sorts names and drops duplicates and skip.
func sortedUnique(names []string, skip string) []string {
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if n == skip || n == "" || i > 0 && names[i-1] == n {
			continue
		}
		out = append(out, n)
	}
	return out
}
