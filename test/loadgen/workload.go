package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/plugin"
	"github.com/portcullis/portcullis/test/corpus"
)

// envelope is the daemon's AuthZ message (RequestBody and ResponseBody
// go out base64-encoded, as the daemon sends them).
type envelope = plugin.Envelope

// call is one request as the daemon would send it: the AuthZReq message
// and, for when the plugin allows it, the AuthZRes message that follows.
type call struct {
	name   string
	expect string // "allow", "deny" or "" (the policy decides)
	req    []byte
	res    []byte
}

// corpusEntry is one line of the recorded traffic.
type corpusEntry = corpus.Entry

// workloadConfig says what traffic to send.
type workloadConfig struct {
	corpus    []corpusEntry
	creates   int      // generated container creates per pass over the corpus
	users     []string // the daemon's User field, cycled over the calls; none = as recorded
	respBytes int      // size of the JSON response body sent with AuthZRes for GETs
	seed      uint64
}

// buildWorkload turns the corpus and the generated creates into encoded
// messages, shuffled deterministically into one pass. Encoding up front
// keeps the load generator's own CPU use small: the plugin under test
// shares the machine.
func buildWorkload(cfg workloadConfig) ([]call, error) {
	type item struct {
		e      corpusEntry
		body   []byte
		expect string
		// created is the id (a volume's name) the daemon's answer to a
		// recorded create named; "" for a generated one.
		created string
	}
	var items []item
	var template []byte
	for _, e := range cfg.corpus {
		// The body exactly as the daemon forwarded it (the CLI's JSON
		// with its trailing newline, which the recorded Content-Length
		// counts). The recording says nothing of the decision: the
		// policy decides.
		body := e.BodyBytes()
		if body != nil && len(e.Body) > 0 && template == nil && strings.Contains(e.URI, "/containers/create") {
			template = e.Body
		}
		items = append(items, item{e: e, body: body})
	}
	for i, id := range createdIDs(cfg.corpus) {
		items[i].created = id
	}
	rng := rand.New(rand.NewPCG(cfg.seed, 1))
	if cfg.creates > 0 {
		if template == nil {
			return nil, fmt.Errorf("the corpus has no container create to vary")
		}
		for i := 0; i < cfg.creates; i++ {
			v := createVariants[i%len(createVariants)]
			body, err := v.body(template, i)
			if err != nil {
				return nil, fmt.Errorf("generate %s create: %w", v.name, err)
			}
			uri := "/v1.41/containers/create"
			if i%2 == 0 {
				uri += "?name=lg-" + v.name + "-" + strconv.Itoa(i)
			}
			items = append(items, item{
				e: corpusEntry{
					Name: "generated create " + v.name, Method: "POST", URI: uri,
					Headers: map[string]string{
						"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(body)),
						"User-Agent": "Docker-Client/28.2.2 (linux)",
					},
				},
				body: body, expect: v.expect,
			})
		}
		// Spread the generated creates through the recorded sequence.
		corpusLen := len(cfg.corpus)
		gen := items[corpusLen:]
		rng.Shuffle(len(gen), func(i, j int) { gen[i], gen[j] = gen[j], gen[i] })
		merged := make([]item, 0, len(items))
		step := corpusLen / (len(gen) + 1)
		c := 0
		for g := range gen {
			for k := 0; k < step && c < corpusLen; k++ {
				merged = append(merged, items[c])
				c++
			}
			merged = append(merged, gen[g])
		}
		merged = append(merged, items[c:corpusLen]...)
		items = merged
	}

	respBody := jsonResponseBody(cfg.respBytes)
	calls := make([]call, 0, len(items))
	for i, it := range items {
		env := envelope{
			RequestMethod: it.e.Method, RequestURI: it.e.URI,
			RequestBody: it.body, RequestHeaders: it.e.Headers,
			User: it.e.User,
		}
		if len(cfg.users) > 0 {
			env.User = cfg.users[i%len(cfg.users)]
		}
		if env.User != "" {
			env.UserAuthNMethod = "TLS"
		}
		req, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		env.ResponseStatusCode, env.ResponseHeaders, env.ResponseBody = responseFor(it.e.Method, it.e.URI, it.created, respBody)
		res, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		calls = append(calls, call{name: it.e.Name, expect: it.expect, req: req, res: res})
	}
	return calls, nil
}

// createdIDs finds, for each recorded create, the id the daemon's answer
// named: the recording holds requests only, but the CLI's next requests
// of the same step use that id (`docker run` attaches to and starts the
// container it created, `docker exec` starts the exec instance), and a
// volume is named by its create's body. Replaying those answers makes the
// ownership store know the objects the recorded traffic goes on to use,
// as it would beside the real daemon; without them every later request
// about a recorded container is judged as about an unowned one. The
// result is indexed like entries; "" where there is nothing to find.
func createdIDs(entries []corpusEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		if e.Method != "POST" {
			continue
		}
		path, _, _ := strings.Cut(e.URI, "?")
		var later string // the path segment the id appears after
		switch {
		case strings.HasSuffix(path, "/containers/create"):
			later = "/containers/"
		case strings.HasSuffix(path, "/exec") && strings.Contains(path, "/containers/"):
			later = "/exec/"
		case strings.HasSuffix(path, "/volumes/create"):
			var v struct{ Name string }
			if json.Unmarshal(e.BodyBytes(), &v) == nil {
				out[i] = v.Name
			}
			continue
		default:
			continue
		}
		for _, n := range entries[i+1:] {
			if n.Step != e.Step {
				break
			}
			if id := idAfter(n.URI, later); id != "" {
				out[i] = id
				break
			}
		}
	}
	return out
}

// idAfter returns the full hexadecimal id that follows seg in uri's path.
func idAfter(uri, seg string) string {
	path, _, _ := strings.Cut(uri, "?")
	_, rest, ok := strings.Cut(path, seg)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	if len(id) != 64 || strings.Trim(id, "0123456789abcdef") != "" {
		return ""
	}
	return id
}

// responseFor is what the daemon reports to AuthZRes: its status and
// headers, and the body when the response is JSON (the daemon forwards
// JSON response bodies; streams, archives and text are not). created is
// the id (a volume's name) a create's answer names; "" makes one up.
func responseFor(method, uri, created string, jsonBody []byte) (int, map[string]string, []byte) {
	h := map[string]string{
		"Api-Version": "1.41", "Docker-Experimental": "false", "Ostype": "linux",
		"Server": "Docker/20.10.24+dfsg1 (linux)",
	}
	path, _, _ := strings.Cut(uri, "?")
	if created == "" {
		// One id per URI (so per container name), so that the plugin's
		// ownership store records each named container the traffic
		// creates and the store stays bounded.
		sum := sha256.Sum256([]byte(uri))
		created = hex.EncodeToString(sum[:])
	}
	switch {
	case strings.HasSuffix(path, "/_ping"):
		h["Content-Type"] = "text/plain; charset=utf-8"
		return 200, h, nil
	case method == "POST" && strings.HasSuffix(path, "/containers/create"):
		h["Content-Type"] = "application/json"
		return 201, h, []byte(`{"Id":"` + created + `","Warnings":[]}` + "\n")
	case method == "POST" && (strings.HasSuffix(path, "/networks/create") || strings.HasSuffix(path, "/exec")):
		h["Content-Type"] = "application/json"
		return 201, h, []byte(`{"Id":"` + created + `"}` + "\n")
	case method == "POST" && strings.HasSuffix(path, "/volumes/create"):
		h["Content-Type"] = "application/json"
		b, _ := json.Marshal(map[string]string{"Name": created, "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/" + created + "/_data", "Scope": "local"})
		return 201, h, append(b, '\n')
	case method == "DELETE" || strings.HasSuffix(path, "/start") || strings.HasSuffix(path, "/stop"):
		return 204, h, nil
	case method == "GET" && !strings.Contains(path, "/logs") && !strings.Contains(path, "/archive") &&
		!strings.Contains(path, "/events") && !strings.Contains(path, "/export"):
		h["Content-Type"] = "application/json"
		return 200, h, jsonBody
	default:
		return 200, h, nil
	}
}

// jsonResponseBody is a JSON document of about n bytes, shaped like an
// inspect or list answer.
func jsonResponseBody(n int) []byte {
	if n <= 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteString(`[`)
	for i := 0; b.Len() < n-120; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"Id":"%064d","Names":["/c%d"],"Image":"busybox","State":"running","Status":"Up 2 hours","Labels":{}}`, i, i)
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// createVariant is a kind of `docker run` the generator sends, built from
// the CLI's own create body (all of its null, false and "" fields).
type createVariant struct {
	name   string
	expect string // with the shipped default policy
	edit   func(cfg, host map[string]any, i int)
}

func (v createVariant) body(template []byte, i int) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(template, &m); err != nil {
		return nil, err
	}
	host, _ := m["HostConfig"].(map[string]any)
	if host == nil {
		host = map[string]any{}
		m["HostConfig"] = host
	}
	m["Image"] = "busybox:1.36"
	v.edit(m, host, i)
	out, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

var createVariants = []createVariant{
	{"plain", "", func(cfg, host map[string]any, i int) {
		cfg["Cmd"] = []string{"sh", "-c", "echo " + strconv.Itoa(i)}
	}},
	{"hardened", "allow", func(cfg, host map[string]any, i int) {
		cfg["User"] = "1000:1000"
		cfg["Cmd"] = []string{"sleep", "60"}
		cfg["Labels"] = map[string]string{"team": "web"}
		host["CapDrop"] = []string{"ALL"}
		host["CapAdd"] = []string{"NET_BIND_SERVICE"}
		host["SecurityOpt"] = []string{"no-new-privileges"}
		host["ReadonlyRootfs"] = true
		host["Memory"] = 256 << 20
		host["PidsLimit"] = 256
		host["LogConfig"] = map[string]any{"Type": "json-file", "Config": map[string]string{"max-size": "10m"}}
	}},
	{"privileged", "deny", func(cfg, host map[string]any, i int) {
		host["Privileged"] = true
	}},
	{"docker-socket", "deny", func(cfg, host map[string]any, i int) {
		host["Binds"] = []string{"/var/run/docker.sock:/var/run/docker.sock"}
	}},
	{"bind-etc", "deny", func(cfg, host map[string]any, i int) {
		host["Binds"] = []string{"/etc:/host/etc:ro", "/tmp:/tmp"}
	}},
	{"bind-mounts-api", "", func(cfg, host map[string]any, i int) {
		host["Mounts"] = []map[string]any{
			{"Type": "bind", "Source": "/tmp", "Target": "/scratch"},
			{"Type": "volume", "Source": "data" + strconv.Itoa(i), "Target": "/data"},
		}
	}},
	{"cap-sys-admin", "deny", func(cfg, host map[string]any, i int) {
		host["CapAdd"] = []string{"SYS_ADMIN", "NET_ADMIN"}
	}},
	{"host-namespaces", "deny", func(cfg, host map[string]any, i int) {
		host["NetworkMode"] = "host"
		host["PidMode"] = "host"
	}},
	{"seccomp-unconfined", "deny", func(cfg, host map[string]any, i int) {
		host["SecurityOpt"] = []string{"seccomp=unconfined", "apparmor=unconfined"}
	}},
	{"env-and-ports", "", func(cfg, host map[string]any, i int) {
		env := make([]string, 40)
		for k := range env {
			env[k] = fmt.Sprintf("APP_SETTING_%02d=value-%d", k, i)
		}
		cfg["Env"] = env
		cfg["ExposedPorts"] = map[string]any{"8080/tcp": map[string]any{}}
		host["PortBindings"] = map[string]any{"8080/tcp": []map[string]string{{"HostIp": "127.0.0.1", "HostPort": strconv.Itoa(18000 + i)}}}
	}},
}
