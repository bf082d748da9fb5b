package gateway

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"strconv"
	"time"
)

// The mapping from a local user to a client certificate. The plugin reads
// the same names (internal/plugin), and a test there mints with this
// package to keep the two in step.
const (
	// URIScheme and URIHost name the subject alternative name that marks a
	// certificate the gateway minted: portcullis://gateway?uid=1000&gid=1000.
	// The plugin honours PeerHeader only on requests authenticated with
	// such a certificate.
	URIScheme = "portcullis"
	URIHost   = "gateway"
	// PeerHeader carries what the gateway knows about the client process
	// of one connection (pid and executable, URL query encoded). The
	// gateway removes it, and every other identity-looking header, from
	// what clients send, and sets its own.
	PeerHeader = "X-Portcullis-Peer"
)

// Authority mints short-lived client certificates for local users from a
// CA the daemon trusts (dockerd --tlsverify --tlscacert).
type Authority struct {
	cert     *x509.Certificate
	key      crypto.Signer
	lifetime time.Duration
	now      func() time.Time
}

// DefaultLifetime is how long a minted certificate is valid.
const DefaultLifetime = time.Hour

// LoadAuthority reads the CA certificate and its private key (PEM). The
// key file must be readable by its owner only: whoever can read it can
// pass as any user.
func LoadAuthority(certFile, keyFile string, lifetime time.Duration) (*Authority, error) {
	fi, err := os.Stat(keyFile)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("CA key %s is readable by others (mode %04o): only its owner (root) may read it; chmod 0600 it", keyFile, fi.Mode().Perm())
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	return NewAuthority(certPEM, keyPEM, lifetime)
}

// NewAuthority is LoadAuthority from PEM bytes.
func NewAuthority(certPEM, keyPEM []byte, lifetime time.Duration) (*Authority, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("CA certificate: no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("CA certificate: not a CA (basic constraints)")
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, errors.New("CA key does not match the CA certificate")
	}
	if lifetime <= 0 {
		lifetime = DefaultLifetime
	}
	if lifetime < 2*time.Minute {
		return nil, fmt.Errorf("certificate lifetime %s is too short (at least 2m)", lifetime)
	}
	return &Authority{cert: cert, key: key, lifetime: lifetime, now: time.Now}, nil
}

func parseKey(pemBytes []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, pemBytes = pem.Decode(pemBytes)
		if block == nil {
			return nil, errors.New("no PEM private key")
		}
		var k any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue // for example EC PARAMETERS
		}
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("key type %T cannot sign", k)
		}
		return s, nil
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// Pool is a certificate pool holding the authority's certificate, for a
// test daemon or a check.
func (a *Authority) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// Lifetime is how long minted certificates are valid.
func (a *Authority) Lifetime() time.Duration { return a.lifetime }

// Mint issues a client certificate for p: CN = user name, one OU per
// group (primary group first), and the URI portcullis://gateway?uid=&gid=
// that marks it as the gateway's. Each certificate has a key of its own.
func (a *Authority) Mint(p Peer) (*tls.Certificate, error) {
	if p.Name == "" {
		return nil, errors.New("mint: no user name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	now := a.now()
	notAfter := now.Add(a.lifetime)
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter
	}
	if !notAfter.After(now) {
		return nil, errors.New("mint: the CA certificate has expired")
	}
	q := url.Values{}
	q.Set("uid", strconv.FormatUint(uint64(p.UID), 10))
	q.Set("gid", strconv.FormatUint(uint64(p.GID), 10))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject(p),
		URIs:         []*url.URL{{Scheme: URIScheme, Host: URIHost, RawQuery: q.Encode()}},
		// A little slack for a daemon whose clock is behind.
		NotBefore:   now.Add(-5 * time.Minute),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// oidOU is organizationalUnitName (2.5.4.11).
var oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}

// subject is CN = the user name and one OU per group, each OU its own
// RDN so that the groups keep their order (primary group first): pkix.Name
// would put them in one multi-valued RDN, a SET that DER sorts.
func subject(p Peer) pkix.Name {
	n := pkix.Name{CommonName: p.Name}
	for _, g := range p.Groups {
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidOU, Value: g})
	}
	return n
}
