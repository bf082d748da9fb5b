package plugin

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"sync"

	"github.com/portcullis/portcullis/internal/request"
)

// maxEnvelope bounds what the plugin reads of one AuthZ call. The daemon
// forwards request bodies under 1 MiB, base64-encoded, so a legitimate
// envelope stays well below this.
const maxEnvelope = 8 << 20

// Envelope is the daemon's AuthZ message. It is authorization.Request with
// the peer certificates kept as raw JSON: the protocol library's
// PeerCertificate decoder panics on input that is not PEM, and we parse
// them ourselves.
type Envelope struct {
	User                    string            `json:"User,omitempty"`
	UserAuthNMethod         string            `json:"UserAuthNMethod,omitempty"`
	RequestMethod           string            `json:"RequestMethod,omitempty"`
	RequestURI              string            `json:"RequestUri,omitempty"`
	RequestBody             []byte            `json:"RequestBody,omitempty"`
	RequestHeaders          map[string]string `json:"RequestHeaders,omitempty"`
	RequestPeerCertificates []json.RawMessage `json:"RequestPeerCertificates,omitempty"`
	ResponseStatusCode      int               `json:"ResponseStatusCode,omitempty"`
	ResponseBody            []byte            `json:"ResponseBody,omitempty"`
	ResponseHeaders         map[string]string `json:"ResponseHeaders,omitempty"`

	// Identity, when set, replaces the identity the daemon's fields give.
	// Only offline evaluation (portcullis eval, policy tests) sets it.
	Identity *request.Identity `json:"-"`
}

// DecodeEnvelope reads one AuthZ message. Anything but exactly one JSON
// object is an error.
func DecodeEnvelope(r io.Reader) (*Envelope, error) {
	data, err := readEnvelope(r, -1)
	if err != nil {
		return nil, err
	}
	return parseEnvelope(data)
}

// readEnvelope reads one message (size bytes when known from
// Content-Length, -1 when not, so that it is read into one buffer); what
// it reads beyond maxEnvelope is left for parseEnvelope to refuse.
func readEnvelope(r io.Reader, size int64) ([]byte, error) {
	data, err := readMessage(r, size)
	if err != nil {
		return nil, fmt.Errorf("read authorization request: %w", err)
	}
	return data, nil
}

// parseEnvelope decodes one message already read (the wire server's
// buffer: nothing decoded points into data, encoding/json copies what it
// keeps).
func parseEnvelope(data []byte) (*Envelope, error) {
	if len(data) > maxEnvelope {
		return nil, fmt.Errorf("authorization request larger than %d bytes", maxEnvelope)
	}
	// The daemon's own shape is read by fastEnvelope; anything else, and
	// every request body the message carries, by encoding/json.
	if e, ok := fastEnvelope(data, false); ok {
		return e, nil
	}
	return decodeEnvelopeJSON(data)
}

// decodeEnvelopeJSON is parseEnvelope by encoding/json alone: the
// definition fastEnvelope is held to, and the reading of every message
// it declines.
func decodeEnvelopeJSON(data []byte) (*Envelope, error) {
	var e *Envelope
	// Unmarshal accepts exactly the messages the decoder path below
	// accepts, without copying the message into the decoder's buffer
	// first; the decoder path only runs to word the error.
	if err := json.Unmarshal(data, &e); err == nil && e != nil {
		return e, nil
	}
	e = nil
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("decode authorization request: %w", err)
	}
	if e == nil {
		return nil, fmt.Errorf("decode authorization request: null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("decode authorization request: unexpected content after JSON")
	}
	return e, nil
}

// parseResponseEnvelope is parseEnvelope for the response phase. That
// phase reads the two bodies only of requests that can create, remove or
// rename an object (followResponse and the record read nothing of a GET's
// or HEAD's), and turning their base64 into bytes was a third of what
// decoding a typical answer cost (a 2 KB list: 26 us against 17 us). So
// the bodies are turned into bytes, exactly as the fields would have
// been, only when the method is neither GET nor HEAD: by fastEnvelope
// for the daemon's own shape, and otherwise by decodeResponseJSON, where
// encoding/json leaves each body as the JSON text the daemon sent (its
// scan of the whole message still checks the syntax). There a body that
// is not a string or null, or appears more than once, and any error, go
// to decodeEnvelopeJSON, which answers exactly as before. What this
// accepts beyond parseEnvelope: a GET or HEAD whose body strings are not
// valid base64, which nothing reads (FuzzDecodeResponseEnvelope and
// FuzzFastEnvelope hold it to that).
func parseResponseEnvelope(data []byte) (*Envelope, error) {
	if len(data) > maxEnvelope {
		return nil, fmt.Errorf("authorization request larger than %d bytes", maxEnvelope)
	}
	if e, ok := fastEnvelope(data, true); ok {
		return e, nil
	}
	return decodeResponseJSON(data)
}

// decodeResponseJSON is parseResponseEnvelope by encoding/json alone.
func decodeResponseJSON(data []byte) (*Envelope, error) {
	// w's bodies point into data, which outlives them.
	var w *responseWire
	if err := json.Unmarshal(data, &w); err != nil || w == nil || !w.RequestBody.plain() || !w.ResponseBody.plain() {
		return decodeEnvelopeJSON(data)
	}
	e := &Envelope{
		User: w.User, UserAuthNMethod: w.UserAuthNMethod,
		RequestMethod: w.RequestMethod, RequestURI: w.RequestURI,
		RequestHeaders: w.RequestHeaders, RequestPeerCertificates: w.RequestPeerCertificates,
		ResponseStatusCode: w.ResponseStatusCode, ResponseHeaders: w.ResponseHeaders,
	}
	if e.RequestMethod == "GET" || e.RequestMethod == "HEAD" {
		return e, nil
	}
	if w.RequestBody.decode(&e.RequestBody) != nil || w.ResponseBody.decode(&e.ResponseBody) != nil {
		return decodeEnvelopeJSON(data)
	}
	return e, nil
}

// responseWire is Envelope with its bodies left as JSON text.
type responseWire struct {
	User                    string            `json:"User,omitempty"`
	UserAuthNMethod         string            `json:"UserAuthNMethod,omitempty"`
	RequestMethod           string            `json:"RequestMethod,omitempty"`
	RequestURI              string            `json:"RequestUri,omitempty"`
	RequestBody             bodyText          `json:"RequestBody,omitempty"`
	RequestHeaders          map[string]string `json:"RequestHeaders,omitempty"`
	RequestPeerCertificates []json.RawMessage `json:"RequestPeerCertificates,omitempty"`
	ResponseStatusCode      int               `json:"ResponseStatusCode,omitempty"`
	ResponseBody            bodyText          `json:"ResponseBody,omitempty"`
	ResponseHeaders         map[string]string `json:"ResponseHeaders,omitempty"`
}

// bodyText is a body field's JSON text, not copied, and how many times
// the message gave the field (encoding/json calls UnmarshalJSON for each).
type bodyText struct {
	raw   []byte
	times int
}

func (b *bodyText) UnmarshalJSON(raw []byte) error {
	b.raw = raw
	b.times++
	return nil
}

// plain reports whether the field came at most once, as null or a string:
// then decoding raw alone is decoding the field.
func (b bodyText) plain() bool {
	return b.times == 0 || b.times == 1 && (b.raw[0] == '"' || string(b.raw) == "null")
}

// decode turns the text into bytes as encoding/json decodes a []byte field.
func (b bodyText) decode(out *[]byte) error {
	if b.times == 0 {
		return nil
	}
	return json.Unmarshal(b.raw, out)
}

// readMessage reads at most maxEnvelope+1 bytes of r, into a buffer of
// the announced size when there is one.
func readMessage(r io.Reader, size int64) ([]byte, error) {
	r = io.LimitReader(r, maxEnvelope+1)
	if size < 0 || size > maxEnvelope {
		return io.ReadAll(r)
	}
	// One byte more than announced, so that a longer message is read to
	// its end (and found too long) rather than cut.
	buf := make([]byte, 0, size+1)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			rest, err := io.ReadAll(r)
			return append(buf, rest...), err
		}
	}
}

// identity is what the daemon authenticated: its User and authentication
// method, and the leaf peer certificate's names. Request headers are never
// consulted.
func (e *Envelope) identity() (request.Identity, error) {
	if e.Identity != nil {
		return *e.Identity, nil
	}
	id := request.Identity{User: e.User, AuthNMethod: e.UserAuthNMethod}
	if len(e.RequestPeerCertificates) == 0 {
		return id, nil
	}
	names, err := peerNames(e.RequestPeerCertificates[0])
	if err != nil {
		return id, err
	}
	id.CommonName = names.CommonName
	id.OrganizationalUnits = names.OrganizationalUnits
	id.Organizations = names.Organizations
	id.Subject = names.Subject
	if names.local {
		id.Local, id.UID, id.GID = true, names.uid, names.gid
		id.Groups = names.OrganizationalUnits
		id.PID, id.Exe = gatewayPeer(e.RequestHeaders[gatewayPeerHeader])
	}
	return id, nil
}

// The portcullis gateway's mapping (internal/gateway; a test mints with
// it to keep the two in step): a certificate with the URI
// portcullis://gateway?uid=N&gid=N is the gateway's, for a local user;
// on its requests, gatewayPeerHeader carries the client's pid and exe.
// The gateway removes that header from what its clients send; the plugin
// reads it only on requests authenticated with a gateway certificate,
// so a remote TLS client cannot make it say anything.
const (
	gatewayURIScheme  = "portcullis"
	gatewayURIHost    = "gateway"
	gatewayPeerHeader = "X-Portcullis-Peer"
)

// gatewayPeer reads the gateway's header: pid and exe, URL query encoded.
// Anything it cannot read is left out.
func gatewayPeer(v string) (pid int, exe string) {
	q, err := url.ParseQuery(v)
	if err != nil {
		return 0, ""
	}
	if n, err := strconv.Atoi(q.Get("pid")); err == nil && n > 0 {
		pid = n
	}
	return pid, q.Get("exe")
}

// gatewayIDs returns the uid and gid of a gateway certificate's URI; ok
// is false when the certificate is not the gateway's.
func gatewayIDs(cert *x509.Certificate) (uid, gid string, ok bool) {
	for _, u := range cert.URIs {
		if u.Scheme != gatewayURIScheme || u.Host != gatewayURIHost {
			continue
		}
		q := u.Query()
		uid, gid = q.Get("uid"), q.Get("gid")
		if _, err := strconv.ParseUint(uid, 10, 32); err != nil {
			return "", "", false
		}
		if _, err := strconv.ParseUint(gid, 10, 32); err != nil {
			return "", "", false
		}
		return uid, gid, true
	}
	return "", "", false
}

// certNames are the names Portcullis reads from a peer certificate. The
// slices are shared between requests and never modified.
type certNames struct {
	CommonName          string
	OrganizationalUnits []string
	Organizations       []string
	Subject             string
	// local: the gateway minted it, for uid and gid.
	local    bool
	uid, gid string
}

// peerCache remembers the names of certificates already parsed: the daemon
// sends the same client certificate with every request of a connection,
// and parsing it was most of the cost of a TLS user's request (12 us, 71
// allocations). Only certificates that parsed are kept; the cache is
// emptied when it reaches maxPeerCache entries.
var peerCache struct {
	sync.Mutex
	m map[string]certNames
}

const maxPeerCache = 4096

func peerNames(raw json.RawMessage) (certNames, error) {
	peerCache.Lock()
	n, ok := peerCache.m[string(raw)]
	peerCache.Unlock()
	if ok {
		return n, nil
	}
	cert, err := parsePeerCertificate(raw)
	if err != nil {
		return certNames{}, err
	}
	n = certNames{
		CommonName:          cert.Subject.CommonName,
		OrganizationalUnits: cert.Subject.OrganizationalUnit,
		Organizations:       cert.Subject.Organization,
		Subject:             cert.Subject.String(),
	}
	n.uid, n.gid, n.local = gatewayIDs(cert)
	peerCache.Lock()
	if peerCache.m == nil || len(peerCache.m) >= maxPeerCache {
		peerCache.m = make(map[string]certNames)
	}
	peerCache.m[string(raw)] = n
	peerCache.Unlock()
	return n, nil
}

// parsePeerCertificate decodes one certificate as the daemon encodes it: a
// JSON string (base64 of the PEM text).
func parsePeerCertificate(raw json.RawMessage) (*x509.Certificate, error) {
	var pemBytes []byte
	if err := json.Unmarshal(raw, &pemBytes); err != nil {
		return nil, fmt.Errorf("peer certificate: %w", err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("peer certificate: not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("peer certificate: %w", err)
	}
	return cert, nil
}
