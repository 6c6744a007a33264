package cluster

import (
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluicehq/sluice/topology/config"
)

// saslMechanism builds the mechanism of a sasl section, reading its secrets
// from the environment now.
func saslMechanism(s config.SASL) (sasl.Mechanism, error) {
	if s.Mechanism == config.SASLAWSMSKIAM {
		// The static environment credentials only: the full AWS chain
		// (profiles, instance roles) would pull in the AWS SDK.
		key, err := env("kafka.sasl.mechanism AWS_MSK_IAM", "AWS_ACCESS_KEY_ID")
		if err != nil {
			return nil, err
		}
		secret, err := env("kafka.sasl.mechanism AWS_MSK_IAM", "AWS_SECRET_ACCESS_KEY")
		if err != nil {
			return nil, err
		}
		return aws.Auth{AccessKey: key, SecretKey: secret, SessionToken: os.Getenv("AWS_SESSION_TOKEN")}.
			AsManagedStreamingIAMMechanism(), nil
	}
	pass, err := env("kafka.sasl.passwordEnv", s.PasswordEnv)
	if err != nil {
		return nil, err
	}
	switch s.Mechanism {
	case config.SASLPlain:
		return plain.Auth{User: s.User, Pass: pass}.AsMechanism(), nil
	case config.SASLScramSHA256:
		return scram.Auth{User: s.User, Pass: pass}.AsSha256Mechanism(), nil
	case config.SASLScramSHA512:
		return scram.Auth{User: s.User, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("kafka.sasl.mechanism %q: want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM", s.Mechanism)
}

// env returns a non-empty environment variable, or an error naming field and
// variable.
func env(field, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%s: required", field)
	}
	v, ok := os.LookupEnv(name)
	switch {
	case !ok:
		return "", fmt.Errorf("%s: environment variable %s is not set", field, name)
	case v == "":
		return "", fmt.Errorf("%s: environment variable %s is empty", field, name)
	}
	return v, nil
}
