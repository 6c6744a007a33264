package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// adminTokenFlags are the ways to give the admin API's bearer token:
// --admin-token, --admin-token-file, or SLUICE_ADMIN_TOKEN, in that order.
type adminTokenFlags struct{ token, file string }

func (a *adminTokenFlags) register(f *pflag.FlagSet, otherwise string) {
	f.StringVar(&a.token, "admin-token", "", "admin API bearer token (visible in ps: prefer --admin-token-file or $SLUICE_ADMIN_TOKEN; default: "+otherwise+")")
	f.StringVar(&a.file, "admin-token-file", "", "file holding the admin API bearer token")
}

// resolve returns the token; required makes a missing one an error.
func (a *adminTokenFlags) resolve(required bool) (string, error) {
	if a.token != "" && a.file != "" {
		return "", errors.New("--admin-token and --admin-token-file: give one")
	}
	tok := a.token
	if a.file != "" {
		data, err := os.ReadFile(a.file)
		if err != nil {
			return "", fmt.Errorf("--admin-token-file: %w", err)
		}
		if tok = strings.TrimSpace(string(data)); tok == "" {
			return "", fmt.Errorf("--admin-token-file %s: empty", a.file)
		}
	}
	if tok == "" {
		tok = os.Getenv("SLUICE_ADMIN_TOKEN")
	}
	if tok == "" && required {
		return "", errors.New("the api role needs an admin token: --admin-token-file, $SLUICE_ADMIN_TOKEN or --admin-token")
	}
	return tok, nil
}
