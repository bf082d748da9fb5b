package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"

	"github.com/portcullis/portcullis/internal/audit"
	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/internal/request"
)

// recordedDecision is the part of an audit decision record that eval
// --decision reads.
type recordedDecision struct {
	Type           string `json:"type"`
	ID             string `json:"id"`
	Phase          string `json:"phase"`
	Decision       string `json:"decision"`
	Policy         string `json:"policy"`
	PolicyRevision string `json:"policy_revision"`
	Identity       *struct {
		User        string `json:"user"`
		AuthNMethod string `json:"authn_method"`
		CertSubject string `json:"cert_subject"`
	} `json:"identity"`
	Action  string         `json:"action"`
	Method  string         `json:"method"`
	URI     string         `json:"uri"`
	Summary *audit.Summary `json:"summary"`
}

// findDecision reads the audit file for the request-phase decision
// record with id.
func findDecision(path, id string) (*recordedDecision, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), id) {
			continue
		}
		var r recordedDecision
		if err := json.Unmarshal(line, &r); err != nil {
			continue // a torn line; the record may be elsewhere
		}
		if r.Type == "decision" && r.ID == id && r.Phase != "response" {
			return &r, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no decision %s in %s", id, path)
}

// envelope rebuilds the request from the record: the method, the
// (sanitised) URI, the identity and a body made of what the summary
// holds. Settings the summary does not record (resources, sysctls,
// restart policy, log options, propagation, ...) are absent from the
// rebuilt body, and masked values read "***"; notes says which.
func (r *recordedDecision) envelope() (env *plugin.Envelope, notes []string, err error) {
	env = &plugin.Envelope{RequestMethod: r.Method, RequestURI: r.URI}
	if r.Identity != nil && r.Identity.User != "" {
		id := &request.Identity{User: r.Identity.User, AuthNMethod: r.Identity.AuthNMethod, CommonName: r.Identity.User}
		for _, part := range strings.Split(r.Identity.CertSubject, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "OU":
				id.OrganizationalUnits = append(id.OrganizationalUnits, v)
			case "O":
				id.Organizations = append(id.Organizations, v)
			}
		}
		env.User, env.UserAuthNMethod, env.Identity = id.User, id.AuthNMethod, id
	}
	if strings.Contains(r.URI, audit.Mask) {
		notes = append(notes, "the recorded URI has masked values")
	}
	s := r.Summary
	var body any
	switch request.Action(r.Action) {
	case request.ActionContainerCreate:
		if s == nil {
			return nil, nil, fmt.Errorf("decision %s has no summary to rebuild the container from", r.ID)
		}
		body = createFromSummary(s)
		notes = append(notes, "rebuilt from the record's summary: resources, sysctls, restart policy, log options, mount propagation, ulimits and runtime are not recorded and are judged as unset")
	case request.ActionContainerExec:
		if s == nil || s.Exec == nil {
			return nil, nil, fmt.Errorf("decision %s has no exec summary", r.ID)
		}
		body = map[string]any{"User": s.Exec.User, "Privileged": s.Exec.Privileged, "Cmd": s.Exec.Cmd}
	case request.ActionVolumeCreate:
		if s == nil {
			s = &audit.Summary{}
		}
		body = map[string]any{"Driver": s.Driver, "DriverOpts": s.DriverOpts}
	case request.ActionNetworkCreate:
		if s == nil {
			s = &audit.Summary{}
		}
		body = map[string]any{"Driver": s.Driver}
	case request.ActionServiceCreate, request.ActionServiceUpdate, request.ActionContainerUpdate, request.ActionPluginPull, request.ActionPluginUpgrade, request.ActionPluginSet, request.ActionSwarmInit, request.ActionSwarmJoin, request.ActionSwarmUpdate, request.ActionSecretCreate, request.ActionConfigCreate, request.ActionNodeUpdate, request.ActionImageBuild:
		return nil, nil, fmt.Errorf("decision %s (%s): the audit record does not hold the request body, so it cannot be judged again; use eval with the request itself", r.ID, r.Action)
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		env.RequestBody = b
		env.RequestHeaders = map[string]string{"Content-Type": "application/json"}
	}
	if s != nil && len(s.Masked) > 0 {
		notes = append(notes, "masked values read \"***\"")
	}
	return env, notes, nil
}

func createFromSummary(s *audit.Summary) map[string]any {
	hc := &container.HostConfig{
		Privileged:      s.Privileged,
		CapAdd:          s.CapAdd,
		CapDrop:         s.CapDrop,
		SecurityOpt:     s.SecurityOpt,
		NetworkMode:     container.NetworkMode(s.NetworkMode),
		VolumesFrom:     s.VolumesFrom,
		PublishAllPorts: s.PublishAll,
		ReadonlyRootfs:  s.ReadOnlyRootfs,
		LogConfig:       container.LogConfig{Type: s.LogDriver},
	}
	hc.DeviceCgroupRules = s.DeviceCgroup
	if ns := s.Namespaces; ns != nil {
		// The summary names every namespace; only the shared ones are
		// settings ("private" and the like are the defaults).
		keep := func(v string) string {
			if v == "host" || strings.HasPrefix(v, "container:") {
				return v
			}
			return ""
		}
		hc.PidMode = container.PidMode(keep(ns.PID))
		hc.IpcMode = container.IpcMode(keep(ns.IPC))
		hc.UTSMode = container.UTSMode(keep(ns.UTS))
		hc.UsernsMode = container.UsernsMode(keep(ns.UserNS))
		hc.CgroupnsMode = container.CgroupnsMode(keep(ns.CgroupNS))
	}
	for _, m := range s.Mounts {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	for _, d := range s.Devices {
		hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: d.Host, PathInContainer: d.Container, CgroupPermissions: d.Permissions})
	}
	for _, p := range s.Ports {
		if p.HostPort == "" && p.HostIP == "" {
			continue
		}
		if hc.PortBindings == nil {
			hc.PortBindings = nat.PortMap{}
		}
		port := nat.Port(p.ContainerPort)
		hc.PortBindings[port] = append(hc.PortBindings[port], nat.PortBinding{HostIP: p.HostIP, HostPort: p.HostPort})
	}
	return map[string]any{"Image": s.Image, "User": s.User, "Env": s.Env, "Labels": s.Labels, "HostConfig": hc}
}

// printRedecision prints the recorded decision beside the new one.
func printRedecision(w io.Writer, r *recordedDecision, notes []string) {
	fmt.Fprintf(w, "recorded: %s by policy %q (revision %s), decision %s\n", r.Decision, r.Policy, short(strings.TrimPrefix(r.PolicyRevision, "sha256:")), r.ID)
	for _, n := range notes {
		fmt.Fprintf(w, "note:     %s\n", n)
	}
}
