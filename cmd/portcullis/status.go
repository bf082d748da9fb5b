package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/plugin"
)

// status asks a running plugin over its socket whether it activates and
// which policy revision it serves. Exit 0 healthy, 1 unhealthy.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", "", stderr)
	socket := fs.String("socket", plugin.DefaultSocket, "the plugin's Unix socket")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the plugin")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	gw := fs.String("gateway", "", "check the gateway on this socket instead (e.g. /run/docker.sock): who it says you are, and whether the daemon accepts you")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *gw != "" {
		return gatewayStatus(ctx, *gw, *timeout, *asJSON, stdout)
	}
	client := &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", *socket)
		}},
	}
	var act struct{ Implements []string }
	if err := call(ctx, client, "/Plugin.Activate", &act); err != nil {
		fmt.Fprintf(stdout, "unhealthy: %s: %v\n", *socket, err)
		return exitFailed
	}
	if len(act.Implements) != 1 || act.Implements[0] != "authz" {
		fmt.Fprintf(stdout, "unhealthy: %s implements %v, not authz\n", *socket, act.Implements)
		return exitFailed
	}
	var st plugin.Status
	if err := call(ctx, client, "/Portcullis.Status", &st); err != nil {
		fmt.Fprintf(stdout, "unhealthy: %s: status: %v\n", *socket, err)
		return exitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
		return exitOK
	}
	fmt.Fprintf(stdout, "healthy: %s\n version:         %s\n instance:        %s\n policy revision: %s\n policies:        %v\n uptime:          %s\n",
		*socket, st.Version, st.Instance, st.PolicyRevision, st.Policies,
		(time.Duration(st.UptimeSeconds) * time.Second).String())
	return exitOK
}

func call(ctx context.Context, c *http.Client, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://plugin"+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.docker.plugins.v1.2+json")
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s", res.Status)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(out)
}

// gatewayStatus asks a gateway who the caller is and whether the daemon
// answers the caller through it. Exit 0 healthy, 1 unhealthy.
func gatewayStatus(ctx context.Context, socket string, timeout time.Duration, asJSON bool, stdout io.Writer) int {
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+gateway.StatusPath, nil)
	if err != nil {
		fmt.Fprintf(stdout, "unhealthy: %s: %v\n", socket, err)
		return exitFailed
	}
	res, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stdout, "unhealthy: %s: %v\n", socket, err)
		return exitFailed
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var st gateway.Status
	if err := json.Unmarshal(body, &st); err != nil || st.User == "" {
		fmt.Fprintf(stdout, "unhealthy: %s: HTTP %s: %s\n", socket, res.Status, strings.TrimSpace(string(body)))
		return exitFailed
	}
	healthy := res.StatusCode == http.StatusOK && st.DaemonStatus == http.StatusOK
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
	} else {
		word := "healthy"
		if !healthy {
			word = "unhealthy"
		}
		daemon := fmt.Sprintf("%s answered %d (API %s)", st.Daemon, st.DaemonStatus, st.APIVersion)
		if st.DaemonError != "" {
			daemon = st.Daemon + ": " + st.DaemonError
		}
		fmt.Fprintf(stdout, "%s: %s\n version:             %s\n you are:             %s (uid %d, groups %s)\n certificate expires: %s\n daemon:              %s\n refused connections: %d\n uptime:              %s\n",
			word, socket, st.Version, st.User, st.UID, strings.Join(st.Groups, ","), st.CertExpires.Format(time.RFC3339), daemon, st.Refused,
			(time.Duration(st.UptimeSeconds) * time.Second).String())
	}
	if !healthy {
		return exitFailed
	}
	return exitOK
}
