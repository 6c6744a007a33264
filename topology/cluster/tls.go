package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sluicehq/sluice/topology/config"
)

// tlsConfig builds the client TLS config of a tls section, reading its files
// now; errors name the field and the file.
func tlsConfig(t config.TLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, // opt-in, documented as for tests only
	}
	if t.CA != "" {
		pem, err := readFile("kafka.tls.ca", t.CA)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka.tls.ca: no certificates in %s", t.CA)
		}
	}
	if t.Cert != "" || t.Key != "" {
		certPEM, err := readFile("kafka.tls.cert", t.Cert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readFile("kafka.tls.key", t.Key)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.cert %s, kafka.tls.key %s: %w", t.Cert, t.Key, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// readFile reads the file of a field, naming both on error.
func readFile(field, path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("%s: required", field)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in our message
		}
		return nil, fmt.Errorf("%s %s: %w", field, path, err)
	}
	return b, nil
}
