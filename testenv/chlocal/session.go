package chlocal

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// session keeps the engine connection's state (current database, settings)
// equal to what each request asks for. ClickHouse gives every HTTP request a
// fresh context; the engine has one long-lived connection whose USE and SET
// persist, so each request's database and settings are applied before its
// statement and the previous request's are undone. The caller holds the
// server's turn for the whole request, so requests never see each other's
// state.
type session struct {
	engine *chdb.Engine
	// baseline holds the settings the connection has changed from the
	// defaults when the server starts; resetting to them restores the start.
	baseline map[string]string
	database string            // current database; "" when unknown
	applied  map[string]string // settings applied for the previous request
	// dirty means a statement may have changed settings or the database
	// (a SET or USE from a client): the next request re-reads them.
	dirty bool
}

// newSession reads the connection's starting settings.
func newSession(ctx context.Context, engine *chdb.Engine) (*session, error) {
	changed, err := changedSettings(ctx, engine)
	if err != nil {
		return nil, err
	}
	return &session{engine: engine, baseline: changed, applied: map[string]string{}}, nil
}

// changedSettings returns the connection's settings that differ from defaults.
func changedSettings(ctx context.Context, engine *chdb.Engine) (map[string]string, error) {
	res, err := engine.Query(ctx, "SELECT name, value FROM system.settings WHERE changed", "TabSeparated", nil)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(res.Data), "\n") {
		if name, value, ok := strings.Cut(line, "\t"); ok {
			out[name] = unescapeTSV(value)
		}
	}
	return out, nil
}

// prepare makes database (default when "") current and exactly settings
// applied on top of the baseline. On failure the state is re-read next time.
func (s *session) prepare(ctx context.Context, database string, settings map[string]string) error {
	if database == "" {
		database = "default"
	}
	current := s.applied
	if s.dirty {
		changed, err := changedSettings(ctx, s.engine)
		if err != nil {
			return err
		}
		current = changed
		for name := range s.baseline {
			if _, ok := changed[name]; !ok {
				current[name] = "\x00reset" // differs from every value, so it is restored
			}
		}
		s.database = ""
		s.dirty = false
	}

	var set []string
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if v, ok := current[name]; !ok || v != settings[name] {
			set = append(set, name+" = "+chdb.QuoteString(settings[name]))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(current)) {
		if _, ok := settings[name]; ok {
			continue
		}
		base, ok := s.baseline[name]
		switch {
		case !ok:
			set = append(set, name+" = DEFAULT")
		case current[name] != base:
			set = append(set, name+" = "+chdb.QuoteString(base))
		}
	}
	if len(set) > 0 {
		if _, err := s.engine.Query(ctx, "SET "+strings.Join(set, ", "), "", nil); err != nil {
			s.dirty = true
			return err
		}
	}
	s.applied = maps.Clone(settings)

	if s.database != database {
		if _, err := s.engine.Query(ctx, "USE "+quoteIdentifier(database), "", nil); err != nil {
			s.database = ""
			return err
		}
		s.database = database
	}
	return nil
}

// changedBy records that a client's statement of this kind may have changed
// the connection's settings or database.
func (s *session) changedBy(kind string) {
	if kind == "SET" || kind == "USE" {
		s.dirty = true
	}
}

// quoteIdentifier returns s as a back-quoted ClickHouse identifier.
func quoteIdentifier(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

// unescapeTSV undoes TabSeparated escaping of one field.
func unescapeTSV(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r", `\0`, "\x00", `\'`, "'", `\b`, "\b", `\f`, "\f").Replace(s)
}
