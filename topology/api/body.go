package api

import (
	"compress/gzip"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/schemas"
)

// checkContentType accepts JSON bodies as SDKs send them: application/json,
// text/plain (analytics.js, to avoid a CORS preflight), or none, in UTF-8.
func checkContentType(r *http.Request) *apiError {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil {
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			return newError(http.StatusUnsupportedMediaType, codeMediaType, "charset "+cs+": bodies must be UTF-8")
		}
		if mt == "application/json" || mt == "text/plain" || strings.HasSuffix(mt, "+json") {
			return nil
		}
	}
	return newError(http.StatusUnsupportedMediaType, codeMediaType,
		"Content-Type "+ct+": send application/json (or text/plain holding JSON)")
}

var gzipReaders sync.Pool

// gzipSlack is how much larger than the decompressed limit a gzip body may
// be on the wire: gzip adds a few bytes even to data it cannot shrink.
const gzipSlack = 1 << 10

// readBody reads the request body into buf (reused, grown as needed) and
// returns it, refusing a body whose decompressed size is over limit as soon
// as limit+1 bytes are out, so a gzip bomb is never inflated past the limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int, tooLarge schemas.Rule, buf []byte) ([]byte, *apiError) {
	overLimit := func() *apiError {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: string(tooLarge), index: -1, badInput: true,
			message: "the body is over the limit of " + itoa(limit) + " bytes (after decompression)"}
	}
	var src io.Reader
	gzipped := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		// No refusal on Content-Length alone: the body's first bytes are
		// read (at most limit) for the dead-letter record and the write key.
		src = http.MaxBytesReader(w, r.Body, int64(limit))
	case "gzip", "x-gzip":
		gzipped = true
		wire := http.MaxBytesReader(w, r.Body, int64(limit+gzipSlack))
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(wire)
		} else {
			err = zr.Reset(wire)
		}
		if err != nil {
			if zr != nil {
				gzipReaders.Put(zr)
			}
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return buf[:0], overLimit()
			}
			return buf[:0], &apiError{status: http.StatusBadRequest, code: codeInvalidGzip, index: -1,
				message: "Content-Encoding is gzip but the body is not: " + err.Error(), badInput: true}
		}
		defer gzipReaders.Put(zr)
		// The decompressor is asked for at most limit+1 bytes in all: a
		// gzip bomb is refused after inflating that much, not all of it.
		src = io.LimitReader(zr, int64(limit)+1)
	default:
		return buf[:0], newError(http.StatusUnsupportedMediaType, codeEncoding,
			"Content-Encoding "+enc+": send identity or gzip")
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return buf, overLimit()
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return buf, overLimit()
			}
			if gzipped {
				return buf, &apiError{status: http.StatusBadRequest, code: codeInvalidGzip, index: -1,
					message: "the gzip body is corrupt or cut short: " + err.Error(), badInput: true}
			}
			// The client went away or the connection broke mid-body; the
			// answer will likely not be read, but it must not be a 5xx.
			return buf, newError(http.StatusBadRequest, "body_read_failed", "reading the body: "+err.Error())
		}
	}
}
