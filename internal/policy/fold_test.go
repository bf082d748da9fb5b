package policy

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Folded expressions evaluate to what the parsed ones do, for every
// input; the literal parts become literals, the rest is left alone.
func TestFoldConstants(t *testing.T) {
	req := func(target string) *hcl.EvalContext {
		return &hcl.EvalContext{
			Variables: map[string]cty.Value{"request": cty.ObjectVal(map[string]cty.Value{"target": cty.StringVal(target)})},
			Functions: ruleFunctions,
		}
	}
	for _, src := range []string{
		`contains(["portcullis", "/portcullis"], request.target)`,
		`request.target == "a${"b"}" || !(request.target != "x") ? ["l", 1, true] : []`,
		`"prefix-${request.target}-${"lit"}"`,
		`length(regexall("^p[a-z]+$", request.target)) > 0`,
		`{ a = "b" }[request.target == "" ? "a" : "a"]`,
		`[for s in ["a", "b"] : s if s == request.target]`,
	} {
		parsed, diags := hclsyntax.ParseExpression([]byte(src), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", src, diags)
		}
		folded := foldConstants(parsed)
		for _, target := range []string{"portcullis", "/portcullis", "ab", "x", "", "pqr"} {
			want, wd := parsed.Value(req(target))
			got, gd := folded.Value(req(target))
			if wd.HasErrors() != gd.HasErrors() || !got.RawEquals(want) {
				t.Errorf("%s with target %q: folded %#v (%s), parsed %#v (%s)", src, target, got, gd, want, wd)
			}
		}
	}
	e, _ := hclsyntax.ParseExpression([]byte(`contains(["portcullis", "/portcullis"], request.target)`), "t.hcl", hcl.InitialPos)
	call, ok := foldConstants(e).(*hclsyntax.FunctionCallExpr)
	if !ok {
		t.Fatalf("the call itself was folded: %T", foldConstants(e))
	}
	if _, ok := call.Args[0].(*hclsyntax.LiteralValueExpr); !ok {
		t.Errorf("the list was not folded: %T", call.Args[0])
	}
	if _, ok := call.Args[1].(*hclsyntax.ScopeTraversalExpr); !ok {
		t.Errorf("the variable was folded: %T", call.Args[1])
	}
	if _, ok := e.(*hclsyntax.FunctionCallExpr).Args[0].(*hclsyntax.TupleConsExpr); !ok {
		t.Error("the parsed expression was modified")
	}
}
