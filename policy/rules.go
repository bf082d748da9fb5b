package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Custom rules:
//
//	rule "no-debug-images" {
//	  when    = startswith(create.image, "debug/")
//	  message = "debug images are for laptops"
//	}
//
// when is a boolean expression over the variables below; when it is true
// the request breaks the rule (rule id "rule.<name>"). message is a
// string expression over the same variables. Both are type-checked at
// load time against unknown values of the right type, so a misspelt
// attribute fails to load.

var (
	strList = cty.List(cty.String)
	strMap  = cty.Map(cty.String)

	requestType = cty.Object(map[string]cty.Type{
		"action": cty.String, "method": cty.String, "path": cty.String,
		"query": strMap, "target": cty.String, "api_version": cty.String,
	})
	userType = cty.Object(map[string]cty.Type{
		"name": cty.String, "team": cty.String, "ous": strList, "orgs": strList,
		"authn": cty.String, "authenticated": cty.Bool,
	})
	createType = cty.Object(map[string]cty.Type{
		"present": cty.Bool, "name": cty.String, "image": cty.String, "user": cty.String,
		"privileged": cty.Bool, "read_only_rootfs": cty.Bool,
		"cap_add": strList, "cap_drop": strList, "security_opt": strList,
		"binds": strList, "mount_sources": strList, "mount_types": strList,
		"network_mode": cty.String, "networks": strList,
		"pid_mode": cty.String, "ipc_mode": cty.String, "uts_mode": cty.String,
		"userns_mode": cty.String, "cgroupns_mode": cty.String,
		"labels": strMap, "env_names": strList, "cmd": strList, "entrypoint": strList,
		"sysctls": strMap, "devices": strList, "log_driver": cty.String,
		"runtime": cty.String, "memory": cty.Number, "nano_cpus": cty.Number, "pids_limit": cty.Number,
		"restart_policy": cty.String, "ports": strList,
	})
	execType = cty.Object(map[string]cty.Type{
		"present": cty.Bool, "user": cty.String, "privileged": cty.Bool, "cmd": strList,
	})
)

// ruleFunctions is the allow-list of functions rules may call: pure,
// deterministic, no files, environment or clocks.
var ruleFunctions = map[string]function.Function{
	"contains":        stdlib.ContainsFunc,
	"length":          stdlib.LengthFunc,
	"lower":           stdlib.LowerFunc,
	"upper":           stdlib.UpperFunc,
	"keys":            stdlib.KeysFunc,
	"values":          stdlib.ValuesFunc,
	"lookup":          stdlib.LookupFunc,
	"regex":           stdlib.RegexFunc,
	"regexall":        stdlib.RegexAllFunc,
	"join":            stdlib.JoinFunc,
	"split":           stdlib.SplitFunc,
	"concat":          stdlib.ConcatFunc,
	"distinct":        stdlib.DistinctFunc,
	"setintersection": stdlib.SetIntersectionFunc,
	"trimprefix":      stdlib.TrimPrefixFunc,
	"trimsuffix":      stdlib.TrimSuffixFunc,
	"replace":         stdlib.ReplaceFunc,
	"substr":          stdlib.SubstrFunc,
	"min":             stdlib.MinFunc,
	"max":             stdlib.MaxFunc,
	"coalesce":        stdlib.CoalesceFunc,
	"startswith":      startsWithFunc,
	"endswith":        endsWithFunc,
	"glob":            globFunc,
}

func strPredicate(f func(a, b string) bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "s", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

var (
	startsWithFunc = strPredicate(strings.HasPrefix)
	endsWithFunc   = strPredicate(strings.HasSuffix)
	// glob(pattern, s) matches s against a policy glob (*, **, ?).
	globFunc = strPredicate(globMatch)
)

type customRule struct {
	name    string
	when    hcl.Expression
	message hcl.Expression
}

func ruleVarsUnknown() map[string]cty.Value {
	return map[string]cty.Value{
		"request": cty.UnknownVal(requestType),
		"user":    cty.UnknownVal(userType),
		"create":  cty.UnknownVal(createType),
		"exec":    cty.UnknownVal(execType),
	}
}

// checkRules type-checks a policy's own rules and reports duplicates.
func (l *loader) checkRules(p *policyBlock) {
	seen := map[string]*ruleBlock{}
	ctx := &hcl.EvalContext{Variables: ruleVarsUnknown(), Functions: ruleFunctions}
	for _, r := range p.Rules {
		if prev, ok := seen[r.Name]; ok {
			l.errorf(r.DeclRange.Ptr(), "Duplicate rule", "A rule named %q was already defined in policy %q; previous definition was at %s.", r.Name, p.Name, at(prev.DeclRange))
			continue
		}
		seen[r.Name] = r
		v, d := r.When.Value(ctx)
		l.diags = append(l.diags, d...)
		if !d.HasErrors() && !v.Type().Equals(cty.Bool) && v.Type() != cty.DynamicPseudoType {
			rng := r.When.Range()
			l.errorf(&rng, "Rule condition is not a boolean", "when must be true or false, but this expression is %s.", v.Type().FriendlyName())
		}
		m, d := r.Message.Value(ctx)
		l.diags = append(l.diags, d...)
		if !d.HasErrors() && !m.Type().Equals(cty.String) && m.Type() != cty.DynamicPseudoType {
			rng := r.Message.Range()
			l.errorf(&rng, "Rule message is not a string", "message must be a string, but this expression is %s.", m.Type().FriendlyName())
		}
	}
}

// compileRules collects the rules of a policy and its bases; a rule in a
// policy replaces a base's rule of the same name.
func compileRules(e *policyBlock) ([]*customRule, hcl.Diagnostics) {
	byName := map[string]*customRule{}
	// e is merged, so walk the original chain through the first policy.
	var chain []*policyBlock
	for p := e.self; p != nil; p = p.base {
		chain = append(chain, p)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, r := range chain[i].Rules {
			byName[r.Name] = &customRule{name: r.Name, when: r.When, message: r.Message}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*customRule, 0, len(names))
	for _, n := range names {
		out = append(out, byName[n])
	}
	return out, nil
}

// customRules evaluates the policy's custom rules. A rule that cannot be
// evaluated is a violation: the request cannot be judged.
func (e *evaluator) customRules() {
	ctx := &hcl.EvalContext{Variables: e.ruleVars(), Functions: ruleFunctions}
	for _, r := range e.p.rules {
		id := "rule." + r.name
		v, d := r.when.Value(ctx)
		if d.HasErrors() || !v.IsKnown() || v.IsNull() || !v.Type().Equals(cty.Bool) {
			e.add(id, "", fmt.Sprintf("rule %q could not be evaluated: %s", r.name, strings.TrimSpace(d.Error())))
			continue
		}
		if v.False() {
			continue
		}
		msg := "custom rule " + r.name
		if m, d := r.message.Value(ctx); !d.HasErrors() && m.IsKnown() && !m.IsNull() && m.Type().Equals(cty.String) {
			msg = m.AsString()
		}
		e.add(id, "", msg)
	}
}

func strs(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

func strmap(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vals := make(map[string]cty.Value, len(m))
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals)
}

func (e *evaluator) ruleVars() map[string]cty.Value {
	r := e.r
	q := map[string]string{}
	for k, v := range r.Query {
		if len(v) > 0 {
			q[k] = v[0]
		}
	}
	vars := map[string]cty.Value{
		"request": cty.ObjectVal(map[string]cty.Value{
			"action": cty.StringVal(string(r.Action)), "method": cty.StringVal(r.Method),
			"path": cty.StringVal(r.Path), "query": strmap(q), "target": cty.StringVal(r.Target),
			"api_version": cty.StringVal(r.APIVersion),
		}),
		"user": cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal(e.id.User), "team": cty.StringVal(e.team),
			"ous": strs(e.id.OrganizationalUnits), "orgs": strs(e.id.Organizations),
			"authn": cty.StringVal(e.id.AuthNMethod), "authenticated": cty.BoolVal(e.id.User != ""),
		}),
	}
	vars["create"] = createVal(e)
	ex := map[string]cty.Value{"present": cty.False, "user": cty.StringVal(""), "privileged": cty.False, "cmd": strs(nil)}
	if x := r.Exec; x != nil {
		ex = map[string]cty.Value{"present": cty.True, "user": cty.StringVal(x.User), "privileged": cty.BoolVal(x.Privileged), "cmd": strs(x.Cmd)}
	}
	vars["exec"] = cty.ObjectVal(ex)
	return vars
}

func createVal(e *evaluator) cty.Value {
	vals := map[string]cty.Value{}
	for k, t := range createType.AttributeTypes() {
		switch {
		case t == cty.String:
			vals[k] = cty.StringVal("")
		case t == cty.Bool:
			vals[k] = cty.False
		case t == cty.Number:
			vals[k] = cty.Zero
		case t.IsListType():
			vals[k] = cty.ListValEmpty(cty.String)
		case t.IsMapType():
			vals[k] = cty.MapValEmpty(cty.String)
		}
	}
	cc := e.r.ContainerCreate
	if cc == nil && e.r.ServiceSpec != nil && e.r.ServiceSpec.TaskTemplate.ContainerSpec != nil {
		cc = serviceAsCreate(e.r.ServiceSpec)
	}
	if cc == nil {
		return cty.ObjectVal(vals)
	}
	cfg, hc := cc.Config, cc.HostConfig
	var mountSrc, mountTypes, networks, envNames, devices, ports []string
	for _, m := range hc.Mounts {
		mountSrc = append(mountSrc, m.Source)
		mountTypes = append(mountTypes, string(m.Type))
	}
	for n := range cc.NetworkingConfig.EndpointsConfig {
		networks = append(networks, n)
	}
	sort.Strings(networks)
	for _, env := range cfg.Env {
		k, _, _ := strings.Cut(env, "=")
		envNames = append(envNames, k)
	}
	for _, d := range hc.Devices {
		devices = append(devices, d.PathOnHost)
	}
	for p, bs := range hc.PortBindings {
		for _, b := range bs {
			ports = append(ports, b.HostIP+":"+b.HostPort+":"+string(p))
		}
	}
	sort.Strings(ports)
	var pids int64
	if hc.PidsLimit != nil {
		pids = *hc.PidsLimit
	}
	vals["present"] = cty.True
	vals["name"] = cty.StringVal(cc.Name)
	vals["image"] = cty.StringVal(cfg.Image)
	vals["user"] = cty.StringVal(cfg.User)
	vals["privileged"] = cty.BoolVal(hc.Privileged)
	vals["read_only_rootfs"] = cty.BoolVal(hc.ReadonlyRootfs)
	vals["cap_add"] = strs(hc.CapAdd)
	vals["cap_drop"] = strs(hc.CapDrop)
	vals["security_opt"] = strs(hc.SecurityOpt)
	vals["binds"] = strs(hc.Binds)
	vals["mount_sources"] = strs(mountSrc)
	vals["mount_types"] = strs(mountTypes)
	vals["network_mode"] = cty.StringVal(string(hc.NetworkMode))
	vals["networks"] = strs(networks)
	vals["pid_mode"] = cty.StringVal(string(hc.PidMode))
	vals["ipc_mode"] = cty.StringVal(string(hc.IpcMode))
	vals["uts_mode"] = cty.StringVal(string(hc.UTSMode))
	vals["userns_mode"] = cty.StringVal(string(hc.UsernsMode))
	vals["cgroupns_mode"] = cty.StringVal(string(hc.CgroupnsMode))
	vals["labels"] = strmap(cfg.Labels)
	vals["env_names"] = strs(envNames)
	vals["cmd"] = strs(cfg.Cmd)
	vals["entrypoint"] = strs(cfg.Entrypoint)
	vals["sysctls"] = strmap(hc.Sysctls)
	vals["devices"] = strs(devices)
	vals["log_driver"] = cty.StringVal(hc.LogConfig.Type)
	vals["runtime"] = cty.StringVal(hc.Runtime)
	vals["memory"] = cty.NumberIntVal(hc.Memory)
	vals["nano_cpus"] = cty.NumberIntVal(effectiveNanoCPUs(hc.NanoCPUs, hc.CPUQuota, hc.CPUPeriod))
	vals["pids_limit"] = cty.NumberIntVal(pids)
	vals["restart_policy"] = cty.StringVal(string(hc.RestartPolicy.Name))
	vals["ports"] = strs(ports)
	return cty.ObjectVal(vals)
}
