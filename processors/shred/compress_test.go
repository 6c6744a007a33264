package shred

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
)

// segmentEvents are events.raw values of the kinds sluice carries, none of
// them the bench's: a web page, an identify, a mobile track with custom
// properties, an e-commerce order, a dead letter.
var segmentEvents = [][]byte{
	[]byte(`{"type":"page","messageId":"ajs-next-1f3a9c0d2b7e4d51a6c8","workspace":"acme","source":"web","anonymousId":"7c1e2f0a-93b4-4d0e-8d2f-5b6a1c9e3f70","name":"Pricing","timestamp":"2026-03-14T09:26:53.589Z","sentAt":"2026-03-14T09:26:53.601Z","receivedAt":"2026-03-14T09:26:53.744Z","context":{"library":{"name":"analytics.js","version":"next-1.70.0"},"locale":"de-DE","page":{"path":"/pricing","referrer":"https://www.google.com/","search":"","title":"Pricing – Acme","url":"https://acme.io/pricing"},"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36","ip":"198.51.100.23"},"properties":{"path":"/pricing","referrer":"https://www.google.com/","search":"","title":"Pricing – Acme","url":"https://acme.io/pricing"}}`),
	[]byte(`{"type":"identify","messageId":"node-4be2a1c4-0d8e-4a0b-9d0f-2f0c1b7f5e11","workspace":"acme","source":"backend","userId":"usr_8HfK2LqP","timestamp":"2026-03-14T09:27:10.002Z","sentAt":"2026-03-14T09:27:10.010Z","receivedAt":"2026-03-14T09:27:10.098Z","context":{"library":{"name":"@segment/analytics-node","version":"2.1.2"}},"traits":{"email":"jane.doe@example.org","firstName":"Jane","lastName":"Doe","plan":"team","company":{"name":"Initech","industry":"Software","employee_count":120},"createdAt":"2025-11-02T12:00:00Z"}}`),
	[]byte(`{"type":"track","messageId":"A1B2C3D4-E5F6-7081-92A3-B4C5D6E7F809","workspace":"acme","source":"ios","userId":"usr_8HfK2LqP","anonymousId":"E2D9C6B1-7A4F-4C1E-9B0D-3F8A2C5E6D71","event":"Level Finished","timestamp":"2026-03-14T09:31:02.118Z","sentAt":"2026-03-14T09:31:05.004Z","receivedAt":"2026-03-14T09:31:05.210Z","context":{"app":{"name":"Dragons","version":"3.4.1","build":"341"},"device":{"manufacturer":"Apple","model":"iPhone15,2","type":"ios"},"os":{"name":"iOS","version":"17.4"},"network":{"wifi":true},"timezone":"Europe/Berlin","library":{"name":"analytics-swift","version":"1.5.2"}},"properties":{"level":12,"score":48210,"duration_ms":93022,"hero":"knight","coins_gained":37,"retry":false}}`),
	[]byte(`{"type":"track","messageId":"ajs-next-77a0c1e29f3b","workspace":"acme","source":"web","userId":"usr_8HfK2LqP","event":"Order Completed","timestamp":"2026-03-14T09:40:11.931Z","sentAt":"2026-03-14T09:40:11.940Z","receivedAt":"2026-03-14T09:40:12.020Z","context":{"library":{"name":"analytics.js","version":"next-1.70.0"},"page":{"path":"/checkout/done","url":"https://acme.io/checkout/done"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"},"properties":{"order_id":"ord_5521","total":129.9,"revenue":109.16,"tax":20.74,"currency":"EUR","products":[{"product_id":"sku-441","name":"Desk Lamp","price":49.95,"quantity":2},{"product_id":"sku-12","name":"Cable","price":30,"quantity":1}]}}`),
	[]byte(`{"destination":"crm","reason":"permanent","error":"POST https://hooks.example/x: 410 Gone","attempts":3,"topic":"sluice.dest.crm","partition":4,"offset":88121,"event":"{\"type\":\"track\",\"userId\":\"usr_8HfK2LqP\",\"event\":\"Signed In\"}"}`),
}

// TestDictionaryIsFrozen: envelopes on the topics depend on every byte of
// the dictionary of codec 1; a changed dictionary must be a new codec.
func TestDictionaryIsFrozen(t *testing.T) {
	const want = "28332dbe0ae22f3566c2a22e057efc96d9e1eea13b042a323903fd9b217adf9a"
	sum := sha256.Sum256(segmentV1)
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("segment-v1.dict has SHA-256 %s, want %s: add a new codec instead of changing it", got, want)
	}
}

// TestSealCompresses: a sealed event is smaller than the event in clear
// (the dictionary gives one event alone the context a batch would), and
// opens to the same bytes.
func TestSealCompresses(t *testing.T) {
	id, dek := NewKeyID(), NewDEK()
	var plain, sealed int
	for _, v := range segmentEvents {
		env := Seal(nil, id, &dek, v)
		if len(env) >= len(v) {
			t.Errorf("a %d-byte event sealed into %d bytes: not compressed", len(v), len(env))
		}
		out, err := Open(nil, &dek, env)
		if err != nil || !bytes.Equal(out, v) {
			t.Fatalf("Open = %q, %v", out, err)
		}
		plain, sealed = plain+len(v), sealed+len(env)
	}
	t.Logf("%d bytes in clear, %d sealed (%.2fx smaller)", plain, sealed, float64(plain)/float64(sealed))
	if float64(plain)/float64(sealed) < 1.5 {
		t.Errorf("%d bytes sealed into %d: less than 1.5x smaller", plain, sealed)
	}
}

// TestSmallAndIncompressibleValuesAreStored: what does not shrink is
// stored as it is, one codec byte added.
func TestSmallAndIncompressibleValuesAreStored(t *testing.T) {
	random := make([]byte, 3000)
	_, _ = rand.Read(random)
	for _, v := range [][]byte{nil, []byte(`{"a":1}`), random, bytes.Repeat([]byte("z"), maxInflated+1)} {
		p := appendPayload(nil, v)
		if p[0] != codecStored || !bytes.Equal(p[1:], v) {
			t.Errorf("a %d-byte value: codec %d, %d bytes; want it stored", len(v), p[0], len(p))
		}
		if env := Seal(nil, NewKeyID(), &DEK{}, v); len(env) != len(v)+Overhead {
			t.Errorf("a stored %d-byte value sealed into %d bytes, want +%d", len(v), len(env), Overhead)
		}
	}
}

// sealV1 is how version 1 envelopes were sealed (the value itself, no codec
// byte): records written before version 2 are still on the topics.
func sealV1(id KeyID, dek *DEK, v []byte) []byte {
	aead, _ := newAEAD(dek[:])
	env := append(append(magicV1[:], id[:]...), make([]byte, nonceSize)...)
	_, _ = rand.Read(env[headerSize:])
	return aead.Seal(env, env[headerSize:], v, env[:headerSize])
}

func TestVersion1EnvelopesStillOpen(t *testing.T) {
	k := mustKeyring(t, "k1", testKEK("k1", 1))
	s, id, dek := Subject{"acme", UserID, "u1"}, NewKeyID(), NewDEK()
	tb := readyTable(t, k, k.WrapRecord(s, id, &dek, time.Now()))
	for _, v := range append([][]byte{nil, []byte("{}")}, segmentEvents...) {
		env := sealV1(id, &dek, v)
		if gotID, err := EnvelopeKeyID(env); err != nil || gotID != id || !IsSealed(env) {
			t.Fatalf("EnvelopeKeyID = %v, %v", gotID, err)
		}
		out, gotID, err := tb.Open(nil, env)
		if err != nil || gotID != id || !bytes.Equal(out, v) {
			t.Fatalf("Table.Open of a version 1 envelope = %q, %v", out, err)
		}
		if out, err := Open([]byte("x"), &dek, env); err != nil || !bytes.Equal(out, append([]byte("x"), v...)) {
			t.Fatalf("Open of a version 1 envelope = %q, %v", out, err)
		}
		env[len(env)-1] ^= 1
		if _, _, err := tb.Open(nil, env); err == nil {
			t.Fatal("a damaged version 1 envelope opened")
		}
	}
}

// TestHostilePayloadsDoNotOpen: payloads sealed under the right key (only
// a key holder can write them) that lie about their size, name an unknown
// codec or do not decode are errors, and never allocate beyond 4 MiB.
func TestHostilePayloadsDoNotOpen(t *testing.T) {
	id, dek := NewKeyID(), NewDEK()
	aead, _ := newAEAD(dek[:])
	huge := binary.AppendUvarint([]byte{codecS2SegmentV1}, 1<<40)
	giga := binary.AppendUvarint([]byte{codecS2SegmentV1}, 1<<32-1)
	over := binary.AppendUvarint([]byte{codecS2SegmentV1}, maxInflated+1)
	good := appendPayload(nil, segmentEvents[0])
	short := append(binary.AppendUvarint([]byte{codecS2SegmentV1}, 1000), good[2:]...)
	for _, c := range []struct {
		name    string
		payload []byte
		want    error
	}{
		{"empty", nil, ErrNotSealed},
		{"unknown codec", []byte{7, 'x'}, nil},
		{"declares 1 TiB", huge, nil},
		{"declares 4 GiB", giga, errTooLarge},
		{"declares 4 MiB + 1", append(over, make([]byte, 100)...), errTooLarge},
		{"wrong declared size", short, nil},
		{"truncated block", good[:len(good)-5], nil},
		{"no length", []byte{codecS2SegmentV1}, nil},
	} {
		env := sealPayload(nil, aead, id, c.payload)
		out, err := Open(nil, &dek, env)
		if err == nil {
			t.Errorf("%s: opened as %d bytes", c.name, len(out))
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if c.want != ErrNotSealed && Reason(err) != "unreadable_envelope" {
			t.Errorf("%s: reason %q", c.name, Reason(err))
		}
	}
	if n, err := s2.DecodedLen(giga[1:]); err != nil || n <= maxInflated {
		t.Fatalf("the 4 GiB payload declares %d, %v", n, err)
	}
}

// TestCachedCipherFollowsTheKeyRecord: a key whose record stops unwrapping
// or is shredded after its cipher was cached no longer opens.
func TestCachedCipherFollowsTheKeyRecord(t *testing.T) {
	k := mustKeyring(t, "k1", testKEK("k1", 1))
	other := mustKeyring(t, "k2", testKEK("k2", 2))
	s, id, dek := Subject{"acme", UserID, "u1"}, NewKeyID(), NewDEK()
	tb := readyTable(t, k, k.WrapRecord(s, id, &dek, time.Now()))
	env, err := tb.Seal(nil, id, segmentEvents[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tb.Open(nil, env); err != nil {
		t.Fatal(err)
	}
	rewrapped := other.WrapRecord(s, id, &dek, time.Now()) // under a KEK this table lacks
	if err := tb.Apply(rewrapped.Key, rewrapped.Value); err == nil {
		t.Fatal("a key under an unknown KEK applied")
	}
	if _, _, err := tb.Open(nil, env); !errors.Is(err, ErrUnwrappable) {
		t.Fatalf("after the re-wrap under an unknown KEK: %v, want ErrUnwrappable", err)
	}
}
