package request

import (
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// The top-level HostConfig keys are decoded beside the embedded Config. A
// name both have would shadow the Config field and change what the
// daemon's decoding means, so there must be none.
func TestLegacyKeysDoNotShadowConfig(t *testing.T) {
	cfg := map[string]bool{}
	for _, n := range jsonFieldNames(reflect.TypeOf(container.Config{})) {
		cfg[strings.ToLower(n)] = true
	}
	if len(legacyFieldNames) < 40 {
		t.Fatalf("only %d HostConfig keys found; the reflection walk is broken", len(legacyFieldNames))
	}
	for _, n := range legacyFieldNames {
		if cfg[strings.ToLower(n)] {
			t.Errorf("HostConfig key %q is also a Config key", n)
		}
	}
	for _, want := range []string{"Privileged", "Binds", "CapAdd", "Devices", "PidsLimit", "Mounts", "SecurityOpt"} {
		found := false
		for _, n := range legacyFieldNames {
			found = found || n == want
		}
		if !found {
			t.Errorf("HostConfig key %q not watched at the top level", want)
		}
	}
}

func TestNormaliseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.41": "1.41", "01.041": "1.41", "1.41.": "1.41", "1.41.0": "1.41", "1.41.1": "1.41.1",
		"1": "1", ".": "0.0", "1.24": "1.24", "99999999999999999999.1": "9223372036854775807.1", // Atoi saturates, as in the daemon's compare
	} {
		if got := normaliseVersion(in); got != want {
			t.Errorf("normaliseVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
