package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diags for a person at a terminal or in CI logs:
// a first line that editors and grep understand (FILE:LINE:COLUMN:
// severity: summary), the source line, a caret under the offending range,
// and the detail. Diagnostics are printed in the order they were found.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) error {
	bw := bufio.NewWriter(w)
	for i, d := range diags {
		if i > 0 {
			bw.WriteByte('\n')
		}
		writeDiagnostic(bw, files, d)
	}
	return bw.Flush()
}

func writeDiagnostic(w *bufio.Writer, files map[string]*hcl.File, d *hcl.Diagnostic) {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	if d.Subject == nil {
		fmt.Fprintf(w, "%s: %s\n", sev, d.Summary)
	} else {
		s := d.Subject.Start
		fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", d.Subject.Filename, s.Line, s.Column, sev, d.Summary)
		if line, ok := sourceLine(files, d.Subject); ok {
			writeCaret(w, line, d.Subject)
		}
	}
	if d.Detail != "" {
		for _, l := range strings.Split(strings.TrimRight(d.Detail, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

// sourceLine returns the text of the range's first line.
func sourceLine(files map[string]*hcl.File, r *hcl.Range) (string, bool) {
	f := files[r.Filename]
	if f == nil || r.Start.Line < 1 {
		return "", false
	}
	lines := bytes.Split(f.Bytes, []byte("\n"))
	if r.Start.Line > len(lines) {
		return "", false
	}
	return strings.TrimRight(string(lines[r.Start.Line-1]), "\r"), true
}

// writeCaret prints the line with its number and marks the range's part of
// it. Columns count characters; tabs are kept so the caret lines up.
func writeCaret(w *bufio.Writer, line string, r *hcl.Range) {
	prefix := fmt.Sprintf("%5d | ", r.Start.Line)
	fmt.Fprintf(w, "%s%s\n", prefix, line)
	runes := []rune(line)
	start := r.Start.Column - 1
	end := len(runes)
	if r.End.Line == r.Start.Line {
		end = r.End.Column - 1
	}
	if start < 0 || start > len(runes) {
		return
	}
	if end > len(runes) {
		end = len(runes)
	}
	if end <= start {
		end = start + 1
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", len(prefix)-2))
	b.WriteString("| ")
	for _, c := range runes[:start] {
		if c == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString(strings.Repeat("^", end-start))
	fmt.Fprintln(w, b.String())
}

// at renders where a range starts the way the first line of a diagnostic
// does: FILE:LINE:COLUMN.
func at(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}
