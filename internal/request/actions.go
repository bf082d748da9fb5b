package request

// Action names, one constant each: the route table, the policy language,
// the checks and the audit records use these and no string literal
// (actions_test.go walks the repository to keep it so). Policies name
// actions by these strings; a name not listed by Actions is a load error.
const (
	// checkpoint
	ActionCheckpointList   Action = "checkpoint.list"
	ActionCheckpointCreate Action = "checkpoint.create"

	// container
	ActionContainerArchiveHead Action = "container.archive.head"
	ActionContainerList        Action = "container.list"
	ActionContainerExport      Action = "container.export"
	ActionContainerChanges     Action = "container.changes"
	ActionContainerInspect     Action = "container.inspect"
	ActionContainerTop         Action = "container.top"
	ActionContainerLogs        Action = "container.logs"
	ActionContainerStats       Action = "container.stats"
	ActionContainerAttachWS    Action = "container.attach.ws"
	ActionExecInspect          Action = "exec.inspect"
	ActionContainerArchiveGet  Action = "container.archive.get"
	ActionContainerCreate      Action = "container.create"
	ActionContainerKill        Action = "container.kill"
	ActionContainerPause       Action = "container.pause"
	ActionContainerUnpause     Action = "container.unpause"
	ActionContainerRestart     Action = "container.restart"
	ActionContainerStart       Action = "container.start"
	ActionContainerStop        Action = "container.stop"
	ActionContainerWait        Action = "container.wait"
	ActionContainerResize      Action = "container.resize"
	ActionContainerAttach      Action = "container.attach"
	ActionContainerExec        Action = "container.exec"
	ActionExecStart            Action = "exec.start"
	ActionExecResize           Action = "exec.resize"
	ActionContainerRename      Action = "container.rename"
	ActionContainerUpdate      Action = "container.update"
	ActionContainerPrune       Action = "container.prune"
	ActionCommit               Action = "commit"
	ActionContainerArchivePut  Action = "container.archive.put"
	ActionContainerRemove      Action = "container.remove"

	// image
	ActionImageList    Action = "image.list"
	ActionImageSearch  Action = "image.search"
	ActionImageGet     Action = "image.get"
	ActionImageHistory Action = "image.history"
	ActionImageInspect Action = "image.inspect"
	ActionImageLoad    Action = "image.load"
	ActionImagePull    Action = "image.pull"
	ActionImagePush    Action = "image.push"
	ActionImageTag     Action = "image.tag"
	ActionImagePrune   Action = "image.prune"
	ActionImageRemove  Action = "image.remove"

	// system
	ActionOptions       Action = "options"
	ActionSystemPing    Action = "system.ping"
	ActionSystemEvents  Action = "system.events"
	ActionSystemInfo    Action = "system.info"
	ActionSystemVersion Action = "system.version"
	ActionSystemDf      Action = "system.df"
	ActionSystemAuth    Action = "system.auth"

	// volume
	ActionVolumeList    Action = "volume.list"
	ActionVolumeInspect Action = "volume.inspect"
	ActionVolumeCreate  Action = "volume.create"
	ActionVolumePrune   Action = "volume.prune"
	ActionVolumeUpdate  Action = "volume.update"
	ActionVolumeRemove  Action = "volume.remove"

	// build
	ActionImageBuild       Action = "image.build"
	ActionImageBuildPrune  Action = "image.build.prune"
	ActionImageBuildCancel Action = "image.build.cancel"

	// session
	ActionSession Action = "session"

	// swarm
	ActionSwarmInspect   Action = "swarm.inspect"
	ActionSwarmUnlockKey Action = "swarm.unlockkey"
	ActionSwarmInit      Action = "swarm.init"
	ActionSwarmJoin      Action = "swarm.join"
	ActionSwarmLeave     Action = "swarm.leave"
	ActionSwarmUpdate    Action = "swarm.update"
	ActionSwarmUnlock    Action = "swarm.unlock"
	ActionServiceList    Action = "service.list"
	ActionServiceInspect Action = "service.inspect"
	ActionServiceCreate  Action = "service.create"
	ActionServiceUpdate  Action = "service.update"
	ActionServiceRemove  Action = "service.remove"
	ActionServiceLogs    Action = "service.logs"
	ActionNodeList       Action = "node.list"
	ActionNodeInspect    Action = "node.inspect"
	ActionNodeRemove     Action = "node.remove"
	ActionNodeUpdate     Action = "node.update"
	ActionTaskList       Action = "task.list"
	ActionTaskInspect    Action = "task.inspect"
	ActionTaskLogs       Action = "task.logs"
	ActionSecretList     Action = "secret.list"
	ActionSecretCreate   Action = "secret.create"
	ActionSecretRemove   Action = "secret.remove"
	ActionSecretInspect  Action = "secret.inspect"
	ActionSecretUpdate   Action = "secret.update"
	ActionConfigList     Action = "config.list"
	ActionConfigCreate   Action = "config.create"
	ActionConfigRemove   Action = "config.remove"
	ActionConfigInspect  Action = "config.inspect"
	ActionConfigUpdate   Action = "config.update"

	// plugin
	ActionPluginList       Action = "plugin.list"
	ActionPluginInspect    Action = "plugin.inspect"
	ActionPluginPrivileges Action = "plugin.privileges"
	ActionPluginRemove     Action = "plugin.remove"
	ActionPluginEnable     Action = "plugin.enable"
	ActionPluginDisable    Action = "plugin.disable"
	ActionPluginPull       Action = "plugin.pull"
	ActionPluginPush       Action = "plugin.push"
	ActionPluginUpgrade    Action = "plugin.upgrade"
	ActionPluginSet        Action = "plugin.set"
	ActionPluginCreate     Action = "plugin.create"

	// distribution
	ActionDistributionInspect Action = "distribution.inspect"

	// grpc (BuildKit)
	ActionGrpc Action = "grpc"

	// network
	ActionNetworkList       Action = "network.list"
	ActionNetworkInspect    Action = "network.inspect"
	ActionNetworkCreate     Action = "network.create"
	ActionNetworkConnect    Action = "network.connect"
	ActionNetworkDisconnect Action = "network.disconnect"
	ActionNetworkPrune      Action = "network.prune"
	ActionNetworkRemove     Action = "network.remove"

	// debug (only served by a daemon in debug mode)
	ActionDebug Action = "debug"
)

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

// ActionUnknown is the action of a request that matches no daemon route.
const ActionUnknown Action = "unknown"

// Actions lists every action name the route table can produce, plus the
// derived ones (image.import, checkpoint.delete, service.rollback) and
// ActionUnknown. Policy loaders use it to reject misspelled action names.
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
	add(imageImport.action)
	add(checkpointDelete.action)
	add(serviceRollback.action)
	add(ActionUnknown)
	return out
}
