package chlocal

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// The engine cannot be told to refuse what reaches outside its own tables:
// chDB runs every statement as its built-in user "default", which holds every
// SOURCES grant (file, url, remote, s3, ...), cannot give one up (REVOKE needs
// the grant option) and cannot create a narrower user; file() reads any
// absolute path whatever user_files_path says, and readonly does not stop it.
// So the server checks a client's statement before the engine runs it. The
// engine itself parses the statement (formatQuerySingleLine): comments,
// quoting, escapes and Unicode spaces are resolved as the engine resolves
// them, and the rules below read the tokens of that canonical text.

// clientSQL is the SQL a client wrote, as the access check reads it.
type clientSQL struct {
	statement string // the statement, without the data of an inline insert
	// values is the data of an inline insert in the Values format when the
	// request was read whole; "" otherwise.
	values string
}

// localTableFunctions are the table functions that generate data or read the
// engine's own tables. Every other table function (file, url, s3, remote,
// mysql, executable, ... and any a later engine adds) is refused. format()
// is safe because Values data never evaluates expressions unchecked (see
// valuesExpressionSettings); the settings naming its schema files are guarded.
var localTableFunctions = map[string]bool{
	"numbers": true, "numbers_mt": true, "zeros": true, "zeros_mt": true, "primes": true,
	"generaterandom": true, "generateseries": true, "generate_series": true,
	"values": true, "sqlstandardvalues": true, "null": true, "input": true, "format": true,
	"view": true, "viewifpermitted": true, "viewexplain": true, "merge": true, "loop": true,
	"mergetreeindex": true, "mergetreeprojection": true, "mergetreetextindex": true,
	"mergetreeanalyzeindexes": true, "mergetreeanalyzeindexesuuid": true,
	"fuzzjson": true, "fuzzquery": true,
}

// outsideFunctions reach outside without being table functions: disk(...)
// in a table's SETTINGS declares a disk at any path or URL, catboostEvaluate
// loads a model file. (file() the function shares the table function's name.)
var outsideFunctions = []string{"disk", "catboostevaluate"}

// localEngines are the table and database engines besides the MergeTree
// family that keep data in the engine's own storage; every other ENGINE
// (File, URL, S3, MySQL, Executable, Distributed, EmbeddedRocksDB,
// Filesystem, ...) is refused.
var localEngines = map[string]bool{
	"Memory": true, "Log": true, "TinyLog": true, "StripeLog": true, "Null": true,
	"Set": true, "Join": true, "Buffer": true, "Merge": true, "GenerateRandom": true,
	"Atomic": true, "Ordinary": true,
}

// refusedKinds are the statements refused by their first keyword.
var refusedKinds = map[string]string{
	"SYSTEM":  "they act on the whole engine process (shutdown, reloads, caches, files)",
	"ATTACH":  "ATTACH reads tables and dictionaries from any directory",
	"BACKUP":  "BACKUP writes to files, disks and object storage",
	"RESTORE": "RESTORE reads from files, disks and object storage",
	// A backup of the data under another name.
	"SNAPSHOT": "SNAPSHOT writes to files, disks and object storage",
}

// guardedSettings are the settings a client may not set, in the URL or in
// SQL, each for its reason. Lower-case names.
var guardedSettings = map[string]string{
	"add_http_cors_header": "this server never sends CORS headers",
	"readonly":             "the server applies readonly itself (the URL parameter, implied by GET)",
	"dialect":              "the access check reads ClickHouse SQL only",
	"input_format_values_interpret_expressions":           "the server decides when Values data may evaluate expressions",
	"input_format_values_deduce_templates_of_expressions": "the server decides when Values data may evaluate expressions",
	"format_schema":                        "it names a file the engine reads",
	"format_schema_source":                 "it makes the engine read a schema from a file or query",
	"format_template_resultset":            "it names a file the engine reads",
	"format_template_row":                  "it names a file the engine reads",
	"output_format_schema":                 "it names a file the engine writes",
	"input_format_record_errors_file_path": "it names a file the engine writes",
}

// valuesExpressionSettings make the Values format evaluate expressions in
// its data, which can call any function (file('...') included). They are off
// on every engine connection, and on for an insert whose Values data the
// check has read.
var valuesExpressionSettings = []string{
	"input_format_values_interpret_expressions",
	"input_format_values_deduce_templates_of_expressions",
}

// access checks what a client's SQL may reach.
type access struct {
	// outside holds the lower-case names of the functions refused in calls.
	outside map[string]bool
}

// loadAccess reads the engine's table functions: all but the local ones
// are refused.
func loadAccess(ctx context.Context, engine *chdb.Engine) (*access, error) {
	res, err := engine.Query(ctx, "SELECT name FROM system.table_functions", "TabSeparated", nil)
	if err != nil {
		return nil, err
	}
	a := &access{outside: map[string]bool{}}
	for _, name := range strings.Fields(string(res.Data)) {
		if name = strings.ToLower(name); !localTableFunctions[name] {
			a.outside[name] = true
		}
	}
	if !a.outside["file"] {
		return nil, fmt.Errorf("chlocal: the engine lists no table function file among %q", res.Data)
	}
	for _, name := range outsideFunctions {
		a.outside[name] = true
	}
	return a, nil
}

// check refuses a client's SQL that reaches outside the engine's own tables
// and reports whether its Values data may evaluate expressions: only when
// the engine reads that data as SQL and it passes the same rules. Other
// Values data is read as literals only.
func (a *access) check(ctx context.Context, engine *chdb.Engine, sql clientSQL) (valuesExpressions bool, ex *chdb.Exception) {
	canonical, ex := canonicalize(ctx, engine, sql.statement)
	if ex != nil {
		return false, ex
	}
	if ex := a.refusal(canonical); ex != nil {
		return false, ex
	}
	if sql.values == "" {
		return false, nil
	}
	// Values rows are tuples, so their SQL reading is a SELECT list.
	canonical, ex = canonicalize(ctx, engine, "SELECT "+sql.values)
	if ex != nil {
		return false, nil
	}
	if ex := a.refusal(canonical); ex != nil {
		return false, ex
	}
	return true, nil
}

// canonicalize returns the engine's reading of one statement, printed on one
// line: without comments, keywords in upper case, identifiers unescaped and
// quoted only where they must be. A statement the engine cannot parse fails
// with the engine's exception.
func canonicalize(ctx context.Context, engine *chdb.Engine, statement string) (string, *chdb.Exception) {
	res, err := engine.Query(ctx, "SELECT formatQuerySingleLine({statement:String})", "RawBLOB", map[string]string{"statement": escapeParam(statement)})
	if err != nil {
		ex := asException(err)
		// The message is about the client's statement: drop the scope the
		// engine names, this query with the statement quoted in it.
		if i := strings.Index(ex.Message, ": In scope SELECT formatQuerySingleLine("); i >= 0 {
			if j := strings.LastIndex(ex.Message, ". ("); j > i {
				ex.Message = ex.Message[:i] + ex.Message[j:]
			}
		}
		return "", ex
	}
	return string(res.Data), nil
}

// escapeParam returns s in the escaped text form query parameter values take.
func escapeParam(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(s)
}

// refusal returns why a canonical statement is refused, or nil.
func (a *access) refusal(text string) *chdb.Exception {
	var toks []token
	for l := (lexer{text: text}); ; {
		tok, ok := l.next()
		if !ok {
			break
		}
		toks = append(toks, tok)
	}
	// name returns the identifier or keyword at i ("" for other tokens).
	name := func(i int) string {
		if i < 0 || i >= len(toks) {
			return ""
		}
		switch t := toks[i]; t.kind {
		case tokWord:
			return text[t.start:t.end]
		case tokQuoted:
			return unquoteIdentifier(text[t.start:t.end])
		}
		return ""
	}
	is := func(i int, s string) bool {
		return i >= 0 && i < len(toks) && text[toks[i].start:toks[i].end] == s
	}
	keyword := func(i int) string { return strings.ToUpper(name(i)) }

	kind := keyword(0)
	if why, ok := refusedKinds[kind]; ok {
		return accessDenied("%s statements are refused: %s", kind, why)
	}
	switch {
	case kind == "INSERT" && keyword(1) == "INTO" && keyword(2) == "FUNCTION":
		return accessDenied("INSERT INTO FUNCTION is refused: it writes through a table function, not to a table")
	case (kind == "CREATE" || kind == "REPLACE") && (keyword(1) == "DICTIONARY" || keyword(3) == "DICTIONARY"):
		return accessDenied("CREATE DICTIONARY is refused: a dictionary's SOURCE reads files, URLs, other servers or processes")
	}
	for i := range toks {
		n := name(i)
		switch {
		case n == "":
		case toks[i].kind == tokWord && (keyword(i) == "INFILE" || keyword(i) == "OUTFILE"):
			return accessDenied("%s is refused: it reads or writes a file on the server's machine", keyword(i))
		case is(i+1, "(") && a.outside[strings.ToLower(n)] && !is(i-1, ".") && keyword(i-1) != "INTO":
			return accessDenied("%s() is refused: it reaches files, URLs, other servers or processes", n)
		case keyword(i) == "ENGINE" && is(i+1, "=") && name(i+2) != "" && !isLocalEngine(name(i+2)):
			return accessDenied("ENGINE = %s is refused: only engines that keep data in the engine's own storage are allowed (the MergeTree family, Memory, Log, ...)", name(i+2))
		case is(i+1, "=") && guardedSettings[strings.ToLower(n)] != "":
			return accessDenied("Setting %s is refused: %s", n, guardedSettings[strings.ToLower(n)])
		}
	}
	return nil
}

// isLocalEngine reports whether an engine keeps its data in the engine's own
// storage.
func isLocalEngine(name string) bool {
	return strings.HasSuffix(name, "MergeTree") || localEngines[name]
}

// unquoteIdentifier returns the name a "quoted" or `quoted` identifier
// stands for: doubled quotes and backslash escapes resolved.
func unquoteIdentifier(s string) string {
	if len(s) < 2 {
		return s
	}
	q, body := s[0], s[1:len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if (c == '\\' || c == q) && i+1 < len(body) {
			i++
			c = body[i]
		}
		b.WriteByte(c)
	}
	return b.String()
}

// accessDenied makes the ACCESS_DENIED exception the server refuses with.
func accessDenied(format string, args ...any) *chdb.Exception {
	return exceptionf(codeAccessDenied, "ACCESS_DENIED", format, args...)
}
