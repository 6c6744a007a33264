package consent

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/schemas/jsonscan"
)

// ErrMalformed reports consent preferences that cannot be read: invalid
// JSON, or context, consent or categoryPreferences that is not an object.
var ErrMalformed = errors.New("consent: malformed consent preferences")

// PreferencesObject finds context.consent.categoryPreferences in an event's
// raw context JSON and returns the object's bytes (a sub-slice of context).
// found is false when the context is empty or null, or has no consent or no
// categoryPreferences member (or it is null). Invalid JSON, or a context,
// consent or categoryPreferences that is not an object, is ErrMalformed.
// When a key repeats, the last one counts, as in encoding/json.
func PreferencesObject(context []byte) (obj []byte, found bool, err error) {
	start, end := jsonscan.SkipSpace(context, 0), 0
	if start == len(context) {
		return nil, false, nil
	}
	if context[start] != '{' {
		_, _, ok, err := jsonscan.OnlyValue(context)
		if err != nil {
			return nil, false, fmt.Errorf("%w: context: %v", ErrMalformed, err)
		}
		if !ok {
			return nil, false, nil // null
		}
		return nil, false, fmt.Errorf("%w: context is not an object", ErrMalformed)
	}
	for _, name := range [...]string{"consent", "categoryPreferences"} {
		vs, ve, found, objEnd, err := jsonscan.LastMember(context, start, name)
		if err == nil && name == "consent" && jsonscan.SkipSpace(context, objEnd) != len(context) {
			err = jsonscan.ErrSyntax // only space may follow the context object
		}
		if err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if !found || string(context[vs:ve]) == "null" {
			return nil, false, nil
		}
		if context[vs] != '{' {
			return nil, false, fmt.Errorf("%w: %s is not an object", ErrMalformed, name)
		}
		start, end = vs, ve
	}
	return context[start:end], true, nil
}

// EventPrefs returns the preferences an event's raw context JSON carries in
// context.consent.categoryPreferences: unknown when there are none, otherwise
// the workspace categories whose last value is true. On error it returns
// preferences that grant nothing, so ignoring the error still denies.
func (c *Categories) EventPrefs(context []byte) (Prefs, error) {
	obj, found, err := PreferencesObject(context)
	if err != nil {
		return denyAll, err
	}
	if !found {
		return Prefs{}, nil
	}
	return Prefs{Known: true, Granted: c.objectMask(obj)}, nil
}

// objectMask returns the categories a valid categoryPreferences object grants.
func (c *Categories) objectMask(obj []byte) Mask {
	var m Mask
	jsonscan.EachMember(obj, 0, 0, func(mb jsonscan.Member) {
		var bit Mask
		if mb.Escaped {
			bit = c.bit[mb.Name()]
		} else {
			bit = c.bit[string(mb.Key)]
		}
		if string(obj[mb.Start:mb.End]) == "true" {
			m |= bit
		} else {
			m &^= bit
		}
	})
	return m
}
