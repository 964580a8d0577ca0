package omnicart

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// Helpers of this file are prefixed with "dt" so that they do not clash with
// other tests of the package.

func dtPtr[T any](v T) *T { return &v }

func dtDec(t testing.TB, s string) Decimal {
	t.Helper()
	d, err := ParseDecimal(s)
	if err != nil {
		t.Fatalf("ParseDecimal(%q): %v", s, err)
	}
	return d
}

var dtT0 = time.Date(2025, 4, 23, 18, 25, 43, 0, time.UTC)

// TestResolveInheritance checks inheritance field by field: item value, else
// tag value, else cart value, else the default, for every setting.
func TestResolveInheritance(t *testing.T) {
	t.Parallel()
	calc, decl := AmountCalculated, AmountDeclared
	cancel, complete := AutoCancel, AutoComplete
	half, quarter, tenth := DecimalFromMicros(500_000), DecimalFromMicros(250_000), DecimalFromMicros(100_000)
	type want struct {
		mode     AmountMode
		modifier Decimal
		twoStep  bool
		auto     AutoAction
		window   int64
		enable   bool
		trigger  *string
		value    *int64
	}
	defaults := want{mode: AmountDeclared, modifier: One(), twoStep: true, auto: AutoCancel, window: DefaultCaptureWindowSecs}
	with := func(f func(*want)) want { w := defaults; f(&w); return w }
	cases := []struct {
		name            string
		item, tag, cart Level
		noTag           bool
		want            want
	}{
		{name: "nothing set gives the defaults", want: defaults},
		{name: "nothing set, no tag block", noTag: true, want: defaults},

		{name: "amountMode from cart", cart: Level{AmountMode: &calc}, want: with(func(w *want) { w.mode = calc })},
		{name: "amountMode from tag over cart", cart: Level{AmountMode: &calc}, tag: Level{AmountMode: &decl}, want: with(func(w *want) { w.mode = decl })},
		{name: "amountMode from item over tag and cart", cart: Level{AmountMode: &decl}, tag: Level{AmountMode: &decl}, item: Level{AmountMode: &calc}, want: with(func(w *want) { w.mode = calc })},
		{name: "amountMode from cart without tag block", noTag: true, cart: Level{AmountMode: &calc}, want: with(func(w *want) { w.mode = calc })},

		{name: "amountModifier from cart", cart: Level{Modifier: &half}, want: with(func(w *want) { w.modifier = half })},
		{name: "amountModifier from tag over cart", cart: Level{Modifier: &half}, tag: Level{Modifier: &quarter}, want: with(func(w *want) { w.modifier = quarter })},
		{name: "amountModifier from item over tag", cart: Level{Modifier: &half}, tag: Level{Modifier: &quarter}, item: Level{Modifier: &tenth}, want: with(func(w *want) { w.modifier = tenth })},

		{name: "capture from cart", cart: Level{Capture: dtPtr(false)}, want: with(func(w *want) { w.twoStep = false })},
		{name: "capture from tag over cart", cart: Level{Capture: dtPtr(false)}, tag: Level{Capture: dtPtr(true)}, want: with(func(w *want) { w.twoStep = true })},
		{name: "capture from item over tag", tag: Level{Capture: dtPtr(true)}, item: Level{Capture: dtPtr(false)}, want: with(func(w *want) { w.twoStep = false })},

		{name: "autoAction from cart", cart: Level{AutoAction: &complete}, want: with(func(w *want) { w.auto = complete })},
		{name: "autoAction from tag over cart", cart: Level{AutoAction: &complete}, tag: Level{AutoAction: &cancel}, want: with(func(w *want) { w.auto = cancel })},
		{name: "autoAction from item over tag", tag: Level{AutoAction: &cancel}, item: Level{AutoAction: &complete}, want: with(func(w *want) { w.auto = complete })},

		{name: "capture window from cart", cart: Level{WindowSecs: dtPtr[int64](900)}, want: with(func(w *want) { w.window = 900 })},
		{name: "capture window from tag over cart", cart: Level{WindowSecs: dtPtr[int64](900)}, tag: Level{WindowSecs: dtPtr[int64](1200)}, want: with(func(w *want) { w.window = 1200 })},
		{name: "capture window from item over tag", tag: Level{WindowSecs: dtPtr[int64](1200)}, item: Level{WindowSecs: dtPtr[int64](1500)}, want: with(func(w *want) { w.window = 1500 })},

		{name: "enableTimer from cart", cart: Level{EnableTimer: dtPtr(true)}, want: with(func(w *want) { w.enable = true })},
		{name: "enableTimer false on item beats true on cart", cart: Level{EnableTimer: dtPtr(true)}, item: Level{EnableTimer: dtPtr(false)}, want: defaults},
		{name: "timer fields each from their own level",
			cart: Level{Trigger: dtPtr("initiated"), TimerValue: dtPtr[int64](60)},
			tag:  Level{TimerValue: dtPtr[int64](120)},
			item: Level{EnableTimer: dtPtr(true)},
			want: with(func(w *want) { w.enable, w.trigger, w.value = true, dtPtr("initiated"), dtPtr[int64](120) })},

		{name: "fields mix levels independently",
			cart: Level{AmountMode: &calc, Modifier: &half, Capture: dtPtr(false), AutoAction: &complete, WindowSecs: dtPtr[int64](900)},
			tag:  Level{Modifier: &quarter, WindowSecs: dtPtr[int64](1200)},
			item: Level{Capture: dtPtr(true)},
			want: want{mode: calc, modifier: quarter, twoStep: true, auto: complete, window: 1200}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			it := &ItemSpec{ID: "pegasus", Amount: 250, Quantity: dtPtr(dtDec(t, "2")), Level: tc.item}
			var tag *Level
			if !tc.noTag {
				tag = &tc.tag
			}
			r := Resolve(it, tag, &tc.cart)
			got := want{mode: r.Payment.Mode, modifier: r.Payment.Modifier, twoStep: r.Capture.TwoStep, auto: r.Capture.AutoAction,
				window: r.Capture.WindowSecs, enable: r.EnableTimer, trigger: r.Trigger, value: r.TimerValue}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Resolve:\n got %+v\nwant %+v", got, tc.want)
			}
			if r.Payment.Amount != 250 || r.Payment.Quantity != dtDec(t, "2") {
				t.Errorf("amount and quantity come from the item: got %d × %s", r.Payment.Amount, r.Payment.Quantity)
			}
		})
	}
	t.Run("quantity defaults to 1", func(t *testing.T) {
		t.Parallel()
		r := Resolve(&ItemSpec{ID: "naga", Amount: 5}, nil, &Level{})
		if r.Payment.Quantity != One() {
			t.Errorf("quantity = %s, want 1", r.Payment.Quantity)
		}
	})
}

// dtFilterCart is a cart of five items:
//
//	pegasus tag rampart, timer
//	naga    tag rampart
//	mage    tag tower, timer
//	lich    no tag
//	wight   tag tower
func dtFilterCart() *Cart {
	tm := func() *Timer { return NewTimer("manual", 60) }
	return &Cart{ID: "cart-filter", Items: []Item{
		{ID: "pegasus", Tag: "rampart", Timer: tm()},
		{ID: "naga", Tag: "rampart"},
		{ID: "mage", Tag: "tower", Timer: tm()},
		{ID: "lich"},
		{ID: "wight", Tag: "tower"},
	}}
}

func dtIDs(c *Cart, idx []int) []string {
	out := []string{}
	for _, i := range idx {
		out = append(out, c.Items[i].ID)
	}
	return out
}

func dtCodes(ps Problems) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, string(p.Code)+" "+p.Message())
	}
	return out
}

func dtErrProblems(t *testing.T, err error) Problems {
	t.Helper()
	if err == nil {
		return nil
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v is %T, want *Error", err, err)
	}
	return e.Problems
}

// TestSelectForStatus checks the status filter: union of tags and itemIds,
// overlaps once, cart order, timer narrowing, infos for what matched
// nothing, and 121103 with the 10100x forms when nothing is left.
func TestSelectForStatus(t *testing.T) {
	t.Parallel()
	yes, no := dtPtr(true), dtPtr(false)
	cases := []struct {
		name      string
		f         Filter
		ids       []string
		infos     []string
		errorList []string // non-nil: the call fails with these problems
	}{
		{name: "no filter selects every item", ids: []string{"pegasus", "naga", "mage", "lich", "wight"}},
		{name: "a tag selects its items", f: Filter{Tags: []string{"tower"}}, ids: []string{"mage", "wight"}},
		{name: "tags and itemIds are a union in cart order", f: Filter{Tags: []string{"tower"}, ItemIDs: []string{"lich", "pegasus"}},
			ids: []string{"pegasus", "mage", "lich", "wight"}},
		{name: "an item named by tag and by id counts once", f: Filter{Tags: []string{"rampart"}, ItemIDs: []string{"naga", "naga"}},
			ids: []string{"pegasus", "naga"}},
		{name: "timerEnabled=true narrows the whole cart", f: Filter{TimerEnabled: yes}, ids: []string{"pegasus", "mage"}},
		{name: "timerEnabled=false narrows the whole cart", f: Filter{TimerEnabled: no}, ids: []string{"naga", "lich", "wight"}},
		{name: "timerEnabled narrows the union", f: Filter{Tags: []string{"rampart"}, ItemIDs: []string{"mage"}, TimerEnabled: yes},
			ids: []string{"pegasus", "mage"}},
		{name: "001004 for a tag not in the cart", f: Filter{Tags: []string{"tower", "keep", "moat", "keep"}}, ids: []string{"mage", "wight"},
			infos: []string{"001004 Requested cart does not contain tag(s) [keep, moat]"}},
		{name: "001005 for an itemId not in the cart", f: Filter{ItemIDs: []string{"ghost", "lich", "imp"}}, ids: []string{"lich"},
			infos: []string{"001005 Requested cart does not contain itemId(s) [ghost, imp]"}},
		{name: "001006 when timerEnabled=true empties a listed itemId", f: Filter{ItemIDs: []string{"pegasus", "lich"}, TimerEnabled: yes},
			ids: []string{"pegasus"}, infos: []string{"001006 Requested cart does not contain items with enabled timer"}},
		{name: "001007 when timerEnabled=false empties a listed tag", f: Filter{Tags: []string{"tower"}, ItemIDs: []string{"mage", "pegasus"}, TimerEnabled: no},
			ids: []string{"wight"}, infos: []string{"001007 Requested cart does not contain items with disabled timer"}},
		{name: "a tag that keeps one item is not reported", f: Filter{Tags: []string{"rampart"}, TimerEnabled: no}, ids: []string{"naga"}},
		{name: "every info at once in order", f: Filter{Tags: []string{"keep", "tower"}, ItemIDs: []string{"ghost", "lich"}, TimerEnabled: yes},
			ids: []string{"mage"}, infos: []string{
				"001004 Requested cart does not contain tag(s) [keep]",
				"001005 Requested cart does not contain itemId(s) [ghost]",
				"001006 Requested cart does not contain items with enabled timer",
			}},
		{name: "121103 when nothing is left, infos in 10100x form", f: Filter{Tags: []string{"keep"}, ItemIDs: []string{"ghost", "lich"}, TimerEnabled: yes},
			errorList: []string{
				"121103 No itemIds matching the request",
				"101004 Requested cart does not contain tag(s) [keep]",
				"101005 Requested cart does not contain itemId(s) [ghost]",
				"101006 Requested cart does not contain items with enabled timer",
			}},
		{name: "121103 with 101007", f: Filter{ItemIDs: []string{"pegasus"}, TimerEnabled: no},
			errorList: []string{"121103 No itemIds matching the request", "101007 Requested cart does not contain items with disabled timer"}},
		{name: "121103 when only unknown itemIds are listed", f: Filter{ItemIDs: []string{"ghost"}},
			errorList: []string{"121103 No itemIds matching the request", "101005 Requested cart does not contain itemId(s) [ghost]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dtFilterCart()
			idx, infos, err := c.SelectForStatus(tc.f)
			if tc.errorList != nil {
				if err == nil {
					t.Fatalf("SelectForStatus succeeded with %v, want an error", dtIDs(c, idx))
				}
				if got := dtCodes(dtErrProblems(t, err)); !reflect.DeepEqual(got, tc.errorList) {
					t.Errorf("problems:\n got %q\nwant %q", got, tc.errorList)
				}
				if idx != nil || infos != nil {
					t.Errorf("failed call returned idx %v infos %v", idx, infos)
				}
				return
			}
			if err != nil {
				t.Fatalf("SelectForStatus: %v", err)
			}
			if got := dtIDs(c, idx); !reflect.DeepEqual(got, tc.ids) {
				t.Errorf("items = %q, want %q", got, tc.ids)
			}
			want := tc.infos
			if want == nil {
				want = []string{}
			}
			if got := dtCodes(infos); !reflect.DeepEqual(got, want) {
				t.Errorf("infos:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestSelectForAction checks the stricter filter of capture, cancel and
// refund: everything listed must be in the cart and survive the timer
// narrowing; all errors are returned in order.
func TestSelectForAction(t *testing.T) {
	t.Parallel()
	yes, no := dtPtr(true), dtPtr(false)
	cases := []struct {
		name   string
		f      Filter
		ids    []string
		errors []string
	}{
		{name: "no filter selects every item", ids: []string{"pegasus", "naga", "mage", "lich", "wight"}},
		{name: "union in cart order, overlap once", f: Filter{Tags: []string{"tower", "rampart"}, ItemIDs: []string{"wight", "naga"}},
			ids: []string{"pegasus", "naga", "mage", "wight"}},
		{name: "timer narrowing of listed items", f: Filter{Tags: []string{"tower"}, ItemIDs: []string{"pegasus"}, TimerEnabled: yes},
			ids: []string{"pegasus", "mage"}},
		{name: "timer narrowing of the whole cart", f: Filter{TimerEnabled: no}, ids: []string{"naga", "lich", "wight"}},
		{name: "124004 for a tag not in the cart", f: Filter{Tags: []string{"tower", "keep", "moat"}},
			errors: []string{"124004 Requested cart does not contain tag(s) [keep, moat]"}},
		{name: "124005 for an itemId not in the cart", f: Filter{ItemIDs: []string{"lich", "ghost"}},
			errors: []string{"124005 Requested cart does not contain itemId(s) [ghost]"}},
		{name: "124006 when timerEnabled=true empties a listed itemId", f: Filter{ItemIDs: []string{"pegasus", "lich"}, TimerEnabled: yes},
			errors: []string{"124006 Requested cart does not contain items with enabled timer"}},
		{name: "124007 when timerEnabled=false empties a listed tag", f: Filter{Tags: []string{"rampart", "tower"}, ItemIDs: []string{"mage"}, TimerEnabled: no},
			errors: []string{"124007 Requested cart does not contain items with disabled timer"}},
		{name: "every error at once in order", f: Filter{Tags: []string{"keep", "tower"}, ItemIDs: []string{"lich", "ghost"}, TimerEnabled: yes},
			errors: []string{
				"124004 Requested cart does not contain tag(s) [keep]",
				"124005 Requested cart does not contain itemId(s) [ghost]",
				"124006 Requested cart does not contain items with enabled timer",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dtFilterCart()
			idx, err := c.SelectForAction(tc.f)
			if tc.errors != nil {
				if got := dtCodes(dtErrProblems(t, err)); !reflect.DeepEqual(got, tc.errors) {
					t.Errorf("errors:\n got %q\nwant %q", got, tc.errors)
				}
				if idx != nil {
					t.Errorf("failed call returned items %v", dtIDs(c, idx))
				}
				return
			}
			if err != nil {
				t.Fatalf("SelectForAction: %v", err)
			}
			if got := dtIDs(c, idx); !reflect.DeepEqual(got, tc.ids) {
				t.Errorf("items = %q, want %q", got, tc.ids)
			}
		})
	}
	t.Run("timer narrowing that empties the whole cart", func(t *testing.T) {
		t.Parallel()
		c := &Cart{Items: []Item{{ID: "naga"}, {ID: "lich"}}}
		_, err := c.SelectForAction(Filter{TimerEnabled: yes})
		want := []string{"121103 No itemIds matching the request"}
		if got := dtCodes(dtErrProblems(t, err)); !reflect.DeepEqual(got, want) {
			t.Errorf("errors:\n got %q\nwant %q", got, want)
		}
	})
}

// dtTimerCart returns a one-item cart (item "pegasus", initiated) whose
// timer is in the named state at dtT0. "elapsed" is a started timer whose
// deadline passed (not yet recorded); "elapsed-recorded" one that Normalize
// already moved to elapsed.
func dtTimerCart(state string) *Cart {
	tm := &Timer{Trigger: "initiated", Left: 100 * time.Second}
	switch state {
	case "pending":
		tm.Trigger, tm.Status = "authorized", TimerPending
	case "started":
		tm.Status, tm.Since = TimerStarted, dtT0.Add(-30*time.Second)
	case "paused":
		tm.Status, tm.Left = TimerPaused, 40*time.Second
	case "stopped":
		tm.Status, tm.Left = TimerStopped, 40*time.Second
	case "elapsed":
		tm.Status, tm.Since = TimerStarted, dtT0.Add(-100*time.Second)
	case "elapsed-recorded":
		tm.Status, tm.Left = TimerElapsed, 0
	default:
		panic(state)
	}
	return &Cart{ID: "cart-timer", CustomerID: "c1", Currency: "EUR", Items: []Item{{
		ID: "pegasus", Status: StatusInitiated, Reached: []Status{StatusInitiated},
		Payment:   PaymentSnapshot{Amount: 250, Mode: AmountDeclared, Quantity: One(), Modifier: One()},
		Initiated: 250, Full: 250, Timer: tm,
	}}}
}

func dtAllPrivileges() *Merchant { return &Merchant{ID: "m1", Privileges: AllPrivileges()} }

func dtNoID() string { return "op-test" }

func dtModifyTimer(c *Cart, now time.Time, tc TimerChangeSpec) (ModifyResult, error) {
	spec := &ModifySpec{Items: []ModifyItem{{ID: c.Items[0].ID, Timer: &tc}}}
	return c.Modify(spec, dtAllPrivileges(), now, dtNoID)
}

// TestTimerManualActions runs every manual action from every timer state
// through Cart.Modify: valid transitions change the timer, no-ops return
// 001008–001010 as infos, invalid ones 124104–124110, and a failed modify
// changes nothing.
func TestTimerManualActions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		from, action string
		to           TimerStatus // the state after a valid transition
		code         Code        // an info or error code; "" for a valid transition
		msg          string
	}{
		{from: "pending", action: "start", to: TimerStarted},
		{from: "pending", action: "pause", code: CodePausePending, msg: "Cannot pause a pending timer, item(s): [pegasus]"},
		{from: "pending", action: "stop", code: CodeStopPending, msg: "Cannot stop a pending timer, item(s): [pegasus]"},
		{from: "started", action: "start", code: CodeTimerAlreadyStart, msg: "Timer already started, item(s): [pegasus]"},
		{from: "started", action: "pause", to: TimerPaused},
		{from: "started", action: "stop", to: TimerStopped},
		{from: "paused", action: "start", to: TimerStarted},
		{from: "paused", action: "pause", code: CodeTimerAlreadyPause, msg: "Timer already paused, items [pegasus]"},
		{from: "paused", action: "stop", to: TimerStopped},
		{from: "stopped", action: "start", code: CodeStartStopped, msg: "Cannot start a stopped timer, item(s): [pegasus]"},
		{from: "stopped", action: "pause", code: CodePauseStopped, msg: "Cannot pause a stopped timer, item(s): [pegasus]"},
		{from: "stopped", action: "stop", code: CodeTimerAlreadyStop, msg: "Timer already stopped or expired, item(s): [pegasus]"},
		{from: "elapsed", action: "start", code: CodeStartElapsed, msg: "Cannot start an expired timer, item(s): [pegasus]"},
		{from: "elapsed", action: "pause", code: CodePauseElapsed, msg: "Cannot pause an expired timer, item(s): [pegasus]"},
		{from: "elapsed", action: "stop", code: CodeStopElapsed, msg: "Cannot stop an expired timer, item(s): [pegasus]"},
		{from: "elapsed-recorded", action: "start", code: CodeStartElapsed, msg: "Cannot start an expired timer, item(s): [pegasus]"},
		{from: "elapsed-recorded", action: "pause", code: CodePauseElapsed, msg: "Cannot pause an expired timer, item(s): [pegasus]"},
		{from: "elapsed-recorded", action: "stop", code: CodeStopElapsed, msg: "Cannot stop an expired timer, item(s): [pegasus]"},
	}
	for _, tc := range cases {
		t.Run(tc.from+"/"+tc.action, func(t *testing.T) {
			t.Parallel()
			c := dtTimerCart(tc.from)
			before := *c.Items[0].Timer
			res, err := dtModifyTimer(c, dtT0, TimerChangeSpec{Action: dtPtr(tc.action)})
			after := c.Items[0].Timer
			switch {
			case tc.code == "":
				if err != nil {
					t.Fatalf("Modify: %v", err)
				}
				if got := after.StatusAt(dtT0); got != tc.to {
					t.Errorf("timer status = %s, want %s", got, tc.to)
				}
				if !reflect.DeepEqual(res.ModifiedTimers, []string{"pegasus"}) || len(res.Infos) != 0 {
					t.Errorf("result = %+v, want modifiedTimers [pegasus] and no infos", res)
				}
				ev := c.TakeEvents()
				if len(ev) != 1 || ev[0].Type != EventTimerStatusChanged || len(ev[0].Timers) != 1 || ev[0].Timers[0].To != tc.to {
					t.Errorf("events = %+v, want one timer change to %s", ev, tc.to)
				}
			case tc.code.IsInfo():
				if err != nil {
					t.Fatalf("Modify: %v", err)
				}
				if got := dtCodes(res.Infos); !reflect.DeepEqual(got, []string{string(tc.code) + " " + tc.msg}) {
					t.Errorf("infos = %q, want %s %s", got, tc.code, tc.msg)
				}
				if len(res.ModifiedTimers) != 0 || *after != before {
					t.Errorf("a no-op action changed the timer: %+v → %+v (modifiedTimers %v)", before, *after, res.ModifiedTimers)
				}
			default:
				want := []string{string(tc.code) + " " + tc.msg}
				if got := dtCodes(dtErrProblems(t, err)); !reflect.DeepEqual(got, want) {
					t.Errorf("errors = %q, want %q", got, want)
				}
				if *after != before {
					t.Errorf("a refused action changed the timer: %+v → %+v", before, *after)
				}
				if ev := c.TakeEvents(); len(ev) != 0 {
					t.Errorf("a refused action emitted %+v", ev)
				}
			}
		})
	}
}

// TestTimerClock checks how timers follow time: remaining seconds while
// started, paused and resumed; elapse by time; infinite timers; triggers
// already reached.
func TestTimerClock(t *testing.T) {
	t.Parallel()

	t.Run("a started timer counts down and elapses at its deadline", func(t *testing.T) {
		t.Parallel()
		tm := NewTimer("initiated", 100)
		tm.start(dtT0)
		checks := []struct {
			after  time.Duration
			status TimerStatus
			left   int64
		}{
			{0, TimerStarted, 100},
			{30 * time.Second, TimerStarted, 70},
			{30*time.Second + 500*time.Millisecond, TimerStarted, 70}, // partial seconds round up
			{99 * time.Second, TimerStarted, 1},
			{100 * time.Second, TimerElapsed, 0},
			{time.Hour, TimerElapsed, 0},
		}
		for _, ch := range checks {
			now := dtT0.Add(ch.after)
			if got := tm.StatusAt(now); got != ch.status {
				t.Errorf("after %v: status %s, want %s", ch.after, got, ch.status)
			}
			if got := tm.RemainingAt(now); got == nil || *got != ch.left {
				t.Errorf("after %v: remaining %v, want %d", ch.after, got, ch.left)
			}
			if tm.Active(now) != (ch.status == TimerStarted) {
				t.Errorf("after %v: Active = %v", ch.after, tm.Active(now))
			}
		}
		if d, ok := tm.Deadline(); !ok || !d.Equal(dtT0.Add(100*time.Second)) {
			t.Errorf("Deadline = %v %v", d, ok)
		}
	})

	t.Run("NormalizeTimers records an elapse once with one event", func(t *testing.T) {
		t.Parallel()
		c := dtTimerCart("started") // started 30 s before dtT0 with 100 s
		c.NormalizeTimers(dtT0.Add(69 * time.Second))
		if c.Items[0].Timer.Status != TimerStarted || len(c.TakeEvents()) != 0 {
			t.Fatalf("elapsed too early: %+v", c.Items[0].Timer)
		}
		c.NormalizeTimers(dtT0.Add(70 * time.Second))
		ev := c.TakeEvents()
		if c.Items[0].Timer.Status != TimerElapsed || len(ev) != 1 || ev[0].Type != EventTimerStatusChanged || len(ev[0].Timers) != 1 ||
			ev[0].Timers[0].ItemID != "pegasus" || ev[0].Timers[0].From != TimerStarted || ev[0].Timers[0].To != TimerElapsed {
			t.Fatalf("after the deadline: timer %+v, events %+v", c.Items[0].Timer, ev)
		}
		c.NormalizeTimers(dtT0.Add(time.Hour))
		if ev := c.TakeEvents(); len(ev) != 0 {
			t.Errorf("second normalize emitted %+v", ev)
		}
	})

	t.Run("pause keeps the remaining seconds and start resumes them", func(t *testing.T) {
		t.Parallel()
		c := dtTimerCart("started") // 70 s left at dtT0
		if _, err := dtModifyTimer(c, dtT0, TimerChangeSpec{Action: dtPtr("pause")}); err != nil {
			t.Fatal(err)
		}
		later := dtT0.Add(24 * time.Hour)
		tm := c.Items[0].Timer
		if tm.StatusAt(later) != TimerPaused || *tm.RemainingAt(later) != 70 {
			t.Fatalf("paused timer a day later: %s %d, want paused 70", tm.StatusAt(later), *tm.RemainingAt(later))
		}
		if _, err := dtModifyTimer(c, later, TimerChangeSpec{Action: dtPtr("start")}); err != nil {
			t.Fatal(err)
		}
		tm = c.Items[0].Timer
		if d, ok := tm.Deadline(); !ok || !d.Equal(later.Add(70*time.Second)) {
			t.Errorf("resumed deadline = %v, want %v", d, later.Add(70*time.Second))
		}
	})

	t.Run("stop keeps the remaining seconds and is final", func(t *testing.T) {
		t.Parallel()
		c := dtTimerCart("started")
		if _, err := dtModifyTimer(c, dtT0.Add(10*time.Second), TimerChangeSpec{Action: dtPtr("stop")}); err != nil {
			t.Fatal(err)
		}
		tm := c.Items[0].Timer
		much := dtT0.Add(24 * time.Hour)
		if tm.StatusAt(much) != TimerStopped || *tm.RemainingAt(much) != 60 || tm.Active(much) {
			t.Errorf("stopped timer: %s %d active=%v, want stopped 60 inactive", tm.StatusAt(much), *tm.RemainingAt(much), tm.Active(much))
		}
	})

	t.Run("timerValue 0 is infinite", func(t *testing.T) {
		t.Parallel()
		tm := NewTimer("initiated", 0)
		if !tm.Infinite || tm.RemainingAt(dtT0) != nil {
			t.Fatalf("NewTimer(0): %+v remaining %v", tm, tm.RemainingAt(dtT0))
		}
		tm.start(dtT0)
		far := dtT0.Add(100 * 365 * 24 * time.Hour)
		if tm.StatusAt(far) != TimerStarted || tm.RemainingAt(far) != nil || !tm.Active(far) {
			t.Errorf("infinite timer a century later: %s %v", tm.StatusAt(far), tm.RemainingAt(far))
		}
		if _, ok := tm.Deadline(); ok {
			t.Error("an infinite timer has a deadline")
		}
	})

	t.Run("timerValue replaces the remaining seconds from now", func(t *testing.T) {
		t.Parallel()
		c := dtTimerCart("started")
		now := dtT0.Add(5 * time.Second)
		res, err := dtModifyTimer(c, now, TimerChangeSpec{Value: dtPtr[int64](500)})
		if err != nil {
			t.Fatal(err)
		}
		if got := *c.Items[0].Timer.RemainingAt(now); got != 500 || !reflect.DeepEqual(res.ModifiedTimers, []string{"pegasus"}) {
			t.Errorf("remaining = %d, modified %v; want 500, [pegasus]", got, res.ModifiedTimers)
		}
		if _, err := dtModifyTimer(c, now, TimerChangeSpec{Value: dtPtr[int64](0)}); err != nil {
			t.Fatal(err)
		}
		if r := c.Items[0].Timer.RemainingAt(now.Add(time.Hour)); r != nil || c.Items[0].Timer.StatusAt(now.Add(time.Hour)) != TimerStarted {
			t.Errorf("timerValue 0: remaining %v status %s, want nil started", r, c.Items[0].Timer.StatusAt(now.Add(time.Hour)))
		}
	})

	t.Run("a trigger already reached starts the timer at once", func(t *testing.T) {
		t.Parallel()
		spec := &InitSpec{CartID: "cart-trig1", CustomerID: "c1", Currency: "EUR", Items: []ItemSpec{
			{ID: "pegasus", Amount: 250, Level: Level{EnableTimer: dtPtr(true), Trigger: dtPtr("initiated"), TimerValue: dtPtr[int64](60)}},
			{ID: "naga", Amount: 250, Level: Level{EnableTimer: dtPtr(true), Trigger: dtPtr("authorized"), TimerValue: dtPtr[int64](60)}},
			{ID: "mage", Amount: 250, Level: Level{EnableTimer: dtPtr(true), Trigger: dtPtr("manual"), TimerValue: dtPtr[int64](60)}},
		}}
		var sp StagedProblems
		c := NewCart(spec, &Merchant{ID: "m1", CartExpirySecs: 7200, Privileges: DefaultPrivileges()}, dtT0, &sp)
		if c == nil {
			t.Fatalf("NewCart failed: %v", sp.Ordered())
		}
		want := []TimerStatus{TimerStarted, TimerPending, TimerPending}
		for i, w := range want {
			if got := c.Items[i].Timer.StatusAt(dtT0); got != w {
				t.Errorf("%s: timer %s, want %s", c.Items[i].ID, got, w)
			}
		}
		// A pending timer whose new trigger was already reached starts at once.
		spec2 := &ModifySpec{Items: []ModifyItem{{ID: "naga", Timer: &TimerChangeSpec{Trigger: dtPtr("initiated")}}}}
		now := dtT0.Add(time.Minute)
		res, err := c.Modify(spec2, dtAllPrivileges(), now, dtNoID)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Items[1].Timer.StatusAt(now); got != TimerStarted || !reflect.DeepEqual(res.ModifiedTimers, []string{"naga"}) {
			t.Errorf("naga after trigger change: %s, modified %v", got, res.ModifiedTimers)
		}
		if got := *c.Items[1].Timer.RemainingAt(now.Add(10 * time.Second)); got != 50 {
			t.Errorf("naga remaining = %d, want 50", got)
		}
		// A pending timer starts when the item reaches its trigger.
		c.setStatus(now, map[int][]Status{1: {StatusAuthorized}, 2: {StatusAuthorized}})
		if got := c.Items[2].Timer.StatusAt(now); got != TimerPending {
			t.Errorf("manual timer started on a status change: %s", got)
		}
	})

	t.Run("a pending timer starts when its trigger status is reached", func(t *testing.T) {
		t.Parallel()
		c := dtTimerCart("pending") // trigger authorized
		c.setStatus(dtT0, map[int][]Status{0: {StatusAuthorized}})
		tm := c.Items[0].Timer
		if tm.StatusAt(dtT0) != TimerStarted || *tm.RemainingAt(dtT0.Add(time.Second)) != 99 {
			t.Errorf("timer after authorization: %s %d", tm.StatusAt(dtT0), *tm.RemainingAt(dtT0.Add(time.Second)))
		}
	})
}

// TestModifyTimerErrorsAndInfos checks that a modify with several timer
// problems reports every error (in item order) then the no-op infos in their
// 10100x form, and changes nothing.
func TestModifyTimerErrorsAndInfos(t *testing.T) {
	t.Parallel()
	c := &Cart{ID: "cart-multi", CustomerID: "c1", Items: []Item{
		{ID: "pegasus", Status: StatusInitiated, Timer: dtTimerCart("started").Items[0].Timer},
		{ID: "naga", Status: StatusInitiated, Timer: dtTimerCart("pending").Items[0].Timer},
		{ID: "mage", Status: StatusInitiated, Timer: dtTimerCart("stopped").Items[0].Timer},
	}}
	spec := &ModifySpec{Items: []ModifyItem{
		{ID: "mage", Timer: &TimerChangeSpec{Action: dtPtr("stop")}},
		{ID: "pegasus", Timer: &TimerChangeSpec{Action: dtPtr("start")}},
		{ID: "naga", Timer: &TimerChangeSpec{Action: dtPtr("pause")}},
	}}
	_, err := c.Modify(spec, dtAllPrivileges(), dtT0, dtNoID)
	want := []string{
		"124104 Cannot pause a pending timer, item(s): [naga]",
		"101008 Timer already started, item(s): [pegasus]",
		"101009 Timer already stopped, item(s): [mage]",
	}
	if got := dtCodes(dtErrProblems(t, err)); !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

// TestNewCartPrivileges covers the privilege codes that the operator CLI
// cannot reach (it only creates merchants with the default privileges or
// all of them): 132001, 132002, 132003, 133004, 133005 and 133000 for
// autoAction complete.
func TestNewCartPrivileges(t *testing.T) {
	t.Parallel()
	calc := AmountCalculated
	complete := AutoComplete
	cases := []struct {
		name  string
		priv  func(*Privileges)
		spec  InitSpec
		codes []string
	}{
		{name: "132001 scope amount settings", priv: func(p *Privileges) { p.AmountSettings = false },
			spec:  InitSpec{Cart: Level{AmountMode: &calc}},
			codes: []string{"132001 Insufficient permissions to set or modify amount settings"}},
		{name: "132001 tag amount settings", priv: func(p *Privileges) { p.AmountSettings = false },
			spec:  InitSpec{Tags: []TagSpec{{Name: "t", Level: Level{Modifier: dtPtr(One())}}}},
			codes: []string{"132001 Insufficient permissions to set or modify amount settings", "101001 Tag(s) [t] defined but not used"}},
		{name: "133004 item amount settings", priv: func(p *Privileges) { p.AmountSettings = false },
			spec:  InitSpec{Items: []ItemSpec{{ID: "naga", Amount: 5, Level: Level{AmountMode: &calc}}}},
			codes: []string{"133004 Insufficient permissions to set or modify amount settings, items: [naga]"}},
		{name: "132002 scope timer settings", priv: func(p *Privileges) { p.Timers = false },
			spec:  InitSpec{CustomerID: "c1", Cart: Level{EnableTimer: dtPtr(true), Trigger: dtPtr("initiated"), TimerValue: dtPtr[int64](60)}},
			codes: []string{"132002 Insufficient permissions to set or modify timer settings"}},
		{name: "133005 item timer settings", priv: func(p *Privileges) { p.Timers = false },
			spec:  InitSpec{CustomerID: "c1", Items: []ItemSpec{{ID: "naga", Amount: 5, Level: Level{EnableTimer: dtPtr(true), Trigger: dtPtr("initiated"), TimerValue: dtPtr[int64](60)}}}},
			codes: []string{"133005 Insufficient permissions to set or modify timer settings, items: [naga]"}},
		{name: "132003 one-step payment", priv: func(p *Privileges) { p.OneStep = false },
			spec:  InitSpec{Cart: Level{Capture: dtPtr(false)}},
			codes: []string{"132003 Insufficient permissions to set or modify capture"}},
		{name: "133000 autoAction complete", priv: func(p *Privileges) { p.AutoComplete = false },
			spec:  InitSpec{Cart: Level{AutoAction: &complete}},
			codes: []string{"133000 captureSettings.autoAction value complete is out of permitted range, item(s): [pegasus, naga]"}},
		{name: "133000 capture window above the range", priv: func(p *Privileges) {},
			spec:  InitSpec{Items: []ItemSpec{{ID: "naga", Amount: 5, Level: Level{WindowSecs: dtPtr[int64](604801)}}}},
			codes: []string{"133000 captureSettings.value value 604801 is out of permitted range, item(s): [naga]"}},
		{name: "132000 cartExpiry", priv: func(p *Privileges) {},
			spec:  InitSpec{CartExpiry: dtPtr[int64](600)},
			codes: []string{"132000 Insufficient permissions to pass cartExpiry"}},
		{name: "privileges in order, then infos in failed form", priv: func(p *Privileges) { *p = Privileges{CaptureMinSecs: 600, CaptureMaxSecs: 604800} },
			spec: InitSpec{CartExpiry: dtPtr[int64](600), Cart: Level{AmountMode: &calc, EnableTimer: dtPtr(true), Trigger: dtPtr("manual"), TimerValue: dtPtr[int64](0)},
				CustomerID: "c1", Tags: []TagSpec{{Name: "unused"}}},
			codes: []string{
				"132000 Insufficient permissions to pass cartExpiry",
				"132001 Insufficient permissions to set or modify amount settings",
				"132002 Insufficient permissions to set or modify timer settings",
				"101001 Tag(s) [unused] defined but not used",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pv := DefaultPrivileges()
			tc.priv(&pv)
			spec := tc.spec
			spec.CartID, spec.Currency = "cart-priv1", "EUR"
			if spec.Items == nil {
				spec.Items = []ItemSpec{{ID: "pegasus", Amount: 250}, {ID: "naga", Amount: 5}}
			}
			var sp StagedProblems
			c := NewCart(&spec, &Merchant{ID: "m1", CartExpirySecs: 7200, Privileges: pv}, dtT0, &sp)
			if got := dtCodes(sp.Ordered()); !reflect.DeepEqual(got, tc.codes) {
				t.Errorf("problems:\n got %q\nwant %q", got, tc.codes)
			}
			if (c == nil) != sp.HasErrors() {
				t.Errorf("NewCart returned %v with errors=%v", c, sp.HasErrors())
			}
		})
	}
	t.Run("default privileges allow all of it but cartExpiry", func(t *testing.T) {
		t.Parallel()
		spec := InitSpec{CartID: "cart-priv2", Currency: "EUR", CustomerID: "c1",
			Cart:  Level{AmountMode: &calc, Capture: dtPtr(false), AutoAction: &complete, EnableTimer: dtPtr(true), Trigger: dtPtr("manual"), TimerValue: dtPtr[int64](0)},
			Items: []ItemSpec{{ID: "pegasus", Amount: 250, Level: Level{Modifier: dtPtr(One())}}}}
		var sp StagedProblems
		if c := NewCart(&spec, &Merchant{ID: "m1", CartExpirySecs: 7200, Privileges: DefaultPrivileges()}, dtT0, &sp); c == nil || len(sp) != 0 {
			t.Errorf("NewCart: cart %v problems %q", c, dtCodes(sp.Ordered()))
		}
	})
}

// TestStagedProblemsOrdered checks the reporting order: errors by stage, then
// infos by stage; within a stage, the order found; infos take the 10100x
// form only when there are errors; item lists merge.
func TestStagedProblemsOrdered(t *testing.T) {
	t.Parallel()
	p := func(code Code, arg string, items ...string) Problem {
		return Problem{Code: code, Arg: arg, Items: items}
	}
	t.Run("errors by stage then infos by stage", func(t *testing.T) {
		t.Parallel()
		var sp StagedProblems
		sp.Add(StageConflicts, p(CodeTagsUnused, "", "keep"))
		sp.Add(StageConflicts, Problem{Code: CodeActiveTimer, Arg: "c1", Args: []string{"pegasus", "cart-00001"}})
		sp.Add(StagePrivileges, p(CodeOutOfRange, "captureSettings.value", "pegasus"))
		sp.Add(StageValues, p(CodeInvalidItemValue, "amount", "naga"))
		sp.Add(StageConflicts, p(CodeTagsUndefined, "", "mage"))
		sp.Add(StageTimers, p(CodeCustomerIDRequired, "", "lich"))
		sp.Add(StageCatalog, p(CodeItemNotInCatalog, "ghost"))
		sp.Add(StageValues, p(CodeInvalidFormat, "foo"))
		sp.Add(StageCurrency, p(CodeUnknownCurrency, ""))
		sp.Add(StageExists, p(CodeCartExists, ""))
		sp.Add(StageCartID, p(CodeInvalidFormat, "cartId"))
		sp.Add(StageBody, p(CodeInvalidFormat, "debug"))
		sp.Add(StageValues, p(CodeInvalidItemValue, "amount", "wight"))
		got := []string{}
		for _, q := range sp.Ordered() {
			got = append(got, string(q.Code)+" "+q.Arg+" "+strings.Join(q.Items, ","))
		}
		want := []string{
			"122001 debug ",
			"122001 cartId ",
			"124101  ",
			"123000  ",
			"123002 amount naga,wight",
			"122001 foo ",
			"124103 ghost ",
			"121102  lich",
			"133000 captureSettings.value pegasus",
			"124102 c1 ",
			"101001  keep",
			"101002  mage",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Ordered:\n got %q\nwant %q", got, want)
		}
	})
	t.Run("infos keep their form without errors", func(t *testing.T) {
		t.Parallel()
		var sp StagedProblems
		sp.Add(StageConflicts, p(CodeTagsUndefined, "", "mage"))
		sp.Add(StageConflicts, p(CodeTagsUnused, "", "keep"))
		sp.Add(StageConflicts, p(CodeTagsUndefined, "", "lich"))
		got := dtCodes(sp.Ordered())
		want := []string{"001002 Undefined tags in item(s): [mage, lich]", "001001 Tag(s) [keep] defined but not used"}
		if !reflect.DeepEqual(got, want) || sp.HasErrors() {
			t.Errorf("Ordered = %q (errors %v), want %q", got, sp.HasErrors(), want)
		}
	})
	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		var sp StagedProblems
		if got := sp.Ordered(); len(got) != 0 {
			t.Errorf("Ordered of nothing = %v", got)
		}
	})
	t.Run("the same code with different args stays apart", func(t *testing.T) {
		t.Parallel()
		var sp StagedProblems
		sp.Add(StageValues, p(CodeInvalidItemValue, "amount", "naga"))
		sp.Add(StageValues, p(CodeInvalidItemValue, "quantity", "naga"))
		sp.Add(StageValues, p(CodeInvalidItemValue, "amount", "naga"))
		got := dtCodes(sp.Ordered())
		want := []string{"123002 amount has invalid value for item(s) [naga]", "123002 quantity has invalid value for item(s) [naga]"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Ordered = %q, want %q", got, want)
		}
	})
}

// dtEdgeMerchant is a merchant whose capture window range is lo–hi seconds.
func dtEdgeMerchant(lo, hi int64) *Merchant {
	pv := DefaultPrivileges()
	pv.CaptureMinSecs, pv.CaptureMaxSecs = lo, hi
	return &Merchant{ID: "m1", CartExpirySecs: 7200, Privileges: pv}
}

// TestCaptureWindowDefaultFitsMerchant: an item that sets no capture window
// gets 172800 s clamped into its merchant's range, so that a plain /init
// works for every merchant and an error only ever names a window the
// request sent.
func TestCaptureWindowDefaultFitsMerchant(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ lo, hi, want int64 }{
		{600, 604800, 172800},    // the default range
		{3600, 7200, 7200},       // below the default: its maximum
		{259200, 604800, 259200}, // above the default: its minimum
		{0, 0, 172800},           // no range set: open
		{172800, 172800, 172800},
	} {
		m := dtEdgeMerchant(tc.lo, tc.hi)
		if got := m.CaptureWindowDefault(); got != tc.want {
			t.Errorf("range %d-%d: default window %d, want %d", tc.lo, tc.hi, got, tc.want)
		}
	}

	m := dtEdgeMerchant(3600, 7200)
	newCart := func(t *testing.T, cart Level, items ...ItemSpec) (*Cart, []string) {
		t.Helper()
		var sp StagedProblems
		c := NewCart(&InitSpec{CartID: "cart-window1", Currency: "EUR", Cart: cart, Items: items}, m, dtT0, &sp)
		return c, dtCodes(sp.Ordered())
	}
	t.Run("no captureSettings", func(t *testing.T) {
		t.Parallel()
		c, codes := newCart(t, Level{}, ItemSpec{ID: "pegasus", Amount: 250}, ItemSpec{ID: "naga", Amount: 5, Level: Level{Capture: dtPtr(true)}})
		if c == nil || len(codes) != 0 {
			t.Fatalf("plain init refused: %q", codes)
		}
		for _, it := range c.Items {
			if it.Capture.WindowSecs != 7200 || !it.Capture.TwoStep || it.Capture.AutoAction != AutoCancel {
				t.Errorf("%s: capture settings %+v, want two-step, cancel, 7200 s", it.ID, it.Capture)
			}
		}
	})
	t.Run("autoAction without a value", func(t *testing.T) {
		t.Parallel()
		c, codes := newCart(t, Level{AutoAction: dtPtr(AutoComplete)}, ItemSpec{ID: "pegasus", Amount: 250})
		if c == nil || len(codes) != 0 || c.Items[0].Capture.WindowSecs != 7200 {
			t.Fatalf("cart %v, problems %q", c, codes)
		}
	})
	t.Run("a window in range is kept", func(t *testing.T) {
		t.Parallel()
		c, codes := newCart(t, Level{}, ItemSpec{ID: "pegasus", Amount: 250, Level: Level{WindowSecs: dtPtr[int64](3600)}})
		if c == nil || len(codes) != 0 || c.Items[0].Capture.WindowSecs != 3600 {
			t.Fatalf("cart %v, problems %q", c, codes)
		}
	})
	t.Run("a window the request sent is still checked", func(t *testing.T) {
		t.Parallel()
		_, codes := newCart(t, Level{WindowSecs: dtPtr[int64](9000)},
			ItemSpec{ID: "pegasus", Amount: 250}, ItemSpec{ID: "naga", Amount: 5, Level: Level{WindowSecs: dtPtr[int64](7200)}})
		want := []string{"133000 captureSettings.value value 9000 is out of permitted range, item(s): [pegasus]"}
		if !reflect.DeepEqual(codes, want) {
			t.Errorf("problems %q, want %q", codes, want)
		}
	})
	t.Run("Resolve keeps the product default", func(t *testing.T) {
		t.Parallel()
		if r := Resolve(&ItemSpec{ID: "naga", Amount: 5}, nil, &Level{}); r.Capture.WindowSecs != DefaultCaptureWindowSecs {
			t.Errorf("Resolve window %d", r.Capture.WindowSecs)
		}
	})
}

// TestNewCartAnnouncesStartedTimers: a timer whose trigger the item has
// already reached at /init starts at once, and the cart's first event says
// so (pending → started, with its remaining seconds); pending and manual
// timers announce nothing yet.
func TestNewCartAnnouncesStartedTimers(t *testing.T) {
	t.Parallel()
	timer := func(trigger string, value int64) Level {
		return Level{EnableTimer: dtPtr(true), Trigger: dtPtr(trigger), TimerValue: dtPtr(value)}
	}
	spec := &InitSpec{CartID: "cart-armed1", CustomerID: "c1", Currency: "EUR", Items: []ItemSpec{
		{ID: "pegasus", Amount: 250, Level: timer("initiated", 600)},
		{ID: "naga", Amount: 250, Level: timer("authorized", 60)},
		{ID: "mage", Amount: 250, Level: timer("manual", 60)},
		{ID: "lich", Amount: 250, Level: timer("initiated", 0)},
	}}
	var sp StagedProblems
	c := NewCart(spec, dtEdgeMerchant(600, 604800), dtT0, &sp)
	if c == nil {
		t.Fatalf("NewCart: %q", dtCodes(sp.Ordered()))
	}
	ev := c.TakeEvents()
	if len(ev) != 1 {
		t.Fatalf("%d events, want 1: %+v", len(ev), ev)
	}
	e := ev[0]
	if e.Type != EventTimerStatusChanged || e.Sequence != 1 || c.Sequence != 1 || !e.At.Equal(dtT0) || e.CartID != "cart-armed1" {
		t.Fatalf("event %+v", e)
	}
	if len(e.Timers) != 2 || e.Timers[0].ItemID != "pegasus" || e.Timers[1].ItemID != "lich" {
		t.Fatalf("timer changes %+v, want pegasus and lich", e.Timers)
	}
	for _, tc := range e.Timers {
		if tc.From != TimerPending || tc.To != TimerStarted {
			t.Errorf("%s: %s → %s, want pending → started", tc.ItemID, tc.From, tc.To)
		}
	}
	if r := e.Timers[0].RemainingSecs; r == nil || *r != 600 {
		t.Errorf("pegasus remainingSecs %v, want 600", r)
	}
	if r := e.Timers[1].RemainingSecs; r != nil {
		t.Errorf("infinite timer remainingSecs %v, want null", *r)
	}
	if e.Data == nil || e.Data.Items[0]["pegasus"].TimerSnapshot.TimerStatus != TimerStarted {
		t.Errorf("event data %+v", e.Data)
	}

	// Without a timer that starts at once there is nothing to announce.
	spec.CartID = "cart-armed2"
	spec.Items = spec.Items[1:3]
	if c := NewCart(spec, dtEdgeMerchant(600, 604800), dtT0, &sp); c == nil || len(c.TakeEvents()) != 0 || c.Sequence != 0 {
		t.Errorf("cart without started timers: %+v", c)
	}
}

// dtPaidCart opens a one-item cart at dtT0 and authorizes it at `at`.
func dtPaidCart(t *testing.T, windowSecs int64, at time.Time) *Cart {
	t.Helper()
	var sp StagedProblems
	c := NewCart(&InitSpec{CartID: "cart-warn01", Currency: "EUR", Items: []ItemSpec{
		{ID: "pegasus", Amount: 250, Level: Level{WindowSecs: dtPtr(windowSecs)}},
	}}, dtEdgeMerchant(1, 604800), dtT0, &sp)
	if c == nil {
		t.Fatalf("NewCart: %q", dtCodes(sp.Ordered()))
	}
	op, ok := c.BeginPayment("op-auth")
	if !ok {
		t.Fatal("nothing to pay")
	}
	c.PaymentAuthorized(at, op.OpID, "hold-1", CardInfo{Brand: "visa", Last4: "1111"}, dtNoID)
	return c
}

// TestAutoActionWarningNeverBeforeAuthorization: the warning is due lead
// before the window runs out, but a window shorter than the lead is
// announced when it opens (at the authorization), never at a time before
// the payment that opened it; dueAt stays the window's end.
func TestAutoActionWarningNeverBeforeAuthorization(t *testing.T) {
	t.Parallel()
	const lead = time.Hour
	paidAt := dtT0.Add(5 * time.Minute)
	for _, tc := range []struct {
		name   string
		window int64
		warnAt time.Time
	}{
		{"window shorter than the lead", 600, paidAt},
		{"window as long as the lead", 3600, paidAt},
		{"window longer than the lead", 172800, paidAt.Add(172800*time.Second - lead)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dtPaidCart(t, tc.window, paidAt)
			due := paidAt.Add(time.Duration(tc.window) * time.Second)
			payment := c.TakeEvents()
			if len(payment) != 1 || payment[0].Type != EventPaymentStatusChanged || !payment[0].At.Equal(paidAt) {
				t.Fatalf("payment events %+v", payment)
			}
			d, ok := c.NextDeadline(lead)
			if !ok || !d.Equal(tc.warnAt) {
				t.Fatalf("next deadline %v, want the warning at %v", d, tc.warnAt)
			}
			if ops := c.Tick(d, lead, dtNoID); len(ops) != 0 {
				t.Fatalf("the warning started operations: %+v", ops)
			}
			ev := c.TakeEvents()
			if len(ev) != 1 || ev[0].Type != EventAutoActionPending || len(ev[0].AutoActions) != 1 {
				t.Fatalf("warning events %+v", ev)
			}
			w := ev[0]
			if w.At.Before(payment[0].At) || !w.At.Equal(tc.warnAt) || !w.AutoActions[0].DueAt.Equal(due) || w.Sequence != 2 {
				t.Errorf("warning at %v (sequence %d) due %v; want at %v due %v, not before the payment at %v",
					w.At, w.Sequence, w.AutoActions[0].DueAt, tc.warnAt, due, payment[0].At)
			}
			// Nothing more until the window runs out; then the auto action.
			if d, _ := c.NextDeadline(lead); !d.Equal(due) {
				t.Fatalf("after the warning the next deadline is %v, want %v", d, due)
			}
			if ops := c.Tick(due, lead, dtNoID); len(ops) != 1 || ops[0].Kind != OpRelease {
				t.Fatalf("auto action: %+v", ops)
			}
		})
	}
}

// TestEventTimesNeverRunBackwards: an event is dated when it happens, but
// never before the cart's previous event (an outcome settled at an earlier
// deadline, a clock that stepped back); the last event time survives
// storage.
func TestEventTimesNeverRunBackwards(t *testing.T) {
	t.Parallel()
	c := dtPaidCart(t, 172800, dtT0.Add(time.Hour))
	c.TakeEvents()
	// A capture whose outcome is applied at a moment before the payment.
	op := c.newOp(OpCapture, "op-cap", c.Items[0].Full, "pegasus")
	c.Items[0].Pending = &PendingOp{OpID: op.OpID, Kind: OpCapture, Amount: op.Amount}
	d := c.Clone() // LastEventAt is kept by storage
	d.Settle(dtT0.Add(time.Minute), op.OpID, true)
	ev := d.TakeEvents()
	if len(ev) != 1 || !ev[0].At.Equal(dtT0.Add(time.Hour)) {
		t.Fatalf("late outcome dated %+v, want the previous event's time", ev)
	}
	// Later events keep their own time.
	d.emit(Event{Type: EventTimerStatusChanged, At: dtT0.Add(2 * time.Hour)})
	if ev := d.TakeEvents(); !ev[0].At.Equal(dtT0.Add(2*time.Hour)) || !d.LastEventAt.Equal(dtT0.Add(2*time.Hour)) {
		t.Fatalf("event %+v, last %v", ev, d.LastEventAt)
	}
}

// TestCartPaid: a cart is paid once an authorization succeeded, whatever
// became of its items since; declines, rejection, expiry and a pending
// challenge are not payments.
func TestCartPaid(t *testing.T) {
	t.Parallel()
	var sp StagedProblems
	open := func() *Cart {
		return NewCart(&InitSpec{CartID: "cart-paid01", Currency: "EUR", Items: []ItemSpec{
			{ID: "pegasus", Amount: 250}, {ID: "naga", Amount: 100, Level: Level{Capture: dtPtr(false)}},
		}}, dtEdgeMerchant(600, 604800), dtT0, &sp)
	}
	c := open()
	if c.Paid() {
		t.Fatal("a new cart is paid")
	}
	op, _ := c.BeginPayment("op-1")
	c.PaymentDeclined(dtT0, op.OpID, "Insufficient funds", 3)
	if c.Paid() {
		t.Fatal("a declined cart is paid")
	}
	op, _ = c.BeginPayment("op-2")
	if c.Paid() {
		t.Fatal("a cart with an authorization in flight is paid")
	}
	ops := c.PaymentAuthorized(dtT0, op.OpID, "hold", CardInfo{}, dtNoID)
	c.SettleAll(dtT0, map[string]bool{ops[0].OpID: true})
	if !c.Paid() || c.Items[1].Status != StatusCompleted {
		t.Fatalf("paid cart: paid=%v, naga %s", c.Paid(), c.Items[1].Status)
	}
	rel, _, err := c.BeginAction(ActionCancel, c.All(), dtNoID)
	if err != nil {
		t.Fatal(err)
	}
	c.Settle(dtT0, rel[0].OpID, true)
	ref, _, err := c.BeginAction(ActionRefund, c.All(), dtNoID)
	if err != nil {
		t.Fatal(err)
	}
	c.Settle(dtT0, ref[0].OpID, true)
	if !c.Paid() || c.Items[0].Status != StatusCanceled || c.Items[1].Status != StatusRefunded {
		t.Fatalf("canceled and refunded: paid=%v %s %s", c.Paid(), c.Items[0].Status, c.Items[1].Status)
	}

	for _, end := range []func(c *Cart){
		func(c *Cart) { c.Tick(c.ExpiresAt, time.Hour, dtNoID) },
		func(c *Cart) {
			for i := range 3 {
				op, _ := c.BeginPayment("op-d" + string(rune('0'+i)))
				c.PaymentDeclined(dtT0, op.OpID, "Card blocked", 3)
			}
		},
	} {
		c := open()
		end(c)
		if c.Paid() || len(c.Items) != 2 || (c.Items[0].Status != StatusExpired && c.Items[0].Status != StatusRejected) {
			t.Errorf("expired or rejected cart: paid=%v %+v", c.Paid(), c.Items)
		}
	}
}
