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
	var ps Problems
	var res ModifyResult
	pv := m.Privileges

	// Which items and tags the request names.
	var missingIDs []string
	itemSpecs := make(map[int]*ModifyItem, len(spec.Items))
	for k := range spec.Items {
		mi := &spec.Items[k]
		found := false
		for i := range c.Items {
			if c.Items[i].ID == mi.ID {
				itemSpecs[i] = mi
				found = true
			}
		}
		if !found {
			missingIDs = append(missingIDs, mi.ID)
		}
	}
	newTag := make([]string, len(c.Items))
	for i := range c.Items {
		newTag[i] = c.Items[i].Tag
		if mi := itemSpecs[i]; mi != nil && mi.Tag != nil {
			newTag[i] = *mi.Tag
		}
	}
	var missingTags []string
	tagSpecs := map[string]*ModifyLevel{}
	for k := range spec.Tags {
		t := &spec.Tags[k]
		tagSpecs[t.Name] = &t.ModifyLevel
		if !contains(newTag, t.Name) {
			missingTags = append(missingTags, t.Name)
		}
	}
	if len(missingTags) > 0 {
		ps.Add(Problem{Code: CodeFilterNoTags, Items: missingTags})
	}
	if len(missingIDs) > 0 {
		ps.Add(Problem{Code: CodeFilterNoItemIDs, Items: missingIDs})
	}

	// Privileges.
	scopeAmount, scopeTimer := !spec.Cart.Amount.empty(), !spec.Cart.Timer.empty()
	for _, t := range spec.Tags {
		scopeAmount = scopeAmount || !t.Amount.empty()
		scopeTimer = scopeTimer || !t.Timer.empty()
	}
	if scopeAmount && !pv.AmountSettings {
		ps.Add(Problem{Code: CodeNoAmountPerm})
	}
	if scopeTimer && !pv.Timers {
		ps.Add(Problem{Code: CodeNoTimerPerm})
	}

	customer := c.CustomerID
	if spec.CustomerID != nil {
		customer = *spec.CustomerID
	}

	type plan struct {
		snapshot *PaymentSnapshot
		newFull  int64
		timer    *Timer
		timerSet bool // the timer changed (created, removed or moved)
	}
	plans := make([]plan, len(c.Items))
	var oldTotal, newTotal int64
	scopeRaise := false
	var needCustomer []string
	for i := range c.Items {
		it := &c.Items[i]
		mi := itemSpecs[i]
		var tagLvl *ModifyLevel
		if newTag[i] != "" {
			tagLvl = tagSpecs[newTag[i]]
		}
		if tagLvl == nil {
			tagLvl = &ModifyLevel{}
		}
		var own *AmountChange
		var ownTimer *TimerChangeSpec
		if mi != nil {
			own, ownTimer = mi.Amount, mi.Timer
			if (own != nil && (own.Mode != nil || own.Modifier != nil)) && !pv.AmountSettings {
				ps.Add(Problem{Code: CodeNoItemAmountPerm, Items: []string{it.ID}})
			}
			if (!ownTimer.empty() || mi.EnableTimer != nil) && !pv.Timers {
				ps.Add(Problem{Code: CodeNoItemTimerPerm, Items: []string{it.ID}})
			}
		}
		cur := it.Amounts().Current
		oldTotal += cur
		newTotal += cur

		// Amounts.
		eff := mergeAmount(own, tagLvl.Amount, spec.Cart.Amount)
		if !eff.empty() {
			movable := it.Pending == nil && (it.Status == StatusInitiated || it.Status == StatusAuthorized || it.Status == StatusCompleted)
			switch {
			case !movable && !own.empty():
				ps.Add(Problem{Code: CodeInvalidItemValue, Arg: "modifyAmount", Items: []string{it.ID}})
			case movable:
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
					ps.Add(Problem{Code: CodeInvalidItemValue, Arg: "amount", Items: []string{it.ID}})
				case eff.Quantity != nil && eff.Quantity.Cmp(it.Payment.Quantity) > 0:
					ps.Add(Problem{Code: CodeQuantityExceeds, Items: []string{it.ID}})
				case full > cur && !own.empty():
					ps.Add(Problem{Code: CodeItemAmountExceeds, Items: []string{it.ID}})
				case full > cur:
					scopeRaise = true
				case snap != it.Payment:
					plans[i].snapshot = &snap
					plans[i].newFull = full
					newTotal += full - cur
				}
			}
		}

		// Timers.
		tspec := mergeTimer(ownTimer, tagLvl.Timer, spec.Cart.Timer)
		var t *Timer
		if it.Timer != nil {
			cp := *it.Timer
			t = &cp
		}
		if mi != nil && mi.EnableTimer != nil {
			if !*mi.EnableTimer {
				if t != nil {
					plans[i].timerSet = true
				}
				t = nil
				plans[i].timer = nil
				continue
			}
			if t == nil {
				if tspec.Trigger == nil || tspec.Value == nil {
					ps.Add(Problem{Code: CodeInvalidItemValue, Arg: "modifyTimer", Items: []string{it.ID}})
					continue
				}
				t = NewTimer(*tspec.Trigger, *tspec.Value)
				t.arm(now, it)
				plans[i].timer, plans[i].timerSet = t, true
				needCustomer = append(needCustomer, it.ID)
				if tspec.Action != nil {
					applyTimerAction(t, now, *tspec.Action, it.ID, &ps, &res.Infos, &plans[i].timerSet)
				}
				continue
			}
		}
		if tspec.empty() {
			plans[i].timer = t
			continue
		}
		if t == nil {
			if !ownTimer.empty() {
				ps.Add(Problem{Code: CodeInvalidItemValue, Arg: "modifyTimer", Items: []string{it.ID}})
			}
			continue
		}
		t.Normalize(now)
		if tspec.Trigger != nil && *tspec.Trigger != t.Trigger {
			t.Trigger = *tspec.Trigger
			plans[i].timerSet = true
			t.arm(now, it)
		}
		if tspec.Value != nil {
			t.setValue(now, *tspec.Value)
			plans[i].timerSet = true
		}
		if tspec.Action != nil {
			applyTimerAction(t, now, *tspec.Action, it.ID, &ps, &res.Infos, &plans[i].timerSet)
		}
		plans[i].timer = t
	}
	if scopeRaise || newTotal > oldTotal {
		ps.Add(Problem{Code: CodeCartAmountExceeds})
	}
	if len(needCustomer) > 0 && customer == "" {
		ps.Add(Problem{Code: CodeCustomerIDRequired, Items: needCustomer})
	}
	if ps.HasErrors() {
		for _, p := range res.Infos {
			p.Code = p.Code.FailedForm()
			ps = append(ps, p)
		}
		return ModifyResult{}, &Error{Problems: orderErrorsFirst(ps)}
	}

	// Apply.
	c.CustomerID = customer
	var timerChanges []TimerChange
	for i := range c.Items {
		it := &c.Items[i]
		it.Tag = newTag[i]
		pl := plans[i]
		if pl.snapshot != nil {
			res.ModifiedAmounts = append(res.ModifiedAmounts, it.ID)
			diff := pl.newFull - it.Amounts().Current
			switch it.Status {
			case StatusInitiated:
				it.Payment, it.Full = *pl.snapshot, pl.newFull
			case StatusAuthorized, StatusCompleted:
				kind := OpRelease
				if it.Status == StatusCompleted {
					kind = OpRefund
				}
				if diff == 0 {
					it.Payment = *pl.snapshot
					break
				}
				op := c.newOp(kind, newID(), -diff, it.ID)
				it.Pending = &PendingOp{OpID: op.OpID, Kind: kind, Amount: -diff, NewSnapshot: pl.snapshot}
				res.Ops = append(res.Ops, op)
			}
		}
		if pl.timerSet {
			res.ModifiedTimers = append(res.ModifiedTimers, it.ID)
			from, to := TimerStatus(""), TimerStatus("")
			if it.Timer != nil {
				from = it.Timer.StatusAt(now)
			}
			if pl.timer != nil {
				to = pl.timer.StatusAt(now)
			}
			if from != to {
				timerChanges = append(timerChanges, TimerChange{ItemID: it.ID, From: from, To: to})
			}
			it.Timer = pl.timer
		}
	}
	if len(timerChanges) > 0 {
		c.emit(Event{Type: EventTimerStatusChanged, At: now, Timers: timerChanges})
	}
	return res, nil
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
