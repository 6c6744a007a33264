package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/sluicehq/sluice/topology"
	"github.com/sluicehq/sluice/topology/config"
)

const deployDir = "../../examples/deploy"

// checkArgs parses a command line of sluice against the real CLI: every flag
// exists and takes its value, the roles are roles. It returns the flags set.
func checkArgs(t *testing.T, where string, args []string) map[string]string {
	t.Helper()
	root := newRootCmd()
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root {
		t.Fatalf("%s: %v is not a sluice command: %v", where, args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("%s: sluice %s: %v", where, cmd.Name(), err)
	}
	set := map[string]string{}
	cmd.Flags().Visit(func(f *pflag.Flag) { set[f.Name] = f.Value.String() })
	if r, ok := set["roles"]; ok {
		if _, err := topology.ParseRoles(r); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
	return set
}

// port returns the port of a host:port flag value.
func port(t *testing.T, where, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: %q: %v", where, addr, err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// The example workspace for production parses and validates.
func TestDeployExampleConfig(t *testing.T) {
	ws, err := config.Load(filepath.Join(deployDir, "sluice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.Kafka.Brokers) == 0 || ws.Kafka.SASL.PasswordEnv == "" || !ws.Kafka.TLS.On() {
		t.Fatalf("the production example should show brokers, TLS and SASL: %+v", ws.Kafka)
	}
}

// The systemd unit runs real flags; each role's environment file gives it
// flags the CLI has, and no two roles on a host share a port.
func TestDeployExampleSystemd(t *testing.T) {
	dir := filepath.Join(deployDir, "systemd")
	unit, err := os.ReadFile(filepath.Join(dir, "sluice@.service"))
	if err != nil {
		t.Fatal(err)
	}
	var exec string
	sc := bufio.NewScanner(bytes.NewReader(unit))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "ExecStart="); ok {
			exec = v
		}
	}
	if exec == "" {
		t.Fatal("sluice@.service has no ExecStart")
	}
	ports := map[int]string{}
	for _, role := range topology.AllRoles {
		env, err := os.ReadFile(filepath.Join(dir, string(role)+".env"))
		if err != nil {
			t.Fatal(err)
		}
		args, _ := strings.CutPrefix(strings.TrimSpace(string(env)), "SLUICE_ARGS=")
		line := strings.ReplaceAll(strings.ReplaceAll(exec, "%i", string(role)), "$SLUICE_ARGS", args)
		fields := strings.Fields(line)
		if filepath.Base(fields[0]) != "sluice" {
			t.Fatalf("ExecStart runs %s", fields[0])
		}
		set := checkArgs(t, "systemd "+string(role), fields[1:])
		if set["roles"] != string(role) {
			t.Errorf("systemd %s runs roles %q", role, set["roles"])
		}
		for _, flag := range []string{"api-addr", "metrics-addr"} {
			if v, ok := set[flag]; ok {
				p := port(t, "systemd "+string(role), v)
				if other, dup := ports[p]; dup {
					t.Errorf("systemd %s and %s both listen on port %d", role, other, p)
				}
				ports[p] = string(role)
			}
		}
		if _, ok := set["metrics-addr"]; !ok {
			t.Errorf("systemd %s serves no /readyz (--metrics-addr)", role)
		}
	}
}

// The Kubernetes manifests run real flags, probe the port --metrics-addr
// serves, expose the port --api-addr serves, and carry a config that parses.
func TestDeployExampleKubernetes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deployDir, "kubernetes", "sluice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
			Port int    `yaml:"port"`
		} `yaml:"httpGet"`
	}
	type doc struct {
		Kind     string                `yaml:"kind"`
		Metadata struct{ Name string } `yaml:"metadata"`
		Data     map[string]string     `yaml:"data"`
		Spec     struct {
			Replicas int `yaml:"replicas"`
			Template struct {
				Spec struct {
					Grace      int `yaml:"terminationGracePeriodSeconds"`
					Containers []struct {
						Args  []string `yaml:"args"`
						Ports []struct {
							ContainerPort int `yaml:"containerPort"`
						} `yaml:"ports"`
						Readiness probe `yaml:"readinessProbe"`
						Liveness  probe `yaml:"livenessProbe"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
			Ports []struct {
				TargetPort int `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	roles := map[string]bool{}
	apiPorts := map[int]bool{}
	var serviceTargets []int
	for {
		var d doc
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		switch d.Kind {
		case "ConfigMap":
			if _, err := config.Parse([]byte(d.Data["sluice.yaml"])); err != nil {
				t.Errorf("ConfigMap %s: %v", d.Metadata.Name, err)
			}
		case "Service":
			for _, p := range d.Spec.Ports {
				serviceTargets = append(serviceTargets, p.TargetPort)
			}
		case "Deployment":
			where := "Deployment " + d.Metadata.Name
			for _, c := range d.Spec.Template.Spec.Containers {
				set := checkArgs(t, where, c.Args)
				roles[set["roles"]] = true
				exposed := map[int]bool{}
				for _, p := range c.Ports {
					exposed[p.ContainerPort] = true
				}
				metrics := port(t, where, set["metrics-addr"])
				if !exposed[metrics] || c.Readiness.HTTPGet.Port != metrics || c.Liveness.HTTPGet.Port != metrics {
					t.Errorf("%s: probes and ports %v do not match --metrics-addr port %d", where, c.Ports, metrics)
				}
				if c.Readiness.HTTPGet.Path != "/readyz" || c.Liveness.HTTPGet.Path != "/healthz" {
					t.Errorf("%s: probes %q and %q, want /readyz and /healthz", where, c.Readiness.HTTPGet.Path, c.Liveness.HTTPGet.Path)
				}
				if v, ok := set["api-addr"]; ok {
					p := port(t, where, v)
					if !exposed[p] {
						t.Errorf("%s: --api-addr port %d not exposed", where, p)
					}
					apiPorts[p] = true
				}
				grace := d.Spec.Template.Spec.Grace
				if timeout, err := time.ParseDuration(set["shutdown-timeout"]); err != nil || grace <= int(timeout.Seconds()) {
					t.Errorf("%s: terminationGracePeriodSeconds %d must exceed --shutdown-timeout %s", where, grace, set["shutdown-timeout"])
				}
			}
		}
	}
	for _, r := range topology.AllRoles {
		if !roles[string(r)] {
			t.Errorf("no Deployment runs the %s role", r)
		}
	}
	if len(serviceTargets) == 0 {
		t.Fatal("no Service")
	}
	for _, p := range serviceTargets {
		if !apiPorts[p] {
			t.Errorf("Service targets port %d, which no api container serves", p)
		}
	}
}
