package config

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"
)

// Kafka is the connection to the Kafka-protocol cluster of `sluice run`
// (Apache Kafka, Redpanda, MSK, Confluent). The zero value is valid: `sluice
// dev` ignores the section and runs its embedded broker.
type Kafka struct {
	// Brokers are the seed brokers (host:port). Required by `sluice run`.
	Brokers []string `yaml:"brokers"`
	// ClientID names sluice's clients in broker logs and quotas. Default "sluice".
	ClientID string `yaml:"clientId"`
	// TLS encrypts connections; default off (plaintext).
	TLS TLS `yaml:"tls"`
	// SASL authenticates connections; default none.
	SASL SASL `yaml:"sasl"`
	// SessionTimeout is how long a consumer-group member may go silent
	// before the broker gives its partitions to the others: the pause of
	// those partitions after a process dies without leaving (kill -9, a lost
	// machine). Members heartbeat five times per timeout. It must lie within
	// the brokers' group.min/max.session.timeout.ms (Kafka: 6s to 30m).
	// Default 10s.
	SessionTimeout Duration `yaml:"sessionTimeout"`
}

// DefaultSessionTimeout is kafka.sessionTimeout's default.
const DefaultSessionTimeout = 10 * time.Second

// TLS is how clients encrypt their connections and check the brokers.
type TLS struct {
	// Enabled turns TLS on; default false, but any other tls field implies true.
	Enabled bool `yaml:"enabled"`
	// CA is a PEM file of the CAs brokers' certificates are checked against;
	// default the system's roots.
	CA string `yaml:"ca"`
	// Cert is a PEM client certificate for mutual TLS; needs Key. Default none.
	Cert string `yaml:"cert"`
	// Key is the PEM private key of Cert; needs Cert. Default none.
	Key string `yaml:"key"`
	// ServerName is the name brokers' certificates must carry; default the
	// host of the address dialled.
	ServerName string `yaml:"serverName"`
	// InsecureSkipVerify accepts any broker certificate; for tests only.
	// Default false.
	InsecureSkipVerify bool `yaml:"insecureSkipVerify"`
}

// SASL is how clients authenticate. There is deliberately no password field:
// the password is read from the environment variable PasswordEnv names.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM; empty
	// (default) means no SASL.
	Mechanism string `yaml:"mechanism"`
	// User is the SASL user; required by PLAIN and SCRAM.
	User string `yaml:"user"`
	// PasswordEnv names the environment variable holding User's password;
	// required by PLAIN and SCRAM, read when the process starts.
	PasswordEnv string `yaml:"passwordEnv"`
}

// SASL mechanisms. AWS_MSK_IAM takes its credentials from AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and needs TLS.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
	SASLAWSMSKIAM   = "AWS_MSK_IAM"
)

func (k Kafka) withDefaults() Kafka {
	if k.ClientID == "" {
		k.ClientID = "sluice"
	}
	k.TLS.Enabled = k.TLS.On()
	if k.SessionTimeout.Duration == 0 && k.SessionTimeout.bad == "" {
		k.SessionTimeout.Duration = DefaultSessionTimeout
	}
	return k
}

// On reports whether TLS is used: Enabled, or implied by any other field.
func (t TLS) On() bool {
	return t.Enabled || t.CA != "" || t.Cert != "" || t.Key != "" || t.ServerName != "" || t.InsecureSkipVerify
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validate names the first bad field, relative to the kafka section.
func (k Kafka) validate() error {
	for i, b := range k.Brokers {
		host, port, err := net.SplitHostPort(b)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return fmt.Errorf("brokers[%d] %q: want host:port", i, b)
		}
	}
	if err := k.SessionTimeout.validate(); err != nil {
		return fmt.Errorf("sessionTimeout %w", err)
	}
	if k.TLS.Cert != "" && k.TLS.Key == "" {
		return fmt.Errorf("tls.key: required with tls.cert")
	}
	if k.TLS.Key != "" && k.TLS.Cert == "" {
		return fmt.Errorf("tls.cert: required with tls.key")
	}
	s := k.SASL
	switch s.Mechanism {
	case "":
		if s.User != "" || s.PasswordEnv != "" {
			return fmt.Errorf("sasl.mechanism: required with sasl.user or sasl.passwordEnv")
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if s.User == "" {
			return fmt.Errorf("sasl.user: required with mechanism %s", s.Mechanism)
		}
		if s.PasswordEnv == "" {
			return fmt.Errorf("sasl.passwordEnv: required with mechanism %s", s.Mechanism)
		}
		// The value is not echoed: a misplaced password must not reach logs.
		if !envNameRE.MatchString(s.PasswordEnv) {
			return fmt.Errorf("sasl.passwordEnv: want the name of an environment variable (letters, digits, _), not the password")
		}
	case SASLAWSMSKIAM:
		if s.User != "" || s.PasswordEnv != "" {
			return fmt.Errorf("sasl: user and passwordEnv are not used by AWS_MSK_IAM, which reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		}
		if !k.TLS.On() {
			return fmt.Errorf("tls.enabled: AWS_MSK_IAM needs TLS")
		}
	default:
		return fmt.Errorf("sasl.mechanism %q: want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM", s.Mechanism)
	}
	return nil
}
