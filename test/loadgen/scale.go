package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/portcullis/portcullis/test/proccpu"
)

// scale compares the shipped policies plus one generated team with the
// shipped policies plus cfg.scale generated teams: load time (portcullis
// validate, and serve until it activates), per-request latency and memory.
func scale(ctx context.Context, cfg config, tmp string, corpus []corpusEntry, out io.Writer) error {
	tmpl, err := os.ReadFile(cfg.scaleTmpl)
	if err != nil {
		return fmt.Errorf("scale template: %w", err)
	}
	one, many := filepath.Join(tmp, "policies-1"), filepath.Join(tmp, fmt.Sprintf("policies-%d", cfg.scale))
	for _, d := range []struct {
		dir string
		n   int
	}{{one, 1}, {many, cfg.scale}} {
		if err := copyDir(cfg.policyDir, d.dir); err != nil {
			return err
		}
		if err := writeTeams(filepath.Join(d.dir, "teams", "generated"), tmpl, d.n); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\n== %d team policy files (copies of %s) vs 1\n", cfg.scale, filepath.Base(cfg.scaleTmpl))

	// Load time: the whole `portcullis validate` process, best of 3, in
	// wall-clock and in CPU time (which a busy machine does not inflate).
	var loadOne, loadMany, cpuOne, cpuMany time.Duration
	for _, d := range []struct {
		dir    string
		t, cpu *time.Duration
	}{{one, &loadOne, &cpuOne}, {many, &loadMany, &cpuMany}} {
		for i := 0; i < 3; i++ {
			cmd := exec.CommandContext(ctx, cfg.portcullis, "validate", d.dir)
			t0 := time.Now()
			msg, err := cmd.CombinedOutput()
			el := time.Since(t0)
			if err != nil {
				return fmt.Errorf("portcullis validate %s: %w\n%s", d.dir, err, tail2(msg, 30))
			}
			cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			if *d.t == 0 || el < *d.t {
				*d.t = el
			}
			if *d.cpu == 0 || cpu < *d.cpu {
				*d.cpu = cpu
			}
		}
	}

	// Serve both; time from exec to activation.
	users := func(n int) string {
		u := make([]string, n)
		for i := range u {
			u[i] = genUser(i)
		}
		return strings.Join(u, ",")
	}
	type side struct {
		name  string
		dir   string
		srv   *server
		up    time.Duration
		upCPU time.Duration // CPU time used until activation
		calls []call
		res   *result
	}
	sides := []*side{{name: "1 team", dir: one}, {name: fmt.Sprintf("%d teams", cfg.scale), dir: many}}
	for i, s := range sides {
		sock := filepath.Join(tmp, fmt.Sprintf("scale-%d.sock", i))
		t0 := time.Now()
		srv, err := startServer(ctx, fmt.Sprintf("portcullis-scale-%d", i), tmp, sock, cfg.portcullis,
			"serve", "--socket", sock, "--policy-dir", s.dir, "--audit-file", filepath.Join(tmp, fmt.Sprintf("audit-scale-%d.log", i)),
			"--state-dir", filepath.Join(tmp, fmt.Sprintf("state-%d", i)), "--docker-host", "none")
		if err != nil {
			return err
		}
		defer srv.stop()
		s.srv, s.up = srv, time.Since(t0)
		s.upCPU, _ = proccpu.Of(srv.pid())
		n := 1
		if i == 1 {
			n = cfg.scale
		}
		// Every team's user in turn: the lookup must find each one by
		// index, not by walking the teams.
		s.calls, err = buildWorkload(workloadConfig{corpus: corpus, creates: cfg.creates, respBytes: cfg.respBytes, seed: 1,
			users: strings.Split(users(n), ",")})
		if err != nil {
			return err
		}
		s.res = &result{target: s.name}
		runLoad(ctx, "warm-up", sock, s.calls, cfg.scaleCli, cfg.warmup, 0)
	}
	for r := 0; r < cfg.rounds && ctx.Err() == nil; r++ {
		order := []*side{sides[0], sides[1]}
		if r%2 == 1 {
			order = []*side{sides[1], sides[0]}
		}
		for _, s := range order {
			if err := s.srv.alive(); err != nil {
				return err
			}
			s.res.merge(measure(ctx, s.srv, s.calls, cfg.scaleCli, cfg.scaleDur, 0))
		}
	}
	fmt.Fprintf(out, "load (portcullis validate, best of 3): 1 team %s (CPU %s), %d teams %s (CPU %s) (target < 1 s: %s)\n",
		dur(loadOne), dur(cpuOne), cfg.scale, dur(loadMany), dur(cpuMany), verdict(loadMany < time.Second))
	fmt.Fprintf(out, "serve start to activation:            1 team %s (CPU %s), %d teams %s (CPU %s)\n",
		dur(sides[0].up), dur(sides[0].upCPU), cfg.scale, dur(sides[1].up), dur(sides[1].upCPU))
	fmt.Fprintf(out, "traffic: every call as a team member (User cycles over the teams' users), %d client(s), %d rounds x %s\n\n",
		cfg.scaleCli, cfg.rounds, cfg.scaleDur)
	printTable(out, []*result{sides[0].res, sides[1].res})
	a, b := pct(sides[0].res.lat), pct(sides[1].res.lat)
	ratio := float64(b.p50) / float64(a.p50)
	mean := func(r *result) float64 {
		var t time.Duration
		for _, d := range r.lat {
			t += d
		}
		return float64(t) / float64(max(len(r.lat), 1))
	}
	mr := mean(sides[1].res) / mean(sides[0].res)
	fmt.Fprintf(out, "\nlatency %d teams / 1 team: p50 %.2fx, mean %.2fx, p99 %.2fx (target within 10%%: %s)\n",
		cfg.scale, ratio, mr, float64(b.p99)/float64(a.p99), verdict(ratio <= 1.10 && mr <= 1.10))
	if c0, c1 := sides[0].res.cpuPerCall(), sides[1].res.cpuPerCall(); c0 > 0 && c1 > 0 {
		fmt.Fprintf(out, "plugin CPU per call:       1 team %s, %d teams %s (%.2fx)\n", dur(c0), cfg.scale, dur(c1), float64(c1)/float64(c0))
	}
	for _, s := range sides {
		st, _ := readProc(s.srv.pid())
		fmt.Fprintf(out, "%-10s RSS %s, VmHWM %s\n", s.name, kib(st.rssKiB), kib(st.hwmKiB))
	}
	for _, s := range sides {
		printDetails(out, &result{target: s.name, errors: s.res.errors, errSamp: s.res.errSamp})
	}
	if sides[0].res.errors > 0 || sides[1].res.errors > 0 {
		return errCallsFailed
	}
	return nil
}

func genUser(i int) string { return fmt.Sprintf("lg-user-%04d", i) }

var (
	labelRE  = regexp.MustCompile(`(?m)^(\s*(?:team|policy)\s+)"([^"]+)"`)
	memberRE = regexp.MustCompile(`(?m)^\s*(?:users|ous|orgs)\s*=\s*\[[^\]]*\]\s*(?:#.*)?\n`)
	teamRE   = regexp.MustCompile(`(?m)^(\s*team\s+"[^"]+"\s*\{[ \t]*\n)`)
)

// writeTeams writes n copies of a team file (a team block and its policy)
// into dir: each team and policy renamed "<name>-lg-NNNN", and each team's
// members replaced by one user and one OU of its own, so no two teams
// claim a member.
func writeTeams(dir string, tmpl []byte, n int) error {
	if !teamRE.Match(tmpl) {
		return fmt.Errorf("scale template has no team block")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, m := range labelRE.FindAllSubmatch(tmpl, -1) {
		names[string(m[2])] = true
	}
	for i := 0; i < n; i++ {
		suffix := fmt.Sprintf("-lg-%04d", i)
		s := labelRE.ReplaceAllString(string(tmpl), `$1"$2`+suffix+`"`)
		// References to a renamed policy (policy = "web", extends = "web").
		for name := range names {
			for _, attr := range []string{"policy", "extends"} {
				re := regexp.MustCompile(`(?m)^(\s*` + attr + `\s*=\s*)"` + regexp.QuoteMeta(name) + `"`)
				s = re.ReplaceAllString(s, `$1"`+name+suffix+`"`)
			}
		}
		s = memberRE.ReplaceAllString(s, "")
		s = teamRE.ReplaceAllString(s, fmt.Sprintf("${1}  users = [%q]\n  ous   = [%q]\n", genUser(i), "lg-ou"+suffix))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("team%s.hcl", suffix)), []byte(s), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// copyDir copies the policy files (not tests) from src to dst.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !strings.HasSuffix(p, ".hcl") || strings.HasSuffix(p, "_test.hcl") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

func tail2(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
