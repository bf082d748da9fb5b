package policy

import (
	"reflect"

	"github.com/docker/docker/api/types/blkiodev"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/go-units"
	v1 "github.com/moby/docker-image-spec/specs-go/v1"
)

// This file is the one table that says, for every field of the daemon's
// request types that Portcullis decodes, either which rule judges it or
// why it is harmless. TestFieldTable walks the types by reflection and
// fails on a field without an entry (so a dependency upgrade that adds
// fields fails until each is classified), on an entry that names no field,
// and on a rule id that docs/policy.md does not document.
//
// Paths are JSON names joined by dots, "[]" for the elements of a list or
// map, from the roots in fieldRoots. The fields of the types in
// fieldSharedTypes are classified once, under the type's short name,
// wherever the type appears. An entry made with judgedAll or harmlessAll
// covers every field below it.

type fieldClass struct {
	rule   string // the rule id that judges the field
	reason string // why the field is harmless (rule == "")
	whole  bool   // the entry covers every field below too
}

func judged(rule string) fieldClass        { return fieldClass{rule: rule} }
func judgedAll(rule string) fieldClass     { return fieldClass{rule: rule, whole: true} }
func harmless(reason string) fieldClass    { return fieldClass{reason: reason} }
func harmlessAll(reason string) fieldClass { return fieldClass{reason: reason, whole: true} }

// fieldRoots are the request bodies the table covers, by root path.
var fieldRoots = []struct {
	Path string
	Type reflect.Type
}{
	{"Config", reflect.TypeFor[container.Config]()},
	{"HostConfig", reflect.TypeFor[container.HostConfig]()},
	{"NetworkingConfig", reflect.TypeFor[network.NetworkingConfig]()},
	{"Service", reflect.TypeFor[swarm.ServiceSpec]()},
	{"VolumeCreate", reflect.TypeFor[volume.CreateOptions]()},
	{"NetworkCreate", reflect.TypeFor[network.CreateRequest]()},
	{"Exec", reflect.TypeFor[container.ExecOptions]()},
	{"Update", reflect.TypeFor[container.UpdateConfig]()},
	{"NetworkConnect", reflect.TypeFor[network.ConnectOptions]()},
}

// fieldSharedTypes are classified by type, wherever they appear.
var fieldSharedTypes = map[reflect.Type]string{
	reflect.TypeFor[mount.Mount]():             "Mount",
	reflect.TypeFor[units.Ulimit]():            "Ulimit",
	reflect.TypeFor[v1.HealthcheckConfig]():    "Healthcheck",
	reflect.TypeFor[blkiodev.WeightDevice]():   "BlkioWeightDevice",
	reflect.TypeFor[blkiodev.ThrottleDevice](): "BlkioThrottleDevice",
	reflect.TypeFor[container.DeviceMapping](): "DeviceMapping",
	reflect.TypeFor[container.DeviceRequest](): "DeviceRequest",
}

const (
	inContainer   = "applies inside the container only"
	notOnLinux    = "Windows only; the Linux daemon refuses or ignores it"
	outputOnly    = "filled in by the daemon; ignored on input"
	scheduling    = "swarm scheduling and rollout; it changes where and when tasks run, not what they may do"
	ownedElse     = "names another object; which objects a caller may name is the ownership rules' business (issue #13), the settings it brings are judged where that object is created"
	updateIgnores = "container update does not apply it (container/container_unix.go UpdateContainer, daemon/update_linux.go toContainerdResources)"
	limitOnly     = "a limit or weight that only restricts the container"
)

var fieldTable = map[string]fieldClass{
	// container create: Config
	"Config.Hostname":        harmless(inContainer),
	"Config.Domainname":      harmless(inContainer),
	"Config.User":            judged("container.user"),
	"Config.AttachStdin":     harmless("stream attachment of the caller's own session"),
	"Config.AttachStdout":    harmless("stream attachment of the caller's own session"),
	"Config.AttachStderr":    harmless("stream attachment of the caller's own session"),
	"Config.ExposedPorts":    judged("ports.publish_all"),
	"Config.Tty":             harmless(inContainer),
	"Config.OpenStdin":       harmless(inContainer),
	"Config.StdinOnce":       harmless(inContainer),
	"Config.Env":             harmless(inContainer),
	"Config.Cmd":             harmless(inContainer),
	"Config.Healthcheck":     harmless("the health check runs inside the container"),
	"Config.ArgsEscaped":     harmless(notOnLinux),
	"Config.Image":           judged("images.registry"),
	"Config.Volumes":         judged("mounts.volume_driver"),
	"Config.WorkingDir":      harmless(inContainer),
	"Config.Entrypoint":      harmless(inContainer),
	"Config.NetworkDisabled": harmless("removes networking"),
	"Config.MacAddress":      harmless("the container's own interface address (deprecated here since API 1.44)"),
	"Config.OnBuild":         harmless("image metadata; runs only in later builds, which are judged as builds"),
	"Config.Labels":          judged("labels.required"),
	"Config.StopSignal":      harmless(inContainer),
	"Config.StopTimeout":     harmless(inContainer),
	"Config.Shell":           harmless(inContainer),

	// container create: HostConfig
	"HostConfig.Binds":                judged("mounts.bind"),
	"HostConfig.ContainerIDFile":      harmless("read by the CLI only; the daemon ignores it"),
	"HostConfig.LogConfig.Type":       judged("logging.driver"),
	"HostConfig.LogConfig.Config":     judged("logging.options"),
	"HostConfig.NetworkMode":          judged("network.mode"),
	"HostConfig.PortBindings":         judgedAll("ports.host_ip"),
	"HostConfig.RestartPolicy":        judgedAll("restart.policy"),
	"HostConfig.AutoRemove":           harmless("removes the container when it exits"),
	"HostConfig.VolumeDriver":         judged("mounts.volume_driver"),
	"HostConfig.VolumesFrom":          judged("mounts.volumes_from"),
	"HostConfig.ConsoleSize":          harmless(inContainer),
	"HostConfig.Annotations":          judged("container.annotations"),
	"HostConfig.CapAdd":               judged("capabilities.add"),
	"HostConfig.CapDrop":              judged("capabilities.drop"),
	"HostConfig.CgroupnsMode":         judged("namespaces.host"),
	"HostConfig.Dns":                  harmless("the container's own resolv.conf"),
	"HostConfig.DnsOptions":           harmless("the container's own resolv.conf"),
	"HostConfig.DnsSearch":            harmless("the container's own resolv.conf"),
	"HostConfig.ExtraHosts":           harmless("the container's own /etc/hosts"),
	"HostConfig.GroupAdd":             harmless("supplementary groups inside the container; host files it could reach are judged by the mount rules"),
	"HostConfig.IpcMode":              judged("namespaces.host"),
	"HostConfig.Cgroup":               judged("namespaces.container"),
	"HostConfig.Links":                judged("container.links"),
	"HostConfig.OomScoreAdj":          judged("resources.oom_score_adj"),
	"HostConfig.PidMode":              judged("namespaces.host"),
	"HostConfig.Privileged":           judged("container.privileged"),
	"HostConfig.PublishAllPorts":      judged("ports.publish_all"),
	"HostConfig.ReadonlyRootfs":       judged("container.read_only_rootfs"),
	"HostConfig.SecurityOpt":          judged("security.seccomp"),
	"HostConfig.StorageOpt":           harmless("a size quota for the container's writable layer"),
	"HostConfig.Tmpfs":                judged("mounts.tmpfs"),
	"HostConfig.UTSMode":              judged("namespaces.host"),
	"HostConfig.UsernsMode":           judged("namespaces.host"),
	"HostConfig.ShmSize":              harmless("size of the container's own /dev/shm, charged to its memory cgroup"),
	"HostConfig.Sysctls":              judged("sysctls.sysctl"),
	"HostConfig.Runtime":              judged("container.runtime"),
	"HostConfig.Isolation":            harmless(notOnLinux),
	"HostConfig.CpuShares":            harmless(limitOnly),
	"HostConfig.Memory":               judged("resources.memory"),
	"HostConfig.NanoCpus":             judged("resources.cpu"),
	"HostConfig.CgroupParent":         judged("container.cgroup_parent"),
	"HostConfig.BlkioWeight":          harmless(limitOnly),
	"HostConfig.BlkioWeightDevice":    harmless(limitOnly),
	"HostConfig.BlkioDeviceReadBps":   harmless(limitOnly),
	"HostConfig.BlkioDeviceWriteBps":  harmless(limitOnly),
	"HostConfig.BlkioDeviceReadIOps":  harmless(limitOnly),
	"HostConfig.BlkioDeviceWriteIOps": harmless(limitOnly),
	"HostConfig.CpuPeriod":            judged("resources.cpu"),
	"HostConfig.CpuQuota":             judged("resources.cpu"),
	"HostConfig.CpuRealtimePeriod":    harmless("real-time CPU time comes out of the daemon's own real-time budget (daemon --cpu-rt-runtime, 0 by default), which the daemon refuses to exceed (daemon/daemon_unix.go verifyPlatformContainerResources)"),
	"HostConfig.CpuRealtimeRuntime":   harmless("real-time CPU time comes out of the daemon's own real-time budget (daemon --cpu-rt-runtime, 0 by default), which the daemon refuses to exceed (daemon/daemon_unix.go verifyPlatformContainerResources)"),
	"HostConfig.CpusetCpus":           harmless(limitOnly),
	"HostConfig.CpusetMems":           harmless(limitOnly),
	"HostConfig.Devices":              judged("devices.device"),
	"HostConfig.DeviceCgroupRules":    judged("devices.cgroup_rules"),
	"HostConfig.DeviceRequests":       judged("devices.requests"),
	"HostConfig.KernelMemory":         harmless(limitOnly + " (ignored on cgroup v2)"),
	"HostConfig.KernelMemoryTCP":      harmless(limitOnly + " (ignored on cgroup v2)"),
	"HostConfig.MemoryReservation":    harmless("a soft limit below Memory"),
	"HostConfig.MemorySwap":           harmless("swap on top of the memory limit; RAM stays limited by Memory"),
	"HostConfig.MemorySwappiness":     harmless(limitOnly),
	"HostConfig.OomKillDisable":       judged("resources.oom_kill_disable"),
	"HostConfig.PidsLimit":            judged("resources.pids"),
	"HostConfig.Ulimits":              judged("resources.ulimits"),
	"HostConfig.CpuCount":             harmless(notOnLinux),
	"HostConfig.CpuPercent":           harmless(notOnLinux),
	"HostConfig.IOMaximumIOps":        harmless(notOnLinux),
	"HostConfig.IOMaximumBandwidth":   harmless(notOnLinux),
	"HostConfig.Mounts":               judged("mounts.bind"),
	"HostConfig.MaskedPaths":          judged("security.unmasked_paths"),
	"HostConfig.ReadonlyPaths":        judged("security.unmasked_paths"),
	"HostConfig.Init":                 harmless("runs docker-init as the container's PID 1"),

	// container create: NetworkingConfig
	"NetworkingConfig.EndpointsConfig":                       judged("network.mode"),
	"NetworkingConfig.EndpointsConfig[].IPAMConfig":          harmlessAll("the container's own address on a network it may join; the daemon refuses one in use"),
	"NetworkingConfig.EndpointsConfig[].Links":               judged("container.links"),
	"NetworkingConfig.EndpointsConfig[].Aliases":             harmless("names on a network the container may join (network.mode)"),
	"NetworkingConfig.EndpointsConfig[].MacAddress":          harmless("the container's own interface address"),
	"NetworkingConfig.EndpointsConfig[].DriverOpts":          judged("network.endpoint_options"),
	"NetworkingConfig.EndpointsConfig[].GwPriority":          harmless("which of the container's own networks gives its default route"),
	"NetworkingConfig.EndpointsConfig[].NetworkID":           harmless(outputOnly),
	"NetworkingConfig.EndpointsConfig[].EndpointID":          harmless(outputOnly),
	"NetworkingConfig.EndpointsConfig[].Gateway":             harmless(outputOnly),
	"NetworkingConfig.EndpointsConfig[].IPAddress":           harmless(outputOnly),
	"NetworkingConfig.EndpointsConfig[].IPPrefixLen":         harmless(outputOnly),
	"NetworkingConfig.EndpointsConfig[].IPv6Gateway":         harmless(outputOnly),
	"NetworkingConfig.EndpointsConfig[].GlobalIPv6Address":   harmless(outputOnly),
	"NetworkingConfig.EndpointsConfig[].GlobalIPv6PrefixLen": harmless(outputOnly),
	"NetworkingConfig.EndpointsConfig[].DNSNames":            harmless(outputOnly),

	// network connect: the endpoint settings are those of container create.
	"NetworkConnect.Container":                          harmless(ownedElse),
	"NetworkConnect.EndpointConfig.IPAMConfig":          harmlessAll("the container's own address on a network it may join; the daemon refuses one in use"),
	"NetworkConnect.EndpointConfig.Links":               judged("container.links"),
	"NetworkConnect.EndpointConfig.Aliases":             harmless("names on a network the container may join (network.mode)"),
	"NetworkConnect.EndpointConfig.MacAddress":          harmless("the container's own interface address"),
	"NetworkConnect.EndpointConfig.DriverOpts":          judged("network.endpoint_options"),
	"NetworkConnect.EndpointConfig.GwPriority":          harmless("which of the container's own networks gives its default route"),
	"NetworkConnect.EndpointConfig.NetworkID":           harmless(outputOnly),
	"NetworkConnect.EndpointConfig.EndpointID":          harmless(outputOnly),
	"NetworkConnect.EndpointConfig.Gateway":             harmless(outputOnly),
	"NetworkConnect.EndpointConfig.IPAddress":           harmless(outputOnly),
	"NetworkConnect.EndpointConfig.IPPrefixLen":         harmless(outputOnly),
	"NetworkConnect.EndpointConfig.IPv6Gateway":         harmless(outputOnly),
	"NetworkConnect.EndpointConfig.GlobalIPv6Address":   harmless(outputOnly),
	"NetworkConnect.EndpointConfig.GlobalIPv6PrefixLen": harmless(outputOnly),
	"NetworkConnect.EndpointConfig.DNSNames":            harmless(outputOnly),

	// Shared types.
	"Mount.Type":                               judged("mounts.invalid"),
	"Mount.Source":                             judged("mounts.bind"),
	"Mount.Target":                             harmless("a path inside the container"),
	"Mount.ReadOnly":                           judged("mounts.read_only"),
	"Mount.Consistency":                        harmless("macOS only"),
	"Mount.BindOptions.Propagation":            judged("mounts.propagation"),
	"Mount.BindOptions.NonRecursive":           harmless("mounts less: submounts of the source are left out"),
	"Mount.BindOptions.CreateMountpoint":       judged("mounts.bind"),
	"Mount.BindOptions.ReadOnlyNonRecursive":   judged("mounts.read_only"),
	"Mount.BindOptions.ReadOnlyForceRecursive": harmless("makes every submount read-only too"),
	"Mount.VolumeOptions.NoCopy":               harmless("skips copying image content into a new volume"),
	"Mount.VolumeOptions.Labels":               harmless("metadata of the volume it creates"),
	"Mount.VolumeOptions.Subpath":              harmless("a path inside the volume; the daemon refuses one that leaves it (daemon/volumes_unix.go, safepath)"),
	"Mount.VolumeOptions.DriverConfig.Name":    judged("mounts.volume_driver"),
	"Mount.VolumeOptions.DriverConfig.Options": judged("mounts.volume_host_path"),
	"Mount.ImageOptions.Subpath":               harmless("a path inside an image the caller may use (images.allow)"),
	"Mount.TmpfsOptions":                       judgedAll("mounts.tmpfs"),
	"Mount.ClusterOptions":                     harmless("an empty struct"),
	"Ulimit":                                   judgedAll("resources.ulimits"),
	"Healthcheck":                              harmlessAll("the health check runs inside the container"),
	"BlkioWeightDevice":                        harmlessAll(limitOnly),
	"BlkioThrottleDevice":                      harmlessAll(limitOnly),
	"DeviceMapping":                            judgedAll("devices.device"),
	"DeviceRequest":                            judgedAll("devices.requests"),

	// service create and update
	"Service.Name":   harmless("the service's name"),
	"Service.Labels": judged("labels.required"),
	"Service.TaskTemplate.ContainerSpec.Image":                      judged("images.registry"),
	"Service.TaskTemplate.ContainerSpec.Labels":                     judged("labels.required"),
	"Service.TaskTemplate.ContainerSpec.Command":                    harmless(inContainer),
	"Service.TaskTemplate.ContainerSpec.Args":                       harmless(inContainer),
	"Service.TaskTemplate.ContainerSpec.Hostname":                   harmless(inContainer),
	"Service.TaskTemplate.ContainerSpec.Env":                        harmless(inContainer),
	"Service.TaskTemplate.ContainerSpec.Dir":                        harmless(inContainer),
	"Service.TaskTemplate.ContainerSpec.User":                       judged("container.user"),
	"Service.TaskTemplate.ContainerSpec.Groups":                     harmless("supplementary groups inside the container; host files it could reach are judged by the mount rules"),
	"Service.TaskTemplate.ContainerSpec.Privileges.CredentialSpec":  harmlessAll(notOnLinux),
	"Service.TaskTemplate.ContainerSpec.Privileges.SELinuxContext":  judgedAll("security.selinux"),
	"Service.TaskTemplate.ContainerSpec.Privileges.Seccomp":         judgedAll("security.seccomp"),
	"Service.TaskTemplate.ContainerSpec.Privileges.AppArmor":        judgedAll("security.apparmor"),
	"Service.TaskTemplate.ContainerSpec.Privileges.NoNewPrivileges": judged("security.no_new_privileges"),
	"Service.TaskTemplate.ContainerSpec.Init":                       harmless("runs docker-init as the container's PID 1"),
	"Service.TaskTemplate.ContainerSpec.StopSignal":                 harmless(inContainer),
	"Service.TaskTemplate.ContainerSpec.TTY":                        harmless(inContainer),
	"Service.TaskTemplate.ContainerSpec.OpenStdin":                  harmless(inContainer),
	"Service.TaskTemplate.ContainerSpec.ReadOnly":                   judged("container.read_only_rootfs"),
	"Service.TaskTemplate.ContainerSpec.Mounts":                     judged("mounts.bind"),
	"Service.TaskTemplate.ContainerSpec.StopGracePeriod":            harmless(inContainer),
	"Service.TaskTemplate.ContainerSpec.Hosts":                      harmless("the container's own /etc/hosts"),
	"Service.TaskTemplate.ContainerSpec.DNSConfig":                  harmlessAll("the container's own resolv.conf"),
	"Service.TaskTemplate.ContainerSpec.Secrets":                    harmlessAll(ownedElse),
	"Service.TaskTemplate.ContainerSpec.Configs":                    harmlessAll(ownedElse),
	"Service.TaskTemplate.ContainerSpec.Isolation":                  harmless(notOnLinux),
	"Service.TaskTemplate.ContainerSpec.Sysctls":                    judged("sysctls.sysctl"),
	"Service.TaskTemplate.ContainerSpec.CapabilityAdd":              judged("capabilities.add"),
	"Service.TaskTemplate.ContainerSpec.CapabilityDrop":             judged("capabilities.drop"),
	"Service.TaskTemplate.ContainerSpec.OomScoreAdj":                judged("resources.oom_score_adj"),
	"Service.TaskTemplate.PluginSpec":                               judgedAll("service.plugin"),
	"Service.TaskTemplate.NetworkAttachmentSpec":                    harmlessAll("the daemon does not read it from a service spec (daemon/cluster/convert/service.go ServiceSpecToGRPC)"),
	"Service.TaskTemplate.Resources.Limits.NanoCPUs":                judged("resources.cpu"),
	"Service.TaskTemplate.Resources.Limits.MemoryBytes":             judged("resources.memory"),
	"Service.TaskTemplate.Resources.Limits.Pids":                    judged("resources.pids"),
	"Service.TaskTemplate.Resources.Reservations":                   harmlessAll(scheduling),
	"Service.TaskTemplate.RestartPolicy.Condition":                  harmless("when the task restarts"),
	"Service.TaskTemplate.RestartPolicy.Delay":                      harmless("when the task restarts"),
	"Service.TaskTemplate.RestartPolicy.MaxAttempts":                judged("restart.max_retries"),
	"Service.TaskTemplate.RestartPolicy.Window":                     harmless("when the task restarts"),
	"Service.TaskTemplate.Placement":                                harmlessAll(scheduling),
	"Service.TaskTemplate.Networks[].Target":                        judged("network.mode"),
	"Service.TaskTemplate.Networks[].Aliases":                       harmless("names on a network the service may join (network.mode)"),
	"Service.TaskTemplate.Networks[].DriverOpts":                    judged("network.endpoint_options"),
	"Service.TaskTemplate.LogDriver.Name":                           judged("logging.driver"),
	"Service.TaskTemplate.LogDriver.Options":                        judged("logging.options"),
	"Service.TaskTemplate.ForceUpdate":                              harmless("a counter that forces a redeploy"),
	"Service.TaskTemplate.Runtime":                                  judged("service.plugin"),
	"Service.Mode":                                                  harmlessAll(scheduling),
	"Service.UpdateConfig.Parallelism":                              harmless(scheduling),
	"Service.UpdateConfig.Delay":                                    harmless(scheduling),
	"Service.UpdateConfig.FailureAction":                            judged(ruleServiceRollback),
	"Service.UpdateConfig.Monitor":                                  harmless(scheduling),
	"Service.UpdateConfig.MaxFailureRatio":                          harmless(scheduling),
	"Service.UpdateConfig.Order":                                    harmless(scheduling),
	"Service.RollbackConfig":                                        harmlessAll("how a rollback runs; whether one may happen is service.rollback"),
	"Service.Networks[].Target":                                     judged("network.mode"),
	"Service.Networks[].Aliases":                                    harmless("names on a network the service may join (network.mode)"),
	"Service.Networks[].DriverOpts":                                 judged("network.endpoint_options"),
	"Service.EndpointSpec.Mode":                                     harmless("VIP or DNS round robin"),
	"Service.EndpointSpec.Ports[].Name":                             harmless("a label"),
	"Service.EndpointSpec.Ports[].Protocol":                         harmless("the protocol of a port whose number is judged"),
	"Service.EndpointSpec.Ports[].TargetPort":                       harmless("a port inside the container"),
	"Service.EndpointSpec.Ports[].PublishedPort":                    judged("ports.privileged"),
	"Service.EndpointSpec.Ports[].PublishMode":                      harmless("ingress or host publishing of a port whose number is judged"),

	// volume create
	"VolumeCreate.ClusterVolumeSpec": judgedAll("volume.driver"),
	"VolumeCreate.Driver":            judged("volume.driver"),
	"VolumeCreate.DriverOpts":        judged("volume.host_path"), // and volume.network_fs
	"VolumeCreate.Labels":            harmless("metadata"),
	"VolumeCreate.Name":              harmless("the volume's name"),

	// network create
	"NetworkCreate.Driver":         judged("network.driver"),
	"NetworkCreate.Scope":          harmless("local or swarm; the driver decides what it can be"),
	"NetworkCreate.EnableIPv4":     harmless("addressing of the new network"),
	"NetworkCreate.EnableIPv6":     harmless("addressing of the new network"),
	"NetworkCreate.IPAM.Driver":    harmless("IPAM drivers other than the built-in ones are plugins, which only plugin.* actions install"),
	"NetworkCreate.IPAM.Options":   harmless("options of the IPAM driver, which only hands out addresses"),
	"NetworkCreate.IPAM.Config":    harmlessAll("subnets of the new network; one that overlaps the host's routes disturbs the host's networking (a denial of service, see docs/security.md), it gives no access"),
	"NetworkCreate.Internal":       harmless("cuts the network off from the outside"),
	"NetworkCreate.Attachable":     harmless("lets standalone containers join a swarm network they could name anyway"),
	"NetworkCreate.Ingress":        harmless("swarm's routing-mesh network; the manager keeps one, and removing it is network.remove"),
	"NetworkCreate.ConfigOnly":     judged("network.options"),
	"NetworkCreate.ConfigFrom":     judgedAll("network.config_from"),
	"NetworkCreate.Options":        judged("network.options"),
	"NetworkCreate.Labels":         harmless("metadata"),
	"NetworkCreate.Name":           harmless("the network's name"),
	"NetworkCreate.CheckDuplicate": harmless("deprecated; ignored"),

	// exec
	"Exec.User":         judged("exec.root"),
	"Exec.Privileged":   judged("exec.privileged"),
	"Exec.Tty":          harmless(inContainer),
	"Exec.ConsoleSize":  harmless(inContainer),
	"Exec.AttachStdin":  harmless("stream attachment of the caller's own session"),
	"Exec.AttachStderr": harmless("stream attachment of the caller's own session"),
	"Exec.AttachStdout": harmless("stream attachment of the caller's own session"),
	"Exec.DetachKeys":   harmless("the caller's own key sequence"),
	"Exec.Env":          harmless(inContainer),
	"Exec.WorkingDir":   harmless(inContainer),
	"Exec.Cmd":          judged("exec.command"),
	"Exec.Detach":       harmless("the caller's own session"),

	// container update
	"Update.CpuShares":            harmless(limitOnly),
	"Update.Memory":               judged("resources.memory"),
	"Update.NanoCpus":             judged("resources.cpu"),
	"Update.CgroupParent":         harmless(updateIgnores),
	"Update.BlkioWeight":          harmless(limitOnly),
	"Update.BlkioWeightDevice":    harmless(updateIgnores),
	"Update.BlkioDeviceReadBps":   harmless(updateIgnores),
	"Update.BlkioDeviceWriteBps":  harmless(updateIgnores),
	"Update.BlkioDeviceReadIOps":  harmless(updateIgnores),
	"Update.BlkioDeviceWriteIOps": harmless(updateIgnores),
	"Update.CpuPeriod":            judged("resources.cpu"),
	"Update.CpuQuota":             judged("resources.cpu"),
	"Update.CpuRealtimePeriod":    harmless("real-time CPU time comes out of the daemon's own real-time budget, which the daemon refuses to exceed"),
	"Update.CpuRealtimeRuntime":   harmless("real-time CPU time comes out of the daemon's own real-time budget, which the daemon refuses to exceed"),
	"Update.CpusetCpus":           harmless(limitOnly),
	"Update.CpusetMems":           harmless(limitOnly),
	"Update.Devices":              harmless(updateIgnores),
	"Update.DeviceCgroupRules":    harmless(updateIgnores),
	"Update.DeviceRequests":       harmless(updateIgnores),
	"Update.KernelMemory":         harmless(limitOnly + " (ignored on cgroup v2)"),
	"Update.KernelMemoryTCP":      harmless(updateIgnores),
	"Update.MemoryReservation":    harmless("a soft limit below Memory"),
	"Update.MemorySwap":           harmless("swap on top of the memory limit; RAM stays limited by Memory"),
	"Update.MemorySwappiness":     harmless(updateIgnores),
	"Update.OomKillDisable":       judged("resources.oom_kill_disable"),
	"Update.PidsLimit":            judged("resources.pids"),
	"Update.Ulimits":              harmless(updateIgnores),
	"Update.CpuCount":             harmless(notOnLinux),
	"Update.CpuPercent":           harmless(notOnLinux),
	"Update.IOMaximumIOps":        harmless(notOnLinux),
	"Update.IOMaximumBandwidth":   harmless(notOnLinux),
	"Update.RestartPolicy":        judgedAll("restart.policy"),
}
