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
	{"GET", "/containers/", varAny, "/checkpoints", ActionCheckpointList, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/checkpoints", ActionCheckpointCreate, bodyRequired, KindContainer, KindNone},
	// DELETE /containers/{name}/checkpoints/{checkpoint} is matched in classify.

	// container
	{"HEAD", "/containers/", varAny, "/archive", ActionContainerArchiveHead, bodyNone, KindContainer, KindNone},
	{"GET", "/containers/json", varNone, "", ActionContainerList, bodyNone, KindNone, KindNone},
	{"GET", "/containers/", varAny, "/export", ActionContainerExport, bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/changes", ActionContainerChanges, bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/json", ActionContainerInspect, bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/top", ActionContainerTop, bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/logs", ActionContainerLogs, bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/stats", ActionContainerStats, bodyNone, KindContainer, KindNone},
	{"GET", "/containers/", varAny, "/attach/ws", ActionContainerAttachWS, bodyNone, KindContainer, KindNone},
	{"GET", "/exec/", varAny, "/json", ActionExecInspect, bodyNone, KindExec, KindNone},
	{"GET", "/containers/", varAny, "/archive", ActionContainerArchiveGet, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/create", varNone, "", ActionContainerCreate, bodyRequired, KindNone, KindContainer},
	{"POST", "/containers/", varAny, "/kill", ActionContainerKill, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/pause", ActionContainerPause, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/unpause", ActionContainerUnpause, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/restart", ActionContainerRestart, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/start", ActionContainerStart, bodyForbidden, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/stop", ActionContainerStop, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/wait", ActionContainerWait, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/resize", ActionContainerResize, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/attach", ActionContainerAttach, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/exec", ActionContainerExec, bodyRequired, KindContainer, KindExec},
	{"POST", "/exec/", varAny, "/start", ActionExecStart, bodyOptional, KindExec, KindNone},
	{"POST", "/exec/", varAny, "/resize", ActionExecResize, bodyNone, KindExec, KindNone},
	{"POST", "/containers/", varAny, "/rename", ActionContainerRename, bodyNone, KindContainer, KindNone},
	{"POST", "/containers/", varAny, "/update", ActionContainerUpdate, bodyRequired, KindContainer, KindNone},
	{"POST", "/containers/prune", varNone, "", ActionContainerPrune, bodyNone, KindNone, KindNone},
	{"POST", "/commit", varNone, "", ActionCommit, bodyOptional, KindNone, KindImage},
	{"PUT", "/containers/", varAny, "/archive", ActionContainerArchivePut, bodyOpaque, KindContainer, KindNone},
	{"DELETE", "/containers/", varAny, "", ActionContainerRemove, bodyNone, KindContainer, KindNone},

	// image
	{"GET", "/images/json", varNone, "", ActionImageList, bodyNone, KindNone, KindNone},
	{"GET", "/images/search", varNone, "", ActionImageSearch, bodyNone, KindNone, KindNone},
	{"GET", "/images/get", varNone, "", ActionImageGet, bodyNone, KindNone, KindNone},
	{"GET", "/images/", varAny, "/get", ActionImageGet, bodyNone, KindImage, KindNone},
	{"GET", "/images/", varAny, "/history", ActionImageHistory, bodyNone, KindImage, KindNone},
	{"GET", "/images/", varAny, "/json", ActionImageInspect, bodyNone, KindImage, KindNone},
	{"POST", "/images/load", varNone, "", ActionImageLoad, bodyOpaque, KindNone, KindNone},
	{"POST", "/images/create", varNone, "", ActionImagePull, bodyOpaque, KindNone, KindNone}, // image.import with fromSrc
	{"POST", "/images/", varAny, "/push", ActionImagePush, bodyNone, KindImage, KindNone},
	{"POST", "/images/", varAny, "/tag", ActionImageTag, bodyNone, KindImage, KindNone},
	{"POST", "/images/prune", varNone, "", ActionImagePrune, bodyNone, KindNone, KindNone},
	{"DELETE", "/images/", varAny, "", ActionImageRemove, bodyNone, KindImage, KindNone},

	// system
	{"OPTIONS", "/", varAny, "", ActionOptions, bodyNone, KindNone, KindNone},
	{"GET", "/_ping", varNone, "", ActionSystemPing, bodyNone, KindNone, KindNone},
	{"HEAD", "/_ping", varNone, "", ActionSystemPing, bodyNone, KindNone, KindNone},
	{"GET", "/events", varNone, "", ActionSystemEvents, bodyNone, KindNone, KindNone},
	{"GET", "/info", varNone, "", ActionSystemInfo, bodyNone, KindNone, KindNone},
	{"GET", "/version", varNone, "", ActionSystemVersion, bodyNone, KindNone, KindNone},
	{"GET", "/system/df", varNone, "", ActionSystemDf, bodyNone, KindNone, KindNone},
	{"POST", "/auth", varNone, "", ActionSystemAuth, bodyNone, KindNone, KindNone},

	// volume
	{"GET", "/volumes", varNone, "", ActionVolumeList, bodyNone, KindNone, KindNone},
	{"GET", "/volumes/", varAny, "", ActionVolumeInspect, bodyNone, KindVolume, KindNone},
	{"POST", "/volumes/create", varNone, "", ActionVolumeCreate, bodyRequired, KindNone, KindVolume},
	{"POST", "/volumes/prune", varNone, "", ActionVolumePrune, bodyNone, KindNone, KindNone},
	{"PUT", "/volumes/", varAny, "", ActionVolumeUpdate, bodyRequired, KindVolume, KindNone},
	{"DELETE", "/volumes/", varAny, "", ActionVolumeRemove, bodyNone, KindVolume, KindNone},

	// build
	{"POST", "/build", varNone, "", ActionImageBuild, bodyOpaque, KindNone, KindNone},
	{"POST", "/build/prune", varNone, "", ActionImageBuildPrune, bodyNone, KindNone, KindNone},
	{"POST", "/build/cancel", varNone, "", ActionImageBuildCancel, bodyNone, KindNone, KindNone},

	// session
	{"POST", "/session", varNone, "", ActionSession, bodyOpaque, KindNone, KindNone},

	// swarm
	{"GET", "/swarm", varNone, "", ActionSwarmInspect, bodyNone, KindNone, KindNone},
	{"GET", "/swarm/unlockkey", varNone, "", ActionSwarmUnlockKey, bodyNone, KindNone, KindNone},
	{"POST", "/swarm/init", varNone, "", ActionSwarmInit, bodyRequired, KindNone, KindNone},
	{"POST", "/swarm/join", varNone, "", ActionSwarmJoin, bodyRequired, KindNone, KindNone},
	{"POST", "/swarm/leave", varNone, "", ActionSwarmLeave, bodyNone, KindNone, KindNone},
	{"POST", "/swarm/update", varNone, "", ActionSwarmUpdate, bodyRequired, KindNone, KindNone},
	{"POST", "/swarm/unlock", varNone, "", ActionSwarmUnlock, bodyRequired, KindNone, KindNone},
	{"GET", "/services", varNone, "", ActionServiceList, bodyNone, KindNone, KindNone},
	{"GET", "/services/", varSegment, "", ActionServiceInspect, bodyNone, KindService, KindNone},
	{"POST", "/services/create", varNone, "", ActionServiceCreate, bodyRequired, KindNone, KindService},
	{"POST", "/services/", varSegment, "/update", ActionServiceUpdate, bodyRequired, KindService, KindNone},
	{"DELETE", "/services/", varSegment, "", ActionServiceRemove, bodyNone, KindService, KindNone},
	{"GET", "/services/", varSegment, "/logs", ActionServiceLogs, bodyNone, KindService, KindNone},
	{"GET", "/nodes", varNone, "", ActionNodeList, bodyNone, KindNone, KindNone},
	{"GET", "/nodes/", varSegment, "", ActionNodeInspect, bodyNone, KindNode, KindNone},
	{"DELETE", "/nodes/", varSegment, "", ActionNodeRemove, bodyNone, KindNode, KindNone},
	{"POST", "/nodes/", varSegment, "/update", ActionNodeUpdate, bodyRequired, KindNode, KindNone},
	{"GET", "/tasks", varNone, "", ActionTaskList, bodyNone, KindNone, KindNone},
	{"GET", "/tasks/", varSegment, "", ActionTaskInspect, bodyNone, KindTask, KindNone},
	{"GET", "/tasks/", varSegment, "/logs", ActionTaskLogs, bodyNone, KindTask, KindNone},
	{"GET", "/secrets", varNone, "", ActionSecretList, bodyNone, KindNone, KindNone},
	{"POST", "/secrets/create", varNone, "", ActionSecretCreate, bodyRequired, KindNone, KindSecret},
	{"DELETE", "/secrets/", varSegment, "", ActionSecretRemove, bodyNone, KindSecret, KindNone},
	{"GET", "/secrets/", varSegment, "", ActionSecretInspect, bodyNone, KindSecret, KindNone},
	{"POST", "/secrets/", varSegment, "/update", ActionSecretUpdate, bodyRequired, KindSecret, KindNone},
	{"GET", "/configs", varNone, "", ActionConfigList, bodyNone, KindNone, KindNone},
	{"POST", "/configs/create", varNone, "", ActionConfigCreate, bodyRequired, KindNone, KindConfig},
	{"DELETE", "/configs/", varSegment, "", ActionConfigRemove, bodyNone, KindConfig, KindNone},
	{"GET", "/configs/", varSegment, "", ActionConfigInspect, bodyNone, KindConfig, KindNone},
	{"POST", "/configs/", varSegment, "/update", ActionConfigUpdate, bodyRequired, KindConfig, KindNone},

	// plugin
	{"GET", "/plugins", varNone, "", ActionPluginList, bodyNone, KindNone, KindNone},
	{"GET", "/plugins/", varAny, "/json", ActionPluginInspect, bodyNone, KindPlugin, KindNone},
	{"GET", "/plugins/privileges", varNone, "", ActionPluginPrivileges, bodyNone, KindNone, KindNone},
	{"DELETE", "/plugins/", varAny, "", ActionPluginRemove, bodyNone, KindPlugin, KindNone},
	{"POST", "/plugins/", varAny, "/enable", ActionPluginEnable, bodyNone, KindPlugin, KindNone},
	{"POST", "/plugins/", varAny, "/disable", ActionPluginDisable, bodyNone, KindPlugin, KindNone},
	{"POST", "/plugins/pull", varNone, "", ActionPluginPull, bodyRequired, KindNone, KindNone},
	{"POST", "/plugins/", varAny, "/push", ActionPluginPush, bodyNone, KindPlugin, KindNone},
	{"POST", "/plugins/", varAny, "/upgrade", ActionPluginUpgrade, bodyRequired, KindPlugin, KindNone},
	{"POST", "/plugins/", varAny, "/set", ActionPluginSet, bodyRequired, KindPlugin, KindNone},
	{"POST", "/plugins/create", varNone, "", ActionPluginCreate, bodyOpaque, KindNone, KindNone},

	// distribution
	{"GET", "/distribution/", varAny, "/json", ActionDistributionInspect, bodyNone, KindNone, KindNone},

	// grpc (BuildKit)
	{"POST", "/grpc", varNone, "", ActionGrpc, bodyOpaque, KindNone, KindNone},

	// network
	{"GET", "/networks", varNone, "", ActionNetworkList, bodyNone, KindNone, KindNone},
	{"GET", "/networks/", varNone, "", ActionNetworkList, bodyNone, KindNone, KindNone},
	{"GET", "/networks/", varPlus, "", ActionNetworkInspect, bodyNone, KindNetwork, KindNone},
	{"POST", "/networks/create", varNone, "", ActionNetworkCreate, bodyRequired, KindNone, KindNetwork},
	{"POST", "/networks/", varAny, "/connect", ActionNetworkConnect, bodyRequired, KindNetwork, KindNone},
	{"POST", "/networks/", varAny, "/disconnect", ActionNetworkDisconnect, bodyOptional, KindNetwork, KindNone},
	{"POST", "/networks/prune", varNone, "", ActionNetworkPrune, bodyNone, KindNone, KindNone},
	{"DELETE", "/networks/", varAny, "", ActionNetworkRemove, bodyNone, KindNetwork, KindNone},

	// debug (only served by a daemon in debug mode)
	{"GET", "/debug/vars", varNone, "", ActionDebug, bodyNone, KindNone, KindNone},
	{"GET", "/debug/pprof/", varAny, "", ActionDebug, bodyNone, KindNone, KindNone},
}

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
	optionsRoute     = route{method: "OPTIONS", action: ActionOptions, body: bodyNone}
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
