package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestControlDeclarations checks each declaration in controls.go against
// the rest of the package: a default written out (or declared absent and
// compiled from nothing), a documented rule id with a remedy, request
// fields that exist in the daemon's types and that fields.go says are
// judged, and one service field per create field.
func TestControlDeclarations(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "policy.md"))
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, r := range fieldRoots {
		walkFields(r.Path, r.Type, map[reflect.Type]bool{}, func(p string, _ bool) { paths[p] = true })
	}
	if len(builtinDiags) > 0 {
		t.Errorf("the built-in defaults do not decode: %s", builtinDiags.Error())
	}
	nameRE := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	seen := map[string]bool{}
	service := map[string]string{}
	for i, c := range controls {
		if c.index != i {
			t.Errorf("%s: index %d at place %d", c.name, c.index, i)
		}
		if !nameRE.MatchString(c.name) || seen[c.name] {
			t.Errorf("%q: not a new attribute name", c.name)
		}
		seen[c.name] = true
		switch {
		case c.noDefault && c.def != "":
			t.Errorf("%s: noDefault and a default", c.name)
		case !c.noDefault && c.def == "":
			t.Errorf("%s: no default written (def); write the safe value out, or declare noDefault", c.name)
		case !c.noDefault && builtinPolicy.Container.vals[i] == nil:
			t.Errorf("%s: the built-in defaults do not set it", c.name)
		}
		if c.noDefault {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s: declared without a default, but compiling it unset panics: %v", c.name, r)
					}
				}()
				c.build(newCompiler(), nil)
			}()
		}
		if c.doc == "" {
			t.Errorf("%s: no documentation line", c.name)
		}
		if !strings.Contains(string(docs), "`"+c.rule+"`") {
			t.Errorf("%s: rule %q is not documented in docs/policy.md", c.name, c.rule)
		}
		if c.remedy != "" && remedies[c.rule] != c.remedy {
			t.Errorf("%s: rule %q has a remedy in remedies.go and another in its declaration", c.name, c.rule)
		}
		if remedyFor(c.rule, "container.create") == "" {
			t.Errorf("%s: rule %q has no remedy in remedies.go", c.name, c.rule)
		}
		if len(c.reads) == 0 {
			t.Errorf("%s: reads no request field", c.name)
		}
		for _, f := range c.reads {
			if !paths[f.create] {
				t.Errorf("%s: %s is not a field of a container create body", c.name, f.create)
			} else if cl, at, ok := classOf(f.create); ok && cl.rule == "" {
				t.Errorf("%s reads %s, which fields.go declares harmless (%s)", c.name, f.create, at)
			}
			if f.service != spec && !paths["Service."+f.service] {
				t.Errorf("%s: %s is not a field of a service spec", c.name, f.service)
			}
			if prev, ok := service[f.create]; ok && prev != f.service {
				t.Errorf("%s: %s is named %s for services here and %s in another declaration", c.name, f.create, f.service, prev)
			}
			service[f.create] = f.service
		}
	}
}

// TestFieldNamesDeclared: every request field a check names with
// fieldSet.at is one a declaration reads, so that services name it too.
func TestFieldNamesDeclared(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "at" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: fieldSet.at takes a literal create field", fset.Position(call.Pos()))
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			n++
			if _, ok := serviceField[s]; !ok {
				t.Errorf("%s: %s is read by no declaration in controls.go", fset.Position(call.Pos()), s)
			}
			return true
		})
	}
	if n == 0 {
		t.Fatal("found no fieldSet.at calls")
	}
}
