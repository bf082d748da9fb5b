package policy

import (
	"net/netip"
	"slices"
	"testing"
)

func TestInternalAddr(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		internal bool
	}{
		{"127.0.0.1", true}, {"127.255.0.9", true}, {"::1", true},
		{"169.254.169.254", true}, {"fe80::1", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.1.1", true}, {"fd00::5", true},
		{"100.64.0.1", true}, {"0.0.0.0", true}, {"0.1.2.3", true}, {"::", true},
		{"224.0.0.1", true}, {"ff02::1", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:169.254.169.254", true}, {"64:ff9b::a9fe:a9fe", true},
		{"93.184.216.34", false}, {"2606:4700::1111", false}, {"64:ff9b::5db8:d822", false},
		{"172.32.0.1", false}, {"100.128.0.1", false},
	} {
		if got := internalAddr(netip.MustParseAddr(tc.addr)) != ""; got != tc.internal {
			t.Errorf("%s: internal %v, want %v", tc.addr, got, tc.internal)
		}
	}
}

func TestNetworkFSServers(t *testing.T) {
	for _, tc := range []struct {
		typ, o, dev string
		want        []string
	}{
		{"nfs", "addr=10.0.0.1,rw", ":/export", []string{"10.0.0.1"}},
		{"nfs4", "", "fs.example:/export", []string{"fs.example"}},
		{"nfs", "addr=a,nfsvers=4", "b:/x", []string{"a", "b"}},
		{"nfs", "", "[fd00::1]:/x", []string{"fd00::1"}},
		{"cifs", "username=u", "//srv/share", []string{"srv"}},
		{"smb3", "ip=10.0.0.2", "//srv/share/sub", []string{"10.0.0.2", "srv"}},
		{"nfs", "rw", "/export", nil},
		{"ceph", "", "mon1:6789,mon2:6789:/data", []string{"mon1", "mon2"}},
	} {
		if got := networkFSServers(tc.typ, tc.o, tc.dev); !slices.Equal(got, tc.want) {
			t.Errorf("%s o=%q device=%q: %q, want %q", tc.typ, tc.o, tc.dev, got, tc.want)
		}
	}
}
