package plugin

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
)

// scanEnvelope decodes the envelope in the one form the daemon writes it
// (encoding/json's Marshal of authorization.Request: the fields under their
// own names, each once, strings, base64 bodies, string maps, certificates
// as strings) without encoding/json's reflection and second pass. It
// returns ok=false for anything else (another spelling of a field name, a
// duplicate, null, a number that is not a plain integer, any syntax it does
// not know), and the caller then decodes with encoding/json, which stays
// the definition: whenever ok is true, the result is what json.Unmarshal
// gives for data (FuzzScanEnvelope checks this). Strings with escapes or
// non-ASCII bytes are unquoted by encoding/json itself.
func scanEnvelope(data []byte) (e *Envelope, ok bool) {
	s := envScanner{data: data}
	s.space()
	if !s.consume('{') {
		return nil, false
	}
	e = &Envelope{}
	s.space()
	if s.consume('}') {
		return e, s.end()
	}
	var seen uint16
	for {
		s.space()
		key, plain, ok := s.str()
		if !ok || !plain {
			return nil, false
		}
		f := envelopeField(key)
		if f < 0 || seen&(1<<f) != 0 {
			return nil, false
		}
		seen |= 1 << f
		s.space()
		if !s.consume(':') {
			return nil, false
		}
		s.space()
		if !s.field(e, f) {
			return nil, false
		}
		s.space()
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return e, s.end()
		}
		return nil, false
	}
}

const (
	fUser = iota
	fUserAuthNMethod
	fRequestMethod
	fRequestURI
	fRequestBody
	fRequestHeaders
	fRequestPeerCertificates
	fResponseStatusCode
	fResponseBody
	fResponseHeaders
)

// envelopeField is the index of a field by its exact JSON name, or -1.
func envelopeField(key []byte) int {
	switch string(key) {
	case "User":
		return fUser
	case "UserAuthNMethod":
		return fUserAuthNMethod
	case "RequestMethod":
		return fRequestMethod
	case "RequestUri":
		return fRequestURI
	case "RequestBody":
		return fRequestBody
	case "RequestHeaders":
		return fRequestHeaders
	case "RequestPeerCertificates":
		return fRequestPeerCertificates
	case "ResponseStatusCode":
		return fResponseStatusCode
	case "ResponseBody":
		return fResponseBody
	case "ResponseHeaders":
		return fResponseHeaders
	}
	return -1
}

type envScanner struct {
	data []byte
	i    int
}

func (s *envScanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *envScanner) consume(c byte) bool {
	if s.i < len(s.data) && s.data[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (s *envScanner) end() bool {
	s.space()
	return s.i == len(s.data)
}

// str reads one JSON string token. plain reports that it holds only
// printable ASCII without escapes, and then raw is its content; otherwise
// raw is the whole token, quotes included, for encoding/json to unquote.
func (s *envScanner) str() (raw []byte, plain, ok bool) {
	if !s.consume('"') {
		return nil, false, false
	}
	start := s.i
	plain = true
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			if plain {
				return s.data[start : s.i-1], true, true
			}
			return s.data[start-1 : s.i], false, true
		case c == '\\':
			plain = false
			s.i += 2
		case c < 0x20 || c >= 0x80:
			plain = false
			s.i++
		default:
			s.i++
		}
	}
	return nil, false, false
}

// text reads a JSON string as encoding/json would into a string.
func (s *envScanner) text() (string, bool) {
	raw, plain, ok := s.str()
	if !ok {
		return "", false
	}
	if plain {
		return string(raw), true
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}

// bytes reads a JSON string holding base64 as encoding/json would into a
// []byte: standard encoding, decoded into a new slice (empty, not nil, for
// "").
func (s *envScanner) bytes() ([]byte, bool) {
	raw, plain, ok := s.str()
	if !ok {
		return nil, false
	}
	if !plain {
		var v []byte
		if json.Unmarshal(raw, &v) != nil {
			return nil, false
		}
		return v, true
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(b, raw)
	if err != nil {
		return nil, false
	}
	return b[:n], true
}

// headers reads a JSON object of strings into a new map; a later
// duplicate key replaces an earlier one, as in encoding/json.
func (s *envScanner) headers() (map[string]string, bool) {
	if !s.consume('{') {
		return nil, false
	}
	m := make(map[string]string, 8)
	s.space()
	if s.consume('}') {
		return m, true
	}
	for {
		s.space()
		k, ok := s.text()
		if !ok {
			return nil, false
		}
		s.space()
		if !s.consume(':') {
			return nil, false
		}
		s.space()
		v, ok := s.text()
		if !ok {
			return nil, false
		}
		m[k] = v
		s.space()
		if s.consume(',') {
			continue
		}
		return m, s.consume('}')
	}
}

// certificates reads a JSON array of strings, keeping each element's
// token as it is (json.RawMessage copies its value's bytes).
func (s *envScanner) certificates() ([]json.RawMessage, bool) {
	if !s.consume('[') {
		return nil, false
	}
	out := []json.RawMessage{}
	s.space()
	if s.consume(']') {
		return out, true
	}
	for {
		s.space()
		start := s.i
		raw, plain, ok := s.str()
		if !ok {
			return nil, false
		}
		if !plain && !json.Valid(raw) {
			return nil, false
		}
		out = append(out, append(json.RawMessage(nil), s.data[start:s.i]...))
		s.space()
		if s.consume(',') {
			continue
		}
		return out, s.consume(']')
	}
}

// integer reads a JSON number that is a plain integer fitting in an int.
func (s *envScanner) integer() (int, bool) {
	start := s.i
	s.consume('-')
	digits := s.i
	for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
		s.i++
	}
	n := s.i - digits
	if n == 0 || n > 1 && s.data[digits] == '0' {
		return 0, false
	}
	if s.i < len(s.data) {
		switch s.data[s.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(s.data[start:s.i]), 10, strconv.IntSize)
	if err != nil {
		return 0, false
	}
	return int(v), true
}

func (s *envScanner) field(e *Envelope, f int) (ok bool) {
	switch f {
	case fUser:
		e.User, ok = s.text()
	case fUserAuthNMethod:
		e.UserAuthNMethod, ok = s.text()
	case fRequestMethod:
		e.RequestMethod, ok = s.text()
	case fRequestURI:
		e.RequestURI, ok = s.text()
	case fRequestBody:
		e.RequestBody, ok = s.bytes()
	case fRequestHeaders:
		e.RequestHeaders, ok = s.headers()
	case fRequestPeerCertificates:
		e.RequestPeerCertificates, ok = s.certificates()
	case fResponseStatusCode:
		e.ResponseStatusCode, ok = s.integer()
	case fResponseBody:
		e.ResponseBody, ok = s.bytes()
	case fResponseHeaders:
		e.ResponseHeaders, ok = s.headers()
	}
	return ok
}
