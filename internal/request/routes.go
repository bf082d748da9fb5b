package request

import "strings"

// bodyKind says what a route's body is and whether the plugin must see it.
type bodyKind uint8

const (
	// bodyNone: the route takes no body the daemon reads.
	bodyNone bodyKind = iota
	// bodyOptional: a JSON body the daemon reads when present; an absent
	// body means the daemon's defaults, which are harmless.
	bodyOptional
	// bodyRequired: a JSON body whose contents decide the request. The
	// daemon may have dropped it (1 MiB and more, chunked, a URI ending in
	// /auth), so an absent body must be denied, never read as empty.
	bodyRequired
	// bodyForbidden: the route must not carry a body (container start,
	// whose legacy body carried a HostConfig).
	bodyForbidden
	// bodyOpaque: a stream the plugin never sees (tar archives, build
	// contexts, image loads); judged by method, path and query only.
	bodyOpaque
)

// varKind is the pattern of a route's path variable, as in the daemon's
// router: "{name:.*}" may be empty and span segments, "{id:.+}" must not be
// empty, "{id}" is one non-empty segment.
type varKind uint8

const (
	varNone    varKind = iota
	varAny             // .*
	varPlus            // .+
	varSegment         // [^/]+
)

// route is one entry of the daemon's route table: prefix, optional path
// variable, suffix.
type route struct {
	method string
	prefix string
	vk     varKind
	suffix string
	action Action
	body   bodyKind
}

// routes is the Docker Engine API route table (moby api/server/router,
// v28), in the order the daemon registers it: the first route that matches
// wins, as in the daemon's router. The checkpoint routes come before the
// container routes, as in the daemon, so their DELETE is not masked.
var routes = []route{
	// checkpoint
	{"GET", "/containers/", varAny, "/checkpoints", "checkpoint.list", bodyNone},
	{"POST", "/containers/", varAny, "/checkpoints", "checkpoint.create", bodyRequired},
	// DELETE /containers/{name}/checkpoints/{checkpoint} is matched in classify.

	// container
	{"HEAD", "/containers/", varAny, "/archive", "container.archive.head", bodyNone},
	{"GET", "/containers/json", varNone, "", "container.list", bodyNone},
	{"GET", "/containers/", varAny, "/export", "container.export", bodyNone},
	{"GET", "/containers/", varAny, "/changes", "container.changes", bodyNone},
	{"GET", "/containers/", varAny, "/json", "container.inspect", bodyNone},
	{"GET", "/containers/", varAny, "/top", "container.top", bodyNone},
	{"GET", "/containers/", varAny, "/logs", "container.logs", bodyNone},
	{"GET", "/containers/", varAny, "/stats", "container.stats", bodyNone},
	{"GET", "/containers/", varAny, "/attach/ws", "container.attach.ws", bodyNone},
	{"GET", "/exec/", varAny, "/json", "exec.inspect", bodyNone},
	{"GET", "/containers/", varAny, "/archive", "container.archive.get", bodyNone},
	{"POST", "/containers/create", varNone, "", "container.create", bodyRequired},
	{"POST", "/containers/", varAny, "/kill", "container.kill", bodyNone},
	{"POST", "/containers/", varAny, "/pause", "container.pause", bodyNone},
	{"POST", "/containers/", varAny, "/unpause", "container.unpause", bodyNone},
	{"POST", "/containers/", varAny, "/restart", "container.restart", bodyNone},
	{"POST", "/containers/", varAny, "/start", "container.start", bodyForbidden},
	{"POST", "/containers/", varAny, "/stop", "container.stop", bodyNone},
	{"POST", "/containers/", varAny, "/wait", "container.wait", bodyNone},
	{"POST", "/containers/", varAny, "/resize", "container.resize", bodyNone},
	{"POST", "/containers/", varAny, "/attach", "container.attach", bodyNone},
	{"POST", "/containers/", varAny, "/exec", "container.exec", bodyRequired},
	{"POST", "/exec/", varAny, "/start", "exec.start", bodyOptional},
	{"POST", "/exec/", varAny, "/resize", "exec.resize", bodyNone},
	{"POST", "/containers/", varAny, "/rename", "container.rename", bodyNone},
	{"POST", "/containers/", varAny, "/update", "container.update", bodyRequired},
	{"POST", "/containers/prune", varNone, "", "container.prune", bodyNone},
	{"POST", "/commit", varNone, "", "commit", bodyOptional},
	{"PUT", "/containers/", varAny, "/archive", "container.archive.put", bodyOpaque},
	{"DELETE", "/containers/", varAny, "", "container.remove", bodyNone},

	// image
	{"GET", "/images/json", varNone, "", "image.list", bodyNone},
	{"GET", "/images/search", varNone, "", "image.search", bodyNone},
	{"GET", "/images/get", varNone, "", "image.get", bodyNone},
	{"GET", "/images/", varAny, "/get", "image.get", bodyNone},
	{"GET", "/images/", varAny, "/history", "image.history", bodyNone},
	{"GET", "/images/", varAny, "/json", "image.inspect", bodyNone},
	{"POST", "/images/load", varNone, "", "image.load", bodyOpaque},
	{"POST", "/images/create", varNone, "", "image.pull", bodyOpaque}, // image.import with fromSrc
	{"POST", "/images/", varAny, "/push", "image.push", bodyNone},
	{"POST", "/images/", varAny, "/tag", "image.tag", bodyNone},
	{"POST", "/images/prune", varNone, "", "image.prune", bodyNone},
	{"DELETE", "/images/", varAny, "", "image.remove", bodyNone},

	// system
	{"OPTIONS", "/", varAny, "", "options", bodyNone},
	{"GET", "/_ping", varNone, "", "system.ping", bodyNone},
	{"HEAD", "/_ping", varNone, "", "system.ping", bodyNone},
	{"GET", "/events", varNone, "", "system.events", bodyNone},
	{"GET", "/info", varNone, "", "system.info", bodyNone},
	{"GET", "/version", varNone, "", "system.version", bodyNone},
	{"GET", "/system/df", varNone, "", "system.df", bodyNone},
	{"POST", "/auth", varNone, "", "system.auth", bodyNone},

	// volume
	{"GET", "/volumes", varNone, "", "volume.list", bodyNone},
	{"GET", "/volumes/", varAny, "", "volume.inspect", bodyNone},
	{"POST", "/volumes/create", varNone, "", "volume.create", bodyRequired},
	{"POST", "/volumes/prune", varNone, "", "volume.prune", bodyNone},
	{"PUT", "/volumes/", varAny, "", "volume.update", bodyRequired},
	{"DELETE", "/volumes/", varAny, "", "volume.remove", bodyNone},

	// build
	{"POST", "/build", varNone, "", "image.build", bodyOpaque},
	{"POST", "/build/prune", varNone, "", "image.build.prune", bodyNone},
	{"POST", "/build/cancel", varNone, "", "image.build.cancel", bodyNone},

	// session
	{"POST", "/session", varNone, "", "session", bodyOpaque},

	// swarm
	{"GET", "/swarm", varNone, "", "swarm.inspect", bodyNone},
	{"GET", "/swarm/unlockkey", varNone, "", "swarm.unlockkey", bodyNone},
	{"POST", "/swarm/init", varNone, "", "swarm.init", bodyRequired},
	{"POST", "/swarm/join", varNone, "", "swarm.join", bodyRequired},
	{"POST", "/swarm/leave", varNone, "", "swarm.leave", bodyNone},
	{"POST", "/swarm/update", varNone, "", "swarm.update", bodyRequired},
	{"POST", "/swarm/unlock", varNone, "", "swarm.unlock", bodyRequired},
	{"GET", "/services", varNone, "", "service.list", bodyNone},
	{"GET", "/services/", varSegment, "", "service.inspect", bodyNone},
	{"POST", "/services/create", varNone, "", "service.create", bodyRequired},
	{"POST", "/services/", varSegment, "/update", "service.update", bodyRequired},
	{"DELETE", "/services/", varSegment, "", "service.remove", bodyNone},
	{"GET", "/services/", varSegment, "/logs", "service.logs", bodyNone},
	{"GET", "/nodes", varNone, "", "node.list", bodyNone},
	{"GET", "/nodes/", varSegment, "", "node.inspect", bodyNone},
	{"DELETE", "/nodes/", varSegment, "", "node.remove", bodyNone},
	{"POST", "/nodes/", varSegment, "/update", "node.update", bodyRequired},
	{"GET", "/tasks", varNone, "", "task.list", bodyNone},
	{"GET", "/tasks/", varSegment, "", "task.inspect", bodyNone},
	{"GET", "/tasks/", varSegment, "/logs", "task.logs", bodyNone},
	{"GET", "/secrets", varNone, "", "secret.list", bodyNone},
	{"POST", "/secrets/create", varNone, "", "secret.create", bodyRequired},
	{"DELETE", "/secrets/", varSegment, "", "secret.remove", bodyNone},
	{"GET", "/secrets/", varSegment, "", "secret.inspect", bodyNone},
	{"POST", "/secrets/", varSegment, "/update", "secret.update", bodyRequired},
	{"GET", "/configs", varNone, "", "config.list", bodyNone},
	{"POST", "/configs/create", varNone, "", "config.create", bodyRequired},
	{"DELETE", "/configs/", varSegment, "", "config.remove", bodyNone},
	{"GET", "/configs/", varSegment, "", "config.inspect", bodyNone},
	{"POST", "/configs/", varSegment, "/update", "config.update", bodyRequired},

	// plugin
	{"GET", "/plugins", varNone, "", "plugin.list", bodyNone},
	{"GET", "/plugins/", varAny, "/json", "plugin.inspect", bodyNone},
	{"GET", "/plugins/privileges", varNone, "", "plugin.privileges", bodyNone},
	{"DELETE", "/plugins/", varAny, "", "plugin.remove", bodyNone},
	{"POST", "/plugins/", varAny, "/enable", "plugin.enable", bodyNone},
	{"POST", "/plugins/", varAny, "/disable", "plugin.disable", bodyNone},
	{"POST", "/plugins/pull", varNone, "", "plugin.pull", bodyRequired},
	{"POST", "/plugins/", varAny, "/push", "plugin.push", bodyNone},
	{"POST", "/plugins/", varAny, "/upgrade", "plugin.upgrade", bodyRequired},
	{"POST", "/plugins/", varAny, "/set", "plugin.set", bodyRequired},
	{"POST", "/plugins/create", varNone, "", "plugin.create", bodyOpaque},

	// distribution
	{"GET", "/distribution/", varAny, "/json", "distribution.inspect", bodyNone},

	// grpc (BuildKit)
	{"POST", "/grpc", varNone, "", "grpc", bodyOpaque},

	// network
	{"GET", "/networks", varNone, "", "network.list", bodyNone},
	{"GET", "/networks/", varNone, "", "network.list", bodyNone},
	{"GET", "/networks/", varPlus, "", "network.inspect", bodyNone},
	{"POST", "/networks/create", varNone, "", "network.create", bodyRequired},
	{"POST", "/networks/", varAny, "/connect", "network.connect", bodyRequired},
	{"POST", "/networks/", varAny, "/disconnect", "network.disconnect", bodyOptional},
	{"POST", "/networks/prune", varNone, "", "network.prune", bodyNone},
	{"DELETE", "/networks/", varAny, "", "network.remove", bodyNone},

	// debug (only served by a daemon in debug mode)
	{"GET", "/debug/vars", varNone, "", "debug", bodyNone},
	{"GET", "/debug/pprof/", varAny, "", "debug", bodyNone},
}

// Actions lists every action name the route table can produce, plus the
// derived ones (image.import, checkpoint.delete) and ActionUnknown. Policy
// loaders use it to reject misspelled action names.
func Actions() []Action {
	seen := map[Action]bool{}
	var out []Action
	add := func(a Action) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, r := range routes {
		add(r.action)
	}
	add(ActionImageImport)
	add(ActionCheckpointDelete)
	add(ActionServiceRollback)
	add(ActionUnknown)
	return out
}

// Derived actions, not rows of the route table.
const (
	// ActionImageImport is POST /images/create with fromSrc: an image
	// made from a tarball rather than pulled.
	ActionImageImport Action = "image.import"
	// ActionCheckpointDelete is DELETE /containers/{name}/checkpoints/{checkpoint}.
	ActionCheckpointDelete Action = "checkpoint.delete"
	// ActionServiceRollback is POST /services/{id}/update?rollback=previous:
	// the daemon applies the service's previous spec, not the one in the
	// body (api/server/router/swarm/cluster_routes.go reads the URL
	// query; swarmkit manager/controlapi/service.go UpdateService).
	ActionServiceRollback Action = "service.rollback"
)

// routeIndex groups the table by method and first path segment so that a
// lookup scans a handful of rows, in table order.
var routeIndex = func() map[string][]*route {
	idx := map[string][]*route{}
	for i := range routes {
		r := &routes[i]
		k := r.method + " " + firstSegment(r.prefix)
		idx[k] = append(idx[k], r)
	}
	return idx
}()

func firstSegment(p string) string {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}

// match returns the route for method and path (decoded, cleaned, version
// stripped) and its path variable.
func match(method, path string) (*route, string) {
	if method == "DELETE" {
		if name, cp, ok := matchCheckpointDelete(path); ok {
			return &checkpointDelete, name + "\x00" + cp
		}
	}
	if method == "OPTIONS" {
		// The daemon answers OPTIONS on any path with its CORS handler.
		return &optionsRoute, ""
	}
	for _, r := range routeIndex[method+" "+firstSegment(path)] {
		if v, ok := r.match(path); ok {
			return r, v
		}
	}
	return nil, ""
}

var (
	checkpointDelete = route{method: "DELETE", action: ActionCheckpointDelete, body: bodyNone}
	optionsRoute     = route{method: "OPTIONS", action: "options", body: bodyNone}
)

// matchCheckpointDelete matches /containers/{name}/checkpoints/{checkpoint}
// where both variables are single segments.
func matchCheckpointDelete(path string) (name, checkpoint string, ok bool) {
	rest, found := strings.CutPrefix(path, "/containers/")
	if !found {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[1] != "checkpoints" || parts[0] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[0], parts[2], true
}

func (r *route) match(path string) (string, bool) {
	if r.vk == varNone {
		return "", path == r.prefix
	}
	if len(path) < len(r.prefix)+len(r.suffix) ||
		!strings.HasPrefix(path, r.prefix) || !strings.HasSuffix(path, r.suffix) {
		return "", false
	}
	v := path[len(r.prefix) : len(path)-len(r.suffix)]
	switch r.vk {
	case varPlus:
		if v == "" {
			return "", false
		}
	case varSegment:
		if v == "" || strings.IndexByte(v, '/') >= 0 {
			return "", false
		}
	}
	return v, true
}
