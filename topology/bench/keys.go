package bench

import (
	"context"
	"crypto/rand"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/topics"
)

// benchKeyring is a keyring of one random KEK.
func benchKeyring() *shred.Keyring {
	secret := make([]byte, shred.KEKSize)
	_, _ = rand.Read(secret)
	kr, _ := shred.NewKeyring("bench", shred.KEK{ID: "bench", Secret: secret}) // one valid KEK cannot fail
	return kr
}

// benchKeys is the api's key creator on an empty keys topic (so its table is
// caught up at once), writing new keys through producer as the api role does.
func benchKeys(producer *kgo.Client, topic string) (*shred.Creator, error) {
	table := shred.NewTable(benchKeyring())
	table.MarkCaughtUp()
	return shred.NewCreator(table, func(ctx context.Context, recs []shred.Record) error {
		krs := make([]*kgo.Record, len(recs))
		for i, r := range recs {
			krs[i] = &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value}
		}
		return producer.ProduceSync(ctx, krs...).FirstErr()
	}), nil
}

// benchSealer writes a data key per bench user to the keys topic and returns
// what seals an event's value under its user's key; without a keyring the
// value stays plain.
func benchSealer(ctx context.Context, cl *kgo.Client, names topics.Names, kr *shred.Keyring) (func(*schemas.Event, []byte) []byte, error) {
	if kr == nil {
		return func(_ *schemas.Event, v []byte) []byte { return v }, nil
	}
	table := shred.NewTable(kr)
	ids := make(map[string]shred.KeyID, benchUsers)
	recs := make([]*kgo.Record, 0, benchUsers)
	now := time.Now()
	for u := range benchUsers {
		s := shred.Subject{Workspace: "bench", Type: shred.UserID, ID: benchUser(u)}
		id, dek := shred.NewKeyID(), shred.NewDEK()
		r := kr.WrapRecord(s, id, &dek, now)
		if err := table.Apply(r.Key, r.Value); err != nil {
			return nil, err
		}
		ids[s.ID] = id
		recs = append(recs, &kgo.Record{Topic: names.Of(topics.Keys), Key: r.Key, Value: r.Value})
	}
	table.MarkCaughtUp()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return nil, err
	}
	return func(e *schemas.Event, v []byte) []byte {
		out, err := table.Seal(make([]byte, 0, len(v)+shred.Overhead), ids[e.UserID], v)
		if err != nil {
			panic(err) // every bench user has a key
		}
		return out
	}, nil
}

// compression is the batch compression of a run's producers: the roles'
// own (topics.BatchCompression: none for sealed values), or off with
// --no-compression.
func compression(off, sealed bool) []kgo.Opt {
	if off {
		return []kgo.Opt{kgo.ProducerBatchCompression(kgo.NoCompression())}
	}
	return []kgo.Opt{topics.BatchCompression(sealed)}
}

// cpuTime is the CPU time (user and system) the process has used so far:
// unlike wall time, what a run costs does not depend on other processes
// sharing the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
