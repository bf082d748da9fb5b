package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestEveryRuleHasARemedy reads the package's checks and fails for a rule
// id passed to add that has no entry in remedies, and for an entry no
// check uses: a new rule must say what to change.
func TestEveryRuleHasARemedy(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	fset := token.NewFileSet()
	var parsed []*ast.File
	// Rule ids named by a package-level constant (ruleServiceRollback).
	consts := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[id.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 3 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "add" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				id, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				used[id] = true
			}
			if id, ok := call.Args[0].(*ast.Ident); ok && consts[id.Name] != "" {
				used[consts[id.Name]] = true
			}
			return true
		})
	}
	if len(used) < 50 {
		t.Fatalf("found only %d rule ids in the checks; the test no longer reads them", len(used))
	}
	var missing, unused []string
	for id := range used {
		if remedies[id] == "" {
			missing = append(missing, id)
		}
	}
	for id := range remedies {
		if !used[id] {
			unused = append(unused, id)
		}
	}
	sort.Strings(missing)
	sort.Strings(unused)
	if len(missing) > 0 {
		t.Errorf("rule ids without a remedy in remedies.go: %s", strings.Join(missing, ", "))
	}
	if len(unused) > 0 {
		t.Errorf("remedies for rule ids no check uses: %s", strings.Join(unused, ", "))
	}
	for _, a := range actionRemedies {
		if err := checkGlob(a.glob); err != nil {
			t.Errorf("actionRemedies %q: %v", a.glob, err)
		}
	}
}
