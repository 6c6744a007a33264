package filter

// Apply runs the chain on one event and says whether it goes on to the
// destination, with which properties, or why not. It is safe for concurrent
// use.
func (c *Chain) Apply(ev Event) Result {
	props := ev.Properties
	for i := range c.filters {
		f := &c.filters[i]
		switch f.kind {
		case kindSample:
			if !f.sample.keep(&ev) {
				return Result{Reason: ReasonSampledOut, Filter: f.index}
			}
		case kindDrop:
			holds, err := f.drop.holds(&ev)
			if err != nil {
				return Result{Reason: ReasonExpressionError, Filter: f.index, Err: err}
			}
			if holds {
				return Result{Reason: ReasonDropped, Filter: f.index}
			}
		case kindDropProperties, kindAllowProperties:
			out, err := rewrite(props, f.paths, f.kind == kindAllowProperties)
			if err != nil {
				return Result{Reason: ReasonPropertiesError, Filter: f.index, Err: err}
			}
			props = out
		}
	}
	return Result{Keep: true, Filter: -1, Properties: props}
}
