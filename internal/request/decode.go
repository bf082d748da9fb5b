package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// decodeBody decodes r's JSON body into the daemon's type for r.Action.
func decodeBody(r *Request, body []byte) error {
	var err error
	switch r.Action {
	case ActionContainerCreate:
		r.ContainerCreate, err = decodeCreate(body, &r.UnknownFields)
		if r.ContainerCreate != nil {
			r.ContainerCreate.Name = r.Query.Get("name")
			r.ContainerCreate.Platform = r.Query.Get("platform")
		}
	case ActionCommit:
		var c *ContainerCreate
		if c, err = decodeCreate(body, &r.UnknownFields); c != nil {
			r.CommitConfig = c.Config
		}
	case ActionContainerExec:
		err = decodeInto(body, &r.Exec, &r.UnknownFields)
	case ActionExecStart:
		err = decodeInto(body, &r.ExecStart, &r.UnknownFields)
	case ActionContainerUpdate:
		err = decodeInto(body, &r.ContainerUpdate, &r.UnknownFields)
	case ActionCheckpointCreate:
		err = decodeInto(body, &r.CheckpointCreate, &r.UnknownFields)
	case ActionVolumeCreate:
		err = decodeInto(body, &r.VolumeCreate, &r.UnknownFields)
	case ActionVolumeUpdate:
		err = decodeInto(body, &r.VolumeUpdate, &r.UnknownFields)
	case ActionNetworkCreate:
		err = decodeInto(body, &r.NetworkCreate, &r.UnknownFields)
	case ActionNetworkConnect:
		err = decodeInto(body, &r.NetworkConnect, &r.UnknownFields)
	case ActionNetworkDisconnect:
		err = decodeInto(body, &r.NetworkDisconnect, &r.UnknownFields)
	case ActionServiceCreate, ActionServiceUpdate, ActionServiceRollback:
		err = decodeInto(body, &r.ServiceSpec, &r.UnknownFields)
	case ActionSwarmInit:
		err = decodeInto(body, &r.SwarmInit, &r.UnknownFields)
	case ActionSwarmJoin:
		err = decodeInto(body, &r.SwarmJoin, &r.UnknownFields)
	case ActionSwarmUpdate:
		err = decodeInto(body, &r.SwarmUpdate, &r.UnknownFields)
	case ActionSwarmUnlock:
		err = decodeInto(body, &r.SwarmUnlock, &r.UnknownFields)
	case ActionNodeUpdate:
		err = decodeInto(body, &r.NodeSpec, &r.UnknownFields)
	case ActionSecretCreate, ActionSecretUpdate:
		err = decodeInto(body, &r.SecretSpec, &r.UnknownFields)
	case ActionConfigCreate, ActionConfigUpdate:
		err = decodeInto(body, &r.ConfigSpec, &r.UnknownFields)
	case ActionPluginPull, ActionPluginUpgrade:
		err = decodeSlice(body, &r.PluginPrivileges, &r.UnknownFields)
	case ActionPluginSet:
		err = decodeSlice(body, &r.PluginSettings, &r.UnknownFields)
	default:
		// A JSON body on a route whose body the daemon ignores.
		return nil
	}
	if err != nil {
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
