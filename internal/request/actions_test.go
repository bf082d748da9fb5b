package request_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/request"
)

// literalExemptions are the string literals equal to an action name that
// non-test code may hold besides the constants in actions.go, by file
// (slash path from the repository root) and literal, each with why it is
// not an action. The test fails when one is no longer used, so the list
// cannot go stale.
var literalExemptions = map[[2]string]string{
	{"internal/request/objects.go", "unknown"}:         "Kind.String of an out-of-range kind: a word, not the action",
	{"internal/state/subscribe.go", "unknown"}:         "ChangeKind.String of an out-of-range change: a word, not the action",
	{"internal/audit/sink/spool.go", "unknown"}:        "the record type of a spooled line that has none: a word, not the action",
	{"cmd/portcullis/cli.go", "unknown"}:               "the build's commit when not set at link time: a word, not the action",
	{"internal/policy/service.go", "service.rollback"}: "the rule id ruleServiceRollback, named for the action whose denial it reports (records and docs/policy.md name it); a rule id, not an action",
}

// TestActionLiteralsOnlyInConstants fails when a non-test Go file other
// than actions.go spells an action name as a string literal: code names
// actions by their constants, so that a typo does not compile. Test files
// and testdata may use literals: golden files and policies name actions by
// string, which is the policy language.
func TestActionLiteralsOnlyInConstants(t *testing.T) {
	names := map[string]bool{}
	for _, a := range request.Actions() {
		names[string(a)] = true
	}
	root := repoRoot(t)
	used := map[[2]string]bool{}
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == "testdata" || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "internal/request/actions.go" {
			return nil
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil || !names[v] {
				return true
			}
			key := [2]string{rel, v}
			if literalExemptions[key] != "" {
				used[key] = true
				return true
			}
			t.Errorf("%s: string literal %q is an action name; use its constant from internal/request/actions.go", fset.Position(lit.Pos()), v)
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("walked only %d Go files under %s; the walk is broken", files, root)
	}
	for key := range literalExemptions {
		if !used[key] {
			t.Errorf("exemption %q in %s is no longer used; remove it", key[1], key[0])
		}
	}
}

// TestActionConstantsListed checks that every Action constant declared in
// actions.go is an action Actions lists (so none is dead or misspelled),
// and that Actions lists nothing without a constant.
func TestActionConstantsListed(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "actions.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Action" {
				t.Errorf("constant %s in actions.go is not of type Action", vs.Names[0].Name)
				continue
			}
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("constant %s is not a string literal", name.Name)
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				if prev, dup := declared[v]; dup {
					t.Errorf("action %q declared twice: %s and %s", v, prev, name.Name)
				}
				declared[v] = name.Name
			}
		}
	}
	listed := request.Actions()
	for v, name := range declared {
		if !slices.Contains(listed, request.Action(v)) {
			t.Errorf("constant %s (%q) is not produced by the route table nor listed as derived in Actions", name, v)
		}
	}
	for _, a := range listed {
		if declared[string(a)] == "" {
			t.Errorf("action %q has no constant in actions.go", a)
		}
	}
	if len(declared) < 100 {
		t.Fatalf("found only %d action constants; the parse is broken", len(declared))
	}
}

// repoRoot is the directory holding go.mod, above this package.
func repoRoot(t *testing.T) string {
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
