package webhook

import (
	"errors"
	"net/url"
)

// Redact returns rawURL without what may be a credential: the user info
// becomes "redacted" and every query value "redacted". Logs, errors,
// receipts and dead letters show URLs only through it. An unparseable URL
// is replaced whole.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparseable URL>"
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"redacted"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactErr strips the URL net/http puts in its errors (*url.Error), which
// carries the request's full URL, credentials included.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: Redact(ue.URL), Err: ue.Err}
	}
	return err
}
