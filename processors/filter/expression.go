package filter

import (
	"fmt"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// env is what a drop expression sees.
type env struct {
	Event       string         `expr:"event"`
	Type        string         `expr:"type"`
	UserID      string         `expr:"userId"`
	AnonymousID string         `expr:"anonymousId"`
	MessageID   string         `expr:"messageId"`
	Properties  map[string]any `expr:"properties"`
	Context     map[string]any `expr:"context"`
	Traits      map[string]any `expr:"traits"`
}

// maxNodes bounds an expression's size, so configuration cannot make a
// filter arbitrarily slow to compile.
const maxNodes = 2000

// expression is a compiled drop expression. Runs borrow a VM and an env from
// a pool: a VM is not safe for concurrent use, and pooling keeps a run free
// of allocations for expressions that read no objects.
type expression struct {
	source  string
	program *vm.Program
	// Which objects the expression names, so only those are decoded.
	properties, context, traits bool
	pool                        sync.Pool // of *runner
}

type runner struct {
	vm  vm.VM
	env env
}

func compileExpression(source string) (*expression, error) {
	p, err := expr.Compile(source, expr.Env(env{}), expr.AsBool(), expr.MaxNodes(maxNodes))
	if err != nil {
		return nil, fmt.Errorf("drop %q: %w", source, err)
	}
	e := &expression{source: source, program: p}
	node := p.Node()
	ast.Walk(&node, names{e})
	e.pool.New = func() any { return new(runner) }
	return e, nil
}

// names records which objects an expression reads.
type names struct{ e *expression }

func (n names) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok {
		switch id.Value {
		case "properties":
			n.e.properties = true
		case "context":
			n.e.context = true
		case "traits":
			n.e.traits = true
		}
	}
}

// holds evaluates the expression on ev. An error means it could not be
// evaluated: an object it reads is not valid JSON, or the run failed or gave
// no boolean.
func (e *expression) holds(ev *Event) (bool, error) {
	r := e.pool.Get().(*runner)
	defer e.pool.Put(r)
	r.env = env{Event: ev.Event, Type: ev.Type, UserID: ev.UserID, AnonymousID: ev.AnonymousID, MessageID: ev.MessageID}
	for _, o := range []struct {
		want bool
		raw  []byte
		dst  *map[string]any
		name string
	}{
		{e.properties, ev.Properties, &r.env.Properties, "properties"},
		{e.context, ev.Context, &r.env.Context, "context"},
		{e.traits, ev.Traits, &r.env.Traits, "traits"},
	} {
		if !o.want || len(o.raw) == 0 {
			continue
		}
		m, err := decodeObject(o.raw)
		if err != nil {
			return false, fmt.Errorf("drop %q: %s: %w", e.source, o.name, err)
		}
		*o.dst = m
	}
	out, err := r.vm.Run(e.program, &r.env)
	r.env = env{} // let the decoded objects go
	if err != nil {
		return false, fmt.Errorf("drop %q: %w", e.source, err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("drop %q: gave %T, want bool", e.source, out)
	}
	return b, nil
}
