package regulator

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/consent"
	"github.com/sluicehq/sluice/processors/profiles"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/topology/topics"
)

// ExportLine is one line of an export in JSON lines: a row of a ClickHouse
// table (Source "clickhouse", Table, Row) or the latest record of a
// compacted topic (Source "kafka", Topic, Key, Value).
type ExportLine struct {
	Source string          `json:"source"`
	Table  string          `json:"table,omitempty"`
	Topic  string          `json:"topic,omitempty"`
	Key    string          `json:"key,omitempty"`
	Row    json.RawMessage `json:"row,omitempty"`
	Value  json.RawMessage `json:"value,omitempty"`
	// Error ends an export that failed half-way.
	Error string `json:"error,omitempty"`
}

// ExportErrorTrailer is the HTTP trailer that carries an error met after
// the export started streaming; absent or empty means complete.
const ExportErrorTrailer = "X-Export-Error"

func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := checkID(id); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_parameter", "id", "user id: "+err.Error())
		return
	}
	q := r.URL.Query()
	typ := SubjectType(q.Get("subjectType"))
	if typ == "" {
		typ = UserID
	}
	if !typ.Valid() {
		writeErr(w, http.StatusBadRequest, "invalid_parameter", "subjectType", "subjectType "+strconv.Quote(string(typ))+": want USER_ID or ANONYMOUS_ID")
		return
	}
	format := q.Get("format")
	switch format {
	case "", "jsonl":
		format = "jsonl"
	case "csv":
	default:
		writeErr(w, http.StatusBadRequest, "invalid_parameter", "format", "format "+strconv.Quote(format)+": want jsonl or csv")
		return
	}
	x, err := h.s.prepareExport(r.Context(), typ, id)
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "", "export: "+err.Error())
		return
	}
	hd := w.Header()
	hd.Set("Trailer", ExportErrorTrailer)
	if format == "csv" {
		hd.Set("Content-Type", "text/csv; charset=utf-8")
		hd.Set("Content-Disposition", `attachment; filename="export.csv"`)
	} else {
		hd.Set("Content-Type", "application/x-ndjson")
		hd.Set("Content-Disposition", `attachment; filename="export.jsonl"`)
	}
	w.WriteHeader(http.StatusOK)
	if err := x.write(r.Context(), w, format); err != nil {
		h.s.log.Warn("regulator: export failed half-way", "err", err)
		if format == "jsonl" {
			_ = json.NewEncoder(w).Encode(ExportLine{Source: "error", Error: err.Error()})
		}
		hd.Set(ExportErrorTrailer, err.Error())
	}
}

// export is everything known of one subject before its rows are streamed.
type export struct {
	s       *Service
	users   []string
	anons   []string
	topic   []ExportLine // compacted topics' records
	columns []string     // the warehouse tables' columns, for the CSV header
}

// prepareExport reads the subject's records from the compacted topics
// (identities, profiles, consent, suppressions) and the warehouse tables'
// columns.
func (s *Service) prepareExport(ctx context.Context, typ SubjectType, id string) (*export, error) {
	x := &export{s: s}
	ws := s.cfg.Workspace
	if typ == UserID {
		x.users = []string{id}
		idTopic := s.names.Of(topics.Identities)
		linked := map[string][]byte{}
		prefix := []byte(ws + "/")
		err := s.scan(ctx, idTopic, nil, func(rec *kgo.Record) {
			k := string(rec.Key)
			delete(linked, k)
			if rec.Value == nil || !bytes.HasPrefix(rec.Key, prefix) {
				return
			}
			if l, err := suppress.DecodeLink(rec.Value); err == nil && l.UserID == id {
				linked[k] = rec.Value
			}
		})
		if err != nil {
			return nil, err
		}
		for _, k := range sortedKeys(linked) {
			x.anons = append(x.anons, k[len(prefix):])
			x.topic = append(x.topic, ExportLine{Source: "kafka", Topic: idTopic, Key: k, Value: linked[k]})
		}
	} else {
		x.anons = []string{id}
	}
	want := map[string][][]byte{}
	// add(base)(key, err) asks for a key of topic base, if it could be made.
	add := func(base string) func([]byte, error) {
		return func(key []byte, err error) {
			if err == nil {
				t := s.names.Of(base)
				want[t] = append(want[t], key)
			}
		}
	}
	for _, u := range x.users {
		add(topics.Profiles)(profiles.Key(ws, u), nil)
		add(topics.Consent)(consent.Key(ws, consent.UserID, u))
		add(topics.Suppressions)(suppress.Key(ws, suppress.UserID, u))
	}
	for _, a := range x.anons {
		add(topics.Consent)(consent.Key(ws, consent.AnonymousID, a))
		add(topics.Suppressions)(suppress.Key(ws, suppress.AnonymousID, a))
		if typ == AnonymousID {
			add(topics.Identities)(suppress.LinkKey(ws, a))
		}
	}
	for _, t := range sortedKeys(want) {
		found, err := s.latest(ctx, t, want[t])
		if err != nil {
			return nil, err
		}
		for _, k := range sortedKeys(found) {
			x.topic = append(x.topic, ExportLine{Source: "kafka", Topic: t, Key: k, Value: found[k]})
		}
	}
	if s.cfg.Warehouse != nil {
		cols, err := s.cfg.Warehouse.SubjectColumns(ctx)
		if err != nil {
			return nil, err
		}
		x.columns = cols
	}
	return x, nil
}

// latest returns the latest non-tombstone value of each key, reading only
// the partitions the keys live on.
func (s *Service) latest(ctx context.Context, topic string, keys [][]byte) (map[string][]byte, error) {
	n, err := s.partitionCount(ctx, topic)
	if err != nil || n == 0 {
		return nil, err
	}
	wanted := map[string]bool{}
	var parts []int32
	for _, k := range keys {
		wanted[string(k)] = true
		if p := partitionOf(topic, k, n); !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	out := map[string][]byte{}
	err = s.scan(ctx, topic, parts, func(rec *kgo.Record) {
		if k := string(rec.Key); wanted[k] {
			if rec.Value == nil {
				delete(out, k)
			} else {
				out[k] = rec.Value
			}
		}
	})
	return out, err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// write streams the export: the topics' records, then every table's rows.
func (x *export) write(ctx context.Context, w io.Writer, format string) error {
	if format == "csv" {
		return x.writeCSV(ctx, w)
	}
	enc := json.NewEncoder(w)
	for _, l := range x.topic {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	if x.s.cfg.Warehouse == nil {
		return nil
	}
	return x.s.cfg.Warehouse.Export(ctx, x.request(), func(table string, row json.RawMessage) error {
		return enc.Encode(ExportLine{Source: "clickhouse", Table: table, Row: row})
	})
}

// request names the subject's ids to the warehouse.
func (x *export) request() sinks.DeleteRequest {
	return sinks.DeleteRequest{Workspace: x.s.cfg.Workspace, UserIDs: x.users, AnonymousIDs: x.anons}
}

// writeCSV writes one header (_source, _table, _key, then the union of the
// tables' columns and the topic values' fields) and one line per row.
func (x *export) writeCSV(ctx context.Context, w io.Writer) error {
	cols := []string{}
	seen := map[string]bool{}
	addCol := func(c string) {
		if !seen[c] {
			seen[c] = true
			cols = append(cols, c)
		}
	}
	for _, c := range x.columns {
		addCol(c)
	}
	fields := make([]map[string]json.RawMessage, len(x.topic))
	for i, l := range x.topic {
		if json.Unmarshal(l.Value, &fields[i]) != nil {
			fields[i] = map[string]json.RawMessage{"value": l.Value}
		}
		for _, f := range sortedKeys(fields[i]) {
			addCol(f)
		}
	}
	cw := csv.NewWriter(w)
	header := []string{"_source", "_table", "_key"}
	for _, c := range cols {
		header = append(header, csvText(c))
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	line := func(source, table, key string, obj map[string]json.RawMessage) error {
		rec := make([]string, 0, len(cols)+3)
		rec = append(rec, source, table, csvText(key))
		for _, c := range cols {
			rec = append(rec, csvValue(obj[c]))
		}
		return cw.Write(rec)
	}
	for i, l := range x.topic {
		if err := line("kafka", l.Topic, l.Key, fields[i]); err != nil {
			return err
		}
	}
	if x.s.cfg.Warehouse != nil {
		err := x.s.cfg.Warehouse.Export(ctx, x.request(), func(table string, row json.RawMessage) error {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(row, &obj); err != nil {
				return errors.New("a row of " + table + " is not a JSON object")
			}
			return line("clickhouse", table, "", obj)
		})
		if err != nil {
			cw.Flush()
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvValue renders a JSON value for a CSV cell: strings as csvText,
// anything else (numbers, booleans, objects) as its JSON text, absent as
// empty.
func csvValue(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return csvText(s)
	}
	return string(raw)
}

// csvText keeps a text cell from being read as a formula by a spreadsheet:
// anyone with a write key can put text in a person's export, so a cell
// starting with =, +, -, @, tab or carriage return gets a leading '.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
