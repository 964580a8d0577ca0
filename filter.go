package omnicart

// Filter narrows a request to some items of a cart: items with any of Tags or
// any of ItemIDs (every item when both are empty), then, when TimerEnabled is
// set, only items with (true) or without (false) a timer.
type Filter struct {
	Tags         []string
	ItemIDs      []string
	TimerEnabled *bool
}

type filterResult struct {
	idx          []int
	missingTags  []string
	missingIDs   []string
	timerEmptied bool
}

func (c *Cart) filter(f Filter) filterResult {
	var r filterResult
	listed := len(f.Tags) > 0 || len(f.ItemIDs) > 0
	for _, t := range f.Tags {
		found := false
		for i := range c.Items {
			if c.Items[i].Tag == t {
				found = true
				break
			}
		}
		if !found && !contains(r.missingTags, t) {
			r.missingTags = append(r.missingTags, t)
		}
	}
	for _, id := range f.ItemIDs {
		if c.Item(id) == nil && !contains(r.missingIDs, id) {
			r.missingIDs = append(r.missingIDs, id)
		}
	}
	keep := func(it *Item) bool {
		return f.TimerEnabled == nil || (it.Timer != nil) == *f.TimerEnabled
	}
	if !listed {
		for i := range c.Items {
			if keep(&c.Items[i]) {
				r.idx = append(r.idx, i)
			}
		}
		r.timerEmptied = len(r.idx) == 0
		return r
	}
	// Every listed tag and itemId that is in the cart must keep an item
	// after the timer narrowing.
	selectors := make([]func(*Item) bool, 0, len(f.Tags)+len(f.ItemIDs))
	for _, t := range f.Tags {
		selectors = append(selectors, func(it *Item) bool { return it.Tag == t })
	}
	for _, id := range f.ItemIDs {
		selectors = append(selectors, func(it *Item) bool { return it.ID == id })
	}
	for _, sel := range selectors {
		present, kept := false, false
		for i := range c.Items {
			if sel(&c.Items[i]) {
				present = true
				kept = kept || keep(&c.Items[i])
			}
		}
		if present && !kept {
			r.timerEmptied = true
		}
	}
	for i := range c.Items {
		it := &c.Items[i]
		if (contains(f.Tags, it.Tag) && it.Tag != "") || contains(f.ItemIDs, it.ID) {
			if keep(it) {
				r.idx = append(r.idx, i)
			}
		}
	}
	return r
}

func timerCode(f Filter, enabled, disabled Code) Code {
	if f.TimerEnabled != nil && *f.TimerEnabled {
		return enabled
	}
	return disabled
}

// SelectForStatus applies a status filter. Parts of the filter that matched
// nothing are reported as info problems (001004–001007); an empty result is
// an error (121103) whose problems list those infos in their 10100x form.
func (c *Cart) SelectForStatus(f Filter) ([]int, Problems, error) {
	r := c.filter(f)
	var infos Problems
	if len(r.missingTags) > 0 {
		infos.Add(Problem{Code: CodeStatusNoTags, Items: r.missingTags})
	}
	if len(r.missingIDs) > 0 {
		infos.Add(Problem{Code: CodeStatusNoItemIDs, Items: r.missingIDs})
	}
	if r.timerEmptied {
		infos.Add(Problem{Code: timerCode(f, CodeStatusNoTimer, CodeStatusNoNoTimer)})
	}
	if len(r.idx) == 0 {
		e := &Error{Problems: Problems{{Code: CodeNoItemsMatch}}}
		for _, p := range infos {
			p.Code = p.Code.FailedForm()
			e.Problems = append(e.Problems, p)
		}
		return nil, nil, e
	}
	return r.idx, infos, nil
}

// SelectForAction applies the stricter filter of capture, cancel and refund:
// every listed tag (124004) and itemId (124005) must be in the cart and keep
// an item after the timer narrowing (124006/124007); an empty result
// otherwise (timerEnabled alone leaving nothing) is 121103. All errors found
// are returned, in that order.
func (c *Cart) SelectForAction(f Filter) ([]int, error) {
	r := c.filter(f)
	var ps Problems
	if len(r.missingTags) > 0 {
		ps.Add(Problem{Code: CodeFilterNoTags, Items: r.missingTags})
	}
	if len(r.missingIDs) > 0 {
		ps.Add(Problem{Code: CodeFilterNoItemIDs, Items: r.missingIDs})
	}
	// 124006/124007 are about listed tags and itemIds; without any, an
	// empty result is simply an empty scope.
	if r.timerEmptied && (len(f.Tags) > 0 || len(f.ItemIDs) > 0) {
		ps.Add(Problem{Code: timerCode(f, CodeFilterNoTimer, CodeFilterNoNoTimer)})
	}
	if len(r.idx) == 0 && len(ps) == 0 {
		ps.Add(Problem{Code: CodeNoItemsMatch})
	}
	if len(ps) > 0 {
		return nil, &Error{Problems: ps}
	}
	return r.idx, nil
}
