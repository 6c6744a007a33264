package planstore

import (
	"context"

	"github.com/sluicehq/sluice/schemas/plan"
)

// nopBackend answers like an empty topic, computing dry runs for real.
type nopBackend struct{}

func (nopBackend) List(context.Context) ([]Summary, error) { return nil, nil }

func (nopBackend) Show(context.Context, string, int) (*plan.Version, error) { return nil, ErrNotFound }

func (nopBackend) Publish(_ context.Context, p *plan.Plan, opts PublishOptions) (*PublishResult, error) {
	return compare(history{}, p, opts.Compatibility)
}
