package plugin

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
)

// The daemon writes every AuthZ message the same way: json.NewEncoder
// over authorization.Request (pkg/plugins, Client.CallWithOptions), so a
// message is one object, no spaces, the keys spelled exactly as the
// struct's tags and each at most once, the bodies and certificates as
// base64 strings, the status as a plain integer, and a newline. Reading
// that with encoding/json's state machine cost a fifth of the plugin's
// CPU under load (two passes over every byte, the bodies included, on
// both phases of every call; docs/performance.md, 2026-12-01).
//
// fastEnvelope reads exactly that shape, and nothing else: any key it does
// not know in the daemon's spelling, a repeated key, a space, a null, a
// number that is not a plain non-negative integer, a body or certificate
// string with an escape or a control byte, or base64 that does not decode
// makes it decline (ok false), and the message goes to encoding/json,
// which stays the definition. A string value with an escape or a byte
// outside printable ASCII is not read here either: json.Unmarshal reads
// that one string. What it accepts it decodes to exactly the Envelope
// encoding/json gives (FuzzFastEnvelope, TestFastEnvelopeDaemonMessages).
//
// response is the response phase's reading (parseResponseEnvelope): the
// bodies of a GET or HEAD are checked as JSON strings, not turned into
// bytes.
func fastEnvelope(data []byte, response bool) (e *Envelope, ok bool) {
	n := len(data)
	if n < 2 || data[0] != '{' {
		return nil, false
	}
	e = &Envelope{}
	var reqBody, resBody []byte // the base64 text, without its quotes
	var seen uint16
	i := 1
	if data[i] == '}' {
		i++
	} else {
		for {
			key, j, plain := fastString(data, i)
			if !plain || j >= n || data[j] != ':' {
				return nil, false
			}
			i = j + 1
			k := envelopeKey(key)
			switch k {
			case keyUser:
				e.User, i, ok = fastStringValue(data, i)
			case keyAuthNMethod:
				e.UserAuthNMethod, i, ok = fastStringValue(data, i)
			case keyMethod:
				e.RequestMethod, i, ok = fastStringValue(data, i)
			case keyURI:
				e.RequestURI, i, ok = fastStringValue(data, i)
			case keyRequestBody:
				reqBody, i, ok = fastBase64(data, i)
			case keyRequestHeaders:
				e.RequestHeaders, i, ok = fastHeaders(data, i)
			case keyCertificates:
				e.RequestPeerCertificates, i, ok = fastCertificates(data, i)
			case keyStatus:
				e.ResponseStatusCode, i, ok = fastStatus(data, i)
			case keyResponseBody:
				resBody, i, ok = fastBase64(data, i)
			case keyResponseHeaders:
				e.ResponseHeaders, i, ok = fastHeaders(data, i)
			default:
				// Another spelling (encoding/json folds case), or a key
				// the daemon does not send.
				return nil, false
			}
			bit := uint16(1) << k
			if !ok || seen&bit != 0 || i >= n {
				return nil, false
			}
			seen |= bit
			if data[i] == '}' {
				i++
				break
			}
			if data[i] != ',' {
				return nil, false
			}
			i++
		}
	}
	for ; i < n; i++ {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return nil, false
		}
	}
	if response && (e.RequestMethod == "GET" || e.RequestMethod == "HEAD") {
		return e, true
	}
	if seen&(1<<keyRequestBody) != 0 {
		if e.RequestBody, ok = fastDecodeBase64(reqBody); !ok {
			return nil, false
		}
	}
	if seen&(1<<keyResponseBody) != 0 {
		if e.ResponseBody, ok = fastDecodeBase64(resBody); !ok {
			return nil, false
		}
	}
	return e, true
}

// The daemon's keys, in the order of authorization.Request's fields.
const (
	keyUser = iota
	keyAuthNMethod
	keyMethod
	keyURI
	keyRequestBody
	keyRequestHeaders
	keyCertificates
	keyStatus
	keyResponseBody
	keyResponseHeaders
	keyNone
)

var envelopeKeys = [keyNone]string{"User", "UserAuthNMethod", "RequestMethod", "RequestUri", "RequestBody",
	"RequestHeaders", "RequestPeerCertificates", "ResponseStatusCode", "ResponseBody", "ResponseHeaders"}

// envelopeKey is the index of key in envelopeKeys, spelled exactly so, or
// keyNone.
func envelopeKey(key []byte) int {
	for k, name := range envelopeKeys {
		if string(key) == name {
			return k
		}
	}
	return keyNone
}

// fastString reads the string literal at data[i]. plain reports that it
// holds printable ASCII only, no escape, so that s, its content, is its
// value; end is the index after its closing quote. When plain is false,
// end is where the literal ends if it is one (escapes skipped), or
// len(data).
func fastString(data []byte, i int) (s []byte, end int, plain bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, len(data), false
	}
	plain = true
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return data[i+1 : j], j + 1, plain
		case c == '\\':
			plain = false
			j++
		case c < 0x20 || c >= 0x7f:
			plain = false
		}
	}
	return nil, len(data), false
}

// fastStringValue reads the string at data[i] into a new string: a plain
// one directly, any other by json.Unmarshal, so escapes and bytes that are
// not UTF-8 read exactly as encoding/json reads them.
func fastStringValue(data []byte, i int) (v string, end int, ok bool) {
	s, end, plain := fastString(data, i)
	if plain {
		return string(s), end, true
	}
	if end >= len(data) {
		return "", end, false
	}
	if err := json.Unmarshal(data[i:end], &v); err != nil {
		return "", end, false
	}
	return v, end, true
}

// fastBase64 finds the body string at data[i] and returns its text,
// without quotes. The daemon's base64 needs no escape, so a backslash or
// a control byte (which JSON forbids in a string) declines.
func fastBase64(data []byte, i int) (text []byte, end int, ok bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, len(data), false
	}
	q := bytes.IndexByte(data[i+1:], '"')
	if q < 0 {
		return nil, len(data), false
	}
	text = data[i+1 : i+1+q]
	if bytes.IndexByte(text, '\\') >= 0 || hasControl(text) {
		return nil, len(data), false
	}
	return text, i + q + 2, true
}

// fastDecodeBase64 turns body text into bytes exactly as encoding/json
// turns a string into a []byte field.
func fastDecodeBase64(text []byte) ([]byte, bool) {
	b := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(b, text)
	if err != nil {
		return nil, false
	}
	return b[:n], true
}

// fastHeaders reads a header object: string keys and string values, the
// last of a repeated key winning, as encoding/json fills a map. An empty
// object is an empty map, not nil, as there.
func fastHeaders(data []byte, i int) (m map[string]string, end int, ok bool) {
	if i >= len(data) || data[i] != '{' {
		return nil, len(data), false
	}
	m = map[string]string{}
	i++
	if i < len(data) && data[i] == '}' {
		return m, i + 1, true
	}
	for {
		var k, v string
		if k, i, ok = fastStringValue(data, i); !ok || i >= len(data) || data[i] != ':' {
			return nil, len(data), false
		}
		if v, i, ok = fastStringValue(data, i+1); !ok || i >= len(data) {
			return nil, len(data), false
		}
		m[k] = v
		switch data[i] {
		case '}':
			return m, i + 1, true
		case ',':
			i++
		default:
			return nil, len(data), false
		}
	}
}

// fastCertificates reads the peer certificates: an array of base64
// strings, each kept as its JSON text (quotes included), as encoding/json
// fills a []json.RawMessage. An empty array is an empty slice, not nil.
func fastCertificates(data []byte, i int) (certs []json.RawMessage, end int, ok bool) {
	if i >= len(data) || data[i] != '[' {
		return nil, len(data), false
	}
	certs = []json.RawMessage{}
	i++
	if i < len(data) && data[i] == ']' {
		return certs, i + 1, true
	}
	for {
		start := i
		if _, i, ok = fastBase64(data, i); !ok || i >= len(data) {
			return nil, len(data), false
		}
		certs = append(certs, append(json.RawMessage(nil), data[start:i]...))
		switch data[i] {
		case ']':
			return certs, i + 1, true
		case ',':
			i++
		default:
			return nil, len(data), false
		}
	}
}

// fastStatus reads a plain non-negative integer of at most nine digits
// (0, or no leading zero). A sign, fraction or exponent declines.
func fastStatus(data []byte, i int) (v int, end int, ok bool) {
	j := i
	for j < len(data) && j-i < 10 && data[j] >= '0' && data[j] <= '9' {
		v = v*10 + int(data[j]-'0')
		j++
	}
	if j == i || j-i > 9 || j-i > 1 && data[i] == '0' || j >= len(data) {
		return 0, len(data), false
	}
	switch data[j] {
	case '.', 'e', 'E':
		return 0, len(data), false
	}
	return v, j, true
}

// hasControl reports whether s holds a byte below 0x20, eight bytes at a
// time: a byte b < 0x20 is exactly one where b - 0x20 borrows and b has
// its top bit clear.
func hasControl(s []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		if (x-0x20*ones)&^x&highs != 0 {
			return true
		}
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 {
			return true
		}
	}
	return false
}
