package policy

import (
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/go-connections/nat"

	"github.com/portcullis/portcullis/internal/request"
)

// service judges a service spec: its container spec with the same checks
// as container create, and plugin tasks (Runtime "plugin"), which install
// a plugin on every node and are allowed only with plugin.pull.
// ruleServiceRollback is the rule that denies a request making the daemon
// apply a service's previous spec (?rollback=previous, or an update whose
// FailureAction is rollback) when the policy does not allow the action
// service.rollback. It is the one rule id that is also an action name, on
// purpose: it fires exactly when that action, which the request implies,
// is not allowed, and records and docs/policy.md name it so. It is a rule
// id, not an action: action code uses request.ActionServiceRollback.
const ruleServiceRollback = "service.rollback"

func (e *evaluator) service() {
	s := e.r.ServiceSpec
	if s == nil {
		e.add(request.CodeBodyMissing, "body", string(e.r.Action)+" has no body to judge")
		return
	}
	tt := &s.TaskTemplate
	if (tt.Runtime == swarm.RuntimePlugin || tt.PluginSpec != nil) && !e.p.allowed.has(request.ActionPluginPull) {
		e.add("service.plugin", "TaskTemplate.PluginSpec", "services that install plugins are not allowed")
	}
	// FailureAction "rollback" makes the daemon apply the previous spec by
	// itself when an update fails (swarmkit orchestrator/update/updater.go).
	if u := s.UpdateConfig; u != nil && u.FailureAction == swarm.UpdateFailureActionRollback && !e.p.allowed.has(request.ActionServiceRollback) {
		e.add(ruleServiceRollback, "UpdateConfig.FailureAction", "an automatic rollback applies the service's previous spec, which is not in the request and so cannot be judged")
	}
	cs := tt.ContainerSpec
	if cs == nil {
		return
	}
	cc := serviceAsCreate(s)
	e.container(cc, serviceFields)
	if rp := tt.RestartPolicy; rp != nil && rp.MaxAttempts != nil {
		c := e.p.c
		if ctlRestartMaxRetries.of(c) >= 0 && int64(*rp.MaxAttempts) > ctlRestartMaxRetries.of(c) {
			e.add("restart.max_retries", "TaskTemplate.RestartPolicy.MaxAttempts", "restart attempts exceed the maximum")
		}
	}
}

// serviceAsCreate expresses a service's container spec as the container
// create body the daemon's executor would build from it.
func serviceAsCreate(s *swarm.ServiceSpec) *request.ContainerCreate {
	tt := &s.TaskTemplate
	cs := tt.ContainerSpec
	cfg := &container.Config{Image: cs.Image, User: cs.User}
	if len(s.Labels) > 0 || len(cs.Labels) > 0 {
		cfg.Labels = map[string]string{}
		for k, v := range s.Labels {
			cfg.Labels[k] = v
		}
		for k, v := range cs.Labels {
			cfg.Labels[k] = v
		}
	}
	hc := &container.HostConfig{
		ReadonlyRootfs: cs.ReadOnly,
		Mounts:         cs.Mounts,
		Sysctls:        cs.Sysctls,
		CapAdd:         cs.CapabilityAdd,
		CapDrop:        cs.CapabilityDrop,
		OomScoreAdj:    int(cs.OomScoreAdj),
	}
	hc.Ulimits = cs.Ulimits
	hc.GroupAdd = cs.Groups
	if p := cs.Privileges; p != nil {
		if p.NoNewPrivileges {
			hc.SecurityOpt = append(hc.SecurityOpt, "no-new-privileges")
		}
		if p.Seccomp != nil {
			switch p.Seccomp.Mode {
			case swarm.SeccompModeUnconfined:
				hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined")
			case swarm.SeccompModeCustom:
				hc.SecurityOpt = append(hc.SecurityOpt, "seccomp="+string(p.Seccomp.Profile))
			}
		}
		if p.AppArmor != nil && p.AppArmor.Mode == swarm.AppArmorModeDisabled {
			hc.SecurityOpt = append(hc.SecurityOpt, "apparmor=unconfined")
		}
		if se := p.SELinuxContext; se != nil {
			if se.Disable {
				hc.SecurityOpt = append(hc.SecurityOpt, "label=disable")
			}
			// As the executor does (daemon/cluster/executor/container/container.go).
			if se.User != "" {
				hc.SecurityOpt = append(hc.SecurityOpt, "label=user:"+se.User)
			}
			if se.Role != "" {
				hc.SecurityOpt = append(hc.SecurityOpt, "label=role:"+se.Role)
			}
			if se.Level != "" {
				hc.SecurityOpt = append(hc.SecurityOpt, "label=level:"+se.Level)
			}
			if se.Type != "" {
				hc.SecurityOpt = append(hc.SecurityOpt, "label=type:"+se.Type)
			}
		}
	}
	if r := tt.Resources; r != nil && r.Limits != nil {
		hc.Memory = r.Limits.MemoryBytes
		hc.NanoCPUs = r.Limits.NanoCPUs
		if r.Limits.Pids != 0 {
			pids := r.Limits.Pids
			hc.PidsLimit = &pids
		}
	}
	if tt.LogDriver != nil {
		hc.LogConfig = container.LogConfig{Type: tt.LogDriver.Name, Config: tt.LogDriver.Options}
	}
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
	hc.NetworkMode = "default"
	for _, n := range tt.Networks {
		nc.EndpointsConfig[n.Target] = &network.EndpointSettings{DriverOpts: n.DriverOpts}
	}
	for _, n := range s.Networks { //nolint:staticcheck // deprecated but still honoured by the daemon
		nc.EndpointsConfig[n.Target] = &network.EndpointSettings{DriverOpts: n.DriverOpts}
	}
	if s.EndpointSpec != nil {
		for _, p := range s.EndpointSpec.Ports {
			if p.PublishedPort == 0 {
				continue
			}
			port := nat.Port(strconv.Itoa(int(p.TargetPort)) + "/" + string(p.Protocol))
			if hc.PortBindings == nil {
				hc.PortBindings = nat.PortMap{}
			}
			hc.PortBindings[port] = append(hc.PortBindings[port], nat.PortBinding{HostPort: strconv.Itoa(int(p.PublishedPort))})
		}
	}
	return &request.ContainerCreate{Config: cfg, HostConfig: hc, NetworkingConfig: nc}
}
