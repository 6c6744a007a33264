package plan

import "strings"

// Text renders the changes for review, one per line: a sign ("+" adds,
// "-" removes, "~" changes), the target, the field path and what changed,
// as in `~ track "Order Completed" v2: products[].price: type changed:
// double → string`. It is "No changes." when there are none.
func (cs Changes) Text() string {
	if len(cs) == 0 {
		return "No changes.\n"
	}
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Line())
		b.WriteByte('\n')
	}
	return b.String()
}

// Line renders one change as Text does.
func (c Change) Line() string {
	sym := "~"
	switch c.Kind {
	case EventAdded, VersionAdded, SchemaAdded, FieldAdded, SymbolsAdded:
		sym = "+"
	case EventRemoved, VersionRemoved, SchemaRemoved, FieldRemoved, SymbolsRemoved:
		sym = "-"
	}
	var b strings.Builder
	b.WriteString(sym + " " + c.Target)
	if c.Against != "" {
		b.WriteString(" (compared with " + c.Against + ")")
	}
	b.WriteString(": ")
	if c.Path != "" {
		b.WriteString(c.Path + ": ")
	}
	switch c.Kind {
	case EventAdded:
		b.WriteString("event added (" + c.New + ")")
	case EventRemoved:
		b.WriteString("event removed (" + c.Old + ")")
	case VersionAdded:
		b.WriteString("version added (" + c.New + ")")
	case VersionRemoved:
		b.WriteString("version removed (was " + c.Old + ")")
	case SchemaAdded:
		b.WriteString("schema added (" + c.New + ")")
	case SchemaRemoved:
		b.WriteString("schema removed (was " + c.Old + ")")
	case FieldAdded:
		b.WriteString("field added: " + c.New)
	case FieldRemoved:
		b.WriteString("field removed (was " + c.Old + ")")
	case TypeChanged:
		b.WriteString("type changed: " + c.Old + " → " + c.New)
	case MadeOptional:
		b.WriteString("made optional: " + c.Old + " → " + c.New)
	case MadeRequired:
		b.WriteString("made required: " + c.Old + " → " + c.New)
	case SymbolsAdded:
		b.WriteString("enum symbols added: " + c.New)
	case SymbolsRemoved:
		b.WriteString("enum symbols removed: " + c.Old)
	case DefaultChanged:
		b.WriteString("default changed: " + c.Old + " → " + c.New)
	default:
		b.WriteString("changed: " + orNone(c.Old) + " → " + orNone(c.New))
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
