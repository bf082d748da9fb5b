package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// walkFields calls visit with the path of every field of t below prefix,
// as fields.go names them: JSON names, "[]" for elements, embedded
// structs flattened as encoding/json flattens them, the types of
// fieldSharedTypes under their short name.
func walkFields(prefix string, t reflect.Type, seen map[reflect.Type]bool, visit func(path string, nested bool)) {
	for {
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
			continue
		case reflect.Slice, reflect.Array, reflect.Map:
			prefix += "[]"
			t = t.Elem()
			continue
		}
		break
	}
	if t.Kind() != reflect.Struct || t.PkgPath() == "time" {
		return
	}
	if name, ok := fieldSharedTypes[t]; ok {
		prefix = name
	}
	if seen[t] {
		return
	}
	seen[t] = true
	defer delete(seen, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			walkFields(prefix, f.Type, seen, visit)
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := prefix + "." + name
		visit(p, isNested(f.Type))
		walkFields(p, f.Type, seen, visit)
	}
}

// isNested reports whether t holds structs whose fields walkFields
// visits, so that the field itself needs no entry of its own.
func isNested(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && t.PkgPath() != "time" && t.NumField() > 0
}

// classOf finds the entry that classifies path: its own, or a whole
// entry above it. Intermediate structs need no entry of their own when
// every field below them has one.
func classOf(path string) (fieldClass, string, bool) {
	for p := path; ; {
		if c, ok := fieldTable[p]; ok && (p == path || c.whole) {
			return c, p, true
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return fieldClass{}, "", false
		}
		p = p[:i]
	}
}

// TestFieldTable: every field of every request type the daemon applies is
// judged by a named rule or declared harmless with a reason.
func TestFieldTable(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "policy.md"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	var missing []string
	for _, r := range fieldRoots {
		walkFields(r.Path, r.Type, map[reflect.Type]bool{}, func(p string, nested bool) {
			used[p] = true
			if _, at, ok := classOf(p); ok {
				used[at] = true
				return
			}
			if !nested {
				missing = append(missing, p)
			}
		})
	}
	sort.Strings(missing)
	for _, p := range missing {
		t.Errorf("field %s is neither judged by a rule nor declared harmless in fields.go", p)
	}
	for p, c := range fieldTable {
		if !used[p] {
			t.Errorf("fields.go classifies %s, which no request type has", p)
		}
		switch {
		case c.rule == "" && c.reason == "":
			t.Errorf("%s: no rule and no reason", p)
		case c.rule != "" && c.reason != "":
			t.Errorf("%s: both a rule and a reason", p)
		case c.rule != "" && !strings.Contains(string(docs), "`"+c.rule+"`"):
			t.Errorf("%s: rule %s is not documented in docs/policy.md", p, c.rule)
		}
	}
}
