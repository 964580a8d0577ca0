package omnicart

import "time"

// AmountChange is a modifyAmount block. At cart and tag level only Mode and
// Modifier may be set.
type AmountChange struct {
	Amount   *int64
	Mode     *AmountMode
	Quantity *Decimal
	Modifier *Decimal
}

func (a *AmountChange) empty() bool {
	return a == nil || (a.Amount == nil && a.Mode == nil && a.Quantity == nil && a.Modifier == nil)
}

// TimerChangeSpec is a modifyTimer block.
type TimerChangeSpec struct {
	Trigger *string
	Action  *string
	Value   *int64
}

func (t *TimerChangeSpec) empty() bool {
	return t == nil || (t.Trigger == nil && t.Action == nil && t.Value == nil)
}

// ModifyLevel is a cart or tag block of a modify request.
type ModifyLevel struct {
	Amount *AmountChange
	Timer  *TimerChangeSpec
}

// ModifyTag is a tag block of a modify request.
type ModifyTag struct {
	Name string
	ModifyLevel
}

// ModifyItem is an item block of a modify request.
type ModifyItem struct {
	ID          string
	Tag         *string
	Amount      *AmountChange
	Timer       *TimerChangeSpec
	EnableTimer *bool
}

// ModifySpec is a decoded modify request.
type ModifySpec struct {
	CustomerID *string
	Cart       ModifyLevel
	Tags       []ModifyTag
	Items      []ModifyItem
}

// ModifyResult lists what a modify changed, in cart order.
type ModifyResult struct {
	ModifiedAmounts []string
	ModifiedTimers  []string
	// Ops are partial releases and refunds to run at the provider.
	Ops []Operation
	// Infos are the no-op timer actions (001008–001010).
	Infos Problems
}

// Modify applies a modify request atomically: when any error is found
// nothing changes and every error is returned. Amount changes of authorized
// and completed items become partial release and refund operations, which the
// caller runs and settles.
func (c *Cart) Modify(spec *ModifySpec, m *Merchant, now time.Time, newID func() string) (ModifyResult, error) {
	md := &modification{c: c, spec: spec, pv: m.Privileges, now: now, customer: c.CustomerID}
	if spec.CustomerID != nil {
		md.customer = *spec.CustomerID
	}
	md.targets()
	md.scopePrivileges()
	md.plans = make([]itemPlan, len(c.Items))
	for i := range c.Items {
		md.planItem(i)
	}
	if md.scopeRaise || md.newTotal > md.oldTotal {
		md.ps.Add(Problem{Code: CodeCartAmountExceeds})
	}
	if len(md.needCustomer) > 0 && md.customer == "" {
		md.ps.Add(Problem{Code: CodeCustomerIDRequired, Items: md.needCustomer})
	}
	if md.ps.HasErrors() {
		ps := md.ps
		for _, p := range md.infos {
			p.Code = p.Code.FailedForm()
			ps = append(ps, p)
		}
		return ModifyResult{}, &Error{Problems: orderErrorsFirst(ps)}
	}
	return md.apply(newID), nil
}

// itemPlan is what a modify will do to one item.
type itemPlan struct {
	snapshot *PaymentSnapshot // new pricing, when it changes
	newFull  int64
	timer    *Timer // the item's timer after the modify
	timerSet bool   // the timer changed (created, removed or moved)
}

// modification is a modify request being checked and planned.
type modification struct {
	c        *Cart
	spec     *ModifySpec
	pv       Privileges
	now      time.Time
	customer string

	itemSpecs map[int]*ModifyItem
	tagSpecs  map[string]*ModifyLevel
	newTag    []string
	plans     []itemPlan

	oldTotal, newTotal int64
	scopeRaise         bool
	needCustomer       []string
	ps, infos          Problems
}

// targets matches the request's items and tags to the cart (124005,
// 124004; tag blocks apply to the tags items carry after retagging).
func (md *modification) targets() {
	c := md.c
	var missingIDs []string
	md.itemSpecs = make(map[int]*ModifyItem, len(md.spec.Items))
	for k := range md.spec.Items {
		mi := &md.spec.Items[k]
		found := false
		for i := range c.Items {
			if c.Items[i].ID == mi.ID {
				md.itemSpecs[i] = mi
				found = true
			}
		}
		if !found {
			missingIDs = append(missingIDs, mi.ID)
		}
	}
	md.newTag = make([]string, len(c.Items))
	for i := range c.Items {
		md.newTag[i] = c.Items[i].Tag
		if mi := md.itemSpecs[i]; mi != nil && mi.Tag != nil {
			md.newTag[i] = *mi.Tag
		}
	}
	var missingTags []string
	md.tagSpecs = map[string]*ModifyLevel{}
	for k := range md.spec.Tags {
		t := &md.spec.Tags[k]
		md.tagSpecs[t.Name] = &t.ModifyLevel
		if !contains(md.newTag, t.Name) {
			missingTags = append(missingTags, t.Name)
		}
	}
	if len(missingTags) > 0 {
		md.ps.Add(Problem{Code: CodeFilterNoTags, Items: missingTags})
	}
	if len(missingIDs) > 0 {
		md.ps.Add(Problem{Code: CodeFilterNoItemIDs, Items: missingIDs})
	}
}

// scopePrivileges checks cart- and tag-level changes against the merchant's
// privileges (132001, 132002).
func (md *modification) scopePrivileges() {
	scopeAmount, scopeTimer := !md.spec.Cart.Amount.empty(), !md.spec.Cart.Timer.empty()
	for _, t := range md.spec.Tags {
		scopeAmount = scopeAmount || !t.Amount.empty()
		scopeTimer = scopeTimer || !t.Timer.empty()
	}
	if scopeAmount && !md.pv.AmountSettings {
		md.ps.Add(Problem{Code: CodeNoAmountPerm})
	}
	if scopeTimer && !md.pv.Timers {
		md.ps.Add(Problem{Code: CodeNoTimerPerm})
	}
}

// planItem checks and plans the changes of item i: its own block, else its
// tag's, else the cart's, field by field.
func (md *modification) planItem(i int) {
	it := &md.c.Items[i]
	mi := md.itemSpecs[i]
	tagLvl := &ModifyLevel{}
	if t := md.tagSpecs[md.newTag[i]]; md.newTag[i] != "" && t != nil {
		tagLvl = t
	}
	var own *AmountChange
	var ownTimer *TimerChangeSpec
	if mi != nil {
		own, ownTimer = mi.Amount, mi.Timer
		if own != nil && (own.Mode != nil || own.Modifier != nil) && !md.pv.AmountSettings {
			md.ps.Add(Problem{Code: CodeNoItemAmountPerm, Items: []string{it.ID}})
		}
		if (!ownTimer.empty() || mi.EnableTimer != nil) && !md.pv.Timers {
			md.ps.Add(Problem{Code: CodeNoItemTimerPerm, Items: []string{it.ID}})
		}
	}
	md.planAmount(i, own, mergeAmount(own, tagLvl.Amount, md.spec.Cart.Amount))
	md.planTimer(i, mi, ownTimer, mergeTimer(ownTimer, tagLvl.Timer, md.spec.Cart.Timer))
}

// planAmount prices item i with the effective amount change eff. Items in a
// status that cannot change amount are refused when named (123002) and
// skipped when reached through cart or tag blocks.
func (md *modification) planAmount(i int, own, eff *AmountChange) {
	it := &md.c.Items[i]
	cur := it.Amounts().Current
	md.oldTotal += cur
	md.newTotal += cur
	if eff.empty() {
		return
	}
	movable := it.Pending == nil && (it.Status == StatusInitiated || it.Status == StatusAuthorized || it.Status == StatusCompleted)
	if !movable {
		if !own.empty() {
			md.ps.Add(Problem{Code: CodeInvalidItemValue, Arg: "modifyAmount", Items: []string{it.ID}})
		}
		return
	}
	snap := it.Payment
	if eff.Amount != nil {
		snap.Amount = *eff.Amount
	}
	if eff.Mode != nil {
		snap.Mode = *eff.Mode
	}
	if eff.Quantity != nil {
		snap.Quantity = *eff.Quantity
	}
	if eff.Modifier != nil {
		snap.Modifier = *eff.Modifier
	}
	full, ok := snap.FullAmount()
	switch {
	case !ok:
		md.ps.Add(Problem{Code: CodeInvalidItemValue, Arg: "amount", Items: []string{it.ID}})
	case eff.Quantity != nil && eff.Quantity.Cmp(it.Payment.Quantity) > 0:
		md.ps.Add(Problem{Code: CodeQuantityExceeds, Items: []string{it.ID}})
	case full > cur && !own.empty():
		md.ps.Add(Problem{Code: CodeItemAmountExceeds, Items: []string{it.ID}})
	case full > cur:
		md.scopeRaise = true
	case snap != it.Payment:
		md.plans[i].snapshot = &snap
		md.plans[i].newFull = full
		md.newTotal += full - cur
	}
}

// planTimer plans item i's timer: removal (enableTimer false), creation
// (enableTimer true with trigger and value), or trigger, value and manual
// action changes on a copy of the current timer.
func (md *modification) planTimer(i int, mi *ModifyItem, ownTimer, tspec *TimerChangeSpec) {
	it := &md.c.Items[i]
	pl := &md.plans[i]
	var t *Timer
	if it.Timer != nil {
		cp := *it.Timer
		t = &cp
	}
	pl.timer = t
	if mi != nil && mi.EnableTimer != nil {
		if !*mi.EnableTimer {
			pl.timer, pl.timerSet = nil, t != nil
			return
		}
		if t == nil {
			if tspec.Trigger == nil || tspec.Value == nil {
				md.ps.Add(Problem{Code: CodeInvalidItemValue, Arg: "modifyTimer", Items: []string{it.ID}})
				return
			}
			t = NewTimer(*tspec.Trigger, *tspec.Value)
			t.arm(md.now, it)
			pl.timer, pl.timerSet = t, true
			md.needCustomer = append(md.needCustomer, it.ID)
			if tspec.Action != nil {
				md.timerAction(t, *tspec.Action, it.ID, pl)
			}
			return
		}
	}
	if tspec.empty() {
		return
	}
	if t == nil {
		if !ownTimer.empty() {
			md.ps.Add(Problem{Code: CodeInvalidItemValue, Arg: "modifyTimer", Items: []string{it.ID}})
		}
		return
	}
	t.Normalize(md.now)
	if tspec.Trigger != nil && *tspec.Trigger != t.Trigger {
		t.Trigger = *tspec.Trigger
		pl.timerSet = true
		t.arm(md.now, it)
	}
	if tspec.Value != nil {
		t.setValue(md.now, *tspec.Value)
		pl.timerSet = true
	}
	if tspec.Action != nil {
		md.timerAction(t, *tspec.Action, it.ID, pl)
	}
}

func (md *modification) timerAction(t *Timer, action, id string, pl *itemPlan) {
	applyTimerAction(t, md.now, action, id, &md.ps, &md.infos, &pl.timerSet)
}

// apply carries out a checked plan.
func (md *modification) apply(newID func() string) ModifyResult {
	c := md.c
	res := ModifyResult{Infos: md.infos}
	c.CustomerID = md.customer
	var timerChanges []TimerChange
	for i := range c.Items {
		it := &c.Items[i]
		it.Tag = md.newTag[i]
		pl := md.plans[i]
		if pl.snapshot != nil {
			res.ModifiedAmounts = append(res.ModifiedAmounts, it.ID)
			if op, ok := c.reprice(it, pl.snapshot, pl.newFull, newID); ok {
				res.Ops = append(res.Ops, op)
			}
		}
		if pl.timerSet {
			res.ModifiedTimers = append(res.ModifiedTimers, it.ID)
			from, to := TimerStatus(""), TimerStatus("")
			if it.Timer != nil {
				from = it.Timer.StatusAt(md.now)
			}
			if pl.timer != nil {
				to = pl.timer.StatusAt(md.now)
			}
			if from != to {
				timerChanges = append(timerChanges, TimerChange{ItemID: it.ID, From: from, To: to})
			}
			it.Timer = pl.timer
		}
	}
	if len(timerChanges) > 0 {
		c.emit(Event{Type: EventTimerStatusChanged, At: md.now, Timers: timerChanges})
	}
	return res
}

// reprice gives an item new pricing: at once while initiated; through a
// partial release (authorized) or partial refund (completed) operation
// otherwise, which it returns.
func (c *Cart) reprice(it *Item, snap *PaymentSnapshot, newFull int64, newID func() string) (Operation, bool) {
	diff := it.Amounts().Current - newFull
	switch {
	case it.Status == StatusInitiated:
		it.Payment, it.Full = *snap, newFull
	case diff == 0:
		it.Payment = *snap
	case it.Status == StatusAuthorized || it.Status == StatusCompleted:
		kind := OpRelease
		if it.Status == StatusCompleted {
			kind = OpRefund
		}
		op := c.newOp(kind, newID(), diff, it.ID)
		it.Pending = &PendingOp{OpID: op.OpID, Kind: kind, Amount: diff, NewSnapshot: snap}
		return op, true
	}
	return Operation{}, false
}

func applyTimerAction(t *Timer, now time.Time, action, id string, ps, infos *Problems, changed *bool) {
	switch code := t.manual(now, action); {
	case code == CodeSuccess:
		*changed = true
	case code.IsInfo():
		infos.Add(Problem{Code: code, Items: []string{id}})
	default:
		ps.Add(Problem{Code: code, Items: []string{id}})
	}
}

func orderErrorsFirst(ps Problems) Problems {
	out := ps.Errors()
	for _, p := range ps {
		if p.Code.IsInfo() {
			out = append(out, p)
		}
	}
	return out
}

func mergeAmount(levels ...*AmountChange) *AmountChange {
	var out AmountChange
	for _, l := range levels {
		if l == nil {
			continue
		}
		if out.Amount == nil {
			out.Amount = l.Amount
		}
		if out.Mode == nil {
			out.Mode = l.Mode
		}
		if out.Quantity == nil {
			out.Quantity = l.Quantity
		}
		if out.Modifier == nil {
			out.Modifier = l.Modifier
		}
	}
	return &out
}

func mergeTimer(levels ...*TimerChangeSpec) *TimerChangeSpec {
	var out TimerChangeSpec
	for _, l := range levels {
		if l == nil {
			continue
		}
		if out.Trigger == nil {
			out.Trigger = l.Trigger
		}
		if out.Action == nil {
			out.Action = l.Action
		}
		if out.Value == nil {
			out.Value = l.Value
		}
	}
	return &out
}
