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
