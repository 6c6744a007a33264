package broker_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
)

// A committed transaction is visible to read_committed consumers; an aborted
// one is not.
func TestTransactionsCommitAndAbort(t *testing.T) {
	b := broker.ForTest(t)
	createTopic(t, b, "tx", 1, nil)
	prod := newClient(t, b, kgo.TransactionalID("tx-test"), kgo.DefaultProduceTopic("tx"))

	for _, txn := range []struct {
		value string
		end   kgo.TransactionEndTry
	}{{"committed", kgo.TryCommit}, {"aborted", kgo.TryAbort}, {"committed-2", kgo.TryCommit}} {
		if err := prod.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := prod.ProduceSync(t.Context(), &kgo.Record{Value: []byte(txn.value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := prod.EndTransaction(t.Context(), txn.end); err != nil {
			t.Fatalf("end transaction %s: %v", txn.value, err)
		}
	}

	cons := newClient(t, b, kgo.ConsumeTopics("tx"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	recs := consumeN(t, cons, 2)
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Value))
	}
	if len(got) != 2 || got[0] != "committed" || got[1] != "committed-2" {
		t.Fatalf("read_committed saw %q, want [committed committed-2]", got)
	}
}
