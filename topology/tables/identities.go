package tables

import (
	"github.com/sluicehq/sluice/processors/consent"
	"github.com/sluicehq/sluice/processors/suppress"
)

// ApplyLink returns the function that applies an identities-topic record to
// both tables that read it: suppression's identities (a suppressed user's
// anonymousIds) and the consent store's links (consent follows identity).
// A record suppression cannot read changes neither. The router and the
// sinks follow the topic with it.
func ApplyLink(ids *suppress.Identities, store *consent.Store) func(key, value []byte) error {
	return func(key, value []byte) error {
		if err := ids.Apply(key, value); err != nil {
			return err
		}
		user := ""
		if value != nil {
			l, err := suppress.DecodeLink(value)
			if err != nil {
				return err
			}
			user = l.UserID
		}
		return store.ApplyLink(key, user)
	}
}
