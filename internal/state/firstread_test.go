package state

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/volume"

	"github.com/portcullis/portcullis/internal/request"
)

// slowVolumes is a daemon whose volume list does not answer until
// release is closed, as the daemon's does while it waits for plugins in
// /etc/docker/plugins that do not answer (about 15 s each).
type slowVolumes struct {
	fakeDaemon
	asked   chan struct{}
	release chan struct{}
}

func (f *slowVolumes) VolumeList(ctx context.Context, o volume.ListOptions) (volume.ListResponse, error) {
	close(f.asked)
	select {
	case <-f.release:
	case <-ctx.Done():
		return volume.ListResponse{}, ctx.Err()
	}
	return f.fakeDaemon.VolumeList(ctx, o)
}

// TestFirstReadingDoesNotWaitForVolumes: containers and networks resolve
// by name as soon as their lists are read, while the volume list is still
// outstanding; a volume reference meanwhile is Unavailable (judged as
// unowned), never NotFound (which would read as "a new volume").
func TestFirstReadingDoesNotWaitForVolumes(t *testing.T) {
	s := openTest(t)
	d := &slowVolumes{
		fakeDaemon: fakeDaemon{
			ctrs:   []container.Summary{{ID: idA, Names: []string{"/alpha"}}},
			vols:   []*volume.Volume{{Name: "vol1"}},
			events: make(chan events.Message),
			errs:   make(chan error, 1),
		},
		asked: make(chan struct{}), release: make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Follow(ctx, d, nil)
		close(done)
	}()
	defer func() { cancel(); <-done }()
	<-d.asked // the containers and networks were read before the volumes
	start := time.Now()
	if o, res := s.Resolve(request.KindContainer, "alpha"); res != request.Found || o.ID != idA {
		t.Fatalf("container by name while the volume list is outstanding: %+v %v", o, res)
	}
	if waited := time.Since(start); waited > SyncWait/2 {
		t.Errorf("resolving a container waited %v for the volume list", waited)
	}
	old := SyncWait
	SyncWait = 10 * time.Millisecond
	_, res := s.Resolve(request.KindVolume, "vol1")
	SyncWait = old
	if res != request.Unavailable {
		t.Fatalf("volume before the volume list answered: %v, want Unavailable", res)
	}
	if s.Synced() {
		t.Fatal("synced before the volume list answered")
	}
	close(d.release)
	if _, res := s.Resolve(request.KindVolume, "vol1"); res != request.Found {
		t.Fatalf("volume after the list answered: %v", res)
	}
	if _, res := s.Resolve(request.KindVolume, "nosuch"); res != request.NotFound {
		t.Fatalf("unknown volume after the list answered: %v", res)
	}
}
