package audit_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/audit"
)

// referenceEncode is what Encode wrote before it was written by hand, and
// must keep writing: encoding/json through an Encoder without HTML
// escaping, trailing newline trimmed.
func referenceEncode(t testing.TB, rec *audit.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func checkEncode(t testing.TB, rec *audit.Record) {
	t.Helper()
	want := referenceEncode(t, rec)
	got, err := audit.Encode(rec)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		from := max(i-60, 0)
		t.Fatalf("Encode differs from encoding/json at byte %d of %d (want %d):\n got: …%q…\nwant: …%q…",
			i, len(got), len(want), got[from:min(i+60, len(got))], want[from:min(i+60, len(want))])
	}
}

// TestEncodeMatchesEncodingJSON compares Encode with encoding/json on the
// golden records, their truncated copies' shapes, edge values and strings
// that need escaping.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	no := false
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			rec := *tc.rec
			checkEncode(t, &rec)
			rec.Instance, rec.PluginVersion, rec.Version = "inst-1", "0.1.0", audit.SchemaVersion
			checkEncode(t, &rec)
			rec.Truncated = true
			rec.WouldDeny = &no
			checkEncode(t, &rec)
		})
	}
	weird := "a<b>&c\"d\\e\x00\x01\b\f\n\r\t\x1f\x7f é\u2028\u2029\xff\xc3(\xe2\x80😀\ufffd\U0010ffff\xed\xa0\x80"
	for name, rec := range map[string]*audit.Record{
		"zero":  {},
		"empty": {Identity: &audit.Identity{}, Target: &audit.Target{}, Summary: &audit.Summary{Namespaces: &audit.Namespaces{}, Exec: &audit.Exec{}}},
		"empty collections": {Violations: []audit.Violation{}, Masked: []string{}, Diagnostics: []string{}, Summary: &audit.Summary{
			CapAdd: []string{}, Labels: map[string]string{}, DriverOpts: map[string]string{}, Mounts: []audit.Mount{},
			PluginPrivileges: []audit.PluginPrivilege{{Value: []string{}}}, Masked: []string{"ignored"},
		}},
		"extremes": {Version: -1, DurationNS: -1 << 63, StatusCode: -7, Dropped: 1<<64 - 1,
			Time: audit.Timestamp(time.Date(2025, 3, 14, 16, 9, 26, 5, time.FixedZone("X", 3600)))},
		"strings": {Type: audit.Type(weird), ID: weird, Message: weird, URI: "/v1.47/build?t=a&b=<c>",
			Violations: []audit.Violation{{Rule: weird, Field: weird, Reason: weird}, {}},
			Summary: &audit.Summary{Labels: map[string]string{weird: weird, "": "", "b": "", "a\xff": "x", "a\xfe": "y"},
				Env: []string{weird, ""}, Mounts: []audit.Mount{{}, {Type: weird, ReadOnly: true}}}},
		"many labels": {Summary: &audit.Summary{Labels: manyLabels(100)}},
	} {
		t.Run(name, func(t *testing.T) { checkEncode(t, rec) })
	}
}

func manyLabels(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[string(rune('a'+i%26))+string(rune('0'+i/26))] = "v"
	}
	return m
}

// TestEncodeRandomRecords compares Encode with encoding/json on many
// records filled at random, every field of every nested type included.
func TestEncodeRandomRecords(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 0, 2048)
	for range n {
		data = data[:0]
		for range rng.IntN(2048) {
			data = append(data, byte(rng.Uint32()))
		}
		checkEncode(t, fillRecord(data))
	}
}

// TestEncodeCoversEveryField sets every field of a record and its nested
// types, so a field added to them and not to encode.go fails here.
func TestEncodeCoversEveryField(t *testing.T) {
	var rec audit.Record
	fillAll(reflect.ValueOf(&rec).Elem())
	checkEncode(t, &rec)
}

func fillAll(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[audit.Timestamp]() {
			v.Set(reflect.ValueOf(audit.Timestamp(time.Unix(1, 2))))
			return
		}
		for i := range v.NumField() {
			fillAll(v.Field(i))
		}
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint64:
		v.SetUint(7)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fillAll(v.Index(0))
		fillAll(v.Index(1))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf("v"))
	default:
		panic("fillAll: no case for " + v.Type().String())
	}
}

func FuzzEncodeRecord(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08<>&\"\\\x00\x1f\x7f\xe2\x80\xa8\xe2\x80\xa9\xff\xc3"))
	f.Add(bytes.Repeat([]byte{0xff, 0x01, 0x80, 0x7f, 0x02, 'a'}, 64))
	rng := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkEncode(t, fillRecord(data))
	})
}

// fillRecord builds a record from data: each field, by reflection, of
// every type reachable from Record, so new fields are covered too.
func fillRecord(data []byte) *audit.Record {
	var rec audit.Record
	s := &filler{data: data}
	s.fill(reflect.ValueOf(&rec).Elem())
	return &rec
}

type filler struct{ data []byte }

func (s *filler) byte() byte {
	if len(s.data) == 0 {
		return 0
	}
	b := s.data[0]
	s.data = s.data[1:]
	return b
}

func (s *filler) uint64() uint64 {
	var b [8]byte
	n := copy(b[:], s.data)
	s.data = s.data[n:]
	return binary.LittleEndian.Uint64(b[:])
}

// pieces are the interesting parts strings are made of.
var pieces = []string{
	"a", "Z", "0", " ", "=", "/", ":", "<", ">", "&", "\"", "\\", "\x00", "\x01", "\b", "\f",
	"\n", "\r", "\t", "\x1f", "\x7f", "é", "ü", "€", "😀", "\u2028", "\u2029", "\ufffd", "\U0010ffff",
	"\xff", "\x80", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\\u003c", "***",
}

func (s *filler) string() string {
	ctl := s.byte()
	n := int(ctl >> 2)
	switch ctl & 3 {
	case 0:
		return ""
	case 1: // raw bytes
		n = min(n, len(s.data))
		str := string(s.data[:n])
		s.data = s.data[n:]
		return str
	default:
		var b []byte
		for range n % 24 {
			b = append(b, pieces[int(s.byte())%len(pieces)]...)
		}
		return string(b)
	}
}

func (s *filler) fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[audit.Timestamp]() {
			var loc *time.Location = time.UTC
			if c := s.byte(); c&1 == 1 {
				loc = time.FixedZone("Z", (int(c)-128)*900)
			}
			t := time.Unix(int64(s.uint64()>>s.byte()%64), int64(s.uint64()%2e9))
			v.Set(reflect.ValueOf(audit.Timestamp(t.In(loc))))
			return
		}
		for i := range v.NumField() {
			s.fill(v.Field(i))
		}
	case reflect.String:
		v.SetString(s.string())
	case reflect.Bool:
		v.SetBool(s.byte()&1 == 1)
	case reflect.Int, reflect.Int64:
		if c := s.byte(); c&1 == 1 {
			v.SetInt(int64(s.uint64()))
		} else {
			v.SetInt(int64(c>>1) - 64)
		}
	case reflect.Uint64:
		if c := s.byte(); c&1 == 1 {
			v.SetUint(s.uint64())
		} else {
			v.SetUint(uint64(c >> 1))
		}
	case reflect.Pointer:
		if s.byte()%3 == 0 {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		s.fill(v.Elem())
	case reflect.Slice:
		c := s.byte()
		if c%4 == 0 {
			return // nil
		}
		n := int(c>>2) % 6
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			s.fill(v.Index(i))
		}
	case reflect.Map:
		c := s.byte()
		if c%4 == 0 {
			return // nil
		}
		v.Set(reflect.MakeMap(v.Type()))
		for range int(c>>2) % 20 {
			v.SetMapIndex(reflect.ValueOf(s.string()), reflect.ValueOf(s.string()))
		}
	default:
		panic("filler: no case for " + v.Type().String())
	}
}
