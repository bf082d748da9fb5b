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

func mergeValue(dst, src reflect.Value) {
	for i := 0; i < dst.NumField(); i++ {
		f := dst.Field(i)
		sf := src.Field(i)
		if dst.Type().Field(i).Tag.Get("hcl") == "" || f.Type() == bodyType || f.Kind() != reflect.Pointer {
			continue
		}
		if sf.IsNil() {
			continue
		}
		if f.IsNil() {
			if f.Type().Elem().Kind() == reflect.Struct {
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
		if f.Type().Elem().Kind() == reflect.Struct {
			mergeValue(f.Elem(), sf.Elem())
		}
	}
}
