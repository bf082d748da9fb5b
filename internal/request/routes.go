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
	// target is the kind of object the path variable names (KindNone
	// for routes without one, or whose variable names no object Portcullis
	// tracks, such as a registry reference).
	target Kind
	// creates is the kind of object a successful response names as
	// created (its id in the body), KindNone for routes that create none.
	creates Kind
}

// routes is the Docker Engine API route table (moby api/server/router,
// v28), in the order the daemon registers it: the first route that matches
// wins, as in the daemon's router. The checkpoint routes come before the
// container routes, as in the daemon, so their DELETE is not masked.
var routes = []route{
	// checkpoint
	{"GET", "/containers/", varAny, "/checkpoints", "checkpoint.list", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/checkpoints", "checkpoint.create", bodyRequired, KindContainer, KindNone},
	// DELETE /containers/{name}/checkpoints/{checkpoint} is matched in classify.

	// container
	{"HEAD", "/containers/", varAny, "/archive", "container.archive.head", bodyNone, KindContainer, KindNone},
	{"GET", "/containers/json", varNone, "", "container.list", bodyNone, KindNone, KindNone},
	{"GET", "/containers/", varAny, "/export", "container.export", bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/changes", "container.changes", bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/json", "container.inspect", bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/top", "container.top", bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/logs", "container.logs", bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/stats", "container.stats", bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/attach/ws", "container.attach.ws", bodyNone, KindContainer, KindNone},
	{"GET", "/exec/", varAny, "/json", "exec.inspect", bodyNone, KindExec, KindNone},
	{"GET", "/containers/", varAny, "/archive", "container.archive.get", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/create", varNone, "", "container.create", bodyRequired, KindNone, KindContainer},
	{"POST", "/containers/", varAny, "/kill", "container.kill", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/pause", "container.pause", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/unpause", "container.unpause", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/restart", "container.restart", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/start", "container.start", bodyForbidden, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/stop", "container.stop", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/wait", "container.wait", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/resize", "container.resize", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/attach", "container.attach", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/exec", "container.exec", bodyRequired, KindContainer, KindExec},
	{"POST", "/exec/", varAny, "/start", "exec.start", bodyOptional, KindExec, KindNone},
	{"POST", "/exec/", varAny, "/resize", "exec.resize", bodyNone, KindExec, KindNone},
	{"POST", "/containers/", varAny, "/rename", "container.rename", bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/update", "container.update", bodyRequired, KindContainer, KindNone},
	{"POST", "/containers/prune", varNone, "", "container.prune", bodyNone, KindNone, KindNone},
	{"POST", "/commit", varNone, "", "commit", bodyOptional, KindNone, KindImage},
	{"PUT", "/containers/", varAny, "/archive", "container.archive.put", bodyOpaque, KindContainer, KindNone},
	{"DELETE", "/containers/", varAny, "", "container.remove", bodyNone, KindContainer, KindNone},

	// image
	{"GET", "/images/json", varNone, "", "image.list", bodyNone, KindNone, KindNone},
	{"GET", "/images/search", varNone, "", "image.search", bodyNone, KindNone, KindNone},
	{"GET", "/images/get", varNone, "", "image.get", bodyNone, KindNone, KindNone},
	{"GET", "/images/", varAny, "/get", "image.get", bodyNone, KindImage, KindNone},
	{"GET", "/images/", varAny, "/history", "image.history", bodyNone, KindImage, KindNone},
	{"GET", "/images/", varAny, "/json", "image.inspect", bodyNone, KindImage, KindNone},
	{"POST", "/images/load", varNone, "", "image.load", bodyOpaque, KindNone, KindNone},
	{"POST", "/images/create", varNone, "", "image.pull", bodyOpaque, KindNone, KindNone}, // image.import with fromSrc
	{"POST", "/images/", varAny, "/push", "image.push", bodyNone, KindImage, KindNone},
	{"POST", "/images/", varAny, "/tag", "image.tag", bodyNone, KindImage, KindNone},
	{"POST", "/images/prune", varNone, "", "image.prune", bodyNone, KindNone, KindNone},
	{"DELETE", "/images/", varAny, "", "image.remove", bodyNone, KindImage, KindNone},

	// system
	{"OPTIONS", "/", varAny, "", "options", bodyNone, KindNone, KindNone},
	{"GET", "/_ping", varNone, "", "system.ping", bodyNone, KindNone, KindNone},
	{"HEAD", "/_ping", varNone, "", "system.ping", bodyNone, KindNone, KindNone},
	{"GET", "/events", varNone, "", "system.events", bodyNone, KindNone, KindNone},
	{"GET", "/info", varNone, "", "system.info", bodyNone, KindNone, KindNone},
	{"GET", "/version", varNone, "", "system.version", bodyNone, KindNone, KindNone},
	{"GET", "/system/df", varNone, "", "system.df", bodyNone, KindNone, KindNone},
	{"POST", "/auth", varNone, "", "system.auth", bodyNone, KindNone, KindNone},

	// volume
	{"GET", "/volumes", varNone, "", "volume.list", bodyNone, KindNone, KindNone},
	{"GET", "/volumes/", varAny, "", "volume.inspect", bodyNone, KindVolume, KindNone},
	{"POST", "/volumes/create", varNone, "", "volume.create", bodyRequired, KindNone, KindVolume},
	{"POST", "/volumes/prune", varNone, "", "volume.prune", bodyNone, KindNone, KindNone},
	{"PUT", "/volumes/", varAny, "", "volume.update", bodyRequired, KindVolume, KindNone},
	{"DELETE", "/volumes/", varAny, "", "volume.remove", bodyNone, KindVolume, KindNone},

	// build
	{"POST", "/build", varNone, "", "image.build", bodyOpaque, KindNone, KindNone},
	{"POST", "/build/prune", varNone, "", "image.build.prune", bodyNone, KindNone, KindNone},
	{"POST", "/build/cancel", varNone, "", "image.build.cancel", bodyNone, KindNone, KindNone},

	// session
	{"POST", "/session", varNone, "", "session", bodyOpaque, KindNone, KindNone},

	// swarm
	{"GET", "/swarm", varNone, "", "swarm.inspect", bodyNone, KindNone, KindNone},
	{"GET", "/swarm/unlockkey", varNone, "", "swarm.unlockkey", bodyNone, KindNone, KindNone},
	{"POST", "/swarm/init", varNone, "", "swarm.init", bodyRequired, KindNone, KindNone},
	{"POST", "/swarm/join", varNone, "", "swarm.join", bodyRequired, KindNone, KindNone},
	{"POST", "/swarm/leave", varNone, "", "swarm.leave", bodyNone, KindNone, KindNone},
	{"POST", "/swarm/update", varNone, "", "swarm.update", bodyRequired, KindNone, KindNone},
	{"POST", "/swarm/unlock", varNone, "", "swarm.unlock", bodyRequired, KindNone, KindNone},
	{"GET", "/services", varNone, "", "service.list", bodyNone, KindNone, KindNone},
	{"GET", "/services/", varSegment, "", "service.inspect", bodyNone, KindService, KindNone},
	{"POST", "/services/create", varNone, "", "service.create", bodyRequired, KindNone, KindService},
	{"POST", "/services/", varSegment, "/update", "service.update", bodyRequired, KindService, KindNone},
	{"DELETE", "/services/", varSegment, "", "service.remove", bodyNone, KindService, KindNone},
	{"GET", "/services/", varSegment, "/logs", "service.logs", bodyNone, KindService, KindNone},
	{"GET", "/nodes", varNone, "", "node.list", bodyNone, KindNone, KindNone},
	{"GET", "/nodes/", varSegment, "", "node.inspect", bodyNone, KindNode, KindNone},
	{"DELETE", "/nodes/", varSegment, "", "node.remove", bodyNone, KindNode, KindNone},
	{"POST", "/nodes/", varSegment, "/update", "node.update", bodyRequired, KindNode, KindNone},
	{"GET", "/tasks", varNone, "", "task.list", bodyNone, KindNone, KindNone},
	{"GET", "/tasks/", varSegment, "", "task.inspect", bodyNone, KindTask, KindNone},
	{"GET", "/tasks/", varSegment, "/logs", "task.logs", bodyNone, KindTask, KindNone},
	{"GET", "/secrets", varNone, "", "secret.list", bodyNone, KindNone, KindNone},
	{"POST", "/secrets/create", varNone, "", "secret.create", bodyRequired, KindNone, KindSecret},
	{"DELETE", "/secrets/", varSegment, "", "secret.remove", bodyNone, KindSecret, KindNone},
	{"GET", "/secrets/", varSegment, "", "secret.inspect", bodyNone, KindSecret, KindNone},
	{"POST", "/secrets/", varSegment, "/update", "secret.update", bodyRequired, KindSecret, KindNone},
	{"GET", "/configs", varNone, "", "config.list", bodyNone, KindNone, KindNone},
	{"POST", "/configs/create", varNone, "", "config.create", bodyRequired, KindNone, KindConfig},
	{"DELETE", "/configs/", varSegment, "", "config.remove", bodyNone, KindConfig, KindNone},
	{"GET", "/configs/", varSegment, "", "config.inspect", bodyNone, KindConfig, KindNone},
	{"POST", "/configs/", varSegment, "/update", "config.update", bodyRequired, KindConfig, KindNone},

	// plugin
	{"GET", "/plugins", varNone, "", "plugin.list", bodyNone, KindNone, KindNone},
	{"GET", "/plugins/", varAny, "/json", "plugin.inspect", bodyNone, KindPlugin, KindNone},
	{"GET", "/plugins/privileges", varNone, "", "plugin.privileges", bodyNone, KindNone, KindNone},
	{"DELETE", "/plugins/", varAny, "", "plugin.remove", bodyNone, KindPlugin, KindNone},
	{"POST", "/plugins/", varAny, "/enable", "plugin.enable", bodyNone, KindPlugin, KindNone},
	{"POST", "/plugins/", varAny, "/disable", "plugin.disable", bodyNone, KindPlugin, KindNone},
	{"POST", "/plugins/pull", varNone, "", "plugin.pull", bodyRequired, KindNone, KindNone},
	{"POST", "/plugins/", varAny, "/push", "plugin.push", bodyNone, KindPlugin, KindNone},
	{"POST", "/plugins/", varAny, "/upgrade", "plugin.upgrade", bodyRequired, KindPlugin, KindNone},
	{"POST", "/plugins/", varAny, "/set", "plugin.set", bodyRequired, KindPlugin, KindNone},
	{"POST", "/plugins/create", varNone, "", "plugin.create", bodyOpaque, KindNone, KindNone},

	// distribution
	{"GET", "/distribution/", varAny, "/json", "distribution.inspect", bodyNone, KindNone, KindNone},

	// grpc (BuildKit)
	{"POST", "/grpc", varNone, "", "grpc", bodyOpaque, KindNone, KindNone},

	// network
	{"GET", "/networks", varNone, "", "network.list", bodyNone, KindNone, KindNone},
	{"GET", "/networks/", varNone, "", "network.list", bodyNone, KindNone, KindNone},
	{"GET", "/networks/", varPlus, "", "network.inspect", bodyNone, KindNetwork, KindNone},
	{"POST", "/networks/create", varNone, "", "network.create", bodyRequired, KindNone, KindNetwork},
	{"POST", "/networks/", varAny, "/connect", "network.connect", bodyRequired, KindNetwork, KindNone},
	{"POST", "/networks/", varAny, "/disconnect", "network.disconnect", bodyOptional, KindNetwork, KindNone},
	{"POST", "/networks/prune", varNone, "", "network.prune", bodyNone, KindNone, KindNone},
	{"DELETE", "/networks/", varAny, "", "network.remove", bodyNone, KindNetwork, KindNone},

	// debug (only served by a daemon in debug mode)
	{"GET", "/debug/vars", varNone, "", "debug", bodyNone, KindNone, KindNone},
	{"GET", "/debug/pprof/", varAny, "", "debug", bodyNone, KindNone, KindNone},
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
	checkpointDelete = route{method: "DELETE", action: ActionCheckpointDelete, body: bodyNone, target: KindContainer}
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
