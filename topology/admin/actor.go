package admin

import "context"

// Actor is who makes an admin request: the holder of a token, the token's
// id and its role. It is recorded with every admin action and in every
// regulation filed (Regulation.FiledBy).
type Actor struct {
	Holder  string `json:"holder"`
	TokenID string `json:"tokenId"`
	Role    Role   `json:"role"`
}

// Bootstrap is the actor of the bootstrap token (--admin-token): every role.
var Bootstrap = Actor{Holder: "bootstrap", TokenID: "bootstrap", Role: RoleBootstrap}

type actorKey struct{}

// WithActor returns ctx carrying a, as the Guard passes it to admin handlers.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of an admin request's context, nil when the
// request did not pass a Guard.
func ActorFrom(ctx context.Context) *Actor {
	a, ok := ctx.Value(actorKey{}).(Actor)
	if !ok {
		return nil
	}
	return &a
}
