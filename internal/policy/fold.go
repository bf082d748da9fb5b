package policy

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// foldConstants returns expr with its constant parts (string templates
// and tuples made only of literals) evaluated once, so that a rule such
// as contains(["a", "b"], request.target) does not rebuild the list on
// every request. Only nodes whose value cannot depend on the request are
// folded: no variables, no function calls. The parsed expression is not
// modified; nodes on the way to a folded part are copied.
func foldConstants(expr hcl.Expression) hcl.Expression {
	e, ok := expr.(hclsyntax.Expression)
	if !ok {
		return expr
	}
	return fold(e)
}

func fold(e hclsyntax.Expression) hclsyntax.Expression {
	switch n := e.(type) {
	case *hclsyntax.TemplateExpr:
		c := *n
		c.Parts = foldAll(n.Parts)
		return literal(&c, c.Parts)
	case *hclsyntax.TemplateWrapExpr:
		c := *n
		c.Wrapped = fold(n.Wrapped)
		return literal(&c, []hclsyntax.Expression{c.Wrapped})
	case *hclsyntax.TupleConsExpr:
		c := *n
		c.Exprs = foldAll(n.Exprs)
		return literal(&c, c.Exprs)
	case *hclsyntax.FunctionCallExpr:
		c := *n
		c.Args = foldAll(n.Args)
		return &c
	case *hclsyntax.BinaryOpExpr:
		c := *n
		c.LHS, c.RHS = fold(n.LHS), fold(n.RHS)
		return &c
	case *hclsyntax.UnaryOpExpr:
		c := *n
		c.Val = fold(n.Val)
		return &c
	case *hclsyntax.ConditionalExpr:
		c := *n
		c.Condition, c.TrueResult, c.FalseResult = fold(n.Condition), fold(n.TrueResult), fold(n.FalseResult)
		return &c
	case *hclsyntax.ParenthesesExpr:
		c := *n
		c.Expression = fold(n.Expression)
		return &c
	}
	return e
}

func foldAll(es []hclsyntax.Expression) []hclsyntax.Expression {
	out := make([]hclsyntax.Expression, len(es))
	for i, e := range es {
		out[i] = fold(e)
	}
	return out
}

// literal replaces e by its value when all its parts are literals.
func literal(e hclsyntax.Expression, parts []hclsyntax.Expression) hclsyntax.Expression {
	for _, p := range parts {
		if _, ok := p.(*hclsyntax.LiteralValueExpr); !ok {
			return e
		}
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsMarked() {
		return e
	}
	return &hclsyntax.LiteralValueExpr{Val: v, SrcRange: e.Range()}
}
