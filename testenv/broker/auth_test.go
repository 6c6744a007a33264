package broker

import "testing"

func TestValidateUsers(t *testing.T) {
	for _, tc := range []struct {
		user User
		want string
	}{
		{User{Mechanism: "SCRAM-SHA-512", Name: "sluice", Password: "pw"}, ""},
		{User{Mechanism: "GSSAPI", Name: "sluice"}, `broker: Users[0].Mechanism "GSSAPI": want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{User{Mechanism: "PLAIN"}, "broker: Users[0].Name: required"},
	} {
		err := Config{Users: []User{tc.user}}.Validate()
		if got := errString(err); got != tc.want {
			t.Errorf("%+v: got error %q, want %q", tc.user, got, tc.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
