package policy

import (
	"fmt"
	"regexp"
	"sync"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// regex and regexall for custom rules. They return what cty's stdlib
// functions of the same names return, but compile each pattern once: rule
// patterns are literals, and compiling one on every request cost more than
// the rest of a decision.

type compiledPattern struct {
	re  *regexp.Regexp
	ty  cty.Type // the type of one match
	err error
}

var patterns sync.Map // string -> *compiledPattern

// maxPatterns bounds the cache; patterns built from request data would
// otherwise grow it without end. Past it, patterns are compiled per call.
const maxPatterns = 1024

var patternCount int64
var patternMu sync.Mutex

func compilePattern(p string) *compiledPattern {
	if v, ok := patterns.Load(p); ok {
		return v.(*compiledPattern)
	}
	cp := &compiledPattern{}
	cp.re, cp.err = regexp.Compile(p)
	if cp.err != nil {
		cp.err = fmt.Errorf("invalid regexp pattern: %v", cp.err)
	} else {
		cp.ty, cp.err = matchType(cp.re)
	}
	patternMu.Lock()
	if patternCount < maxPatterns {
		patternCount++
		patterns.Store(p, cp)
	}
	patternMu.Unlock()
	return cp
}

// matchType is the type of one match: the matched string without capture
// groups, a tuple of strings with unnamed groups, an object with named
// ones. Mixing both is an error.
func matchType(re *regexp.Regexp) (cty.Type, error) {
	names := re.SubexpNames()[1:]
	named, unnamed := 0, 0
	for _, n := range names {
		if n == "" {
			unnamed++
		} else {
			named++
		}
	}
	switch {
	case named == 0 && unnamed == 0:
		return cty.String, nil
	case named > 0 && unnamed > 0:
		return cty.NilType, fmt.Errorf("invalid regexp pattern: cannot mix both named and unnamed capture groups")
	case unnamed > 0:
		ts := make([]cty.Type, unnamed)
		for i := range ts {
			ts[i] = cty.String
		}
		return cty.Tuple(ts), nil
	default:
		attrs := make(map[string]cty.Type, named)
		for _, n := range names {
			attrs[n] = cty.String
		}
		return cty.Object(attrs), nil
	}
}

// matchValue builds one match of type ty from submatch indexes.
func matchValue(re *regexp.Regexp, s string, idx []int, ty cty.Type) cty.Value {
	group := func(i int) cty.Value {
		if idx[2*i] < 0 {
			return cty.NullVal(cty.String)
		}
		return cty.StringVal(s[idx[2*i]:idx[2*i+1]])
	}
	switch {
	case ty == cty.String:
		return group(0)
	case ty.IsTupleType():
		vals := make([]cty.Value, len(ty.TupleElementTypes()))
		for i := range vals {
			vals[i] = group(i + 1)
		}
		return cty.TupleVal(vals)
	default:
		vals := map[string]cty.Value{}
		for i, n := range re.SubexpNames() {
			if n != "" {
				vals[n] = group(i)
			}
		}
		return cty.ObjectVal(vals)
	}
}

var patternParams = []function.Parameter{{Name: "pattern", Type: cty.String}, {Name: "string", Type: cty.String}}

var regexFunc = function.New(&function.Spec{
	Description: "The first match of pattern in string; an error when there is none.",
	Params:      patternParams,
	Type: func(args []cty.Value) (cty.Type, error) {
		if !args[0].IsKnown() {
			return cty.DynamicPseudoType, nil
		}
		cp := compilePattern(args[0].AsString())
		if cp.err != nil {
			return cty.NilType, function.NewArgError(0, cp.err)
		}
		return cp.ty, nil
	},
	Impl: func(args []cty.Value, ty cty.Type) (cty.Value, error) {
		if ty == cty.DynamicPseudoType {
			return cty.DynamicVal, nil
		}
		cp := compilePattern(args[0].AsString())
		s := args[1].AsString()
		idx := cp.re.FindStringSubmatchIndex(s)
		if idx == nil {
			return cty.NilVal, fmt.Errorf("pattern did not match any part of the given string")
		}
		return matchValue(cp.re, s, idx, ty), nil
	},
})

var regexAllFunc = function.New(&function.Spec{
	Description: "Every non-overlapping match of pattern in string.",
	Params:      patternParams,
	Type: func(args []cty.Value) (cty.Type, error) {
		if !args[0].IsKnown() {
			return cty.List(cty.DynamicPseudoType), nil
		}
		cp := compilePattern(args[0].AsString())
		if cp.err != nil {
			return cty.NilType, function.NewArgError(0, cp.err)
		}
		return cty.List(cp.ty), nil
	},
	Impl: func(args []cty.Value, ty cty.Type) (cty.Value, error) {
		ety := ty.ElementType()
		if ety == cty.DynamicPseudoType {
			return cty.DynamicVal, nil
		}
		cp := compilePattern(args[0].AsString())
		s := args[1].AsString()
		all := cp.re.FindAllStringSubmatchIndex(s, -1)
		if len(all) == 0 {
			return cty.ListValEmpty(ety), nil
		}
		vals := make([]cty.Value, len(all))
		for i, idx := range all {
			vals[i] = matchValue(cp.re, s, idx, ety)
		}
		return cty.ListVal(vals), nil
	},
})
