package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureTolerance is how far a signature's time may be from the
// receiver's clock before Verify refuses it: a captured request replayed
// later than this is refused, and one replayed sooner carries the
// Idempotency-Key of the original, which the receiver already saw.
const SignatureTolerance = 5 * time.Minute

// Sign is the X-Sluice-Signature of a request sent at t: "t=<unix seconds>"
// and one "v1=<hex>" per secret, each the HMAC-SHA256, keyed by that secret,
// of "<unix seconds>.<Idempotency-Key>.<body>". Several secrets are signed
// during a rotation, the current one first.
func Sign(t time.Time, key string, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		b.WriteString(",v1=" + hex.EncodeToString(mac(s, ts, key, body)))
	}
	return b.String()
}

func mac(secret, ts, key string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write([]byte(key))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrSignatureMalformed = errors.New("webhook: malformed X-Sluice-Signature")
	ErrSignatureExpired   = errors.New("webhook: X-Sluice-Signature time outside the tolerance")
	ErrSignatureMismatch  = errors.New("webhook: no X-Sluice-Signature v1 matches")
)

// Verify checks a request's X-Sluice-Signature header against its
// Idempotency-Key and raw body, at now: its time within SignatureTolerance
// and one of its v1 digests made with one of secrets (the receiver's
// current and, while rotating, previous secret).
func Verify(header, key string, body []byte, now time.Time, secrets ...string) error {
	var ts string
	var digests [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			d, err := hex.DecodeString(v)
			if err != nil {
				return ErrSignatureMalformed
			}
			digests = append(digests, d)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(digests) == 0 {
		return ErrSignatureMalformed
	}
	if d := now.Sub(time.Unix(sec, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return fmt.Errorf("%w: signed %s from now", ErrSignatureExpired, d.Round(time.Second))
	}
	for _, s := range secrets {
		want := mac(s, ts, key, body)
		for _, d := range digests {
			if hmac.Equal(want, d) {
				return nil
			}
		}
	}
	return ErrSignatureMismatch
}
