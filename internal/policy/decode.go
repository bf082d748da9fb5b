package policy

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
)

// decodeBody decodes body into *val (a pointer to one of the block
// structs in schema.go) as gohcl.DecodeBody does, with the same schema and
// the same diagnostics, but from a description of each struct computed
// once: gohcl derives the schema and field tags by reflection for every
// block it decodes, which was over a third of the time taken to load
// 1,000 team files.
//
// Diagnostics come in a fixed order: the body's content, then attributes
// in field order, then blocks in field order (gohcl walks maps, so its
// order among attributes and among block types varies from run to run).
func decodeBody(body hcl.Body, val any) hcl.Diagnostics {
	rv := reflect.ValueOf(val).Elem()
	return structOf(rv.Type()).decode(body, rv)
}

// structDecoder describes one block struct: its schema and where each
// attribute, block, label and range goes.
type structDecoder struct {
	schema   *hcl.BodySchema
	attrs    []attrField
	blocks   []blockField
	labels   []int // field index per block label, in order
	body     int   // field index of the hcl.Body, or -1
	controls bool  // the container block: its attributes are the declared controls
	defRange int   // field index of the hcl.Range of the block header, or -1
}

type attrField struct {
	name  string
	index int
	expr  bool // the field is an hcl.Expression, kept for evaluation later
}

type blockField struct {
	name  string
	index int
	slice bool // []*T: every block; otherwise *T: at most one
	elem  reflect.Type
	dec   *structDecoder
}

var (
	decoders    = map[reflect.Type]*structDecoder{}
	exprType    = reflect.TypeOf((*hcl.Expression)(nil)).Elem()
	nullExprVal = cty.NullVal(cty.DynamicPseudoType)
)

// The schema of the policy language, declared once from the struct tags
// in schema.go (before any decoding, so decoders is read-only after).
func init() { structOf(reflect.TypeOf(fileSchema{})) }

// structOf returns the decoder of struct type t, building it (and those
// of its nested blocks) the first time. Only init builds decoders.
func structOf(t reflect.Type) *structDecoder {
	if d, ok := decoders[t]; ok {
		return d
	}
	schema, partial := gohcl.ImpliedBodySchema(reflect.New(t).Interface())
	if partial {
		panic("policy: " + t.String() + ": remain fields are not supported")
	}
	d := &structDecoder{schema: schema, body: -1, defRange: -1}
	if t == reflect.TypeFor[containerBlock]() {
		d.controls = true
		schema.Attributes = append(schema.Attributes, controlSchema()...)
	}
	decoders[t] = d
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("hcl")
		if tag == "" {
			continue
		}
		name, kind, ok := strings.Cut(tag, ",")
		if !ok {
			kind = "attr"
		}
		switch kind {
		case "attr", "optional":
			d.attrs = append(d.attrs, attrField{name: name, index: i, expr: exprType.AssignableTo(f.Type)})
		case "block":
			b := blockField{name: name, index: i}
			et := f.Type
			if et.Kind() == reflect.Slice {
				b.slice = true
				et = et.Elem()
			}
			if et.Kind() != reflect.Pointer || et.Elem().Kind() != reflect.Struct {
				panic(fmt.Sprintf("policy: block field %s.%s must be *T or []*T", t, f.Name))
			}
			b.elem = et.Elem()
			b.dec = structOf(b.elem)
			d.blocks = append(d.blocks, b)
		case "label":
			d.labels = append(d.labels, i)
		case "body":
			d.body = i
		case "def_range":
			d.defRange = i
		default:
			panic(fmt.Sprintf("policy: field %s.%s: unsupported hcl tag kind %q", t, f.Name, kind))
		}
	}
	return d
}

func (d *structDecoder) decode(body hcl.Body, v reflect.Value) hcl.Diagnostics {
	content, diags := body.Content(d.schema)
	if content == nil {
		return diags
	}
	if d.body >= 0 {
		v.Field(d.body).Set(reflect.ValueOf(&body).Elem())
	}
	if d.controls {
		diags = append(diags, decodeControls(content, v.Addr().Interface().(*containerBlock))...)
	}
	for _, a := range d.attrs {
		attr := content.Attributes[a.name]
		f := v.Field(a.index)
		switch {
		case attr == nil && a.expr:
			// As gohcl: a missing expression is one that evaluates to null.
			f.Set(reflect.ValueOf(hcl.StaticExpr(nullExprVal, body.MissingItemRange())))
		case attr == nil:
		case a.expr:
			f.Set(reflect.ValueOf(&attr.Expr).Elem())
		default:
			diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, f.Addr().Interface())...)
		}
	}
	var byType map[string]hcl.Blocks
	if len(content.Blocks) > 0 {
		byType = content.Blocks.ByType()
	}
	for _, b := range d.blocks {
		blocks := byType[b.name]
		switch {
		case len(blocks) == 0:
		case b.slice:
			sl := reflect.MakeSlice(v.Field(b.index).Type(), len(blocks), len(blocks))
			for i, blk := range blocks {
				p := reflect.New(b.elem)
				diags = append(diags, b.dec.decodeBlock(blk, p.Elem())...)
				sl.Index(i).Set(p)
			}
			v.Field(b.index).Set(sl)
		case len(blocks) > 1:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s block", b.name),
				Detail:   fmt.Sprintf("Only one %s block is allowed. Another was defined at %s.", b.name, blocks[0].DefRange.String()),
				Subject:  &blocks[1].DefRange,
			})
		default:
			p := reflect.New(b.elem)
			diags = append(diags, b.dec.decodeBlock(blocks[0], p.Elem())...)
			v.Field(b.index).Set(p)
		}
	}
	return diags
}

func (d *structDecoder) decodeBlock(blk *hcl.Block, v reflect.Value) hcl.Diagnostics {
	diags := d.decode(blk.Body, v)
	for i, lv := range blk.Labels {
		v.Field(d.labels[i]).SetString(lv)
	}
	if d.defRange >= 0 {
		v.Field(d.defRange).Set(reflect.ValueOf(blk.DefRange))
	}
	return diags
}
