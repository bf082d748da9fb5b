//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// swarmPolicy: ownershipPolicy with swarm work allowed to everyone (the
// test sets the swarm up on the Unix socket, without identity).
var swarmPolicy = strings.Replace(ownershipPolicy,
	`"image.*", "volume.*", "network.*", "commit"]`,
	`"image.*", "volume.*", "network.*", "commit", "swarm.*", "node.*", "service.*", "task.*", "secret.*", "config.*"]`, 1)

// TestSwarmOwnership: two private daemons on loopback in one swarm, both
// managers, each with its own Portcullis. A service, a secret and an
// overlay network team web creates through manager A belong to web on
// manager B too: B's Portcullis reads the owner labels back from its
// daemon (the create event, then a reconciliation after a restart). The
// labels are required at create, naming the caller, and cannot be
// changed or removed by an update.
func TestSwarmOwnership(t *testing.T) {
	t.Parallel()
	if !strings.Contains(swarmPolicy, `"service.*"`) {
		t.Fatal("swarmPolicy did not extend ownershipPolicy's actions")
	}
	files := map[string]string{"default.hcl": swarmPolicy}
	a := NewEnv(t, Options{TLS: true, PolicyFiles: files, NoImage: true})
	b := NewEnv(t, Options{TLS: true, PolicyFiles: files, NoImage: true})
	waitReconciled(t, a.Plugin, 1)
	waitReconciled(t, b.Plugin, 1)

	portA, portB := freePort(t), freePort(t)
	addrA := fmt.Sprintf("127.0.0.1:%d", portA)
	addrB := fmt.Sprintf("127.0.0.1:%d", portB)
	RequireOK(t, a.Docker("swarm", "init", "--advertise-addr", addrA, "--listen-addr", addrA))
	tok := a.Docker("swarm", "join-token", "-q", "manager")
	RequireOK(t, tok)
	RequireOK(t, b.Daemon.Local().DockerOpts(DockerOpts{Timeout: 90 * time.Second}, "swarm", "join", "--token", strings.TrimSpace(tok.Stdout),
		"--advertise-addr", addrB, "--listen-addr", addrB, addrA))

	webA := a.Daemon.As(t, "web-dev1", "web")
	webB := b.Daemon.As(t, "web-dev2", "web")
	dataB := b.Daemon.As(t, "data-dev1", "data")
	dataA := a.Daemon.As(t, "data-dev1", "data")
	loner := a.Daemon.As(t, "loner1")

	svc := func(c *Client, name string, labels ...string) Result {
		args := []string{"service", "create", "--detach", "--no-resolve-image", "--name", name}
		for _, l := range labels {
			args = append(args, "--label", l)
		}
		return c.Docker(append(args, "portcullis-e2e/none:1", "true")...)
	}
	team := "io.portcullis.owner.team="
	user := "io.portcullis.owner.user="

	t.Run("create needs the owner label naming the caller", func(t *testing.T) {
		a.RequireDenied(t, svc(webA, "sw-nolabel"), "--label io.portcullis.owner.team=web")
		a.RequireDenied(t, svc(webA, "sw-claim", team+"data"), "names an owner other than you", "--label io.portcullis.owner.team=web")
		a.RequireDenied(t, svc(webA, "sw-case", "IO.PORTCULLIS.OWNER.TEAM=web"), "reserved owner namespace")
		a.RequireDenied(t, svc(webA, "sw-user", team+"web", user+"web-dev9"), "names a user other than you")
		a.RequireDenied(t, svc(loner, "sw-loner"), "--label io.portcullis.owner.user=loner1")
		a.RequireDenied(t, a.Daemon.As(t, "web-dev1", "web").DockerOpts(DockerOpts{Stdin: strings.NewReader("s3cr3t")}, "secret", "create", "sw-nolabel", "-"),
			"docker secret create must carry the owner label --label io.portcullis.owner.team=web")
		a.RequireDenied(t, webA.Docker("network", "create", "-d", "overlay", "sw-nolabel"), "--label io.portcullis.owner.team=web")
	})

	RequireOK(t, svc(webA, "sw-web", team+"web", "com.example.io.portcullis.owner.team=data"))
	RequireOK(t, webA.DockerOpts(DockerOpts{Stdin: strings.NewReader("s3cr3t")}, "secret", "create", "--label", team+"web", "sw-secret", "-"))
	netCreated := webA.Docker("network", "create", "-d", "overlay", "--label", team+"web", "sw-net")
	RequireOK(t, netCreated)

	// Manager B learns each object from its daemon's events: evidence
	// that it did is web's own inspect being allowed there (an object
	// B does not know, or knows without an owner, is denied to web).
	for _, args := range [][]string{{"service", "inspect", "sw-web"}, {"secret", "inspect", "sw-secret"}, {"network", "inspect", "sw-net"}} {
		var last Result
		if !waitFor(20*time.Second, func() bool { last = webB.Docker(args...); return last.ExitCode == 0 }) {
			t.Fatalf("manager B never knew web's %s: %s", args[0], last)
		}
	}

	theirs := "belongs to team web"
	denyOnB := func(t *testing.T) {
		t.Helper()
		b.RequireDenied(t, dataB.Docker("service", "inspect", "sw-web"), theirs)
		b.RequireDenied(t, dataB.Docker("service", "logs", "sw-web"), theirs)
		b.RequireDenied(t, dataB.Docker("service", "update", "--detach", "--label-add", "x=y", "sw-web"), theirs)
		b.RequireDenied(t, dataB.Docker("service", "rm", "sw-web"), theirs)
		b.RequireDenied(t, dataB.Docker("secret", "inspect", "sw-secret"), theirs)
		b.RequireDenied(t, dataB.Docker("secret", "rm", "sw-secret"), theirs)
		b.RequireDenied(t, dataB.Docker("network", "inspect", "sw-net"), theirs)
		b.RequireDenied(t, dataB.Docker("network", "rm", "sw-net"), theirs)
	}

	t.Run("a service created through A is web's on B", func(t *testing.T) {
		denyOnB(t)
		a.RequireDenied(t, dataA.Docker("service", "inspect", "sw-web"), theirs)
		RequireOK(t, webB.Docker("service", "inspect", "sw-web"))
	})

	t.Run("updates keep the owner label", func(t *testing.T) {
		b.RequireDenied(t, webB.Docker("service", "update", "--detach", "--no-resolve-image", "--label-rm", "io.portcullis.owner.team", "sw-web"),
			"cannot be changed or removed", "--label io.portcullis.owner.team=web")
		b.RequireDenied(t, webB.Docker("service", "update", "--detach", "--no-resolve-image", "--label-add", team+"data", "sw-web"),
			"cannot be changed or removed")
		b.RequireDenied(t, webB.Docker("service", "update", "--detach", "--no-resolve-image", "--label-add", "Io.Portcullis.Owner.Team=data", "sw-web"),
			"reserved owner namespace")
		RequireOK(t, webB.Docker("service", "update", "--detach", "--no-resolve-image", "--label-add", "tier=front", "sw-web"))
	})

	t.Run("after a restart with no state B reads the owners back", func(t *testing.T) {
		// Without its store, B knows the owners only from the labels its
		// reconciliation reads.
		before, _ := os.ReadFile(b.Plugin.LogFile)
		n := strings.Count(string(before), "ownership reconciled with the daemon")
		if err := b.Plugin.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(b.Plugin.StateDir); err != nil {
			t.Fatal(err)
		}
		if err := b.Plugin.Start(); err != nil {
			t.Fatal(err)
		}
		waitReconciled(t, b.Plugin, n+1)
		denyOnB(t)
		RequireOK(t, webB.Docker("service", "inspect", "sw-web"))
	})

	RequireOK(t, webB.Docker("service", "rm", "sw-web"))
}
