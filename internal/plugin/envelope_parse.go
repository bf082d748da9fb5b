package plugin

// ParseEnvelope decodes one request-phase AuthZ message already read,
// exactly as the plugin socket does (parseEnvelope): `portcullis eval`
// reads its input with it, and test/floor, which
// measures the least a plugin obeying the project's rules must do.
func ParseEnvelope(data []byte) (*Envelope, error) { return parseEnvelope(data) }

// ParseResponseEnvelope decodes one response-phase AuthZ message already
// read, exactly as the plugin socket does (parseResponseEnvelope: the
// bodies of a GET or HEAD are left undecoded). For test/floor.
func ParseResponseEnvelope(data []byte) (*Envelope, error) { return parseResponseEnvelope(data) }
