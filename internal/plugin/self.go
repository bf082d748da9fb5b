package plugin

import (
	"crypto/subtle"

	"github.com/portcullis/portcullis/internal/request"
)

// Portcullis's own requests to the daemon (the ownership follower's lists
// and event stream) pass through the daemon's authorization, and so
// through this plugin. They are recognised by a secret the process draws
// at start and sends in SelfHeader on its own connection to the daemon's
// socket; it never leaves the process otherwise. A client cannot produce
// it: it would have to read this process's memory (root) or its traffic on
// a Unix socket (root), and the daemon passes request headers only to its
// authorization plugins. The gateway removes every X-Portcullis-* header
// its clients send, and a header carrying anything but the secret is
// ignored: the request is judged as any other. Even with the secret a
// request is allowed only if it is one of selfActions, all of which read
// lists, the event stream or an image, so the secret can never lend the plugin's
// standing to a change.
const SelfHeader = "X-Portcullis-Self"

// SelfPolicy is the policy name in decisions on Portcullis's own requests.
const SelfPolicy = "portcullis.self"

// selfActions are the only actions Portcullis's own requests may perform.
var selfActions = map[request.Action]bool{
	request.ActionSystemPing:    true,
	request.ActionSystemVersion: true,
	request.ActionSystemEvents:  true,
	request.ActionContainerList: true,
	request.ActionVolumeList:    true,
	request.ActionNetworkList:   true,
	request.ActionServiceList:   true,
	request.ActionSecretList:    true,
	request.ActionConfigList:    true,
	// The follower reads the USER of a container's image by its id
	// (internal/state/user.go): images have no owner and an inspect
	// changes nothing.
	request.ActionImageInspect: true,
}

// WithSelfToken makes requests that carry token in SelfHeader Portcullis's
// own (see SelfHeader). An empty token recognises none.
func WithSelfToken(token string) Option {
	return func(p *Plugin) {
		if token != "" {
			p.selfToken = []byte(token)
		}
	}
}

// isSelf reports whether e is one of Portcullis's own read-only requests.
func (p *Plugin) isSelf(e *Envelope, r *request.Request) bool {
	if len(p.selfToken) == 0 || r == nil || !selfActions[r.Action] || len(e.RequestBody) != 0 {
		return false
	}
	if e.RequestMethod != "GET" && e.RequestMethod != "HEAD" {
		return false
	}
	v, ok := e.RequestHeaders[SelfHeader]
	return ok && subtle.ConstantTimeCompare([]byte(v), p.selfToken) == 1
}
