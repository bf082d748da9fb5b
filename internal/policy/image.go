package policy

import (
	"strconv"
	"strings"
)

// imageRef is a normalised image reference: Name is the full repository
// ("docker.io/library/busybox"), Tag and Digest as written; ID is set for
// references that name an image by ID rather than by repository.
type imageRef struct {
	Name, Tag, Digest string
	ID                bool
}

// parseImageRef normalises a reference the way the daemon does
// (distribution/reference ParseNormalizedNamed): a first component
// without '.' or ':' that is not "localhost" is a Docker Hub path, and
// single-component Hub names live under "library/".
func parseImageRef(ref string) imageRef {
	var r imageRef
	if rest, ok := strings.CutPrefix(ref, "sha256:"); ok && isHex(rest) {
		return imageRef{Digest: ref, ID: true}
	}
	if len(ref) == 64 && isHex(ref) {
		return imageRef{Digest: "sha256:" + ref, ID: true}
	}
	name := ref
	if i := strings.IndexByte(name, '@'); i >= 0 {
		r.Digest = name[i+1:]
		name = name[:i]
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.Contains(name[i:], "/") {
		r.Tag = name[i+1:]
		name = name[:i]
	}
	domain, path := "docker.io", name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		first := name[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
			domain, path = first, name[i+1:]
		}
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(path, "/") {
		r.ID = r.Tag == "" && r.Digest == "" && isHex(path)
		path = "library/" + path
	}
	r.Name = domain + "/" + path
	return r
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// imageName judges a repository reference against the allow-list.
func (e *evaluator) imageName(ref, field string) {
	ip := &e.p.images
	if ip.allow.all {
		return
	}
	if ref == "" {
		e.add("images.registry", field, "an image reference is required")
		return
	}
	r := parseImageRef(ref)
	if r.ID {
		e.add("images.id", field, "image "+strconv.Quote(ref)+" looks like an image ID, which cannot be checked against the allowed repositories; use a repository name")
		return
	}
	if !ip.allow.match(r.Name) {
		e.add("images.registry", field, "image repository "+r.Name+" is not allowed")
	}
}

// imageRun judges the image a container or service runs: the repository,
// plus digest pinning and "latest".
func (e *evaluator) imageRun(ref, field string) {
	ip := &e.p.images
	if ip.allow.all && ip.allowLatest && !ip.requireDigest {
		return
	}
	e.imageName(ref, field)
	r := parseImageRef(ref)
	if r.ID {
		return
	}
	if ip.requireDigest && r.Digest == "" {
		e.add("images.digest", field, "image "+strconv.Quote(ref)+" must be pinned by digest (name@sha256:...)")
	}
	if !ip.allowLatest && r.Digest == "" && (r.Tag == "" || r.Tag == "latest") {
		e.add("images.latest", field, "image "+strconv.Quote(ref)+" uses the latest tag; name a version")
	}
}
