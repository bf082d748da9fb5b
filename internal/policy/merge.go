package policy

import (
	"reflect"

	"github.com/hashicorp/hcl/v2"
)

// mergeInto fills every nil pointer field of dst (a pointer to a block
// struct) from src, recursing into nested blocks. Attributes set in dst
// win: a policy overrides what it extends, attribute by attribute.
func mergeInto(dst, src any) {
	mergeValue(reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem())
}

var bodyType = reflect.TypeOf((*hcl.Body)(nil)).Elem()

// mergeField is a field mergeValue fills: a pointer with an hcl tag.
type mergeField struct {
	index int
	block bool // a pointer to a nested block struct
	// container: the container block, whose attributes are per control
	// (containerBlock.mergeFrom).
	container bool
}

// mergePlans lists, per block struct type, the fields mergeValue fills;
// computed once instead of reading struct tags on every merge.
var mergePlans = map[reflect.Type][]mergeField{}

func init() { mergePlan(reflect.TypeOf(policyBlock{})) }

func mergePlan(t reflect.Type) []mergeField {
	if plan, ok := mergePlans[t]; ok {
		return plan
	}
	plan := []mergeField{}
	mergePlans[t] = plan
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Tag.Get("hcl") == "" || f.Type == bodyType || f.Type.Kind() != reflect.Pointer {
			continue
		}
		block := f.Type.Elem().Kind() == reflect.Struct
		if block {
			mergePlan(f.Type.Elem())
		}
		plan = append(plan, mergeField{index: i, block: block, container: f.Type == reflect.TypeFor[*containerBlock]()})
	}
	mergePlans[t] = plan
	return plan
}

func mergeValue(dst, src reflect.Value) {
	for _, mf := range mergePlan(dst.Type()) {
		f := dst.Field(mf.index)
		sf := src.Field(mf.index)
		if sf.IsNil() {
			continue
		}
		if mf.container {
			cb := sf.Interface().(*containerBlock)
			if f.IsNil() {
				f.Set(reflect.ValueOf(cb.clone()))
			} else {
				f.Interface().(*containerBlock).mergeFrom(cb)
			}
			continue
		}
		if f.IsNil() {
			if mf.block {
				// Copy the nested block so later merges do not write
				// into the source policy.
				cp := reflect.New(f.Type().Elem())
				cp.Elem().Set(sf.Elem())
				f.Set(cp)
			} else {
				f.Set(sf)
			}
			continue
		}
		if mf.block {
			mergeValue(f.Elem(), sf.Elem())
		}
	}
}
