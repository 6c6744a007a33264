package broker_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
)

// kcat (librdkafka) is an independent client: if it can read metadata and
// round-trip a record, the embedded broker speaks the real protocol.
func TestKcatCompatibility(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: run `make deps` (installs Debian's kcat)")
	}
	b := broker.ForTest(t)
	createTopic(t, b, "kcat", 1, nil)

	out, err := exec.CommandContext(t.Context(), kcat, "-b", b.Addr(), "-L", "-t", "kcat").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `topic "kcat" with 1 partitions`) {
		t.Fatalf("kcat -L does not list the topic:\n%s", out)
	}

	// kcat produces, franz-go consumes.
	produce := exec.CommandContext(t.Context(), kcat, "-b", b.Addr(), "-P", "-t", "kcat", "-K", ":")
	produce.Stdin = strings.NewReader("user-1:from kcat\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	cons := newClient(t, b, kgo.ConsumeTopics("kcat"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	recs := consumeN(t, cons, 1)
	if string(recs[0].Key) != "user-1" || string(recs[0].Value) != "from kcat" {
		t.Fatalf("franz-go read key %q value %q, want user-1 / from kcat", recs[0].Key, recs[0].Value)
	}

	// franz-go produces, kcat consumes both records.
	prod := newClient(t, b)
	if err := prod.ProduceSync(t.Context(), &kgo.Record{Topic: "kcat", Key: []byte("user-2"), Value: []byte("from franz-go")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out, err = exec.CommandContext(t.Context(), kcat, "-b", b.Addr(), "-C", "-t", "kcat", "-o", "beginning", "-e", "-f", "%k=%s\n").Output()
	if err != nil {
		t.Fatalf("kcat -C: %v", err)
	}
	want := "user-1=from kcat\nuser-2=from franz-go\n"
	if !bytes.Equal(out, []byte(want)) {
		t.Fatalf("kcat consumed %q, want %q", out, want)
	}
}
