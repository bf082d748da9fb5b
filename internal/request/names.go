package request

// Names are the objects a request names, as its audit record shows them:
// the path's target under its kind, plus what its route reads from the
// query or the body (the image of a create, the name of a new volume, the
// container a network connect attaches, ...).
type Names struct {
	Container, Exec, Image, Volume, Network string
	// Object is a target of any other kind (service, secret, node, ...),
	// or the new reference of an image tag.
	Object string
}

// Names returns what r names, from its route's row (names) and its
// target kind. It is the zero Names when r names nothing.
func (r *Request) Names() Names {
	var n Names
	switch r.TargetKind {
	case KindContainer:
		n.Container = r.Target
	case KindExec:
		n.Exec = r.Target
	case KindImage:
		n.Image = r.Target
	case KindVolume:
		n.Volume = r.Target
	case KindNetwork:
		n.Network = r.Target
	default:
		n.Object = r.Target
	}
	if rt := byAction[r.Action]; rt != nil && rt.names != nil {
		rt.names(r, &n)
	}
	return n
}

// The names of the route table's rows.

func namesContainerCreate(r *Request, n *Names) {
	n.Container = r.Query.Get("name")
	if c := r.ContainerCreate; c != nil && c.Config != nil {
		n.Image = c.Config.Image
	}
}

func namesCommit(r *Request, n *Names) {
	n.Container = r.Query.Get("container")
	n.Image = joinRef(r.Query.Get("repo"), r.Query.Get("tag"))
}

func namesImagePull(r *Request, n *Names) {
	n.Image = joinRef(r.Query.Get("fromImage"), r.Query.Get("tag"))
}

func namesImageImport(r *Request, n *Names) {
	n.Image = joinRef(r.Query.Get("repo"), r.Query.Get("tag"))
}

func namesImageBuild(r *Request, n *Names) { n.Image = r.Query.Get("t") }

func namesImageTag(r *Request, n *Names) {
	n.Object = joinRef(r.Query.Get("repo"), r.Query.Get("tag"))
}

func namesVolumeCreate(r *Request, n *Names) {
	if v := r.VolumeCreate; v != nil {
		n.Volume = v.Name
	}
}

func namesNetworkCreate(r *Request, n *Names) {
	if c := r.NetworkCreate; c != nil {
		n.Network = c.Name
	}
}

func namesNetworkConnect(r *Request, n *Names) {
	if c := r.NetworkConnect; c != nil {
		n.Container = c.Container
	}
}

func namesNetworkDisconnect(r *Request, n *Names) {
	if c := r.NetworkDisconnect; c != nil {
		n.Container = c.Container
	}
}

func namesServiceCreate(r *Request, n *Names) {
	if s := r.ServiceSpec; s != nil {
		n.Object = s.Name
	}
}

// joinRef is "repo:tag", or repo alone when either is empty.
func joinRef(repo, tag string) string {
	if repo == "" || tag == "" {
		return repo
	}
	return repo + ":" + tag
}
