package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/portcullis/portcullis/internal/request"
)

// DefaultPolicy is the policy for users in no team and for
// unauthenticated requests. A Set without it does not load.
const DefaultPolicy = "default"

// Option configures loading.
type Option func(*options)

type options struct {
	resolve     func(string) (string, error)
	isSocket    func(string) (bool, error)
	facts       func() HostFacts
	resolveHost func(string) ([]netip.Addr, error)
}

// HostFacts is what Portcullis knows about the daemon it guards and the
// host it runs on, learnt outside the policy files (see
// internal/hostfacts).
type HostFacts struct {
	// UsernsRemap: the daemon runs containers in a user namespace
	// (userns-remap), so root in a container is an unprivileged user on
	// the host, unless the container asks for --userns=host.
	UsernsRemap bool
	// Sockets are host paths of sockets no container may bind, nor a
	// directory holding them: the daemon's API sockets, containerd's,
	// Portcullis's own. They add to each policy's docker_sockets.
	Sockets []string
}

// WithHostFacts sets the function evaluation calls when it judges a host
// path. It must be cheap (a cached value) and safe for concurrent use.
// Without it: no user remapping and no sockets beyond docker_sockets.
func WithHostFacts(f func() HostFacts) Option {
	return func(o *options) { o.facts = f }
}

// WithSocketCheck sets the function evaluation calls on every resolved
// host path to learn whether it is a Unix socket (false, nil for a path
// that does not exist). An error makes the mount a violation. Without it
// only the known sockets are recognised.
func WithSocketCheck(f func(path string) (bool, error)) Option {
	return func(o *options) { o.isSocket = f }
}

// WithHostResolver sets the function evaluation calls to resolve a host
// name the daemon would fetch from (image import URLs, remote build
// contexts, plugin registries). Names that resolve to loopback,
// link-local, private or unspecified addresses are denied; an error is a
// violation. Without it, such names are denied unless images.fetch_hosts
// lists them.
func WithHostResolver(f func(host string) ([]netip.Addr, error)) Option {
	return func(o *options) { o.resolveHost = f }
}

// WithPathResolver sets the function evaluation calls on every host path
// (bind sources, volume device paths) to resolve symlinks against the host
// filesystem. An error from it makes the mount a violation
// ("mounts.unresolvable"). Without it, paths are cleaned lexically and
// /var/run is read as /run.
func WithPathResolver(f func(path string) (string, error)) Option {
	return func(o *options) { o.resolve = f }
}

// LoadDir compiles every *.hcl file under dir (recursively, in sorted
// order) into a Set. Files ending in _test.hcl are policy tests (see
// RunTests) and are skipped, as are directories named testdata or
// starting with "." (a Kubernetes volume's ..data and its timestamped
// targets: the files beside them are symlinks into them). dir may be a
// symlink. The revision hashes each file's path relative to dir and its
// contents, so any spelling of dir gives the same revision. Any error
// diagnostic means a nil Set; files holds the parsed files for
// WriteDiagnostics.
func LoadDir(dir string, opts ...Option) (*Set, map[string]*hcl.File, hcl.Diagnostics) {
	rels, err := policyFiles(dir)
	if err != nil {
		return nil, map[string]*hcl.File{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read policy directory",
			Detail:   err.Error(),
		}}
	}
	paths := make([]string, len(rels))
	for i, r := range rels {
		paths[i] = filepath.Join(dir, r)
	}
	return loadPaths(paths, rels, opts...)
}

// policyFiles lists the policy files under dir, following dir itself
// when it is a symlink, as slash-separated paths relative to it.
func policyFiles(dir string) ([]string, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	var rels []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".hcl") && !strings.HasSuffix(p, "_test.hcl") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rels = append(rels, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(rels)
	return rels, err
}

// LoadFiles compiles the given policy files into a Set. The revision
// hashes each file's base name and contents.
func LoadFiles(paths []string, opts ...Option) (*Set, map[string]*hcl.File, hcl.Diagnostics) {
	rels := make([]string, len(paths))
	for i, p := range paths {
		rels[i] = filepath.Base(p)
	}
	return loadPaths(paths, rels, opts...)
}

func loadPaths(paths, rels []string, opts ...Option) (*Set, map[string]*hcl.File, hcl.Diagnostics) {
	srcs := make([]source, 0, len(paths))
	var diags hcl.Diagnostics
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read policy file", Detail: err.Error()})
			continue
		}
		srcs = append(srcs, source{name: p, rel: rels[i], src: b})
	}
	if diags.HasErrors() {
		return nil, map[string]*hcl.File{}, diags
	}
	return load(srcs, opts...)
}

// revisionOf hashes the sources' relative names and contents, in name
// order.
func revisionOf(srcs []source) string {
	order := make([]int, len(srcs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return srcs[order[a]].rel < srcs[order[b]].rel })
	h := sha256.New()
	for _, i := range order {
		s := srcs[i]
		fmt.Fprintf(h, "%d:%s%d:", len(s.rel), s.rel, len(s.src))
		h.Write(s.src)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type source struct {
	name string // the path diagnostics show
	rel  string // the name the revision hashes (relative to the directory)
	src  []byte
}

// loader holds the state of one load.
type loader struct {
	diags    hcl.Diagnostics
	policies map[string]*policyBlock
	order    []string
	teams    map[string]*teamBlock
	teamList []*teamBlock
}

func load(srcs []source, opts ...Option) (*Set, map[string]*hcl.File, hcl.Diagnostics) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].name < srcs[j].name })
	l := &loader{policies: map[string]*policyBlock{}, teams: map[string]*teamBlock{}}
	parsed, files := parseAll(srcs)
	for i := range srcs {
		l.diags = append(l.diags, parsed[i].diags...)
		if parsed[i].content != nil {
			// What did decode is checked too, so that one run of
			// validate reports every problem, not only the first kind.
			l.addFile(parsed[i].content)
		}
	}

	s := &Set{
		policies:    map[string]*compiled{},
		revision:    revisionOf(srcs),
		resolve:     o.resolve,
		isSocket:    o.isSocket,
		facts:       o.facts,
		exactUser:   map[string]*teamRef{},
		byOU:        map[string]*teamRef{},
		byOrg:       map[string]*teamRef{},
		byGroup:     map[string]*teamRef{},
		resolveHost: o.resolveHost,
	}
	if _, ok := l.policies[DefaultPolicy]; !ok {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing default policy",
			Detail:   `No policy "default" is defined. Requests from users in no team and unauthenticated requests are judged by it, so Portcullis refuses to start without it (fail closed).`,
		})
	}
	for _, name := range l.order {
		l.validatePolicy(l.policies[name])
	}
	l.checkExtends()
	l.diags = append(l.diags, builtinDiags...)
	if l.diags.HasErrors() {
		return nil, files, l.diags
	}
	for _, name := range l.order {
		if p := l.policies[name]; p.Extends != nil {
			p.base = l.policies[*p.Extends]
		}
	}
	cc := newCompiler()
	for _, name := range l.order {
		eff := l.effective(name)
		c, d := cc.compile(name, eff, l.policies[name])
		l.diags = append(l.diags, d...)
		if c != nil {
			s.policies[name] = c
			s.names = append(s.names, name)
		}
	}
	l.buildTeams(s)
	if l.diags.HasErrors() {
		return nil, files, l.diags
	}
	sort.Strings(s.names)
	s.def = s.policies[DefaultPolicy]
	return s, files, l.diags
}

// parsedFile is one source parsed and decoded.
type parsedFile struct {
	diags   hcl.Diagnostics // parsing's, then decoding's
	content *fileSchema     // nil when the file did not parse
}

// parseAll parses and decodes srcs (sorted by name), on every CPU: parsing
// is most of the time a load takes. Each file's diagnostics stay with it,
// so they come out in file order as when files were parsed one by one. A
// name given twice is parsed once and decoded again without the parse
// diagnostics, as hclparse.Parser does.
func parseAll(srcs []source) ([]parsedFile, map[string]*hcl.File) {
	out := make([]parsedFile, len(srcs))
	fileOf := make([]*hcl.File, len(srcs))
	files := make(map[string]*hcl.File, len(srcs))
	var first []int // index of each name's first source
	for i, s := range srcs {
		if i == 0 || s.name != srcs[i-1].name {
			first = append(first, i)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(first)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := int(next.Add(1)) - 1
				if j >= len(first) {
					return
				}
				i := first[j]
				f, d := hclsyntax.ParseConfig(srcs[i].src, srcs[i].name, hcl.InitialPos)
				fileOf[i], out[i].diags = f, d
				if f != nil && !d.HasErrors() {
					out[i].content = decodeFile(f, &out[i].diags)
				}
			}
		}()
	}
	wg.Wait()
	for i, s := range srcs {
		if i > 0 && s.name == srcs[i-1].name {
			f := fileOf[i-1]
			fileOf[i] = f
			if f != nil {
				out[i].content = decodeFile(f, &out[i].diags)
			}
			continue
		}
		files[s.name] = fileOf[i]
	}
	return out, files
}

func decodeFile(f *hcl.File, diags *hcl.Diagnostics) *fileSchema {
	var fs fileSchema
	*diags = append(*diags, decodeBody(f.Body, &fs)...)
	return &fs
}

func (l *loader) addFile(f *fileSchema) {
	for _, p := range f.Policies {
		if prev, ok := l.policies[p.Name]; ok {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate policy",
				Detail:   fmt.Sprintf("A policy named %q was already defined; previous definition was at %s.", p.Name, at(prev.DeclRange)),
				Subject:  p.DeclRange.Ptr(),
			})
			continue
		}
		if p.Name == "builtin" {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Reserved policy name",
				Detail:   `"builtin" names the built-in defaults every policy extends; choose another name.`,
				Subject:  p.DeclRange.Ptr(),
			})
			continue
		}
		l.policies[p.Name] = p
		l.order = append(l.order, p.Name)
	}
	for _, t := range f.Teams {
		if prev, ok := l.teams[t.Name]; ok {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate team",
				Detail:   fmt.Sprintf("A team named %q was already defined; previous definition was at %s.", t.Name, at(prev.DeclRange)),
				Subject:  t.DeclRange.Ptr(),
			})
			continue
		}
		l.teams[t.Name] = t
		l.teamList = append(l.teamList, t)
	}
}

// attrRange returns the range of attribute name's expression in body, or
// of element i of a list written as a tuple (i >= 0).
func attrRange(body hcl.Body, name string, i int) *hcl.Range {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	a, ok := sb.Attributes[name]
	if !ok {
		r := sb.SrcRange
		return &r
	}
	if i >= 0 {
		if t, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
			r := t.Exprs[i].Range()
			return &r
		}
	}
	r := a.Expr.Range()
	return &r
}

func (l *loader) errorf(subject *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  subject,
	})
}

var knownActions = func() map[string]bool {
	m := map[string]bool{}
	for _, a := range request.Actions() {
		m[string(a)] = true
	}
	return m
}()

// Attributes whose list items are host paths, those whose items may use
// variables, and those whose items are from a closed set: the container
// block's, from their declarations.
var (
	pathAttrs = map[string]bool{}
	varAttrs  = map[string]bool{}
	enumAttrs = map[string]map[string]bool{}
)

func init() {
	for _, c := range controls {
		if c.hostPaths {
			pathAttrs[c.name] = true
		}
		if c.vars {
			varAttrs[c.name] = true
		}
		if c.enum != nil {
			enumAttrs[c.name] = setOf(c.enum)
		}
	}
}

func (l *loader) validatePolicy(p *policyBlock) {
	if p.Mode != nil && *p.Mode != "enforce" && *p.Mode != "audit" {
		l.errorf(attrRange(p.Body, "mode", -1), "Invalid mode", `mode must be "enforce" or "audit", not %q.`, *p.Mode)
	}
	if h := p.AuditHealthCalls; h != nil && *h != "record" && *h != "summarize" {
		l.errorf(attrRange(p.Body, "audit_health_calls", -1), "Invalid audit_health_calls",
			`audit_health_calls must be "record" (one record per call) or "summarize" (allowed system.ping and system.version calls counted in a periodic summary record), not %q.`, *h)
	}
	if p.Actions != nil {
		for _, attr := range []struct {
			name  string
			items *[]string
		}{{"allow", p.Actions.Allow}, {"deny", p.Actions.Deny}} {
			if attr.items == nil {
				continue
			}
			for i, a := range *attr.items {
				l.checkActionPattern(p.Actions.Body, attr.name, i, a)
			}
		}
	}
	for _, blk := range []struct {
		v    any
		body hcl.Body
	}{
		{p.Container, bodyOf(p.Container)}, {p.Exec, bodyOf(p.Exec)}, {p.Volumes, bodyOf(p.Volumes)},
		{p.Networks, bodyOf(p.Networks)}, {p.Images, bodyOf(p.Images)}, {p.Build, bodyOf(p.Build)},
		{p.Ownership, bodyOf(p.Ownership)},
	} {
		if blk.body == nil {
			continue
		}
		l.validateLists(blk.v, blk.body)
	}
	if c := p.Container; c != nil {
		c.validate(l)
	}
	if o := p.Ownership; o != nil {
		if o.Others != nil {
			for i, a := range *o.Others {
				l.checkActionPattern(o.Body, "others", i, a)
			}
		}
		if o.Unowned != nil && !unownedModes[*o.Unowned] {
			l.errorf(attrRange(o.Body, "unowned", -1), "Invalid unowned treatment", `unowned must be "deny", "allow" or "admins", not %q.`, *o.Unowned)
		}
	}
	l.checkRules(p)
}

var unownedModes = map[string]bool{"deny": true, "allow": true, "admins": true}

func bodyOf(v any) hcl.Body {
	rv := reflect.ValueOf(v)
	if rv.IsNil() {
		return nil
	}
	b, _ := rv.Elem().FieldByName("Body").Interface().(hcl.Body)
	return b
}

func (l *loader) checkActionPattern(body hcl.Body, attr string, i int, a string) {
	if err := checkGlob(a); err != nil {
		l.errorf(attrRange(body, attr, i), "Invalid action pattern", "%q: %v.", a, err)
		return
	}
	if !hasMeta(a) {
		if !knownActions[a] {
			l.errorf(attrRange(body, attr, i), "Unknown action", "%q is not an action name. Action names are listed in docs/policy.md, for example \"container.create\" or \"plugin.*\".%s", a, suggestAction(a))
		}
		return
	}
	for k := range knownActions {
		if globMatch(a, k) {
			return
		}
	}
	l.errorf(attrRange(body, attr, i), "Action pattern matches nothing", "%q matches no action name.", a)
}

func suggestAction(a string) string {
	best, bestD := "", 4
	for k := range knownActions {
		if d := editDistance(a, k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// namedList is a list attribute that is set.
type namedList struct {
	name  string
	items *[]string
}

// listsOf lists the list attributes block v sets, in order.
func listsOf(v any) []namedList {
	if cb, ok := v.(*containerBlock); ok {
		return cb.lists()
	}
	rv := reflect.ValueOf(v).Elem()
	var out []namedList
	for _, lf := range listFieldsOf(rv.Type()) {
		if items := rv.Field(lf.index).Interface().(*[]string); items != nil {
			out = append(out, namedList{lf.name, items})
		}
	}
	return out
}

// validateLists checks every list attribute of a block: valid globs, and
// absolute paths or known names where the attribute needs them.
func (l *loader) validateLists(v any, body hcl.Body) {
	for _, nl := range listsOf(v) {
		items, name := nl.items, nl.name
		for j, it := range *items {
			pat := strings.TrimPrefix(it, "!")
			if err := checkGlob(pat); err != nil && !(pat == "" && (name == "restart_policies" || name == "network_modes")) {
				l.errorf(attrRange(body, name, j), "Invalid pattern", "%q in %s: %v.", it, name, err)
				continue
			}
			if pathAttrs[name] && !strings.HasPrefix(pat, "/") {
				l.errorf(attrRange(body, name, j), "Invalid host path", "%q in %s must be an absolute path.", it, name)
			}
			if varAttrs[name] {
				if err := checkVars(pat); err != nil {
					l.errorf(attrRange(body, name, j), "Unknown variable", "%q in %s: %v.", it, name, err)
				}
			} else if pathAttrs[name] && strings.Contains(pat, "$") {
				l.errorf(attrRange(body, name, j), "Variables not allowed", "%q in %s: variables ($user, $team) are allowed in bind_allow, bind_deny and required_labels only.", it, name)
			}
			if enum, ok := enumAttrs[name]; ok && !enum[pat] {
				l.errorf(attrRange(body, name, j), "Unknown namespace", "%q in %s is not one of %s.", it, name, strings.Join(sortedKeys(enum), ", "))
			}
		}
	}
}

// listField is a list attribute (a *[]string field) of a block struct.
type listField struct {
	index int
	name  string
}

var (
	listFieldsMu sync.Mutex
	listFields   = map[reflect.Type][]listField{}
)

// listFieldsOf lists the list attributes of block struct type t, in field
// order; computed once per type.
func listFieldsOf(t reflect.Type) []listField {
	listFieldsMu.Lock()
	defer listFieldsMu.Unlock()
	if fs, ok := listFields[t]; ok {
		return fs
	}
	var fs []listField
	strList := reflect.TypeOf((*[]string)(nil))
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type != strList {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("hcl"), ",")
		fs = append(fs, listField{index: i, name: name})
	}
	listFields[t] = fs
	return fs
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkExtends reports unknown bases and cycles.
func (l *loader) checkExtends() {
	for _, name := range l.order {
		p := l.policies[name]
		if p.Extends == nil {
			continue
		}
		if _, ok := l.policies[*p.Extends]; !ok {
			l.errorf(attrRange(p.Body, "extends", -1), "Unknown base policy", "Policy %q extends %q, which is not defined.", name, *p.Extends)
		}
	}
	// Walk each chain; with n policies a chain longer than n loops.
	reported := map[string]bool{}
	for _, name := range l.order {
		seen := map[string]int{}
		var chain []string
		for cur := name; ; {
			if _, ok := seen[cur]; ok {
				cyc := append(chain[seen[cur]:], cur)
				key := cyc[0]
				for _, c := range cyc {
					key = min(key, c)
				}
				if !reported[key] {
					reported[key] = true
					p := l.policies[name]
					l.errorf(attrRange(p.Body, "extends", -1), "Cycle in extends", "Policies extend each other in a cycle: %s.", strings.Join(cyc, " -> "))
				}
				break
			}
			seen[cur] = len(chain)
			chain = append(chain, cur)
			p := l.policies[cur]
			if p.Extends == nil || l.policies[*p.Extends] == nil {
				break
			}
			cur = *p.Extends
		}
	}
}

// builtinPolicy is the built-in defaults, parsed once. It is built in
// init, after every control is declared. A default that does not decode
// (a declaration's def of the wrong type) is in builtinDiags, which every
// load reports: no load succeeds and none panics.
var (
	builtinPolicy *policyBlock
	builtinDiags  hcl.Diagnostics
)

func init() { builtinPolicy, builtinDiags = parseBuiltin() }

func parseBuiltin() (*policyBlock, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig([]byte(builtinSource()), "builtin.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return &policyBlock{Name: "builtin"}, diags
	}
	var fs fileSchema
	diags = append(diags, decodeBody(f.Body, &fs)...)
	if len(fs.Policies) != 1 {
		return &policyBlock{Name: "builtin"}, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Built-in defaults", Detail: "the built-in defaults are not one policy"})
	}
	return fs.Policies[0], diags
}

// effective merges a policy with its bases and the built-in defaults.
func (l *loader) effective(name string) *policyBlock {
	eff := &policyBlock{Name: name, self: l.policies[name]}
	for cur := name; ; {
		p := l.policies[cur]
		mergeInto(eff, p)
		if p.Extends == nil {
			break
		}
		cur = *p.Extends
	}
	mergeInto(eff, builtinPolicy)
	return eff
}

// parseBytes parses a size such as "512m", "2g", "1048576" or "1.5GiB"
// (binary units, as docker run's --memory).
func parseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ib"), "b")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a size such as \"512m\" or \"2g\"", s)
	}
	return int64(f * float64(mult)), nil
}
