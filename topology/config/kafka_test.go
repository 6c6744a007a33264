package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/topology/config"
)

func TestKafkaDesignExample(t *testing.T) {
	c, err := config.Parse([]byte(`
kafka:
  brokers: [kafka-1:9093, kafka-2:9093]
  tls: {ca: /etc/sluice/kafka-ca.pem}
  sasl: {mechanism: SCRAM-SHA-512, user: sluice, passwordEnv: SLUICE_KAFKA_PASSWORD}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Kafka{
		Brokers:  []string{"kafka-1:9093", "kafka-2:9093"},
		ClientID: "sluice",
		TLS:      config.TLS{Enabled: true, CA: "/etc/sluice/kafka-ca.pem"},
		SASL:     config.SASL{Mechanism: "SCRAM-SHA-512", User: "sluice", PasswordEnv: "SLUICE_KAFKA_PASSWORD"},

		SessionTimeout: config.D(config.DefaultSessionTimeout),
	}
	if !reflect.DeepEqual(c.Kafka, want) {
		t.Fatalf("kafka:\n got %+v\nwant %+v", c.Kafka, want)
	}
}

func TestKafkaDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       config.Kafka
	}{
		{"no section", ``, config.Kafka{ClientID: "sluice"}},
		{"client id kept", "kafka: {brokers: [k:9092], clientId: etl}",
			config.Kafka{Brokers: []string{"k:9092"}, ClientID: "etl"}},
		{"tls enabled alone", "kafka: {tls: {enabled: true}}",
			config.Kafka{ClientID: "sluice", TLS: config.TLS{Enabled: true}}},
		{"tls implied by serverName", "kafka: {tls: {serverName: kafka.internal}}",
			config.Kafka{ClientID: "sluice", TLS: config.TLS{Enabled: true, ServerName: "kafka.internal"}}},
		{"tls implied by insecureSkipVerify", "kafka: {tls: {insecureSkipVerify: true}}",
			config.Kafka{ClientID: "sluice", TLS: config.TLS{Enabled: true, InsecureSkipVerify: true}}},
		{"tls implied by cert and key", "kafka: {tls: {cert: c.pem, key: k.pem}}",
			config.Kafka{ClientID: "sluice", TLS: config.TLS{Enabled: true, Cert: "c.pem", Key: "k.pem"}}},
		{"ipv6 broker", `kafka: {brokers: ["[::1]:9092"]}`,
			config.Kafka{Brokers: []string{"[::1]:9092"}, ClientID: "sluice"}},
		{"msk iam", "kafka: {brokers: [b-1.msk:9098], tls: {enabled: true}, sasl: {mechanism: AWS_MSK_IAM}}",
			config.Kafka{Brokers: []string{"b-1.msk:9098"}, ClientID: "sluice", TLS: config.TLS{Enabled: true},
				SASL: config.SASL{Mechanism: "AWS_MSK_IAM"}}},
		{"session timeout kept", "kafka: {sessionTimeout: 30s}",
			config.Kafka{ClientID: "sluice", SessionTimeout: config.D(30 * time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.SessionTimeout.Duration == 0 {
				tc.want.SessionTimeout = config.D(config.DefaultSessionTimeout)
			}
			if !reflect.DeepEqual(c.Kafka, tc.want) {
				t.Fatalf("kafka:\n got %+v\nwant %+v", c.Kafka, tc.want)
			}
		})
	}
}

func TestKafkaInvalid(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"broker without port", `kafka: {brokers: [k:9092, kafka-2]}`,
			`config: kafka.brokers[1] "kafka-2": want host:port`},
		{"empty broker", `kafka: {brokers: [k:9092, ""]}`,
			`config: kafka.brokers[1] "": want host:port`},
		{"broker without host", `kafka: {brokers: [":9092"]}`,
			`config: kafka.brokers[0] ":9092": want host:port`},
		{"broker port not a number", `kafka: {brokers: ["k:kafka"]}`,
			`config: kafka.brokers[0] "k:kafka": want host:port`},
		{"broker port out of range", `kafka: {brokers: ["k:70000"]}`,
			`config: kafka.brokers[0] "k:70000": want host:port`},
		{"cert without key", `kafka: {tls: {cert: c.pem}}`,
			`config: kafka.tls.key: required with tls.cert`},
		{"key without cert", `kafka: {tls: {key: k.pem}}`,
			`config: kafka.tls.cert: required with tls.key`},
		{"unknown mechanism", `kafka: {sasl: {mechanism: GSSAPI, user: u, passwordEnv: P}}`,
			`config: kafka.sasl.mechanism "GSSAPI": want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM`},
		{"mechanism is case sensitive", `kafka: {sasl: {mechanism: plain, user: u, passwordEnv: P}}`,
			`config: kafka.sasl.mechanism "plain": want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM`},
		{"user missing", `kafka: {sasl: {mechanism: SCRAM-SHA-256, passwordEnv: P}}`,
			`config: kafka.sasl.user: required with mechanism SCRAM-SHA-256`},
		{"passwordEnv missing", `kafka: {sasl: {mechanism: PLAIN, user: u}}`,
			`config: kafka.sasl.passwordEnv: required with mechanism PLAIN`},
		{"mechanism missing", `kafka: {sasl: {user: u, passwordEnv: P}}`,
			`config: kafka.sasl.mechanism: required with sasl.user or sasl.passwordEnv`},
		{"msk iam with user", `kafka: {tls: {enabled: true}, sasl: {mechanism: AWS_MSK_IAM, user: u}}`,
			`config: kafka.sasl: user and passwordEnv are not used by AWS_MSK_IAM, which reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`},
		{"msk iam without tls", `kafka: {sasl: {mechanism: AWS_MSK_IAM}}`,
			`config: kafka.tls.enabled: AWS_MSK_IAM needs TLS`},
		{"session timeout not a duration", `kafka: {sessionTimeout: soon}`,
			`config: kafka.sessionTimeout "soon": want a duration like 168h, 90m or 7d`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.yaml))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got error %v\nwant %s", err, tc.want)
			}
		})
	}
}

// A password never belongs in the file, and an error about one must not
// carry it to the logs.
func TestKafkaPasswordRefused(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"password key", `
kafka:
  sasl: {mechanism: PLAIN, user: u, passwordEnv: P, password: hunter2-secret}
`, "field password not found"},
		{"password in passwordEnv", `
kafka:
  sasl: {mechanism: PLAIN, user: u, passwordEnv: "hunter2-secret"}
`, "kafka.sasl.passwordEnv: want the name of an environment variable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error echoes the password: %v", err)
			}
		})
	}
}
