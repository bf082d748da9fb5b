package policy

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/portcullis/portcullis/internal/request"
)

// Policy tests live beside the policies in files ending in _test.hcl:
//
//	test "web cannot run privileged containers" {
//	  user   = "web-dev1"
//	  ous    = ["web"]
//	  method = "POST"
//	  uri    = "/v1.43/containers/create"
//	  body   = { Image = "nginx:1.27", HostConfig = { Privileged = true } }
//	  expect = "deny"
//	  rules  = ["container.privileged"]
//	}

type testFile struct {
	Tests []*testCase `hcl:"test,block"`
}

type testCase struct {
	Name    string             `hcl:"name,label"`
	User    *string            `hcl:"user,optional"`
	AuthN   *string            `hcl:"authn,optional"`
	OUs     *[]string          `hcl:"ous,optional"`
	Groups  *[]string          `hcl:"groups,optional"`
	Orgs    *[]string          `hcl:"orgs,optional"`
	Method  string             `hcl:"method"`
	URI     string             `hcl:"uri"`
	Body    hcl.Expression     `hcl:"body,optional"`
	Headers *map[string]string `hcl:"headers,optional"`
	Expect  string             `hcl:"expect"`
	Rules   *[]string          `hcl:"rules,optional"`
	Policy  *string            `hcl:"policy,optional"`
	Team    *string            `hcl:"team,optional"`

	DeclRange hcl.Range `hcl:",def_range"`
}

// RunTests loads the policies in dir, runs every test in the *_test.hcl
// files under it and writes one line per test to w. err is set when the
// policies or the tests do not load (diagnostics are written to w).
func RunTests(dir string, w io.Writer) (passed, failed int, err error) {
	set, files, diags := LoadDir(dir)
	if diags.HasErrors() {
		_ = WriteDiagnostics(w, files, diags)
		return 0, 0, fmt.Errorf("load policies in %s: %w", dir, diags)
	}
	var paths []string
	werr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, "_test.hcl") {
			paths = append(paths, p)
		}
		return nil
	})
	if werr != nil {
		return 0, 0, fmt.Errorf("find tests in %s: %w", dir, werr)
	}
	sort.Strings(paths)
	parser := hclparse.NewParser()
	for _, p := range paths {
		src, rerr := os.ReadFile(p)
		if rerr != nil {
			return passed, failed, fmt.Errorf("read test file: %w", rerr)
		}
		f, d := parser.ParseHCL(src, p)
		if !d.HasErrors() {
			var tf testFile
			d = append(d, gohcl.DecodeBody(f.Body, nil, &tf)...)
			if !d.HasErrors() {
				for _, tc := range tf.Tests {
					if msg := runTest(set, tc); msg != "" {
						failed++
						fmt.Fprintf(w, "FAIL %s: %s\n     %s\n", tc.DeclRange, tc.Name, msg)
					} else {
						passed++
						fmt.Fprintf(w, "ok   %s: %s\n", p, tc.Name)
					}
				}
			}
		}
		if d.HasErrors() {
			_ = WriteDiagnostics(w, parser.Files(), d)
			return passed, failed, fmt.Errorf("load tests in %s: %w", p, d)
		}
	}
	return passed, failed, nil
}

func runTest(set *Set, tc *testCase) string {
	if tc.Expect != "allow" && tc.Expect != "deny" {
		return fmt.Sprintf(`expect must be "allow" or "deny", not %q`, tc.Expect)
	}
	id := request.Identity{AuthNMethod: "TLS"}
	if tc.User != nil {
		id.User, id.CommonName = *tc.User, *tc.User
	}
	if tc.AuthN != nil {
		id.AuthNMethod = *tc.AuthN
	}
	if tc.OUs != nil {
		id.OrganizationalUnits = *tc.OUs
	}
	if tc.Orgs != nil {
		id.Organizations = *tc.Orgs
	}
	if tc.Groups != nil {
		// A local user of the gateway: its certificate's OUs are the
		// groups, primary first.
		id.Local, id.Groups = true, *tc.Groups
		id.OrganizationalUnits = append(append([]string(nil), *tc.Groups...), id.OrganizationalUnits...)
	}
	headers := map[string]string{}
	if tc.Headers != nil {
		headers = *tc.Headers
	}
	var body []byte
	if tc.Body != nil {
		v, d := tc.Body.Value(nil)
		if d.HasErrors() {
			return "body: " + d.Error()
		}
		switch {
		case v.IsNull():
		case v.Type() == cty.String:
			body = []byte(v.AsString())
		default:
			b, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				return "body: " + err.Error()
			}
			body = b
		}
		if body != nil {
			if _, ok := headers["Content-Type"]; !ok {
				headers["Content-Type"] = "application/json"
			}
			if _, ok := headers["Content-Length"]; !ok {
				headers["Content-Length"] = fmt.Sprint(len(body))
			}
		}
	}
	d := set.DecideRequest(id, tc.Method, tc.URI, headers, body)
	var problems []string
	got := "deny"
	if d.Allow {
		got = "allow"
	}
	if got != tc.Expect {
		problems = append(problems, fmt.Sprintf("got %s, want %s", got, tc.Expect))
	}
	if tc.Rules != nil {
		var rules []string
		for _, v := range d.Violations {
			if !slices.Contains(rules, v.Rule) {
				rules = append(rules, v.Rule)
			}
		}
		want := slices.Clone(*tc.Rules)
		sort.Strings(rules)
		sort.Strings(want)
		want = slices.Compact(want)
		if !slices.Equal(rules, want) {
			problems = append(problems, fmt.Sprintf("rules %v, want %v", rules, want))
		}
	}
	if tc.Policy != nil && d.Policy != *tc.Policy {
		problems = append(problems, fmt.Sprintf("judged by policy %q, want %q", d.Policy, *tc.Policy))
	}
	if tc.Team != nil && d.Team != *tc.Team {
		problems = append(problems, fmt.Sprintf("team %q, want %q", d.Team, *tc.Team))
	}
	if len(problems) == 0 {
		return ""
	}
	msg := strings.Join(problems, "; ")
	if m := d.Message(); m != "" {
		msg += "\n     " + m
	}
	return msg
}
