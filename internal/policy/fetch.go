package policy

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// What the daemon fetches for the caller: an image import from a URL, a
// build from a remote context, a plugin pull. The daemon connects from
// the host's network, where loopback services, cloud metadata
// (169.254.169.254) and private networks are reachable; those addresses,
// and names that resolve to them, are denied unless images.fetch_hosts
// lists the host.

// fetchCGNAT is 100.64.0.0/10 (shared address space), reachable only
// from inside a provider's network.
var fetchCGNAT = netip.MustParsePrefix("100.64.0.0/10")

// nat64 is the well-known NAT64 prefix; the IPv4 address in its low 32
// bits is the one reached.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// internalAddr says why a reached address is internal, or "".
func internalAddr(a netip.Addr) string {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast():
		return "link-local (cloud metadata)"
	case a.IsPrivate() || fetchCGNAT.Contains(a):
		return "private"
	case a.IsUnspecified() || a.Is4() && a.As4()[0] == 0:
		return "unspecified (this host)"
	case a.IsMulticast() || a.IsInterfaceLocalMulticast():
		return "multicast"
	}
	return ""
}

// fetchHost judges a host the daemon would connect to. what names the
// fetch for the message ("import URL"), shown is the target as given.
func (e *evaluator) fetchHost(rule, field, what, shown, host string) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		e.add(rule, field, what+" "+strconv.Quote(shown)+" names no host")
		return
	}
	if e.p.images.fetchHosts.match(host) {
		return
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if why := internalAddr(a); why != "" {
			e.add(rule, field, what+" "+strconv.Quote(shown)+" reaches a "+why+" address from the daemon's host; list the host in images.fetch_hosts to allow it")
		}
		return
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		e.add(rule, field, what+" "+strconv.Quote(shown)+" reaches a loopback address from the daemon's host; list the host in images.fetch_hosts to allow it")
		return
	}
	if e.s.resolveHost == nil {
		e.add(rule, field, what+" "+strconv.Quote(shown)+" names a host that cannot be checked (no resolver); list it in images.fetch_hosts")
		return
	}
	addrs, err := e.s.resolveHost(host)
	if err != nil || len(addrs) == 0 {
		msg := "does not resolve"
		if err != nil {
			msg = "does not resolve: " + err.Error()
		}
		e.add(rule, field, what+" "+strconv.Quote(shown)+": host "+host+" "+msg)
		return
	}
	for _, a := range addrs {
		if why := internalAddr(a); why != "" {
			e.add(rule, field, what+" "+strconv.Quote(shown)+": host "+host+" resolves to the "+why+" address "+a.String()+"; list the host in images.fetch_hosts to allow it")
			return
		}
	}
}

// importURL judges fromSrc of an image import as the daemon reads it
// (api/server/router/image/image_routes.go postImagesCreate): "-" is the
// request body; anything else is fetched with an HTTP GET, "http://"
// prepended when it has no "://".
func (e *evaluator) importURL(src string) {
	if src == "-" || src == "" {
		return
	}
	full := src
	if len(strings.Split(full, "://")) == 1 {
		full = "http://" + full
	}
	u, err := url.Parse(full)
	if err != nil {
		e.add("fetch.address", "fromSrc", "import URL "+strconv.Quote(src)+" does not parse: "+err.Error())
		return
	}
	e.fetchHost("fetch.address", "fromSrc", "import URL", src, u.Hostname())
}

// buildRemote judges the remote context of a build (remote=), as the
// daemon tells URLs and Git repositories apart
// (builder/remotecontext/urlutil): http(s) URLs are downloaded or cloned,
// "git://", "github.com/" and "git@host:path" are cloned.
func (e *evaluator) buildRemote(remote string) {
	var host string
	switch {
	case remote == "":
		return
	case strings.HasPrefix(remote, "http://"), strings.HasPrefix(remote, "https://"), strings.HasPrefix(remote, "git://"),
		strings.HasPrefix(remote, "ssh://"):
		u, err := url.Parse(remote)
		if err != nil {
			e.add("fetch.address", "remote", "build context "+strconv.Quote(remote)+" does not parse: "+err.Error())
			return
		}
		host = u.Hostname()
	case strings.HasPrefix(remote, "github.com/"):
		host = "github.com"
	case strings.HasPrefix(remote, "git@"):
		rest := strings.TrimPrefix(remote, "git@")
		host, _, _ = strings.Cut(rest, ":")
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	default:
		// Not a remote the daemon fetches (a context name, or "-").
		return
	}
	e.fetchHost("fetch.address", "remote", "build context", remote, host)
}

// pluginRemote judges the registry a plugin is pulled from.
func (e *evaluator) pluginRemote(remote string) {
	if remote == "" {
		return
	}
	r := parseImageRef(remote)
	domain, _, _ := strings.Cut(r.Name, "/")
	if domain == "docker.io" {
		return
	}
	host := domain
	if h, _, err := net.SplitHostPort(domain); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	e.fetchHost("fetch.address", "remote", "plugin registry", domain, host)
}

// networkFSServers lists the servers a local volume of a network file
// system would mount from, as the local driver hands type, o and device
// to mount(2) (volume/local): nfs "addr=" options and "host:/path"
// devices, cifs and smb3 "//server/share" devices and "addr="/"ip=".
func networkFSServers(typ, o, dev string) []string {
	var out []string
	for o != "" {
		var opt string
		opt, o, _ = strings.Cut(o, ",")
		if k, v, ok := strings.Cut(opt, "="); ok && (k == "addr" || k == "ip") {
			out = append(out, v)
		}
	}
	switch typ {
	case "cifs", "smb3":
		if rest, ok := strings.CutPrefix(dev, "//"); ok {
			h, _, _ := strings.Cut(rest, "/")
			out = append(out, h)
		}
	default:
		// "host:/path", "[v6]:/path", ceph's "mon1:6789,mon2:6789:/path".
		if i := strings.Index(dev, ":/"); i > 0 {
			for _, h := range strings.Split(dev[:i], ",") {
				if hh, _, err := net.SplitHostPort(h); err == nil {
					h = hh
				}
				if h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"); h != "" {
					out = append(out, h)
				}
			}
		}
	}
	return out
}

// isNetworkFS reports whether a local volume type mounts from the network.
func isNetworkFS(typ string) bool {
	switch typ {
	case "nfs", "nfs4", "cifs", "smb3", "ceph", "glusterfs":
		return true
	}
	return false
}

// networkFS judges the servers of a network file system volume: the
// daemon mounts them as root from the host's address, which such servers
// often trust. Every server must be listed in volumes.network_servers.
func (e *evaluator) networkFS(rule, field string, opts map[string]string) {
	typ := opts["type"]
	servers := networkFSServers(typ, opts["o"], opts["device"])
	if len(servers) == 0 {
		e.add(rule, field, "a "+strconv.Quote(typ)+" volume whose server cannot be determined is not allowed")
		return
	}
	for _, s := range servers {
		if !e.p.networkServers.match(strings.ToLower(s)) {
			e.add(rule, field, "a "+strconv.Quote(typ)+" volume from server "+strconv.Quote(s)+" is not allowed: the daemon mounts it as root from the host's address; list the server in volumes.network_servers")
		}
	}
}
