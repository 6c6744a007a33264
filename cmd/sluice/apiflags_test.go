package main

import (
	"fmt"
	"testing"
)

// --trusted-proxy takes addresses and prefixes and names a bad value.
func TestTrustedProxyFlag(t *testing.T) {
	a := apiFlags{trustedProxies: []string{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32"}}
	got, err := a.proxies()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[10.0.0.0/8 192.168.1.7/32 2001:db8::/32]" {
		t.Fatalf("proxies = %v", got)
	}
	a.trustedProxies = []string{"proxy.example.com"}
	if _, err := a.proxies(); err == nil {
		t.Fatal("a host name was taken as a proxy")
	}
}
