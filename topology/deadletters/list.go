package deadletters

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Group counts the dead letters of one origin, destination and reason.
type Group struct {
	Origin      Origin `json:"origin,omitempty"`
	Destination string `json:"destination,omitempty"`
	Reason      string `json:"reason"`
	Count       int    `json:"count"`
	// Replayed counts the letters of the group replayed at least once.
	Replayed int `json:"replayed"`
	// First and Last are when the oldest and the newest were written.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// ListOptions say how much a listing shows.
type ListOptions struct {
	// Show lists each letter's metadata, not only the groups.
	Show bool
	// Payloads adds each letter's event or refused body: personal data.
	Payloads bool
	// Limit caps the letters shown, newest kept; default DefaultLimit.
	Limit int
}

// Limits of a listing.
const (
	DefaultLimit = 1000
	MaxLimit     = 100_000
)

// Listing is what List found.
type Listing struct {
	// Groups count the readable letters by origin, destination and reason.
	Groups []Group `json:"groups"`
	// Unreadable counts the letters in the time range that cannot be
	// opened, by why (key_shredded: their subject was deleted), whatever
	// their origin or destination, which are inside them.
	Unreadable []Group `json:"unreadable"`
	// Letters are the letters themselves (ListOptions.Show), oldest first.
	Letters []Letter `json:"letters,omitempty"`
	// Truncated says the letters were capped at the limit: the oldest are
	// left out.
	Truncated bool `json:"truncated,omitempty"`
}

// List reads the deadletter topic and summarizes the letters f selects.
func (s *Service) List(ctx context.Context, f Filter, o ListOptions) (*Listing, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	t, err := s.readTables(ctx, false)
	if err != nil {
		return nil, err
	}
	snap, err := s.read(ctx, f, t, o.Payloads)
	if err != nil {
		return nil, err
	}
	out := &Listing{Groups: groups(snap.letters), Unreadable: []Group{}}
	for _, g := range snap.unreadable {
		out.Unreadable = append(out.Unreadable, *g)
	}
	slices.SortFunc(out.Unreadable, func(a, b Group) int { return cmp.Compare(a.Reason, b.Reason) })
	if !o.Show {
		return out, nil
	}
	limit := o.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	shown := snap.letters
	if len(shown) > limit {
		shown, out.Truncated = shown[len(shown)-limit:], true
	}
	out.Letters = make([]Letter, len(shown))
	for i, l := range shown {
		out.Letters[i] = *l
		if o.Payloads {
			out.Letters[i].Payload = l.payload
		}
	}
	return out, nil
}

// groups counts letters by origin, destination and reason, sorted so.
func groups(letters []*Letter) []Group {
	type key struct {
		origin      Origin
		destination string
		reason      string
	}
	by := map[key]*Group{}
	for _, l := range letters {
		k := key{l.Origin, l.Destination, l.Reason}
		g := by[k]
		if g == nil {
			g = &Group{Origin: l.Origin, Destination: l.Destination, Reason: l.Reason}
			by[k] = g
		}
		g.add(l.At, len(l.Replays) > 0)
	}
	out := make([]Group, 0, len(by))
	for _, g := range by {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		return cmp.Or(cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.Destination, b.Destination), cmp.Compare(a.Reason, b.Reason))
	})
	return out
}
