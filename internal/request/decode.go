package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/checkpoint"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

// decoder decodes one route's JSON body into its field of the request
// model.
type decoder struct {
	// typ is the daemon's type the body decodes into.
	typ    reflect.Type
	decode func(r *Request, body []byte) error
}

// field is the name of the Request field d fills: the one decoding an
// empty value of its JSON kind sets.
func (d *decoder) field() string {
	body := "{}"
	if d.typ.Kind() == reflect.Slice {
		body = "[]"
	}
	r := &Request{Query: url.Values{}}
	if d.decode(r, []byte(body)) != nil {
		return ""
	}
	rv := reflect.ValueOf(r).Elem()
	for i := 0; i < rv.NumField(); i++ {
		if f := rv.Field(i); (f.Kind() == reflect.Pointer || f.Kind() == reflect.Slice) && !f.IsNil() && rv.Type().Field(i).Name != "UnknownFields" {
			return rv.Type().Field(i).Name
		}
	}
	return ""
}

// into is the decoder of a body that is one JSON value of type T, into
// the field of r that field returns.
func into[T any](field func(r *Request) **T) *decoder {
	return &decoder{typ: reflect.TypeFor[T](), decode: func(r *Request, body []byte) error {
		return decodeInto(body, field(r), &r.UnknownFields)
	}}
}

// intoSlice is into for bodies that are JSON arrays.
func intoSlice[S ~[]E, E any](field func(r *Request) *S) *decoder {
	return &decoder{typ: reflect.TypeFor[S](), decode: func(r *Request, body []byte) error {
		return decodeSlice(body, field(r), &r.UnknownFields)
	}}
}

// The decoders of the route table's bodies, one per body type.
var (
	decContainerCreate = &decoder{typ: reflect.TypeFor[ContainerCreate](), decode: func(r *Request, body []byte) error {
		var err error
		r.ContainerCreate, err = decodeCreate(body, &r.UnknownFields)
		if r.ContainerCreate != nil {
			r.ContainerCreate.Name = r.Query.Get("name")
			r.ContainerCreate.Platform = r.Query.Get("platform")
		}
		return err
	}}
	// decCommit: the body of a commit is a container Config, which the
	// daemon decodes as a create body (api/server/router/container/
	// container_routes.go postCommit: decoder.DecodeConfig).
	decCommit = &decoder{typ: reflect.TypeFor[container.Config](), decode: func(r *Request, body []byte) error {
		c, err := decodeCreate(body, &r.UnknownFields)
		if c != nil {
			r.CommitConfig = c.Config
		}
		return err
	}}
	decExec              = into(func(r *Request) **container.ExecOptions { return &r.Exec })
	decExecStart         = into(func(r *Request) **container.ExecStartOptions { return &r.ExecStart })
	decContainerUpdate   = into(func(r *Request) **container.UpdateConfig { return &r.ContainerUpdate })
	decCheckpointCreate  = into(func(r *Request) **checkpoint.CreateOptions { return &r.CheckpointCreate })
	decVolumeCreate      = into(func(r *Request) **volume.CreateOptions { return &r.VolumeCreate })
	decVolumeUpdate      = into(func(r *Request) **volume.UpdateOptions { return &r.VolumeUpdate })
	decNetworkCreate     = into(func(r *Request) **network.CreateRequest { return &r.NetworkCreate })
	decNetworkConnect    = into(func(r *Request) **network.ConnectOptions { return &r.NetworkConnect })
	decNetworkDisconnect = into(func(r *Request) **network.DisconnectOptions { return &r.NetworkDisconnect })
	decServiceSpec       = into(func(r *Request) **swarm.ServiceSpec { return &r.ServiceSpec })
	decSwarmInit         = into(func(r *Request) **swarm.InitRequest { return &r.SwarmInit })
	decSwarmJoin         = into(func(r *Request) **swarm.JoinRequest { return &r.SwarmJoin })
	decSwarmUpdate       = into(func(r *Request) **swarm.Spec { return &r.SwarmUpdate })
	decSwarmUnlock       = into(func(r *Request) **swarm.UnlockRequest { return &r.SwarmUnlock })
	decNodeSpec          = into(func(r *Request) **swarm.NodeSpec { return &r.NodeSpec })
	decSecretSpec        = into(func(r *Request) **swarm.SecretSpec { return &r.SecretSpec })
	decConfigSpec        = into(func(r *Request) **swarm.ConfigSpec { return &r.ConfigSpec })
	decPluginPrivileges  = intoSlice(func(r *Request) *types.PluginPrivileges { return &r.PluginPrivileges })
	decPluginSettings    = intoSlice(func(r *Request) *[]string { return &r.PluginSettings })
)

// decodeBody decodes r's JSON body with d, the decoder of r's route. Every
// route whose body is bodyRequired or bodyOptional has one
// (TestRouteTable); a nil d is refused all the same.
func decodeBody(r *Request, d *decoder, body []byte) error {
	if d == nil {
		return reject(CodeBodyInvalid, "body", "the %s body has no decoder", r.Action)
	}
	if err := d.decode(r, body); err != nil {
		var re *Error
		if errors.As(err, &re) {
			return re
		}
		return reject(CodeBodyInvalid, "body", "the %s body does not decode as the daemon would: %v", r.Action, err)
	}
	return nil
}

// decodeInto decodes exactly one JSON value from body into *dst, with the
// daemon's encoding/json semantics (case-insensitive keys, the last
// duplicate wins, repeated objects merge), and rejects trailing data. A
// JSON null leaves *dst nil, as it does for the daemon.
func decodeInto[T any](body []byte, dst **T, unknown *[]string) error {
	var v *T
	if err := decodeJSON(body, &v, unknown); err != nil {
		return err
	}
	*dst = v
	return nil
}

// decodeSlice is decodeInto for bodies that are JSON arrays.
func decodeSlice[S ~[]E, E any](body []byte, dst *S, unknown *[]string) error {
	var v S
	if err := decodeJSON(body, &v, unknown); err != nil {
		return err
	}
	*dst = v
	return nil
}

// decodeJSON decodes exactly one JSON value from body into v with
// encoding/json, as the daemon decodes it, failing unless only white space
// follows it. The daemon's own check (Decoder.More) lets a stray '}' or ']'
// through; we accept nothing. encoding/json is the only reader of bodies:
// at a security boundary the one safe reading is the daemon's own.
//
// json.Unmarshal accepts exactly what the json.Decoder path below accepts
// and decodes it the same way, without first copying the body into the
// decoder's growing buffer (a fifth of the time and half the memory of a
// 1 MiB body). Only when it fails is the decoder path run, so that errors
// read as they always have.
//
// encoding/json drops keys it cannot match to a field; *unknown is set to
// those that carried a value (see unknownFields).
func decodeJSON(body []byte, v any, unknown *[]string) error {
	if err := json.Unmarshal(body, v); err != nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(v); err != nil {
			return err
		}
		if err := noTrailing(dec); err != nil {
			return err
		}
	}
	found, err := unknownFields(body, reflect.TypeOf(v).Elem())
	if err != nil {
		return reject(CodeBodyInvalid, "body", "the body cannot be checked for unknown fields: %v", err)
	}
	*unknown = found
	return nil
}

// noTrailing fails unless only white space follows the decoded value.
func noTrailing(dec *json.Decoder) error {
	rest, err := io.ReadAll(dec.Buffered())
	if err != nil {
		return err
	}
	if len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return errors.New("unexpected content after JSON")
	}
	return nil
}

// createBodyType is the shape in which container create (and commit) bodies
// are decoded. It is the daemon's CreateRequest (Config embedded,
// HostConfig and NetworkingConfig by name) plus, at the top level, one
// json.RawMessage field per HostConfig JSON key. Daemons before 25.0
// embedded the HostConfig at the top level too and applied those keys when
// the body had no "HostConfig"; by decoding both in one pass with
// encoding/json itself we see such keys exactly as those daemons would,
// including case and Unicode folding.
var (
	createBodyType   reflect.Type
	legacyFieldIndex []int    // field indexes of the top-level HostConfig keys
	legacyFieldNames []string // their JSON names
)

func init() {
	fields := []reflect.StructField{
		{Name: "Config", Type: reflect.TypeOf((*container.Config)(nil)), Anonymous: true},
		{Name: "HostConfig", Type: reflect.TypeOf((*container.HostConfig)(nil)), Tag: `json:"HostConfig,omitempty"`},
		{Name: "NetworkingConfig", Type: reflect.TypeOf((*network.NetworkingConfig)(nil)), Tag: `json:"NetworkingConfig,omitempty"`},
	}
	for i, name := range jsonFieldNames(reflect.TypeOf(container.HostConfig{})) {
		legacyFieldIndex = append(legacyFieldIndex, len(fields))
		legacyFieldNames = append(legacyFieldNames, name)
		fields = append(fields, reflect.StructField{
			Name: "Legacy" + strconv.Itoa(i),
			Type: reflect.TypeOf(json.RawMessage(nil)),
			Tag:  reflect.StructTag(`json:"` + name + `"`),
		})
	}
	createBodyType = reflect.StructOf(fields)
}

// jsonFieldNames lists the JSON keys encoding/json uses for t's fields,
// following embedded structs as encoding/json does.
func jsonFieldNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			names = append(names, jsonFieldNames(ft)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// decodeCreate decodes a container create body the way the daemon does and
// refuses HostConfig keys at the top level.
func decodeCreate(body []byte, unknown *[]string) (*ContainerCreate, error) {
	pv := reflect.New(createBodyType)
	if err := decodeJSON(body, pv.Interface(), unknown); err != nil {
		return nil, err
	}
	v := pv.Elem()
	var legacy []string
	for i, fi := range legacyFieldIndex {
		if v.Field(fi).Len() > 0 {
			legacy = append(legacy, legacyFieldNames[i])
		}
	}
	if len(legacy) > 0 {
		return nil, reject(CodeLegacyConfig, legacy[0],
			"HostConfig settings at the top level of a create body (%s) are applied by older daemons; put them under \"HostConfig\"",
			strings.Join(legacy, ", "))
	}
	c := &ContainerCreate{}
	c.Config, _ = v.Field(0).Interface().(*container.Config)
	c.HostConfig, _ = v.Field(1).Interface().(*container.HostConfig)
	c.NetworkingConfig, _ = v.Field(2).Interface().(*network.NetworkingConfig)
	if c.Config == nil {
		c.Config = &container.Config{}
	}
	if c.HostConfig == nil {
		c.HostConfig = &container.HostConfig{}
	}
	if c.NetworkingConfig == nil {
		c.NetworkingConfig = &network.NetworkingConfig{}
	}
	return c, nil
}
