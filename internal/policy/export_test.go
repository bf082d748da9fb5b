package policy

import "github.com/hashicorp/hcl/v2"

// LoadSource loads one policy file from memory, as LoadFiles loads a file
// of that name: FuzzLoad calls it so that a run costs no temporary
// directory and file.
func LoadSource(name string, src []byte, opts ...Option) (*Set, map[string]*hcl.File, hcl.Diagnostics) {
	return load([]source{{name: name, src: src}}, opts...)
}

// ControlsDoc is the container block's attribute reference (TestDocs).
var ControlsDoc = controlsDoc

// ControlRules maps each declared container control to its rule id, in
// declaration order (TestEveryControlDecides).
func ControlRules() (names []string, rules map[string]string) {
	rules = map[string]string{}
	for _, c := range controls {
		names = append(names, c.name)
		rules[c.name] = c.rule
	}
	return names, rules
}

// ControlFields maps each declared container control to the create body
// fields it reads (TestAuditSummaryCoversControls).
func ControlFields() map[string][]string {
	out := map[string][]string{}
	for _, c := range controls {
		for _, f := range c.reads {
			out[c.name] = append(out[c.name], f.create)
		}
	}
	return out
}
