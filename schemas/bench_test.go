package schemas

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchBatch is a batch like analytics-node sends: 100 track calls.
func benchBatch() []byte {
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	for i := 0; i < 100; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"type":"track","event":"Order Completed","userId":"user-` + strconv.Itoa(i) +
			`","properties":{"orderId":"o-123","total":42.5,"currency":"EUR","products":[{"sku":"a","qty":1},{"sku":"b","qty":2}]},` +
			`"context":{"library":{"name":"@segment/analytics-node","version":"3.1.0"},"userAgent":"Mozilla/5.0","locale":"en-US"},` +
			`"integrations":{},"messageId":"node-next-1715000000000-0b8f6f9e-2d4c-4b0e-9f6a-` + strconv.Itoa(100000000000+i) +
			`","timestamp":"2024-05-06T07:08:09.123Z","_metadata":{"nodeVersion":"v20.20.2","jsRuntime":"node"}}`)
	}
	b.WriteString(`],"writeKey":"wk","sentAt":"2024-05-06T07:08:10.000Z"}`)
	return []byte(b.String())
}

func BenchmarkDecodeBatch(b *testing.B) {
	body := benchBatch()
	var d Decoder
	p := Payload{Events: make([]Event, 0, 100)}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(body, Call{ReceivedAt: time.Now()}, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRaw(b *testing.B) {
	var d Decoder
	var p Payload
	if err := d.Decode(benchBatch(), Call{ReceivedAt: time.Now()}, &p); err != nil {
		b.Fatal(err)
	}
	e := p.Events[0]
	e.Workspace, e.Source = "acme", "web"
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendRaw(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeRaw(b *testing.B) {
	var d Decoder
	var p Payload
	if err := d.Decode(benchBatch(), Call{ReceivedAt: time.Now()}, &p); err != nil {
		b.Fatal(err)
	}
	e := p.Events[0]
	e.Workspace, e.Source = "acme", "web"
	value := e.AppendRaw(nil)
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	var got Event
	for b.Loop() {
		if err := DecodeRaw(value, &got); err != nil {
			b.Fatal(err)
		}
	}
}
