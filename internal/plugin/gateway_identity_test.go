package plugin_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/plugin"
)

// testAuthority is a gateway CA for a test.
func testAuthority(t *testing.T) *gateway.Authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gateway CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	a, err := gateway.NewAuthority(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestGatewayIdentity: a certificate the gateway minted makes a local
// identity (groups, uid, and pid and exe from the gateway's header); the
// same header on a request with any other certificate, or none, is
// ignored.
func TestGatewayIdentity(t *testing.T) {
	a := testAuthority(t)
	minted, err := a.Mint(gateway.Peer{UID: 1001, GID: 1002, Account: gateway.Account{Name: "alice", Groups: []string{"alice", "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []*plugin.Outcome
	var mu sync.Mutex
	p := plugin.New(loadPolicies(t), plugin.WithAuditor(auditorFunc(func(o *plugin.Outcome) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, o)
		return nil
	})))
	c, _ := serve(t, p)
	peer := url.Values{"pid": {"4242"}, "exe": {"/usr/bin/docker"}}.Encode()
	for _, tc := range []struct {
		name  string
		cert  *x509.Certificate
		local bool
	}{
		{"gateway certificate", minted.Leaf, true},
		{"other certificate with the header", selfSigned(t, "alice", "web"), false},
		{"no certificate with the header", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			req := authorization.Request{
				RequestMethod: "GET", RequestURI: "/v1.41/info",
				RequestHeaders: map[string]string{gateway.PeerHeader: peer},
			}
			if tc.cert != nil {
				req.User, req.UserAuthNMethod = tc.cert.Subject.CommonName, "TLS"
				req.RequestPeerCertificates = []*authorization.PeerCertificate{(*authorization.PeerCertificate)(tc.cert)}
			}
			b, _ := json.Marshal(req)
			post(t, c, "/AuthZPlugin.AuthZReq", b)
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("%d outcomes", len(got))
			}
			id := got[0].Identity
			if !tc.local {
				if id.Local || id.PID != 0 || id.Exe != "" || id.UID != "" || len(id.Groups) != 0 {
					t.Errorf("a non-gateway request took local identity fields: %+v", id)
				}
				return
			}
			if !id.Local || id.User != "alice" || id.UID != "1001" || id.GID != "1002" || id.PID != 4242 || id.Exe != "/usr/bin/docker" ||
				len(id.Groups) != 2 || id.Groups[0] != "alice" || id.Groups[1] != "web" {
				t.Errorf("identity %+v", id)
			}
		})
	}
}
