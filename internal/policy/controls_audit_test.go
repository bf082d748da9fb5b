package policy_test

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/portcullis/portcullis/internal/audit/describe"
	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

// notInAuditSummary are the create fields container controls judge that
// the audit record's request summary (internal/audit, Summary) does not
// describe. The record still names the field in the violation when one is
// denied for it; a field judged and not summarised is a choice made here.
var notInAuditSummary = map[string]bool{
	"HostConfig.MaskedPaths": true, "HostConfig.ReadonlyPaths": true,
	"HostConfig.Cgroup": true, "HostConfig.CgroupParent": true,
	"HostConfig.VolumeDriver": true, "HostConfig.Links": true, "HostConfig.Annotations": true,
	"HostConfig.Tmpfs": true, "HostConfig.DeviceRequests": true,
	"NetworkingConfig.EndpointsConfig": true,
	"HostConfig.Memory":                true, "HostConfig.NanoCpus": true, "HostConfig.CpuQuota": true, "HostConfig.CpuPeriod": true,
	"HostConfig.PidsLimit": true, "HostConfig.OomKillDisable": true, "HostConfig.OomScoreAdj": true,
	"HostConfig.Ulimits": true, "HostConfig.Sysctls": true, "HostConfig.Runtime": true, "HostConfig.RestartPolicy": true,
}

// TestAuditSummaryCoversControls checks the audit summary against the
// declarations: each create field a control reads is described by
// describe.Summarize (setting it changes the summary) or listed in
// notInAuditSummary, and nothing listed there is described.
func TestAuditSummaryCoversControls(t *testing.T) {
	base := describe.Summarize(&request.Request{Action: "container.create", ContainerCreate: &request.ContainerCreate{
		Config: &container.Config{Image: "x"}, HostConfig: &container.HostConfig{}, NetworkingConfig: &network.NetworkingConfig{},
	}})
	seen := map[string]bool{}
	var fields []string
	for _, fs := range policy.ControlFields() {
		for _, f := range fs {
			if !seen[f] {
				seen[f] = true
				fields = append(fields, f)
			}
		}
	}
	sort.Strings(fields)
	for _, f := range fields {
		cc := &request.ContainerCreate{Config: &container.Config{Image: "x"}, HostConfig: &container.HostConfig{}, NetworkingConfig: &network.NetworkingConfig{}}
		if !setPath(reflect.ValueOf(cc).Elem(), strings.Split(f, ".")) {
			t.Errorf("%s: no such field of a container create body", f)
			continue
		}
		got := describe.Summarize(&request.Request{Action: "container.create", ContainerCreate: cc})
		described := !reflect.DeepEqual(got, base)
		switch {
		case !described && !notInAuditSummary[f]:
			t.Errorf("a container control judges %s, which the audit summary does not describe: describe it in internal/audit's Summary or list it in notInAuditSummary", f)
		case described && notInAuditSummary[f]:
			t.Errorf("the audit summary describes %s; remove it from notInAuditSummary", f)
		}
	}
	for f := range notInAuditSummary {
		if !seen[f] {
			t.Errorf("notInAuditSummary lists %s, which no control reads", f)
		}
	}
}

// setPath gives the field at path below v a non-zero value.
func setPath(v reflect.Value, path []string) bool {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if len(path) == 0 {
		fill(v, 3)
		return true
	}
	if v.Kind() != reflect.Struct {
		return false
	}
	// By the JSON name, which differs from Go's in case (NanoCpus).
	f := v.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, path[0]) })
	return f.IsValid() && setPath(f, path[1:])
}

// fill sets v to a non-zero value.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth)
		fill(e, depth)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		if depth == 0 {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth-1)
			}
		}
	}
}
