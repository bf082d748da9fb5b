package policy_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/request"
)

// bodyChecks names, for each action whose route decodes a body that the
// route table does not declare unjudged, rules of the checks that read that
// body. TestDecodedBodiesJudged proves each entry: some request of the
// action is denied by one of these rules while a look-alike that differs
// only in its body (same method, URI, caller and policy) is allowed.
var bodyChecks = map[request.Action][]string{
	request.ActionContainerCreate:   {"container.privileged", "capabilities.add", "mounts.bind"},
	request.ActionContainerExec:     {"exec.root", "exec.privileged"},
	request.ActionContainerUpdate:   {"resources.memory", "resources.cpus", "resources.pids"},
	request.ActionVolumeCreate:      {"volume.driver", "volume.host_path"},
	request.ActionNetworkCreate:     {"network.driver", "network.options", "network.config_from"},
	request.ActionNetworkConnect:    {"network.endpoint_options", "ownership.other"},
	request.ActionNetworkDisconnect: {"ownership.other"},
	request.ActionServiceCreate:     {"service.plugin", "service.rollback", "mounts.bind", "container.privileged", "capabilities.add"},
	request.ActionServiceUpdate:     {"service.plugin", "service.rollback", "mounts.bind", "container.privileged", "capabilities.add"},
	request.ActionServiceRollback:   {"service.plugin", "mounts.bind", "container.privileged", "capabilities.add"},
	request.ActionCheckpointCreate:  {"checkpoint.dir"},
	request.ActionSecretCreate:      {"ownership.label"},
	request.ActionSecretUpdate:      {"ownership.label"},
	request.ActionConfigCreate:      {"ownership.label"},
	request.ActionConfigUpdate:      {"ownership.label"},
}

// judgedCase is one case of the adversarial or ownership corpus, judged.
type judgedCase struct {
	name          string
	group         string // corpus, caller, method and URI: what a look-alike shares
	body          string
	action        request.Action
	allow         bool
	rules         []string
	parseRejected bool
}

// TestDecodedBodiesJudged: every body the route table decodes is either
// declared unjudged there, with a reason, or read by a check, shown by a
// pair of corpus cases whose decisions differ by body alone.
func TestDecodedBodiesJudged(t *testing.T) {
	cases := judgeCorpora(t)
	groups := map[string][]judgedCase{}
	for _, c := range cases {
		groups[c.group] = append(groups[c.group], c)
	}
	read := policyReads(t)
	seen := map[request.Action]bool{}
	for _, b := range request.DecodedBodies() {
		seen[b.Action] = true
		checks, listed := bodyChecks[b.Action]
		if b.Field == "" {
			t.Errorf("%s: the body's Request field is not known", b.Action)
		}
		if b.Unjudged != "" {
			if listed {
				t.Errorf("%s: declared unjudged in the route table, and listed in bodyChecks", b.Action)
			}
			if read[b.Field] {
				t.Errorf("%s: declared unjudged in the route table, but the policy package reads Request.%s: list its checks in bodyChecks (with a corpus case) and drop the declaration", b.Action, b.Field)
			}
			continue
		}
		if !listed {
			t.Errorf("%s decodes a %s body that no check is shown to read: list its checks in bodyChecks with a corpus case, or declare it unjudged, with a reason, in its route row", b.Action, b.Type)
			continue
		}
		if pair := bodyPair(groups, b.Action, checks); pair == "" {
			t.Errorf("%s: no corpus case denied by %v beside a look-alike that differs only in its body and is allowed; add one to testdata/adversarial or testdata/ownership", b.Action, checks)
		} else {
			t.Logf("%s: %s", b.Action, pair)
		}
	}
	for a := range bodyChecks {
		if !seen[a] {
			t.Errorf("bodyChecks lists %s, whose route decodes no body", a)
		}
	}
}

// policyReads are the names selected (x.Name) anywhere in the package's
// non-test code: a decoded body's Request field among them is read by a
// check.
func policyReads(t *testing.T) map[string]bool {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				names[s.Sel.Name] = true
			}
			return true
		})
	}
	if !names["ContainerCreate"] || !names["ServiceSpec"] {
		t.Fatal("the policy package's reads of Request are not found; the walk is broken")
	}
	return names
}

// bodyPair finds a denied case of action, by one of checks, and an allowed
// case of the same group with another body.
func bodyPair(groups map[string][]judgedCase, action request.Action, checks []string) string {
	for _, g := range groups {
		for _, d := range g {
			if d.action != action || d.allow || d.parseRejected || !slices.ContainsFunc(d.rules, func(r string) bool { return slices.Contains(checks, r) }) {
				continue
			}
			for _, a := range g {
				if a.allow && a.action == action && a.body != d.body {
					return "denied " + strconv.Quote(d.name) + " " + strings.Join(d.rules, ",") + ", allowed " + strconv.Quote(a.name)
				}
			}
		}
	}
	return ""
}

// judgeCorpora judges the adversarial cases against the shipped policies
// and the ownership cases against their policy and objects.
func judgeCorpora(t *testing.T) []judgedCase {
	var out []judgedCase
	s := loadExamples(t)
	for _, cs := range readAdversarial(t) {
		for _, c := range cs {
			jc := judgedCase{name: c.Name, body: string(c.body()),
				group: "adversarial " + c.User + " " + strings.Join(c.OUs, ",") + " " + c.RequestMethod() + " " + c.URI}
			r, err := request.Parse(c.RequestMethod(), c.URI, c.headers(), c.body())
			if err != nil {
				jc.parseRejected = true
				out = append(out, jc)
				continue
			}
			jc.action = r.Action
			d := s.Decide(c.identity(), r)
			jc.allow = d.Allow
			for _, v := range d.Violations {
				jc.rules = append(jc.rules, v.Rule)
			}
			out = append(out, jc)
		}
	}

	src, err := os.ReadFile("testdata/ownership/policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	own := loadSource(t, string(src))
	objs := loadObjects(t)
	b, err := os.ReadFile("testdata/ownership/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var ownCases []struct {
		Name, User, Method, URI string
		OUs                     []string
		Body                    json.RawMessage
	}
	if err := json.Unmarshal(b, &ownCases); err != nil {
		t.Fatal(err)
	}
	for _, c := range ownCases {
		method := c.Method
		if method == "" {
			method = "POST"
		}
		id := request.Identity{User: c.User}
		if len(c.OUs) > 0 {
			id = request.Identity{User: c.OUs[0] + "-user", AuthNMethod: "TLS", OrganizationalUnits: c.OUs}
		}
		if c.User != "" {
			id.AuthNMethod = "TLS"
		}
		h := map[string]string{"Content-Length": strconv.Itoa(len(c.Body))}
		if len(c.Body) > 0 {
			h["Content-Type"] = "application/json"
		}
		jc := judgedCase{name: c.Name, body: string(c.Body),
			group: "ownership " + id.User + " " + strings.Join(c.OUs, ",") + " " + method + " " + c.URI}
		r, err := request.Parse(method, c.URI, h, c.Body)
		if err != nil {
			jc.parseRejected = true
			out = append(out, jc)
			continue
		}
		jc.action = r.Action
		d := own.DecideWith(id, r, objs)
		jc.allow = d.Allow
		for _, v := range d.Violations {
			jc.rules = append(jc.rules, v.Rule)
		}
		out = append(out, jc)
	}
	if len(out) < 200 {
		t.Fatalf("judged only %d corpus cases; the corpora are not read", len(out))
	}
	return out
}
