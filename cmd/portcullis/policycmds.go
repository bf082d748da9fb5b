package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/internal/policy"
	"github.com/portcullis/portcullis/internal/request"
)

// validate PATH…: directories are loaded as one policy set each; files
// given together are loaded as one set.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "PATH...", stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	var dirs, files []string
	for _, p := range fs.Args() {
		fi, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(stderr, "portcullis validate: %v\n", err)
			return exitRuntime
		}
		if fi.IsDir() {
			dirs = append(dirs, p)
		} else {
			files = append(files, p)
		}
	}
	failed := false
	check := func(what string, set *policy.Set, srcs map[string]*hcl.File, diags hcl.Diagnostics) {
		if len(diags) > 0 {
			_ = policy.WriteDiagnostics(stderr, srcs, diags)
		}
		if diags.HasErrors() || set == nil {
			failed = true
			fmt.Fprintf(stdout, "%s: invalid (%d errors)\n", what, len(diags.Errs()))
			return
		}
		fmt.Fprintf(stdout, "%s: valid, policies %s, revision %s\n", what, strings.Join(set.Policies(), ", "), short(set.Revision()))
	}
	for _, d := range dirs {
		set, srcs, diags := policy.LoadDir(d)
		check(d, set, srcs, diags)
	}
	if len(files) > 0 {
		set, srcs, diags := policy.LoadFiles(files)
		check(strings.Join(files, " "), set, srcs, diags)
	}
	if failed {
		return exitFailed
	}
	return exitOK
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// evalInput is the plain request form accepted by eval: the corpus
// format, with the body as JSON.
type evalInput struct {
	Method  string            `json:"method"`
	URI     string            `json:"uri"`
	Body    json.RawMessage   `json:"body"`
	Headers map[string]string `json:"headers"`
	User    string            `json:"user"`
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("eval", "REQUEST.json | - | -- docker run|create ARGS... | --decision ID", stderr)
	dir := fs.String("policy-dir", "/etc/portcullis/policies", "directory of HCL policy files")
	user := fs.String("user", "", "judge as this user (the certificate CN the daemon reports)")
	var ous, orgs stringList
	fs.Var(&ous, "ou", "certificate organizational unit of the user (repeatable)")
	fs.Var(&orgs, "o", "certificate organization of the user (repeatable)")
	var groups stringList
	fs.Var(&groups, "group", "judge as a local user of the gateway in this Unix group (repeatable; the first is the primary group)")
	asJSON := fs.Bool("json", false, "print the decision as JSON")
	decision := fs.String("decision", "", "judge again the request of this decision id, read from --audit-file")
	auditFile := fs.String("audit-file", "/var/log/portcullis/audit.log", "the audit file --decision reads")
	hostRoot := fs.String("host-root", "", "judge host paths as serve does on this host: resolve bind sources and learn the daemons' sockets and user remapping below this root (\"/\"); empty (the default) judges paths as written and reads nothing of the host")
	var facts hostFactsFlags
	facts.register(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	var env *plugin.Envelope
	var err error
	var recorded *recordedDecision
	var notes []string
	switch {
	case *decision != "":
		if fs.NArg() != 0 {
			fs.Usage()
			return exitUsage
		}
		if recorded, err = findDecision(*auditFile, *decision); err == nil {
			env, notes, err = recorded.envelope()
		}
		if err != nil {
			fmt.Fprintf(stderr, "portcullis eval: %v\n", err)
			return exitRuntime
		}
	case fs.NArg() >= 1 && isDockerCommand(fs.Args()):
		if env, err = dockerCommandEnvelope(fs.Args()); err != nil {
			fmt.Fprintf(stderr, "portcullis eval: %v\n", err)
			return exitUsage
		}
	case fs.NArg() == 1:
		data, err := readInput(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "portcullis eval: %v\n", err)
			return exitRuntime
		}
		if env, err = parseEvalInput(data); err != nil {
			fmt.Fprintf(stderr, "portcullis eval: %s: %v\n", fs.Arg(0), err)
			return exitRuntime
		}
	default:
		fs.Usage()
		return exitUsage
	}
	if *user != "" || len(ous) > 0 || len(orgs) > 0 || len(groups) > 0 {
		u := *user
		if u == "" {
			u = env.User
		}
		env.Identity = &request.Identity{User: u, AuthNMethod: "TLS", CommonName: u, OrganizationalUnits: ous, Organizations: orgs}
		if len(groups) > 0 {
			// The gateway's certificate: OUs are the groups.
			env.Identity.Local, env.Identity.Groups = true, groups
			env.Identity.OrganizationalUnits = append(append([]string(nil), groups...), ous...)
		}
	}
	popts, err := hostOptions(*hostRoot, "", facts)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis eval: %v\n", err)
		return exitUsage
	}
	set, err := loadPolicies(*dir, stderr, popts...)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis eval: %v\n", err)
		return exitRuntime
	}
	o := plugin.New(set).Evaluate(env)
	if recorded != nil && !*asJSON {
		printRedecision(stdout, recorded, notes)
	}
	printOutcome(stdout, o, *asJSON)
	if !o.Allowed() {
		return exitFailed
	}
	return exitOK
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

// parseEvalInput accepts an AuthZ envelope as the daemon sends it, or the
// plain {method, uri, body} form.
func parseEvalInput(data []byte) (*plugin.Envelope, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, err
	}
	if _, ok := probe["RequestMethod"]; ok {
		return plugin.ParseEnvelope(data)
	}
	var in evalInput
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, err
	}
	env := &plugin.Envelope{User: in.User, RequestMethod: in.Method, RequestURI: in.URI, RequestHeaders: in.Headers}
	if in.User != "" {
		env.UserAuthNMethod = "TLS"
	}
	if len(in.Body) > 0 && string(in.Body) != "null" {
		env.RequestBody = in.Body
		if env.RequestHeaders == nil {
			env.RequestHeaders = map[string]string{}
		}
		if _, ok := env.RequestHeaders["Content-Type"]; !ok {
			env.RequestHeaders["Content-Type"] = "application/json"
		}
		env.RequestHeaders["Content-Length"] = strconv.Itoa(len(in.Body))
	}
	return env, nil
}

func printOutcome(w io.Writer, o *plugin.Outcome, asJSON bool) {
	if asJSON {
		out := map[string]any{
			"allow": o.Allowed(), "message": o.Message(), "policy": o.Decision.Policy,
			"team": o.Decision.Team, "mode": o.Decision.Mode, "violations": o.Decision.Violations,
			"rejected": o.Rejected,
		}
		if o.Request != nil {
			out["action"] = o.Request.Action
			out["target"] = o.Request.Target
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return
	}
	action := "-"
	if o.Request != nil {
		action = string(o.Request.Action)
	}
	verdict := "allow"
	if !o.Allowed() {
		verdict = "deny"
	}
	fmt.Fprintf(w, "decision: %s\naction:   %s\n", verdict, action)
	if o.Rejected == nil {
		fmt.Fprintf(w, "policy:   %s (mode %s, team %q)\n", o.Decision.Policy, o.Decision.Mode, o.Decision.Team)
	}
	if o.Rejected != nil {
		fmt.Fprintf(w, "rejected: %s\n", o.Rejected.Error())
	}
	for _, v := range o.Decision.Violations {
		fmt.Fprintf(w, "  [%s] %s: %s\n", v.Rule, v.Field, v.Reason)
		if v.Remedy != "" {
			fmt.Fprintf(w, "      to fix: %s\n", v.Remedy)
		}
	}
	if m := o.Message(); m != "" {
		fmt.Fprintf(w, "message:  %s\n", m)
	}
}

func runTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("test", "DIR", stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	passed, failed, err := policy.RunTests(fs.Arg(0), stdout)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis test: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return exitFailed
	}
	return exitOK
}

// isDockerCommand reports whether args are a docker command line:
// "docker run ...", "docker container create ...", or "run ..." alone.
func isDockerCommand(args []string) bool {
	if len(args) > 0 && (args[0] == "docker" || strings.HasSuffix(args[0], "/docker")) {
		return true
	}
	return len(args) > 0 && (args[0] == "run" || args[0] == "create")
}

// dockerCommandEnvelope turns docker run/create ARGS into the request the
// CLI would send.
func dockerCommandEnvelope(args []string) (*plugin.Envelope, error) {
	if args[0] == "docker" || strings.HasSuffix(args[0], "/docker") {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "container" {
		args = args[1:]
	}
	if len(args) == 0 || (args[0] != "run" && args[0] != "create") {
		return nil, fmt.Errorf("eval judges docker run and docker create command lines; for other requests give the request as JSON")
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	b, err := parseRun(args[1:], cwd)
	if err != nil {
		return nil, fmt.Errorf("docker %s: %v", args[0], err)
	}
	uri, body, err := createRequest(b)
	if err != nil {
		return nil, err
	}
	return &plugin.Envelope{RequestMethod: "POST", RequestURI: uri, RequestBody: body,
		RequestHeaders: map[string]string{"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(body))}}, nil
}
