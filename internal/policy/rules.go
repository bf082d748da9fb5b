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
		"target_name": cty.String, "target_id": cty.String,
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
	"regex":           regexFunc,
	"regexall":        regexAllFunc,
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
	name string
	// actions limits the rule to these actions (globs); nil: every
	// request. Checked before any expression is evaluated, so a rule
	// about container stops costs nothing on a ping.
	actions *globList
	when    hcl.Expression
	message hcl.Expression
}

// ruleNeeds is what a policy's rules read, so that evaluation builds only
// those variables: building every one on every request cost more than all
// the built-in controls together.
type ruleNeeds struct {
	roots map[string]bool            // request, user, create, exec
	all   map[string]bool            // roots used as a whole (or indexed)
	attrs map[string]map[string]bool // per root, the attributes read
}

func (n *ruleNeeds) add(expr hcl.Expression) {
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		n.roots[root] = true
		if len(tr) > 1 {
			if a, ok := tr[1].(hcl.TraverseAttr); ok {
				if n.attrs[root] == nil {
					n.attrs[root] = map[string]bool{}
				}
				n.attrs[root][a.Name] = true
				continue
			}
		}
		n.all[root] = true
	}
}

func needsOf(rules []*customRule) ruleNeeds {
	n := ruleNeeds{roots: map[string]bool{}, all: map[string]bool{}, attrs: map[string]map[string]bool{}}
	for _, r := range rules {
		n.add(r.when)
		n.add(r.message)
	}
	return n
}

// want reports whether the rules read attribute attr of root.
func (n *ruleNeeds) want(root, attr string) bool { return n.all[root] || n.attrs[root][attr] }

func (n *ruleNeeds) wantCreate(attr string) bool { return n.want("create", attr) }

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
		if r.Actions != nil {
			for i, a := range *r.Actions {
				l.checkActionPattern(r.Body, "actions", i, a)
			}
		}
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

// ruleSet is the compiled rules of a policy and its bases, and what they
// read.
type ruleSet struct {
	rules []*customRule
	needs ruleNeeds
}

// ruleSet collects the rules of own (a policy as written) and its bases;
// a rule in a policy replaces a base's rule of the same name. A policy
// without rules of its own shares its base's set.
func (cc *compiler) ruleSet(own *policyBlock) *ruleSet {
	if rs, ok := cc.ruleSets[own]; ok {
		return rs
	}
	var rs *ruleSet
	if len(own.Rules) == 0 && own.base != nil {
		rs = cc.ruleSet(own.base)
	} else {
		rules := cc.compileRules(own)
		rs = &ruleSet{rules: rules, needs: cc.sharedNeeds(needsOf(rules))}
	}
	cc.ruleSets[own] = rs
	return rs
}

// sharedNeeds returns the one ruleNeeds per content.
func (cc *compiler) sharedNeeds(n ruleNeeds) ruleNeeds {
	key := sortedKeys(n.roots)
	key = append(key, "")
	key = append(key, sortedKeys(n.all)...)
	key = append(key, "")
	for _, root := range sortedKeys(n.attrs) {
		for _, a := range sortedKeys(n.attrs[root]) {
			key = append(key, root+"."+a)
		}
	}
	return shared(cc, listKey("needs\x00", key), func() ruleNeeds { return n })
}

func (cc *compiler) compileRules(own *policyBlock) []*customRule {
	byName := map[string]*customRule{}
	var chain []*policyBlock
	for p := own; p != nil; p = p.base {
		chain = append(chain, p)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, r := range chain[i].Rules {
			cr, ok := cc.rules[r]
			if !ok {
				cr = &customRule{name: r.Name, when: foldConstants(r.When), message: foldConstants(r.Message)}
				if r.Actions != nil {
					cr.actions = cc.glob(r.Actions)
				}
				cc.rules[r] = cr
			}
			byName[r.Name] = cr
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
	return out
}

// customRules evaluates the policy's custom rules. A rule that cannot be
// evaluated is a violation: the request cannot be judged.
func (e *evaluator) customRules() {
	var ctx *hcl.EvalContext
	for _, r := range e.p.rules {
		if r.actions != nil && !r.actions.match(string(e.r.Action)) {
			continue
		}
		if ctx == nil {
			ctx = &hcl.EvalContext{Variables: e.ruleVars(), Functions: ruleFunctions}
		}
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
	r, n := e.r, &e.p.ruleNeeds
	vars := make(map[string]cty.Value, 4)
	// Only the attributes the rules read are built: a rule testing
	// request.target should not pay for the query map.
	if n.roots["request"] {
		vals := make(map[string]cty.Value, 6)
		str := func(attr, v string) {
			if n.want("request", attr) {
				vals[attr] = cty.StringVal(v)
			}
		}
		str("action", string(r.Action))
		str("method", r.Method)
		str("path", r.Path)
		str("target", r.Target)
		str("api_version", r.APIVersion)
		if n.want("request", "target_name") || n.want("request", "target_id") {
			name, id := e.targetNames()
			str("target_name", name)
			str("target_id", id)
		}
		if n.want("request", "query") {
			q := map[string]string{}
			for k, v := range r.Query {
				if len(v) > 0 {
					q[k] = v[0]
				}
			}
			vals["query"] = strmap(q)
		}
		vars["request"] = cty.ObjectVal(vals)
	}
	if n.roots["user"] {
		vals := make(map[string]cty.Value, 6)
		str := func(attr, v string) {
			if n.want("user", attr) {
				vals[attr] = cty.StringVal(v)
			}
		}
		str("name", e.id.User)
		str("team", e.team)
		str("authn", e.id.AuthNMethod)
		if n.want("user", "ous") {
			vals["ous"] = strs(e.id.OrganizationalUnits)
		}
		if n.want("user", "orgs") {
			vals["orgs"] = strs(e.id.Organizations)
		}
		if n.want("user", "authenticated") {
			vals["authenticated"] = cty.BoolVal(e.id.User != "")
		}
		vars["user"] = cty.ObjectVal(vals)
	}
	if n.roots["create"] {
		vars["create"] = createVal(e, n)
	}
	if n.roots["exec"] {
		ex := map[string]cty.Value{"present": cty.False, "user": cty.StringVal(""), "privileged": cty.False, "cmd": strs(nil)}
		if x := r.Exec; x != nil {
			ex = map[string]cty.Value{"present": cty.True, "user": cty.StringVal(x.User), "privileged": cty.BoolVal(x.Privileged), "cmd": strs(x.Cmd)}
		}
		vars["exec"] = cty.ObjectVal(ex)
	}
	return vars
}

// createVal builds the create object with the attributes n wants (all of
// them when the rules use the object as a whole).
func createVal(e *evaluator, n *ruleNeeds) cty.Value {
	vals := map[string]cty.Value{}
	for k, t := range createType.AttributeTypes() {
		if !n.wantCreate(k) {
			continue
		}
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
	set := func(k string, f func() cty.Value) {
		if n.wantCreate(k) {
			vals[k] = f()
		}
	}
	set("present", func() cty.Value { return cty.True })
	set("name", func() cty.Value { return cty.StringVal(cc.Name) })
	set("image", func() cty.Value { return cty.StringVal(cfg.Image) })
	set("user", func() cty.Value { return cty.StringVal(cfg.User) })
	set("privileged", func() cty.Value { return cty.BoolVal(hc.Privileged) })
	set("read_only_rootfs", func() cty.Value { return cty.BoolVal(hc.ReadonlyRootfs) })
	set("cap_add", func() cty.Value { return strs(hc.CapAdd) })
	set("cap_drop", func() cty.Value { return strs(hc.CapDrop) })
	set("security_opt", func() cty.Value { return strs(hc.SecurityOpt) })
	set("binds", func() cty.Value { return strs(hc.Binds) })
	set("mount_sources", func() cty.Value {
		var out []string
		for _, m := range hc.Mounts {
			out = append(out, m.Source)
		}
		return strs(out)
	})
	set("mount_types", func() cty.Value {
		var out []string
		for _, m := range hc.Mounts {
			out = append(out, string(m.Type))
		}
		return strs(out)
	})
	set("network_mode", func() cty.Value { return cty.StringVal(string(hc.NetworkMode)) })
	set("networks", func() cty.Value {
		var out []string
		for name := range cc.NetworkingConfig.EndpointsConfig {
			out = append(out, name)
		}
		sort.Strings(out)
		return strs(out)
	})
	set("pid_mode", func() cty.Value { return cty.StringVal(string(hc.PidMode)) })
	set("ipc_mode", func() cty.Value { return cty.StringVal(string(hc.IpcMode)) })
	set("uts_mode", func() cty.Value { return cty.StringVal(string(hc.UTSMode)) })
	set("userns_mode", func() cty.Value { return cty.StringVal(string(hc.UsernsMode)) })
	set("cgroupns_mode", func() cty.Value { return cty.StringVal(string(hc.CgroupnsMode)) })
	set("labels", func() cty.Value { return strmap(cfg.Labels) })
	set("env_names", func() cty.Value {
		out := make([]string, 0, len(cfg.Env))
		for _, env := range cfg.Env {
			k, _, _ := strings.Cut(env, "=")
			out = append(out, k)
		}
		return strs(out)
	})
	set("cmd", func() cty.Value { return strs(cfg.Cmd) })
	set("entrypoint", func() cty.Value { return strs(cfg.Entrypoint) })
	set("sysctls", func() cty.Value { return strmap(hc.Sysctls) })
	set("devices", func() cty.Value {
		var out []string
		for _, d := range hc.Devices {
			out = append(out, d.PathOnHost)
		}
		return strs(out)
	})
	set("log_driver", func() cty.Value { return cty.StringVal(hc.LogConfig.Type) })
	set("runtime", func() cty.Value { return cty.StringVal(hc.Runtime) })
	set("memory", func() cty.Value { return cty.NumberIntVal(hc.Memory) })
	set("nano_cpus", func() cty.Value {
		return cty.NumberIntVal(effectiveNanoCPUs(hc.NanoCPUs, hc.CPUQuota, hc.CPUPeriod))
	})
	set("pids_limit", func() cty.Value {
		if hc.PidsLimit == nil {
			return cty.Zero
		}
		return cty.NumberIntVal(*hc.PidsLimit)
	})
	set("restart_policy", func() cty.Value { return cty.StringVal(string(hc.RestartPolicy.Name)) })
	set("ports", func() cty.Value {
		var out []string
		for p, bs := range hc.PortBindings {
			for _, b := range bs {
				out = append(out, b.HostIP+":"+b.HostPort+":"+string(p))
			}
		}
		sort.Strings(out)
		return strs(out)
	})
	return cty.ObjectVal(vals)
}
