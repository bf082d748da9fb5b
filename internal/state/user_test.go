package state

import (
	"context"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/portcullis/portcullis/internal/request"
)

// imageDaemon is a fakeDaemon that also answers image inspects and
// container lists filtered by id.
type imageDaemon struct {
	fakeDaemon
	mu       sync.Mutex
	users    map[string]string // image id -> its USER
	inspects map[string]int
}

func (f *imageDaemon) ImageInspect(_ context.Context, id string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inspects[id]++
	u, ok := f.users[id]
	if !ok {
		return image.InspectResponse{}, errNotManager
	}
	cfg := &dockerspec.DockerOCIImageConfig{}
	cfg.User = u
	return image.InspectResponse{ID: id, Config: cfg}, nil
}

func (f *imageDaemon) ContainerList(_ context.Context, o container.ListOptions) ([]container.Summary, error) {
	id := idFilter(o.Filters)
	var out []container.Summary
	for _, c := range f.ctrs {
		if id == "" || c.ID == id {
			out = append(out, c)
		}
	}
	return out, f.fail
}

// TestImageUsers: a container created with no user runs as its image's
// USER, read from the image it was created from (at reconciliation and
// at its create event); a user the create named is kept; an image that
// cannot be read leaves the user unknown; a record made after the
// follower read the user keeps it.
func TestImageUsers(t *testing.T) {
	s := openTest(t)
	web := request.Owner{Team: "web"}
	for _, o := range []request.Object{
		{Kind: request.KindContainer, ID: idA, Name: "named", Owner: web, User: "2000", UserKnown: true},
		{Kind: request.KindContainer, ID: idB, Name: "fromimage", Owner: web},
		{Kind: request.KindContainer, ID: idC, Name: "rootimage", Owner: web},
	} {
		if err := s.Record(o); err != nil {
			t.Fatal(err)
		}
	}
	d := &imageDaemon{
		fakeDaemon: fakeDaemon{
			ctrs: []container.Summary{
				{ID: idA, Names: []string{"/named"}, ImageID: "sha256:u1000"},
				{ID: idB, Names: []string{"/fromimage"}, ImageID: "sha256:u1000"},
				{ID: idC, Names: []string{"/rootimage"}, ImageID: "sha256:root"},
				{ID: idD, Names: []string{"/unreadable"}, ImageID: "sha256:gone"},
			},
			events: make(chan events.Message),
			errs:   make(chan error, 1),
		},
		users:    map[string]string{"sha256:u1000": "1000", "sha256:root": ""},
		inspects: map[string]int{},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	reports := make(chan error, 4)
	go func() {
		s.Follow(ctx, d, func(err error) { reports <- err })
		close(done)
	}()
	defer func() { cancel(); <-done }()
	if err := <-reports; err != nil {
		t.Fatal(err)
	}
	check := func(ref, user string, known bool) {
		t.Helper()
		o, res := s.Resolve(request.KindContainer, ref)
		if res != request.Found || o.User != user || o.UserKnown != known {
			t.Errorf("%s: %+v %v, want user %q known %v", ref, o, res, user, known)
		}
	}
	check("named", "2000", true)
	check("fromimage", "1000", true)
	check("rootimage", "", true)
	check("unreadable", "", false)
	d.mu.Lock()
	if n := d.inspects["sha256:u1000"]; n != 1 {
		t.Errorf("image read %d times, want once (named's user was known)", n)
	}
	d.mu.Unlock()

	// A container created now: its create event is followed by reading
	// its image; the plugin's record of its owner, which comes after,
	// keeps that user.
	const idE = "e000000000000000000000000000000000000000000000000000000000000005"
	d.ctrs = append(d.ctrs, container.Summary{ID: idE, Names: []string{"/fresh"}, ImageID: "sha256:u1000"})
	d.events <- events.Message{Type: events.ContainerEventType, Action: events.ActionCreate, Actor: events.Actor{ID: idE, Attributes: map[string]string{"name": "fresh"}}}
	d.events <- events.Message{Type: events.ImageEventType, Action: events.ActionPull, Actor: events.Actor{ID: "bb"}} // barrier
	check("fresh", "1000", true)
	d.mu.Lock()
	if n := d.inspects["sha256:u1000"]; n != 1 {
		t.Errorf("image read %d times, want once (remembered by id)", n)
	}
	d.mu.Unlock()
	if err := s.Record(request.Object{Kind: request.KindContainer, ID: idE, Owner: web}); err != nil {
		t.Fatal(err)
	}
	check("fresh", "1000", true)
	if o, _ := s.Get(request.KindContainer, idE); !o.Owned {
		t.Errorf("fresh: not owned after the record: %+v", o)
	}
}
