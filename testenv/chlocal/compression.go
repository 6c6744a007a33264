package chlocal

import (
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// networkError marks a failure to read the request body off the connection,
// as opposed to a failure to decode what was read.
type networkError struct{ err error }

func (e *networkError) Error() string { return e.err.Error() }
func (e *networkError) Unwrap() error { return e.err }

// netReader tags the errors of the raw body as networkErrors.
type netReader struct{ r io.Reader }

func (n netReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		err = &networkError{err}
	}
	return k, err
}

// bodyException classifies an error met while reading the request body.
func bodyException(err error) *chdb.Exception {
	var netErr *networkError
	if errors.As(err, &netErr) {
		return exceptionf(codeNetworkError, "NETWORK_ERROR", "Cannot read the request body: %v", err)
	}
	return exceptionf(codeCannotDecompress, "CANNOT_DECOMPRESS", "Cannot decode the request body: %v", err)
}

// body is the decoded request body.
type body struct {
	io.Reader
	close func()
}

func (b body) Close() error {
	if b.close != nil {
		b.close()
	}
	return nil
}

// requestBody returns the request body decoded as its Content-Encoding says
// (gzip, deflate, br, zstd, lz4, bz2), then unframed from ClickHouse's
// compressed blocks when decompress=1.
func requestBody(r *http.Request, req *request) (body, *chdb.Exception) {
	raw := io.Reader(netReader{r.Body})
	var b body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity", "none":
		b.Reader = raw
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(raw)
		switch {
		case errors.Is(err, io.EOF):
			b.Reader = strings.NewReader("") // an empty body, not a gzip stream
		case err != nil:
			return body{}, bodyException(err)
		default:
			b.Reader = zr
		}
	case "deflate":
		zr, err := zlib.NewReader(raw)
		switch {
		case errors.Is(err, io.EOF):
			b.Reader = strings.NewReader("")
		case err != nil:
			return body{}, bodyException(err)
		default:
			b.Reader, b.close = zr, func() { zr.Close() }
		}
	case "br":
		b.Reader = brotli.NewReader(raw)
	case "zstd":
		zr, err := zstd.NewReader(raw)
		if err != nil {
			return body{}, bodyException(err)
		}
		b.Reader, b.close = zr, zr.Close
	case "lz4":
		b.Reader = lz4.NewReader(raw)
	case "bz2", "bzip2":
		b.Reader = bzip2.NewReader(raw)
	default:
		return body{}, exceptionf(codeBadArguments, "BAD_ARGUMENTS", "Unknown HTTP content encoding: %q", enc)
	}
	if req.decompress {
		b.Reader = blockReader{compress.NewReader(b.Reader)}
	}
	return b, nil
}

// blockReader reads ClickHouse's compressed-block framing; ch-go reports the
// end of the stream between blocks as a wrapped io.EOF, which io.Copy needs
// bare.
type blockReader struct{ r *compress.Reader }

func (b blockReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && errors.Is(err, io.EOF) {
		err = io.EOF
	}
	return n, err
}

// contentEncoding picks the response encoding from Accept-Encoding when the
// request enabled HTTP compression; "" means none.
func contentEncoding(r *http.Request, req *request) string {
	if !req.httpCompression || req.compress {
		return ""
	}
	accept := strings.ToLower(r.Header.Get("Accept-Encoding"))
	for _, enc := range []string{"gzip", "deflate", "zstd", "br"} {
		for _, a := range strings.Split(accept, ",") {
			name, _, _ := strings.Cut(a, ";")
			if strings.TrimSpace(name) == enc {
				return enc
			}
		}
	}
	return ""
}

// encoder wraps w in the writer for a Content-Encoding chosen by
// contentEncoding; level is http_zlib_compression_level (0 = default).
func encoder(w io.Writer, enc string, level int) (io.WriteCloser, error) {
	switch enc {
	case "gzip":
		if level <= 0 || level > gzip.BestCompression {
			level = gzip.DefaultCompression
		}
		return gzip.NewWriterLevel(w, level)
	case "deflate":
		if level <= 0 || level > zlib.BestCompression {
			level = zlib.DefaultCompression
		}
		return zlib.NewWriterLevel(w, level)
	case "zstd":
		return zstd.NewWriter(w)
	case "br":
		return brotli.NewWriter(w), nil
	}
	return nil, errors.New("chlocal: no encoder for " + enc)
}

// blockFrames writes data in ClickHouse's compressed-block framing (the
// compress=1 response), with network_compression_method's method.
func blockFrames(w io.Writer, data []byte, method string) error {
	m := compress.LZ4
	if strings.EqualFold(method, "ZSTD") {
		m = compress.ZSTD
	}
	cw := compress.NewWriter(compress.LevelZero, m)
	const block = 1 << 20 // ClickHouse's max_compress_block_size
	for len(data) > 0 {
		n := min(len(data), block)
		if err := cw.Compress(data[:n]); err != nil {
			return err
		}
		if _, err := w.Write(cw.Data); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}
