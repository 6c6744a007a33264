package topology

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicehq/sluice/processors/validate"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/testenv/chlocal"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/planstore"
)

// shopPlan is plan "shop" whose Order Completed v1 has the given fields.
func shopPlan(t *testing.T, fields string) *plan.Plan {
	t.Helper()
	p, err := plan.Check(plan.Files{
		"plan.yaml": []byte("name: shop\nowners: [data@shop.example]\npolicy: {typeViolations: allow}\nevents:\n  Order Completed:\n    versions: {1: oc.avsc}\n"),
		"oc.avsc":   []byte(`{"type":"record","name":"OrderCompleted","fields":[` + fields + `]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// orderAt is an Order Completed event the router judged by plan shop at
// planVersion.
func orderAt(id string, planVersion int, props string) schemas.Event {
	e := sinktest.Events(id, 1)[0]
	e.Type, e.Event, e.MessageID = schemas.Track, "Order Completed", id
	e.Context = json.RawMessage(fmt.Sprintf(`{"library":{"name":"test"},"protocols":{"plan":"shop","planVersion":%d}}`, planVersion))
	e.Properties = json.RawMessage(props)
	return e
}

// TestWarehouseTypesEventsOfReplacedPlanVersion: an event the router judged
// by plan version 1, delivered after version 2 is published, lands in its
// typed table rather than failing as not ready (and, retried, going to the
// dead-letter topic); a version not read yet still fails as not ready.
func TestWarehouseTypesEventsOfReplacedPlanVersion(t *testing.T) {
	ctx := t.Context()
	b := broker.ForTest(t)
	pcfg := planstore.Config{Brokers: []string{b.Addr()}, TopicPrefix: "test."}
	store, err := planstore.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.EnsureTopic(ctx); err != nil {
		t.Fatal(err)
	}
	publish := func(p *plan.Plan) {
		t.Helper()
		if res, err := store.Publish(ctx, p, planstore.PublishOptions{Author: "test"}); err != nil || !res.Published {
			t.Fatalf("publish: %+v, %v", res, err)
		}
	}
	publish(shopPlan(t, `{"name":"order_id","type":"string"},{"name":"total","type":"double"}`))

	// The plan reader and the warehouse sink, wired as the sink role does.
	v := validate.New()
	reader, err := planstore.NewReader(pcfg, v)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() { stop(); running.Wait() }()
	running.Go(func() { reader.Run(runCtx) })
	if err := reader.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// Its own engine, closed at the end: the package's dev-stack tests open
	// theirs, and the engine serves one storage path per process at a time.
	srv, err := chlocal.Start(ctx, chlocal.Config{DataPath: t.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const db = "default"
	// Compression none: chlocal stores a small compressed insert twice (see
	// sinks/clickhouse's test harness).
	dest := config.Destination{Name: "warehouse", Type: config.DestinationClickHouse,
		Settings: map[string]any{"database": db, "compression": "none", "addr": srv.Addr()}}
	sink, err := openSink(ctx, dest, sinkEnv{plans: reader})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close(context.WithoutCancel(ctx))

	// Version 2 adds a column. Wait until a router fed by this reader would
	// judge events by it: events of version 1 may still be queued.
	publish(shopPlan(t, `{"name":"order_id","type":"string"},{"name":"total","type":"double"},`+
		`{"name":"coupon","type":["null","string"],"default":null}`))
	for {
		if _, current, _ := v.Plan("shop"); current == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("version 2 never reached the validator")
		case <-time.After(10 * time.Millisecond):
		}
	}

	batch := []schemas.Event{
		orderAt("old", 1, `{"order_id":"o-1","total":10.5}`),
		orderAt("new", 2, `{"order_id":"o-2","total":20,"coupon":"SPRING"}`),
	}
	if err := sink.Write(ctx, sinktest.NewBatch("test.dest.warehouse", 0, 0, batch)); err != nil {
		t.Fatalf("Write of events judged by versions 1 and 2 = %v, want nil", err)
	}
	conn, err := ch.Open(&ch.Options{Protocol: ch.HTTP, Addr: []string{srv.Addr()}, Auth: ch.Auth{Database: db}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, `SELECT arrayStringConcat([message_id, toString(plan_version), ifNull(order_id, 'NULL'),
		ifNull(toString(total), 'NULL'), ifNull(coupon, 'NULL')], '|') FROM track_order_completed ORDER BY message_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var row string
		if err := rows.Scan(&row); err != nil {
			t.Fatal(err)
		}
		got = append(got, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if want := "[new|2|o-2|20|SPRING old|1|o-1|10.5|NULL]"; fmt.Sprint(got) != want {
		t.Fatalf("track_order_completed = %v, want %s", got, want)
	}

	// Version 3 is not published: the reader has not read it, so the sink
	// refuses the event as not ready and the engine retries it.
	err = sink.Write(ctx, sinktest.NewBatch("test.dest.warehouse", 0, 2, []schemas.Event{orderAt("future", 3, `{"order_id":"o-3"}`)}))
	if !errors.Is(err, sinks.ErrPlanNotReady) {
		t.Fatalf("Write of an event judged by an unread version = %v, want ErrPlanNotReady", err)
	}
}
