package state

import (
	"context"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/portcullis/portcullis/internal/request"
)

// A container created with no user runs as its image's USER: the daemon
// copies the image's Config.User into the container's at create
// (daemon/commit.go merge), and an exec with no user runs as the
// container's Config.User (daemon/exec.go). The create request shows
// only the user it names, so for a container created without one the
// follower reads the user from the image the container was created from
// (by the image id the container list reports, which no later tag can
// change). Images have no owner, so this request about one image never
// waits for the store.

// ImageDaemon is what Follow needs to read an image's user;
// *client.Client is one. Without it, a container created with no user
// keeps an unknown user (judged as exec.empty_user_is_root says).
type ImageDaemon interface {
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
}

var _ ImageDaemon = (*client.Client)(nil)

// maxImageUsers bounds the images whose user Follow remembers (an image
// id names immutable content, so what was read stays true); past it the
// memory starts afresh.
const maxImageUsers = 4096

// readUsers fills in the user of the listed containers whose user is not
// known, from their images (each image read once).
func (s *Store) readUsers(ctx context.Context, d Daemon, ctrs []container.Summary) {
	imgs, ok := d.(ImageDaemon)
	if !ok {
		return
	}
	if s.imageUsers == nil || len(s.imageUsers) > maxImageUsers {
		s.imageUsers = map[string]string{}
	}
	failed := map[string]bool{} // images that could not be read, this time
	for _, c := range ctrs {
		if c.ImageID == "" || failed[c.ImageID] {
			continue
		}
		s.mu.RLock()
		o, known := s.kinds[request.KindContainer].byID[c.ID]
		pending := known && !o.UserKnown
		s.mu.RUnlock()
		if !pending {
			continue
		}
		u, ok := s.imageUsers[c.ImageID]
		if !ok {
			img, err := imgs.ImageInspect(ctx, c.ImageID)
			if err != nil || img.Config == nil {
				failed[c.ImageID] = true
				continue
			}
			u = img.Config.User
			s.imageUsers[c.ImageID] = u
		}
		s.setUser(c.ID, u)
	}
}

// readUser fills in the user of one container the daemon has just
// created, when its create did not name one.
func (s *Store) readUser(ctx context.Context, d Daemon, ctrID string) {
	if _, ok := d.(ImageDaemon); !ok {
		return
	}
	s.mu.RLock()
	o, known := s.kinds[request.KindContainer].byID[ctrID]
	pending := !known || !o.UserKnown
	s.mu.RUnlock()
	if !pending {
		return
	}
	ctrs, err := d.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("id", ctrID))})
	if err != nil {
		return
	}
	for _, c := range ctrs {
		if c.ID == ctrID {
			s.readUsers(ctx, d, []container.Summary{c})
		}
	}
}

// setUser records a container's user as read from its image, unless a
// user is known already (the create named one).
func (s *Store) setUser(id, user string) {
	s.mu.Lock()
	old, ok := s.kinds[request.KindContainer].byID[id]
	if !ok || old.UserKnown {
		s.mu.Unlock()
		return
	}
	c := *old
	c.User, c.UserKnown = user, true
	// The same object under the same name: only its user changes.
	s.kinds[request.KindContainer].byID[id] = &c
	s.mu.Unlock()
	if c.Owned {
		_ = s.save(&c)
	}
}
