package jsonfast

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"

	"github.com/portcullis/portcullis/test/corpus"
)

// Types built to exercise each rule in the package comment.

type Inner struct {
	A string
	B int `json:"b"`
}

type Embedded struct {
	E1 string
	E2 []string `json:"e2"`
}

type Shadow struct {
	A string // conflicts with Edge.A only at a deeper level
	S string
}

type Upper string

func (u *Upper) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*u = "was-null"
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*u = Upper(strings.ToUpper(s))
	return nil
}

type Text struct{ V string }

func (t *Text) UnmarshalText(b []byte) error {
	if string(b) == "bad" {
		return errors.New("bad text")
	}
	t.V = "text:" + string(b)
	return nil
}

type unexported struct{ U string }

type WithUnexported struct {
	unexported
	X string
}

type Edge struct {
	*Embedded
	Shadow
	A         string
	Str       string `json:"str"`
	Ptr       *Inner
	PtrPtr    **Inner
	Slice     []Inner
	Ptrs      []*Inner
	Map       map[string]Inner
	MapPtr    map[string]*Inner
	IntMap    map[int]string
	TextMap   map[Text]string
	Bytes     []byte
	Array     [2]int
	Any       any
	Iface     json.Marshaler
	Num       json.Number
	Raw       json.RawMessage
	Up        Upper
	UpPtr     *Upper
	Txt       Text
	Quoted    int    `json:",string"`
	Skipped   string `json:"-"`
	Dash      string `json:"-,"`
	I8        int8
	U16       uint16
	U64       uint64
	F32       float32
	F64       float64
	Bool      bool
	Dur       time.Duration
	Named     container.NetworkMode
	Set       map[string]struct{}
	Labels    map[string]string
	List      []string
	Nested    [][]string
	Empty     struct{}
	unexp     string //nolint:unused
	Recursive *Edge
	Cmd       strslice.StrSlice
	CmdPtr    *strslice.StrSlice
	Pair      [2]string
}

var types_ = []struct {
	name string
	typ  reflect.Type
}{
	{"CreateRequest", reflect.TypeFor[container.CreateRequest]()},
	{"HostConfig", reflect.TypeFor[*container.HostConfig]()},
	{"ExecOptions", reflect.TypeFor[*container.ExecOptions]()},
	{"UpdateConfig", reflect.TypeFor[*container.UpdateConfig]()},
	{"VolumeCreate", reflect.TypeFor[*volume.CreateOptions]()},
	{"NetworkCreate", reflect.TypeFor[*network.CreateRequest]()},
	{"NetworkConnect", reflect.TypeFor[*network.ConnectOptions]()},
	{"ServiceSpec", reflect.TypeFor[*swarm.ServiceSpec]()},
	{"PluginPrivileges", reflect.TypeFor[types.PluginPrivileges]()},
	{"Edge", reflect.TypeFor[*Edge]()},
	{"WithUnexported", reflect.TypeFor[WithUnexported]()},
	{"strings", reflect.TypeFor[[]string]()},
	{"map", reflect.TypeFor[map[string]any]()},
}

// check decodes data into a new t both ways and fails on any difference
// where Decode claims to have decoded. It reports whether Decode did.
func check(t *testing.T, typ reflect.Type, data []byte) bool {
	t.Helper()
	got := reflect.New(typ)
	ok := Decode(data, got.Interface())
	if !ok {
		if !got.Elem().IsZero() {
			t.Fatalf("%v: declined %q but left %+v", typ, data, got.Elem())
		}
		return false
	}
	want := reflect.New(typ)
	if err := json.Unmarshal(data, want.Interface()); err != nil {
		t.Fatalf("%v: decoded %q, encoding/json: %v", typ, data, err)
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		g, _ := json.Marshal(got.Interface())
		w, _ := json.Marshal(want.Interface())
		t.Fatalf("%v: %q decodes to\n%s\nencoding/json:\n%s", typ, data, g, w)
	}
	return true
}

func TestDecode(t *testing.T) {
	edge := reflect.TypeFor[*Edge]()
	for _, tc := range []struct {
		name string
		typ  reflect.Type
		json string
		fast bool
	}{
		{"empty", edge, `{}`, true},
		{"null", edge, `null`, true},
		{"white space", edge, " \n{ \"S\" : \"x\" ,\t\"str\":\"y\" } \r\n", true},
		{"embedded pointer allocated", edge, `{"E1":"a"}`, true},
		{"embedded pointer allocated by null", edge, `{"E1":null}`, true},
		{"embedded value", edge, `{"S":"s"}`, true},
		{"pointers", edge, `{"Ptr":{"A":"x","b":1},"PtrPtr":{"b":2},"Ptrs":[null,{"A":"y"}]}`, true},
		{"null pointer", edge, `{"Ptr":null}`, true},
		{"slices", edge, `{"Slice":[{"A":"1"},{}],"Nested":[["a"],[],null]}`, true},
		{"empty slice", edge, `{"Slice":[]}`, true},
		{"maps", edge, `{"Map":{"k":{"A":"v"},"k":{"b":3}},"MapPtr":{"x":null,"y":{"b":1}}}`, true},
		{"strslice array", edge, `{"Cmd":["sh","-c",null,"\u00e9"],"CmdPtr":[]}`, true},
		{"strslice string", edge, `{"Cmd":"sh -c x","CmdPtr":"y"}`, true},
		{"strslice null", edge, `{"Cmd":null,"CmdPtr":null}`, true},
		{"strslice empty", edge, `{"Cmd":[]}`, true},
		{"strslice number", edge, `{"Cmd":1}`, false},
		{"strslice numbers", edge, `{"Cmd":["a",1]}`, false},
		{"array short", edge, `{"Pair":["a"],"Array":[]}`, true},
		{"array null element", edge, `{"Pair":[null,"b"]}`, true},
		{"array too long", edge, `{"Pair":["a","b","c"]}`, false},
		{"strings", edge, `{"List":["a",null,"\u00e9",""],"e2":[],"Labels":{"a":"1","b":null,"a":"2","\u00e9":"x"}}`, true},
		{"empty strings", edge, `{"List":[],"Labels":{}}`, true},
		{"null strings", edge, `{"List":null,"Labels":null}`, true},
		{"number in strings", edge, `{"List":[1]}`, false},
		{"number in string map", edge, `{"Labels":{"a":1}}`, false},
		{"set", edge, `{"Set":{"80/tcp":{}}}`, true},
		{"numbers", edge, `{"I8":-128,"U16":65535,"U64":18446744073709551615,"F32":1.5e3,"F64":-0.25E-2,"Dur":1000000000}`, true},
		{"zero", edge, `{"I8":0,"F64":-0}`, true},
		{"bools", edge, `{"Bool":true}`, true},
		{"named string", edge, `{"Named":"host"}`, true},
		{"escapes", edge, `{"S":"a\u0026b\n\"\\","Map":{"\u00e9":{}}}`, true},
		{"non-ASCII", edge, `{"S":"日本","str":"é"}`, true},
		{"invalid UTF-8", edge, "{\"S\":\"\xff\"}", true},
		{"delegated", edge, `{"Bytes":"AQI=","Array":[1,2],"Any":{"a":[1,"b",null]},"Num":"12.5","Raw":{"x":1},"Up":"abc","UpPtr":"d","Txt":"t"}`, true},
		{"delegated null", edge, `{"Up":null,"UpPtr":null,"Iface":null,"Bytes":null,"Raw":null}`, true},
		{"delegated bytes as array", edge, `{"Bytes":[1,2]}`, true},
		{"dash name", edge, `{"-":"x"}`, true},
		{"recursive", edge, `{"Recursive":{"Recursive":{"str":"deep"}}}`, true},
		{"empty struct", edge, `{"Empty":{}}`, true},
		{"create", reflect.TypeFor[container.CreateRequest](), `{"Image":"busybox","Cmd":["sh"],"Entrypoint":"x","HostConfig":{"Privileged":true,"Binds":["/a:/b"],"PortBindings":{"80/tcp":[{"HostPort":"8080"}]},"Memory":1024},"NetworkingConfig":{"EndpointsConfig":{"n":{"Aliases":["a"]}}}}`, true},

		{"other case", edge, `{"a":"x"}`, false},
		{"folded key", edge, "{\"\u017ftr\":\"x\"}", false},
		{"escaped key", edge, `{"\u0041":"x"}`, false},
		{"unknown key", edge, `{"Nope":1}`, false},
		{"skipped field", edge, `{"Skipped":"x"}`, false},
		{"repeated key", edge, `{"A":"x","A":"y"}`, false},
		{"repeated struct", edge, `{"Ptr":{"A":"x"},"Ptr":{"b":1}}`, false},
		{"shared name", edge, `{"A":"x"}`, false},
		{",string", edge, `{"Quoted":"12"}`, false},
		{"unexported embedded (delegated)", reflect.TypeFor[WithUnexported](), `{"X":"x","U":"u"}`, true},
		{"int map", edge, `{"IntMap":{"1":"a"}}`, true},
		{"text map", edge, `{"TextMap":{"k":"v"}}`, true},
		{"wrong type", edge, `{"A":1}`, false},
		{"string for int", edge, `{"I8":"1"}`, false},
		{"fraction for int", edge, `{"I8":1.0}`, false},
		{"overflow", edge, `{"I8":128}`, false},
		{"negative uint", edge, `{"U16":-1}`, false},
		{"float overflow", edge, `{"F32":1e39}`, false},
		{"leading zero", edge, `{"I8":01}`, false},
		{"bad text", edge, `{"Txt":"bad"}`, false},
		{"bad delegated", edge, `{"Bytes":"@@"}`, false},
		{"trailing comma", edge, `{"A":"x",}`, false},
		{"trailing data", edge, `{} x`, false},
		{"two values", edge, `{}{}`, false},
		{"control character", edge, "{\"str\":\"a\x01\"}", false},
		{"bad escape", edge, `{"str":"\q"}`, false},
		{"unterminated", edge, `{"str":"a`, false},
		{"truncated literal", edge, `{"Bool":tru}`, false},
		{"literal suffix", edge, `{"Bool":truex}`, false},
		{"empty input", edge, ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := check(t, tc.typ, []byte(tc.json)); got != tc.fast {
				// A decline must also be right when encoding/json fails.
				t.Fatalf("decoded = %v, want %v", got, tc.fast)
			}
		})
	}
	// "shared name" above: Edge.A and Shadow.A share a name, which
	// encoding/json resolves by depth; that resolution is not redone here.
	if f := planOf(reflect.TypeFor[Edge]()).fields["A"]; f == nil || !f.decline {
		t.Fatal("a name two fields share is not declined")
	}
}

func TestDeepNesting(t *testing.T) {
	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	check(t, reflect.TypeFor[any](), []byte(deep))
	check(t, reflect.TypeFor[[]any](), []byte(deep))
	nested := strings.Repeat(`{"Recursive":`, 300) + "{}" + strings.Repeat("}", 300)
	if check(t, reflect.TypeFor[*Edge](), []byte(nested)) {
		t.Fatal("nesting beyond maxDepth decoded")
	}
}

// The bodies the Docker CLI sent are decoded here, not declined: that
// is the point of the package.
func TestCorpusBodies(t *testing.T) {
	entries := corpus.ForTest(t)
	n := 0
	for _, e := range entries {
		body := e.BodyBytes()
		if len(body) == 0 || body[0] != '{' {
			continue
		}
		var typ reflect.Type
		path, _, _ := strings.Cut(e.URI, "?")
		switch {
		case strings.HasSuffix(path, "/containers/create"):
			typ = reflect.TypeFor[container.CreateRequest]()
		case strings.HasSuffix(path, "/exec"):
			typ = reflect.TypeFor[*container.ExecOptions]()
		case strings.HasSuffix(path, "/volumes/create"):
			typ = reflect.TypeFor[*volume.CreateOptions]()
		case strings.HasSuffix(path, "/networks/create"):
			typ = reflect.TypeFor[*network.CreateRequest]()
		default:
			continue
		}
		n++
		if !check(t, typ, body) {
			t.Errorf("%s %s: declined %.200s", e.Method, e.URI, body)
		}
	}
	if n < 5 {
		t.Fatalf("only %d bodies checked", n)
	}
}

func FuzzDecode(f *testing.F) {
	for i := range types_ {
		f.Add(uint8(i), []byte(`{}`))
	}
	f.Add(uint8(9), []byte(`{"List":["a",null],"Labels":{"a":"1","a":null}}`))
	f.Add(uint8(9), []byte(`{"E1":"a","Ptr":{"A":"x","b":1},"Map":{"k":{"A":"v"}},"Up":"abc","Bytes":"AQI=","F32":1.5}`))
	f.Add(uint8(0), []byte(`{"Image":"busybox","Cmd":["sh"],"HostConfig":{"Privileged":true,"Binds":["/a:/b"],"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}}`))
	// Every recorded body (both daemons) and every adversarial case's
	// body, as a container create.
	for _, e := range corpus.ForTest(f) {
		if body := e.BodyBytes(); len(body) > 0 {
			f.Add(uint8(0), body)
		}
	}
	for _, c := range corpus.Adversarial(f) {
		if body := c.RequestBody(); len(body) > 0 {
			f.Add(uint8(0), body)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		tc := types_[int(which)%len(types_)]
		check(t, tc.typ, data)
	})
}

func BenchmarkDecodeCreate(b *testing.B) {
	body := []byte(`{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["true"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":null,"PidsLimit":null,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{}}}`)
	for _, impl := range []string{"jsonfast", "encoding/json"} {
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var v container.CreateRequest
				if impl == "jsonfast" {
					if !Decode(body, &v) {
						b.Fatal("declined")
					}
				} else if err := json.Unmarshal(body, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	_ = strconv.Itoa
}

func TestPlainASCII(t *testing.T) {
	naive := func(b []byte) bool {
		for _, c := range b {
			if c < 0x20 || c >= 0x80 || c == '\\' {
				return false
			}
		}
		return true
	}
	// Every byte value at every position of a 17-byte window, on plain
	// and on mixed backgrounds.
	for _, bg := range []byte{'a', ' ', '~', '[', ']', 0x7f} {
		for pos := 0; pos < 17; pos++ {
			for c := 0; c < 256; c++ {
				b := bytes.Repeat([]byte{bg}, 17)
				b[pos] = byte(c)
				if got, want := plainASCII(b), naive(b); got != want {
					t.Fatalf("plainASCII(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
}

func FuzzPlainASCII(f *testing.F) {
	f.Add([]byte("abc\\def"))
	f.Fuzz(func(t *testing.T, b []byte) {
		want := true
		for _, c := range b {
			if c < 0x20 || c >= 0x80 || c == '\\' {
				want = false
			}
		}
		if plainASCII(b) != want {
			t.Fatalf("plainASCII(%q) = %v, want %v", b, !want, want)
		}
	})
}
