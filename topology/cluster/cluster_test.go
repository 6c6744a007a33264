package cluster_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
)

const passwordEnv = "SLUICE_TEST_KAFKA_PASSWORD"

// TestConnect runs kafka sections, parsed as sluice.yaml is, against embedded
// brokers that require SASL, TLS or both: a right section produces and
// consumes a record; a wrong one fails in FromConfig or Check with an error
// that says why.
func TestConnect(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	ipCert, _, _ := ca.issue(t, x509.ExtKeyUsageServerAuth, "127.0.0.1")
	namedCert, _, _ := ca.issue(t, x509.ExtKeyUsageServerAuth, "kafka.internal")
	_, clientCert, clientKey := ca.issue(t, x509.ExtKeyUsageClientAuth, "sluice")
	_, _, otherKey := ca.issue(t, x509.ExtKeyUsageClientAuth, "other")
	files := strings.NewReplacer(
		"$DIR", dir,
		"$CA", writeFile(t, dir, "ca.pem", ca.pem),
		"$CERT", writeFile(t, dir, "client.pem", clientCert),
		"$KEY", writeFile(t, dir, "client-key.pem", clientKey),
		"$OTHERKEY", writeFile(t, dir, "other-key.pem", otherKey),
		"$NOTPEM", writeFile(t, dir, "not.pem", []byte("not a certificate\n")),
	)

	users := []broker.User{
		{Mechanism: "PLAIN", Name: "alice", Password: "alice-pw"},
		{Mechanism: "SCRAM-SHA-256", Name: "bob", Password: "bob-pw"},
		{Mechanism: "SCRAM-SHA-512", Name: "sluice", Password: "sluice-pw"},
	}
	serverTLS := func(c tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
	}
	mtls := serverTLS(ipCert)
	mtls.ClientAuth, mtls.ClientCAs = tls.RequireAndVerifyClientCert, ca.pool()
	brokers := map[string]*broker.Broker{
		"sasl":      broker.ForTest(t, broker.Config{Users: users}),
		"tls":       broker.ForTest(t, broker.Config{TLS: serverTLS(ipCert)}),
		"named":     broker.ForTest(t, broker.Config{TLS: serverTLS(namedCert)}),
		"mtls":      broker.ForTest(t, broker.Config{TLS: mtls}),
		"tls+scram": broker.ForTest(t, broker.Config{TLS: serverTLS(ipCert), Users: users[2:]}),
	}

	for _, tc := range []struct {
		name     string
		broker   string
		section  string // the kafka section's lines besides brokers
		password string // the value of passwordEnv
		wantErr  string // "" for a round trip; else part of the error
	}{
		// SASL.
		{name: "PLAIN", broker: "sasl", password: "alice-pw",
			section: "sasl: {mechanism: PLAIN, user: alice, passwordEnv: " + passwordEnv + "}"},
		{name: "SCRAM-SHA-256", broker: "sasl", password: "bob-pw",
			section: "sasl: {mechanism: SCRAM-SHA-256, user: bob, passwordEnv: " + passwordEnv + "}"},
		{name: "SCRAM-SHA-512", broker: "sasl", password: "sluice-pw",
			section: "sasl: {mechanism: SCRAM-SHA-512, user: sluice, passwordEnv: " + passwordEnv + "}"},
		{name: "PLAIN wrong password", broker: "sasl", password: "nope",
			section: "sasl: {mechanism: PLAIN, user: alice, passwordEnv: " + passwordEnv + "}",
			wantErr: "SASL PLAIN user alice refused: wrong credentials or mechanism?"},
		{name: "SCRAM-SHA-512 wrong password", broker: "sasl", password: "nope",
			section: "sasl: {mechanism: SCRAM-SHA-512, user: sluice, passwordEnv: " + passwordEnv + "}",
			wantErr: "SASL SCRAM-SHA-512 user sluice refused: wrong credentials or mechanism?"},
		{name: "SCRAM user of the other hash", broker: "sasl", password: "bob-pw",
			section: "sasl: {mechanism: SCRAM-SHA-512, user: bob, passwordEnv: " + passwordEnv + "}",
			wantErr: "SASL SCRAM-SHA-512 user bob refused"},
		{name: "no SASL", broker: "sasl",
			wantErr: "is SASL missing?"},
		{name: "password variable not set", broker: "sasl",
			section: "sasl: {mechanism: PLAIN, user: alice, passwordEnv: SLUICE_TEST_UNSET_PASSWORD}",
			wantErr: "kafka.sasl.passwordEnv: environment variable SLUICE_TEST_UNSET_PASSWORD is not set"},
		{name: "password variable empty", broker: "sasl", password: "",
			section: "sasl: {mechanism: PLAIN, user: alice, passwordEnv: " + passwordEnv + "}",
			wantErr: "kafka.sasl.passwordEnv: environment variable " + passwordEnv + " is empty"},

		// TLS.
		{name: "TLS with CA", broker: "tls", section: "tls: {ca: $CA}"},
		{name: "TLS with system roots", broker: "tls", section: "tls: {enabled: true}",
			wantErr: "certificate signed by unknown authority"},
		{name: "TLS insecureSkipVerify", broker: "tls", section: "tls: {insecureSkipVerify: true}"},
		{name: "plaintext to a TLS broker", broker: "tls",
			wantErr: "is TLS missing?"},
		{name: "TLS serverName", broker: "named", section: "tls: {ca: $CA, serverName: kafka.internal}"},
		{name: "TLS without serverName", broker: "named", section: "tls: {ca: $CA}",
			wantErr: "x509: cannot validate certificate for 127.0.0.1"},
		{name: "mutual TLS", broker: "mtls", section: "tls: {ca: $CA, cert: $CERT, key: $KEY}"},
		{name: "mutual TLS without client cert", broker: "mtls", section: "tls: {ca: $CA}",
			wantErr: "certificate required"},
		{name: "TLS CA file missing", broker: "tls", section: "tls: {ca: $DIR/nope.pem}",
			wantErr: "kafka.tls.ca $DIR/nope.pem: no such file or directory"},
		{name: "TLS CA not PEM", broker: "tls", section: "tls: {ca: $NOTPEM}",
			wantErr: "kafka.tls.ca: no certificates in $NOTPEM"},
		{name: "TLS cert file missing", broker: "mtls", section: "tls: {ca: $CA, cert: $DIR/nope.pem, key: $KEY}",
			wantErr: "kafka.tls.cert $DIR/nope.pem: no such file or directory"},
		{name: "TLS key of another cert", broker: "mtls", section: "tls: {ca: $CA, cert: $CERT, key: $OTHERKEY}",
			wantErr: "kafka.tls.cert $CERT, kafka.tls.key $OTHERKEY: tls: private key does not match public key"},

		// Both, as in DESIGN's example.
		{name: "TLS and SCRAM-SHA-512", broker: "tls+scram", password: "sluice-pw",
			section: "tls: {ca: $CA}\n  sasl: {mechanism: SCRAM-SHA-512, user: sluice, passwordEnv: " + passwordEnv + "}"},
		{name: "TLS and SCRAM-SHA-512 wrong password", broker: "tls+scram", password: "nope",
			section: "tls: {ca: $CA}\n  sasl: {mechanism: SCRAM-SHA-512, user: sluice, passwordEnv: " + passwordEnv + "}",
			wantErr: "SASL SCRAM-SHA-512 user sluice refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(passwordEnv, tc.password)
			yaml := "kafka:\n  brokers: [" + brokers[tc.broker].Addr() + "]\n  " + files.Replace(tc.section) + "\n"
			cfg, err := config.Parse([]byte(yaml))
			if err != nil {
				t.Fatalf("parse:\n%s\n%v", yaml, err)
			}
			conn, err := cluster.FromConfig(cfg.Kafka)
			if err == nil {
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				err = conn.Check(ctx)
			}
			if want := files.Replace(tc.wantErr); want != "" {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got error %v\nwant one containing %q", err, want)
				}
				t.Logf("error: %v", err)
				if tc.password != "" && strings.Contains(err.Error(), tc.password) {
					t.Fatalf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, conn)
		})
	}
}

func TestCheckUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = cluster.Plain(addr).Check(ctx)
	if want := "kafka: brokers " + addr + ": "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got error %v, want one starting %q", err, want)
	}
}

func TestFromConfigNoBrokers(t *testing.T) {
	_, err := cluster.FromConfig(config.Kafka{})
	if want := "kafka.brokers: at least one broker is required"; err == nil || err.Error() != want {
		t.Fatalf("got error %v, want %q", err, want)
	}
}

// Group members of a cluster connection heartbeat within the configured
// session timeout, which bounds how long a dead member's partitions pause.
func TestFromConfigSessionTimeout(t *testing.T) {
	ws, err := config.Parse([]byte("kafka: {brokers: [k:9092], sessionTimeout: 6s}"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := cluster.FromConfig(ws.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := conn.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if got := cl.OptValue(kgo.SessionTimeout); got != 6*time.Second {
		t.Errorf("session timeout %v, want 6s", got)
	}
	if got := cl.OptValue(kgo.HeartbeatInterval); got != 1200*time.Millisecond {
		t.Errorf("heartbeat interval %v, want 1.2s", got)
	}
}

func TestFromConfigMSKIAMCredentials(t *testing.T) {
	k := config.Kafka{Brokers: []string{"b-1.msk:9098"}, TLS: config.TLS{Enabled: true},
		SASL: config.SASL{Mechanism: config.SASLAWSMSKIAM}}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	_, err := cluster.FromConfig(k)
	if want := "kafka.sasl.mechanism AWS_MSK_IAM: environment variable AWS_SECRET_ACCESS_KEY is empty"; err == nil || err.Error() != want {
		t.Fatalf("got error %v, want %q", err, want)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	if _, err := cluster.FromConfig(k); err != nil {
		t.Fatal(err)
	}
}

// roundTrip produces a record through conn and consumes it back.
func roundTrip(t *testing.T, conn cluster.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	topic := "roundtrip"
	p, err := conn.NewClient(kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(t.Name())}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	c, err := conn.NewClient(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		fs := c.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume: %v", err)
		}
		for _, r := range fs.Records() {
			if string(r.Value) == t.Name() {
				return
			}
		}
	}
}
