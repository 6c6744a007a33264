package shred

import (
	"bytes"
	"testing"
)

// testKEK is a KEK whose secret is 32 copies of b.
func testKEK(id string, b byte) KEK { return KEK{ID: id, Secret: bytes.Repeat([]byte{b}, KEKSize)} }

func mustKeyring(t testing.TB, current string, keks ...KEK) *Keyring {
	t.Helper()
	k, err := NewKeyring(current, keks...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// readyTable is a caught-up table of keyring with recs applied.
func readyTable(t testing.TB, k *Keyring, recs ...Record) *Table {
	t.Helper()
	tb := NewTable(k)
	for _, r := range recs {
		if err := tb.Apply(r.Key, r.Value); err != nil {
			t.Fatal(err)
		}
	}
	tb.MarkCaughtUp()
	return tb
}

// lenientTable is readyTable for records some of which may not apply (their
// errors are the point of the test).
func lenientTable(k *Keyring, recs ...Record) *Table {
	tb := NewTable(k)
	for _, r := range recs {
		_ = tb.Apply(r.Key, r.Value)
	}
	tb.MarkCaughtUp()
	return tb
}
