package request

import (
	"reflect"
	"strings"
)

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
// variable, suffix, and everything Portcullis knows about the route. It
// is the one place that knows a route: adding one is adding a row (and,
// for a new body type, its decoder and a check or a reason; see
// TestRouteTable and, in internal/policy, TestDecodedBodiesJudged).
type route struct {
	method string
	prefix string
	vk     varKind
	suffix string
	action Action
	// body is what the route's body is and, for a JSON body the daemon
	// reads, how it is decoded into the request model.
	body bodySpec
	// target is the kind of object the path variable names (KindNone
	// for routes without one, or whose variable names no object Portcullis
	// tracks, such as a registry reference).
	target Kind
	// creates is the kind of object a successful response names as
	// created (its id in the body), KindNone for routes that create none.
	creates Kind
	// names adds what the request names besides its path target (the
	// query's image reference, the body's volume name, ...) to what the
	// audit record shows of it; nil when the path target is all (see
	// Request.Names).
	names func(r *Request, n *Names)
}

// bodySpec is a route's body: its kind and, for bodyRequired and
// bodyOptional, its decoder.
type bodySpec struct {
	kind   bodyKind
	decode *decoder
	// unjudged, when set, says why no policy check reads the decoded
	// body: what the daemon does with it (checked in its source) and why
	// that grants nothing beyond what allowing the action does. When it
	// is empty a check must read the body (TestDecodedBodiesJudged).
	unjudged string
}

var (
	noBody     = bodySpec{kind: bodyNone}
	opaqueBody = bodySpec{kind: bodyOpaque}
	forbidden  = bodySpec{kind: bodyForbidden}
)

// required is a JSON body that decides the request, decoded by d.
func required(d *decoder) bodySpec { return bodySpec{kind: bodyRequired, decode: d} }

// optional is a JSON body the daemon reads when present, decoded by d.
func optional(d *decoder) bodySpec { return bodySpec{kind: bodyOptional, decode: d} }

// judgedByNothing declares that no check reads the body, and why that is
// safe.
func (b bodySpec) judgedByNothing(why string) bodySpec {
	b.unjudged = why
	return b
}

// routes is the Docker Engine API route table (moby api/server/router,
// v28), in the order the daemon registers it: the first route that matches
// wins, as in the daemon's router. The checkpoint routes come before the
// container routes, as in the daemon, so their DELETE is not masked.
var routes = []route{
	// checkpoint
	{"GET", "/containers/", varAny, "/checkpoints", ActionCheckpointList, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/checkpoints", ActionCheckpointCreate, required(decCheckpointCreate), KindContainer, KindNone, nil},
	// DELETE /containers/{name}/checkpoints/{checkpoint} is matched in match (checkpointDelete).

	// container
	{"HEAD", "/containers/", varAny, "/archive", ActionContainerArchiveHead, noBody, KindContainer, KindNone, nil},
	{"GET", "/containers/json", varNone, "", ActionContainerList, noBody, KindNone, KindNone, nil},
	{"GET", "/containers/", varAny, "/export", ActionContainerExport, noBody, KindContainer, KindNone, nil},
	{"GET", "/containers/", varAny, "/changes", ActionContainerChanges, noBody, KindContainer, KindNone, nil},
	{"GET", "/containers/", varAny, "/json", ActionContainerInspect, noBody, KindContainer, KindNone, nil},
	{"GET", "/containers/", varAny, "/top", ActionContainerTop, noBody, KindContainer, KindNone, nil},
	{"GET", "/containers/", varAny, "/logs", ActionContainerLogs, noBody, KindContainer, KindNone, nil},
	{"GET", "/containers/", varAny, "/stats", ActionContainerStats, noBody, KindContainer, KindNone, nil},
	{"GET", "/containers/", varAny, "/attach/ws", ActionContainerAttachWS, noBody, KindContainer, KindNone, nil},
	{"GET", "/exec/", varAny, "/json", ActionExecInspect, noBody, KindExec, KindNone, nil},
	{"GET", "/containers/", varAny, "/archive", ActionContainerArchiveGet, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/create", varNone, "", ActionContainerCreate, required(decContainerCreate), KindNone, KindContainer, namesContainerCreate},
	{"POST", "/containers/", varAny, "/kill", ActionContainerKill, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/pause", ActionContainerPause, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/unpause", ActionContainerUnpause, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/restart", ActionContainerRestart, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/start", ActionContainerStart, forbidden, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/stop", ActionContainerStop, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/wait", ActionContainerWait, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/resize", ActionContainerResize, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/attach", ActionContainerAttach, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/exec", ActionContainerExec, required(decExec), KindContainer, KindExec, nil},
	{"POST", "/exec/", varAny, "/start", ActionExecStart, optional(decExecStart).judgedByNothing(
		"Detach, Tty and ConsoleSize only choose how the exec's streams attach (api/server/router/container/exec.go postContainerExecStart); what runs and as whom was judged at container.exec, and whose exec it is by ownership"), KindExec, KindNone, nil},
	{"POST", "/exec/", varAny, "/resize", ActionExecResize, noBody, KindExec, KindNone, nil},
	{"POST", "/containers/", varAny, "/rename", ActionContainerRename, noBody, KindContainer, KindNone, nil},
	{"POST", "/containers/", varAny, "/update", ActionContainerUpdate, required(decContainerUpdate), KindContainer, KindNone, nil},
	{"POST", "/containers/prune", varNone, "", ActionContainerPrune, noBody, KindNone, KindNone, nil},
	{"POST", "/commit", varNone, "", ActionCommit, optional(decCommit).judgedByNothing(
		"the Config becomes the committed image's configuration (daemon/commit.go merges it), as a pulled, loaded or imported image's can be anything; a container made from it is judged by its create body, and by the image's USER as the daemon reads it from the image, so the config grants nothing unjudged"), KindNone, KindImage, namesCommit},
	{"PUT", "/containers/", varAny, "/archive", ActionContainerArchivePut, opaqueBody, KindContainer, KindNone, nil},
	{"DELETE", "/containers/", varAny, "", ActionContainerRemove, noBody, KindContainer, KindNone, nil},

	// image
	{"GET", "/images/json", varNone, "", ActionImageList, noBody, KindNone, KindNone, nil},
	{"GET", "/images/search", varNone, "", ActionImageSearch, noBody, KindNone, KindNone, nil},
	{"GET", "/images/get", varNone, "", ActionImageGet, noBody, KindNone, KindNone, nil},
	{"GET", "/images/", varAny, "/get", ActionImageGet, noBody, KindImage, KindNone, nil},
	{"GET", "/images/", varAny, "/history", ActionImageHistory, noBody, KindImage, KindNone, nil},
	{"GET", "/images/", varAny, "/json", ActionImageInspect, noBody, KindImage, KindNone, nil},
	{"POST", "/images/load", varNone, "", ActionImageLoad, opaqueBody, KindNone, KindNone, nil},
	{"POST", "/images/create", varNone, "", ActionImagePull, opaqueBody, KindNone, KindNone, namesImagePull}, // image.import with fromSrc
	{"POST", "/images/", varAny, "/push", ActionImagePush, noBody, KindImage, KindNone, nil},
	{"POST", "/images/", varAny, "/tag", ActionImageTag, noBody, KindImage, KindNone, namesImageTag},
	{"POST", "/images/prune", varNone, "", ActionImagePrune, noBody, KindNone, KindNone, nil},
	{"DELETE", "/images/", varAny, "", ActionImageRemove, noBody, KindImage, KindNone, nil},

	// system
	{"OPTIONS", "/", varAny, "", ActionOptions, noBody, KindNone, KindNone, nil},
	{"GET", "/_ping", varNone, "", ActionSystemPing, noBody, KindNone, KindNone, nil},
	{"HEAD", "/_ping", varNone, "", ActionSystemPing, noBody, KindNone, KindNone, nil},
	{"GET", "/events", varNone, "", ActionSystemEvents, noBody, KindNone, KindNone, nil},
	{"GET", "/info", varNone, "", ActionSystemInfo, noBody, KindNone, KindNone, nil},
	{"GET", "/version", varNone, "", ActionSystemVersion, noBody, KindNone, KindNone, nil},
	{"GET", "/system/df", varNone, "", ActionSystemDf, noBody, KindNone, KindNone, nil},
	{"POST", "/auth", varNone, "", ActionSystemAuth, noBody, KindNone, KindNone, nil},

	// volume
	{"GET", "/volumes", varNone, "", ActionVolumeList, noBody, KindNone, KindNone, nil},
	{"GET", "/volumes/", varAny, "", ActionVolumeInspect, noBody, KindVolume, KindNone, nil},
	{"POST", "/volumes/create", varNone, "", ActionVolumeCreate, required(decVolumeCreate), KindNone, KindVolume, namesVolumeCreate},
	{"POST", "/volumes/prune", varNone, "", ActionVolumePrune, noBody, KindNone, KindNone, nil},
	{"PUT", "/volumes/", varAny, "", ActionVolumeUpdate, required(decVolumeUpdate).judgedByNothing(
		"only a cluster volume's Availability (active, pause, drain) is applied (daemon/cluster/volumes.go UpdateVolume plucks Spec.Availability; swarmkit controlapi UpdateVolume refuses other changes); whose volume it is, is judged by ownership"), KindVolume, KindNone, nil},
	{"DELETE", "/volumes/", varAny, "", ActionVolumeRemove, noBody, KindVolume, KindNone, nil},

	// build
	{"POST", "/build", varNone, "", ActionImageBuild, opaqueBody, KindNone, KindNone, namesImageBuild},
	{"POST", "/build/prune", varNone, "", ActionImageBuildPrune, noBody, KindNone, KindNone, nil},
	{"POST", "/build/cancel", varNone, "", ActionImageBuildCancel, noBody, KindNone, KindNone, nil},

	// session
	{"POST", "/session", varNone, "", ActionSession, opaqueBody, KindNone, KindNone, nil},

	// swarm
	{"GET", "/swarm", varNone, "", ActionSwarmInspect, noBody, KindNone, KindNone, nil},
	{"GET", "/swarm/unlockkey", varNone, "", ActionSwarmUnlockKey, noBody, KindNone, KindNone, nil},
	{"POST", "/swarm/init", varNone, "", ActionSwarmInit, required(decSwarmInit).judgedByNothing(
		"addresses, CA, raft and autolock settings of the swarm this daemon founds; allowing swarm.init already hands the caller that swarm and every task it runs here, which no field widens"), KindNone, KindNone, nil},
	{"POST", "/swarm/join", varNone, "", ActionSwarmJoin, required(decSwarmJoin).judgedByNothing(
		"the managers and token of the swarm to join; allowing swarm.join already lets that swarm's managers run tasks here, whichever swarm the body names"), KindNone, KindNone, nil},
	{"POST", "/swarm/leave", varNone, "", ActionSwarmLeave, noBody, KindNone, KindNone, nil},
	{"POST", "/swarm/update", varNone, "", ActionSwarmUpdate, required(decSwarmUpdate).judgedByNothing(
		"the swarm's own settings (CA, raft, dispatcher, task defaults, autolock); allowing swarm.update already hands the caller the swarm, which no field widens"), KindNone, KindNone, nil},
	{"POST", "/swarm/unlock", varNone, "", ActionSwarmUnlock, required(decSwarmUnlock).judgedByNothing(
		"the unlock key of a locked swarm, used only to decrypt the manager's own state; it grants nothing but the action"), KindNone, KindNone, nil},
	{"GET", "/services", varNone, "", ActionServiceList, noBody, KindNone, KindNone, nil},
	{"GET", "/services/", varSegment, "", ActionServiceInspect, noBody, KindService, KindNone, nil},
	{"POST", "/services/create", varNone, "", ActionServiceCreate, required(decServiceSpec), KindNone, KindService, namesServiceCreate},
	{"POST", "/services/", varSegment, "/update", ActionServiceUpdate, required(decServiceSpec), KindService, KindNone, nil},
	{"DELETE", "/services/", varSegment, "", ActionServiceRemove, noBody, KindService, KindNone, nil},
	{"GET", "/services/", varSegment, "/logs", ActionServiceLogs, noBody, KindService, KindNone, nil},
	{"GET", "/nodes", varNone, "", ActionNodeList, noBody, KindNone, KindNone, nil},
	{"GET", "/nodes/", varSegment, "", ActionNodeInspect, noBody, KindNode, KindNone, nil},
	{"DELETE", "/nodes/", varSegment, "", ActionNodeRemove, noBody, KindNode, KindNone, nil},
	{"POST", "/nodes/", varSegment, "/update", ActionNodeUpdate, required(decNodeSpec).judgedByNothing(
		"a node's name, labels, role and availability; allowing node.update already hands the caller the swarm's scheduling, which no field widens"), KindNode, KindNone, nil},
	{"GET", "/tasks", varNone, "", ActionTaskList, noBody, KindNone, KindNone, nil},
	{"GET", "/tasks/", varSegment, "", ActionTaskInspect, noBody, KindTask, KindNone, nil},
	{"GET", "/tasks/", varSegment, "/logs", ActionTaskLogs, noBody, KindTask, KindNone, nil},
	{"GET", "/secrets", varNone, "", ActionSecretList, noBody, KindNone, KindNone, nil},
	{"POST", "/secrets/create", varNone, "", ActionSecretCreate, required(decSecretSpec), KindNone, KindSecret, nil},
	{"DELETE", "/secrets/", varSegment, "", ActionSecretRemove, noBody, KindSecret, KindNone, nil},
	{"GET", "/secrets/", varSegment, "", ActionSecretInspect, noBody, KindSecret, KindNone, nil},
	{"POST", "/secrets/", varSegment, "/update", ActionSecretUpdate, required(decSecretSpec), KindSecret, KindNone, nil},
	{"GET", "/configs", varNone, "", ActionConfigList, noBody, KindNone, KindNone, nil},
	{"POST", "/configs/create", varNone, "", ActionConfigCreate, required(decConfigSpec), KindNone, KindConfig, nil},
	{"DELETE", "/configs/", varSegment, "", ActionConfigRemove, noBody, KindConfig, KindNone, nil},
	{"GET", "/configs/", varSegment, "", ActionConfigInspect, noBody, KindConfig, KindNone, nil},
	{"POST", "/configs/", varSegment, "/update", ActionConfigUpdate, required(decConfigSpec), KindConfig, KindNone, nil},

	// plugin
	{"GET", "/plugins", varNone, "", ActionPluginList, noBody, KindNone, KindNone, nil},
	{"GET", "/plugins/", varAny, "/json", ActionPluginInspect, noBody, KindPlugin, KindNone, nil},
	{"GET", "/plugins/privileges", varNone, "", ActionPluginPrivileges, noBody, KindNone, KindNone, nil},
	{"DELETE", "/plugins/", varAny, "", ActionPluginRemove, noBody, KindPlugin, KindNone, nil},
	{"POST", "/plugins/", varAny, "/enable", ActionPluginEnable, noBody, KindPlugin, KindNone, nil},
	{"POST", "/plugins/", varAny, "/disable", ActionPluginDisable, noBody, KindPlugin, KindNone, nil},
	{"POST", "/plugins/pull", varNone, "", ActionPluginPull, required(decPluginPrivileges).judgedByNothing(
		"the privileges the caller grants the plugin; a plugin runs as root on the host whatever it is granted, so allowing plugin.pull or plugin.upgrade already trusts the caller with the host (docs/security.md, self-protection); the audit summary records them"), KindNone, KindNone, nil},
	{"POST", "/plugins/", varAny, "/push", ActionPluginPush, noBody, KindPlugin, KindNone, nil},
	{"POST", "/plugins/", varAny, "/upgrade", ActionPluginUpgrade, required(decPluginPrivileges).judgedByNothing(
		"the privileges the caller grants the plugin; a plugin runs as root on the host whatever it is granted, so allowing plugin.pull or plugin.upgrade already trusts the caller with the host (docs/security.md, self-protection); the audit summary records them"), KindPlugin, KindNone, nil},
	{"POST", "/plugins/", varAny, "/set", ActionPluginSet, required(decPluginSettings).judgedByNothing(
		"a plugin's environment, mount sources, device paths and args; a plugin runs as root on the host, so allowing plugin.set already trusts the caller with the host (docs/security.md, self-protection)"), KindPlugin, KindNone, nil},
	{"POST", "/plugins/create", varNone, "", ActionPluginCreate, opaqueBody, KindNone, KindNone, nil},

	// distribution
	{"GET", "/distribution/", varAny, "/json", ActionDistributionInspect, noBody, KindNone, KindNone, nil},

	// grpc (BuildKit)
	{"POST", "/grpc", varNone, "", ActionGrpc, opaqueBody, KindNone, KindNone, nil},

	// network
	{"GET", "/networks", varNone, "", ActionNetworkList, noBody, KindNone, KindNone, nil},
	{"GET", "/networks/", varNone, "", ActionNetworkList, noBody, KindNone, KindNone, nil},
	{"GET", "/networks/", varPlus, "", ActionNetworkInspect, noBody, KindNetwork, KindNone, nil},
	{"POST", "/networks/create", varNone, "", ActionNetworkCreate, required(decNetworkCreate), KindNone, KindNetwork, namesNetworkCreate},
	{"POST", "/networks/", varAny, "/connect", ActionNetworkConnect, required(decNetworkConnect), KindNetwork, KindNone, namesNetworkConnect},
	{"POST", "/networks/", varAny, "/disconnect", ActionNetworkDisconnect, optional(decNetworkDisconnect), KindNetwork, KindNone, namesNetworkDisconnect},
	{"POST", "/networks/prune", varNone, "", ActionNetworkPrune, noBody, KindNone, KindNone, nil},
	{"DELETE", "/networks/", varAny, "", ActionNetworkRemove, noBody, KindNetwork, KindNone, nil},

	// debug (only served by a daemon in debug mode)
	{"GET", "/debug/vars", varNone, "", ActionDebug, noBody, KindNone, KindNone, nil},
	{"GET", "/debug/pprof/", varAny, "", ActionDebug, noBody, KindNone, KindNone, nil},
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

// Rows that match no path of their own: checkpoint delete and OPTIONS
// are matched in match; image import and service rollback are image pull
// and service update with a query parameter that makes them another
// action (classify).
var (
	checkpointDelete = route{method: "DELETE", action: ActionCheckpointDelete, body: noBody, target: KindContainer}
	optionsRoute     = route{method: "OPTIONS", action: ActionOptions, body: noBody}
	imageImport      = derive(ActionImagePull, ActionImageImport, namesImageImport)
	serviceRollback  = derive(ActionServiceUpdate, ActionServiceRollback, nil)
)

// derive is the table's row for action, as action a, with names as what
// the audit record shows of it.
func derive(from, a Action, names func(*Request, *Names)) route {
	for _, r := range routes {
		if r.action == from {
			r.action, r.names = a, names
			return r
		}
	}
	panic("request: no route for " + string(from))
}

// specialRoutes are the rows outside the table.
func specialRoutes() []*route {
	return []*route{&checkpointDelete, &optionsRoute, &imageImport, &serviceRollback}
}

// byAction is the first row of each action, derived rows included. Rows
// that share an action agree on everything but their path and target
// (TestRouteTable).
var byAction = func() map[Action]*route {
	m := map[Action]*route{}
	for i := range routes {
		if _, ok := m[routes[i].action]; !ok {
			m[routes[i].action] = &routes[i]
		}
	}
	for _, r := range specialRoutes() {
		if _, ok := m[r.action]; !ok {
			m[r.action] = r
		}
	}
	return m
}()

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

// DecodedBody is a route whose JSON body is decoded into the request
// model, as the tests of the checks see it.
type DecodedBody struct {
	Action Action
	Method string
	// Type is the daemon's type the body decodes into, and Field the
	// field of Request that holds it.
	Type  reflect.Type
	Field string
	// Unjudged says why no check reads the body; empty when one must.
	Unjudged string
}

// DecodedBodies lists, for each action whose route decodes a body, that
// body, derived actions included.
func DecodedBodies() []DecodedBody {
	var out []DecodedBody
	for _, a := range Actions() {
		if rt := byAction[a]; rt != nil && rt.body.decode != nil {
			out = append(out, DecodedBody{Action: a, Method: rt.method, Type: rt.body.decode.typ, Field: rt.body.decode.field(), Unjudged: rt.body.unjudged})
		}
	}
	return out
}
