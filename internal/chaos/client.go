package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// cvc is the security code typed with every card. It starts with a zero
// so that no JSON number, duration or time of day can look like it (as in
// internal/e2e's card-data test): any occurrence set apart by separators
// in the database, its WAL or the logs is a leak.
const cvc = "042"

// cards are the sandbox cards that always authorize (README), as typed.
// The README's JCB card 3530 1113 0200 0000 is left out: it fails the Luhn
// check, so the payment page refuses it before the issuer sees it.
var cards = []string{"4111 1111 1111 1111", "4012 8888 8888 1881", "5500 0000 0000 0004", "5105 1051 0510 5100",
	"6011 0000 0000 0004", "6011 1111 1111 1117", "3566 1111 1111 1113"}

// payBody is the JSON payment of a card number.
func payBody(number string) string {
	return fmt.Sprintf(`{"cardNumber":%q,"expiry":"12/39","cvc":%q,"cardholder":"A B"}`, number, cvc)
}

// typeCard writes a card number the way a customer might: with spaces,
// with dashes or with nothing between the groups.
func typeCard(rng *rand.Rand) string {
	n := cards[rng.IntN(len(cards))]
	switch rng.IntN(3) {
	case 0:
		return strings.ReplaceAll(n, " ", "")
	case 1:
		return strings.ReplaceAll(n, " ", "-")
	}
	return n
}

// catalog is the merchant's items.
var catalog = []string{"i1", "i2", "i3", "i4", "i5", "i6"}

// client drives cart lifecycles one after the other until stop is closed;
// ctx ends the request in flight (the end of the drain). prefix names its
// carts; expiring tells whether it may open carts that it never pays, so
// that their expiry fires (its first cart is one, then one in
// expiringEvery, as long as they expire before the kill phase ends).
func (c *campaign) client(ctx context.Context, stop <-chan struct{}, prefix string, expiring bool, rng *rand.Rand) {
	var parked sync.WaitGroup
	defer parked.Wait()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if ctx.Err() != nil {
			return
		}
		ct := c.newCart(fmt.Sprintf("%s-%05d", prefix, i), rng)
		if expiring && (i == 0 || (rng.IntN(expiringEvery) == 0 && time.Since(c.start)+shortExpiry+5*time.Second < c.cfg.Duration)) {
			ct.Unpaid, ct.Expiry = true, shortExpiry
		}
		if rng.IntN(4) == 0 {
			c.addTimer(ct, rng)
		}
		c.addCart(ct)
		c.lifecycle(ctx, stop, rng, ct, &parked)
	}
}

// expiringEvery is how rare expiring carts are.
const expiringEvery = 25

// newCart draws a cart: one to three items, each one-step (capture: false,
// completed at payment) or two-step (capture: true) with a capture window
// of 2–5 s. The client will capture or cancel the two-step items; their
// autoAction is the other one, so that the status tells which of the two
// acted.
func (c *campaign) newCart(id string, rng *rand.Rand) *cart {
	ct := &cart{ID: id, Card: typeCard(rng)}
	ids := slices.Clone(catalog)
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	auto := "cancel" // the client will capture
	if rng.IntN(2) == 0 {
		auto = "complete" // the client will cancel
	}
	for _, id := range ids[:1+rng.IntN(3)] {
		it := &item{ID: id, Amount: 100 + rng.Int64N(9901), actedBy: map[string]string{}}
		if rng.IntN(5) < 3 {
			it.TwoStep, it.Auto = true, auto
			it.Window = time.Duration(2+rng.IntN(4)) * time.Second
		}
		ct.Items = append(ct.Items, it)
	}
	return ct
}

// addTimer gives one item of the cart an item timer of 1–3 s, started by a
// status the item may reach (or by init itself), and the cart a customer
// of its own.
func (c *campaign) addTimer(ct *cart, rng *rand.Rand) {
	triggers := []string{"initiated", "authorized", "captured", "completed", "canceled", "refunded"}
	if ct.Unpaid {
		triggers = []string{"initiated", "expired"}
	}
	it := ct.Items[rng.IntN(len(ct.Items))]
	it.TimerTrigger, it.TimerSecs = triggers[rng.IntN(len(triggers))], 1+rng.Int64N(3)
	ct.CustomerID = "cust-" + ct.ID
}

func (ct *cart) initBody() string {
	var items []string
	for _, it := range ct.Items {
		timer := ""
		if it.TimerTrigger != "" {
			timer = fmt.Sprintf(`,"enableTimer":true,"timer":{"triggerEvent":%q,"value":%d}`, it.TimerTrigger, it.TimerSecs)
		}
		if it.TwoStep {
			items = append(items, fmt.Sprintf(`{%q:{"amount":%d,"capture":true,"captureSettings":{"autoAction":%q,"value":%d}%s}}`,
				it.ID, it.Amount, it.Auto, int64(it.Window/time.Second), timer))
		} else {
			items = append(items, fmt.Sprintf(`{%q:{"amount":%d,"capture":false%s}}`, it.ID, it.Amount, timer))
		}
	}
	head := fmt.Sprintf(`"cartId":%q`, ct.ID)
	if ct.CustomerID != "" {
		head += fmt.Sprintf(`,"customerId":%q`, ct.CustomerID)
	}
	if ct.Expiry > 0 {
		head += fmt.Sprintf(`,"cartExpiry":%d`, int64(ct.Expiry/time.Second))
	}
	return fmt.Sprintf(`{%s,"currency":"EUR","items":[%s]}`, head, strings.Join(items, ","))
}

// newRequest makes a keyed Merchant API request of the cart.
func (c *campaign) newRequest(ct *cart, kind, method, path, body string, scope []string) *request {
	r := &request{Kind: kind, Method: method, URL: c.base + path, Body: body, Scope: scope}
	if kind != "pay" {
		r.Key = fmt.Sprintf("%s-%s-%d", ct.ID, kind, len(ct.Requests))
	}
	ct.Requests = append(ct.Requests, r)
	c.stats.count(kind, "sent")
	return r
}

// sleep waits d, or less when stop is closed or ctx ends; it reports
// whether it waited the whole time.
func sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
	case <-ctx.Done():
	}
	return false
}

// lifecycle drives one cart: init, pay, capture or cancel its two-step
// items, maybe a partial refund through /modify, maybe a refund. Steps
// follow each other after a short think time, so that the server is busy
// when it is killed; a cart whose client waits seconds before capturing or
// cancelling (within its capture window, or past it so that the
// autoAction acts first) is parked on its own goroutine while the client
// goes on with new carts.
func (c *campaign) lifecycle(ctx context.Context, stop <-chan struct{}, rng *rand.Rand, ct *cart, parked *sync.WaitGroup) {
	think := func() bool { return sleep(ctx, stop, time.Duration(rng.Int64N(int64(thinkTime)))) }
	ct.InitSent, ct.InitAt = true, time.Now()
	r := c.newRequest(ct, "init", http.MethodPost, "/init", ct.initBody(), nil)
	if !c.send1(ctx, rng, ct, r, nil) || !ct.InitAcked || ct.Unpaid || !think() {
		return
	}
	if !c.pay(ctx, rng, ct) {
		return
	}
	st := c.inlineCheck(ctx, rng, ct)
	if !think() {
		return
	}
	two := ct.twoStep(nil)
	if len(two) == 0 {
		c.refunds(ctx, stop, rng, ct, st)
		return
	}
	minW, maxW := two[0].Window, two[0].Window
	for _, it := range two {
		minW, maxW = min(minW, it.Window), max(maxW, it.Window)
	}
	var d time.Duration
	switch p := rng.IntN(20); {
	case p < 16: // at once
	case p < 18:
		if early := minW - time.Second; early > 0 {
			d = time.Duration(rng.Int64N(int64(early)))
		}
	default:
		d = maxW + 500*time.Millisecond + time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
	}
	if d == 0 {
		c.act(ctx, stop, rng, ct, st)
		return
	}
	prng := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	parked.Go(func() {
		if sleep(ctx, stop, d) {
			c.act(ctx, stop, prng, ct, st)
		}
	})
}

// thinkTime bounds the pause of a client between two steps of a cart.
const thinkTime = 15 * time.Millisecond

// act captures or cancels the cart's two-step items (all, or some through
// filterBox.itemIds), then goes on with refunds.
func (c *campaign) act(ctx context.Context, stop <-chan struct{}, rng *rand.Rand, ct *cart, st *cartStatus) {
	two := ct.twoStep(nil)
	kind := "capture"
	if two[0].Auto == "complete" {
		kind = "cancel"
	}
	var scope []string
	if len(two) > 1 && rng.IntN(10) < 3 {
		for _, it := range two {
			if len(scope) == 0 || rng.IntN(2) == 0 {
				scope = append(scope, it.ID)
			}
		}
	}
	for _, it := range ct.twoStep(scope) {
		if kind == "capture" {
			it.CaptureSent = true
		} else {
			it.CancelSent = true
		}
	}
	r := c.newRequest(ct, kind, http.MethodPost, "/"+kind, actionBody(ct.ID, scope), scope)
	if !c.send1(ctx, rng, ct, r, st) {
		return
	}
	if st = c.inlineCheck(ctx, rng, ct); st == nil || !sleep(ctx, stop, time.Duration(rng.Int64N(int64(thinkTime)))) {
		return
	}
	c.refunds(ctx, stop, rng, ct, st)
}

// refunds refunds, now and then, what is completed: a partial refund
// through /modify, then the rest through /refund (the whole cart, or one
// item through filterBox.itemIds).
func (c *campaign) refunds(ctx context.Context, stop <-chan struct{}, rng *rand.Rand, ct *cart, st *cartStatus) {
	if st == nil || rng.IntN(20) < 7 {
		return
	}
	var completed []string
	for _, it := range ct.Items {
		if got := st.byID[it.ID]; got.PaymentStatus == stCompleted {
			completed = append(completed, it.ID)
		}
	}
	if len(completed) == 0 {
		return
	}
	if rng.IntN(2) == 0 {
		it := ct.item(completed[rng.IntN(len(completed))])
		if it.Amount >= 2 {
			it.ModifySent, it.ModifyAmount = true, 1+rng.Int64N(it.Amount-1)
			body := fmt.Sprintf(`{"cartId":%q,"modifyBox":{"items":[{%q:{"modifyAmount":{"amount":%d}}}]}}`, ct.ID, it.ID, it.ModifyAmount)
			r := c.newRequest(ct, "modify", http.MethodPatch, "/modify", body, []string{it.ID})
			if !c.send1(ctx, rng, ct, r, st) {
				return
			}
			if st = c.inlineCheck(ctx, rng, ct); st == nil || !sleep(ctx, stop, time.Duration(rng.Int64N(int64(thinkTime)))) {
				return
			}
		}
	}
	if rng.IntN(4) == 0 {
		return
	}
	var scope []string
	if rng.IntN(5) < 2 {
		scope = []string{completed[rng.IntN(len(completed))]}
	}
	for _, it := range ct.Items {
		if len(scope) == 0 || slices.Contains(scope, it.ID) {
			it.RefundSent = true
		}
	}
	r := c.newRequest(ct, "refund", http.MethodPost, "/refund", actionBody(ct.ID, scope), scope)
	if !c.send1(ctx, rng, ct, r, st) {
		return
	}
	c.inlineCheck(ctx, rng, ct)
}

func actionBody(cartID string, scope []string) string {
	if len(scope) == 0 {
		return fmt.Sprintf(`{"cartId":%q}`, cartID)
	}
	ids, _ := json.Marshal(scope)
	return fmt.Sprintf(`{"cartId":%q,"filterBox":{"itemIds":%s}}`, cartID, ids)
}

// send1 sends a keyed request until answered and judges the answer against
// the status read just after. before is the status read before sending
// (nil if unknown). It returns false when the cart is abandoned: no
// answer, or an answer that leaves the client nothing sensible to do.
func (c *campaign) send1(ctx context.Context, rng *rand.Rand, ct *cart, r *request, before *cartStatus) bool {
	a := c.do(ctx, rng, r)
	if a == nil {
		c.stats.count(r.Kind, "unanswered")
		ct.Abandoned = fmt.Sprintf("%s unanswered", r.Kind)
		if r.Stuck {
			ct.Abandoned = fmt.Sprintf("%s key stuck at 124191", r.Kind)
		}
		return false
	}
	var after *cartStatus
	if r.Kind != "init" || a.Status == http.StatusCreated {
		_, after, _ = c.getStatus(ctx, rng, ct.ID)
	}
	return c.judge(ct, r, a, before, after, false)
}

// judge checks the answer of a keyed request and records what it
// acknowledged. It returns whether the lifecycle may go on.
func (c *campaign) judge(ct *cart, r *request, a *answer, before, after *cartStatus, late bool) bool {
	c.stats.count(r.Kind, fmt.Sprintf("HTTP %d %s", a.Status, a.Code))
	if a.Status/100 == 2 {
		c.stats.count(r.Kind, "acked")
	}
	switch {
	case late:
		c.stats.countRetry(a.Replayed, "late")
	case r.retried():
		c.stats.countRetry(a.Replayed, "")
	case r.Refused > 0:
		c.stats.count("retries", "refused before reaching the server, then ran")
	}
	firstRun := (r.retried() || late) && !a.Replayed
	lost := fmt.Sprintf("(%d attempts: %d lost after sending, %d answered 124191; last error %q)", r.Attempts, r.Lost, r.Running, r.LastError)
	unexpected := func(why string) {
		c.fail(checkUnexpected, "%s %s %s: %s %s", r.Kind, r.cartOf(), r.Body, a, why)
	}
	switch r.Kind {
	case "init":
		var data struct {
			PaymentURL string `json:"paymentUrl"`
		}
		switch {
		case a.Status == http.StatusCreated && json.Unmarshal(a.Data, &data) == nil && data.PaymentURL != "":
			ct.InitAcked, ct.PayURL = true, data.PaymentURL
			if ct.InitAnswered.IsZero() {
				ct.InitAnswered = a.At
			}
			return true
		case a.Status == http.StatusConflict && a.Code == codeCartExists && (r.retried() || late):
			c.fail(checkRetry, "retried /init of cart %s answered 124101 (cartId already exists%s) instead of its 201 with a paymentUrl: the first attempt had created the cart %s",
				ct.ID, map[bool]string{true: ", replayed", false: ", ran again"}[a.Replayed], lost)
		default:
			unexpected("")
		}
		ct.Abandoned = "init not answered 201"
		return false

	case "capture", "cancel":
		scope := ct.twoStep(r.Scope)
		target := map[string]bool{stCanceled: true}
		if r.Kind == "capture" {
			target = map[string]bool{stCaptured: true, stCompleted: true, stRefunded: true}
		}
		switch {
		case a.Status == http.StatusOK:
			acted := c.acted(ct, r, a)
			for _, it := range scope {
				if !slices.Contains(acted, it.ID) && !ct.windowMayHaveEnded(it, a.At) {
					unexpected(fmt.Sprintf("item %s (%s) is in scope and its capture window cannot have ended, yet the request did not act on it", it.ID, ct.describe(it)))
				}
			}
			return true
		case a.Status == http.StatusBadRequest && a.Code == codeNoneAuth:
			if firstRun && after != nil {
				var done []string
				for _, it := range scope {
					got := after.byID[it.ID].PaymentStatus
					if target[got] || (got == stOngoing && !ct.windowMayHaveEnded(it, a.At)) {
						done = append(done, it.ID)
					}
				}
				if len(done) > 0 {
					c.fail(checkRetry, "retried /%s of cart %s ran again and answered 124114, but items %v are %s (their autoAction is %s, so the first attempt had acted) %s",
						r.Kind, ct.ID, done, after.statusOf(done), scope[0].Auto, lost)
					return false
				}
			}
			for _, it := range scope {
				if !ct.windowMayHaveEnded(it, a.At) {
					unexpected(fmt.Sprintf("item %s (%s) cannot have been acted on by its autoAction yet", it.ID, ct.describe(it)))
					return false
				}
			}
			return true
		}
		unexpected("")
		return false

	case "modify":
		it := ct.item(r.Scope[0])
		var data struct {
			ModifiedAmounts []string `json:"modifiedAmounts"`
		}
		if a.Status == http.StatusOK && json.Unmarshal(a.Data, &data) == nil && slices.Contains(data.ModifiedAmounts, it.ID) {
			it.ModifyAcked = true
			return true
		}
		if firstRun && after != nil {
			// Only this request lowers the completed item's amount or puts
			// it in flight (no deadline touches a completed item).
			got, ok := after.byID[it.ID]
			switch {
			case ok && got.PaymentStatus == stCompleted && got.ItemAmounts.Current == it.ModifyAmount:
				c.fail(checkRetry, "retried /modify of cart %s ran again and answered %s, but item %s is already at %d: the first attempt had acted %s",
					ct.ID, a, it.ID, it.ModifyAmount, lost)
				return false
			case ok && got.PaymentStatus == stOngoing:
				c.fail(checkRetry, "retried /modify of cart %s ran again and answered %s, but item %s is ongoing: the first attempt's partial refund is in flight %s",
					ct.ID, a, it.ID, lost)
				return false
			}
		}
		unexpected("")
		return false

	case "refund":
		var wasCompleted []string
		if before != nil {
			for _, it := range ct.Items {
				if (len(r.Scope) == 0 || slices.Contains(r.Scope, it.ID)) && before.byID[it.ID].PaymentStatus == stCompleted {
					wasCompleted = append(wasCompleted, it.ID)
				}
			}
		}
		switch {
		case a.Status == http.StatusOK:
			acted := c.acted(ct, r, a)
			for _, id := range wasCompleted {
				if !slices.Contains(acted, id) {
					unexpected(fmt.Sprintf("item %s was completed and in scope, yet the refund did not act on it", id))
				}
			}
			return true
		case a.Status == http.StatusBadRequest && a.Code == codeNoneComplete:
			if firstRun && after != nil {
				var done []string
				for _, it := range ct.Items {
					got := after.byID[it.ID].PaymentStatus
					if (len(r.Scope) == 0 || slices.Contains(r.Scope, it.ID)) && (got == stRefunded || (got == stOngoing && slices.Contains(wasCompleted, it.ID))) {
						done = append(done, it.ID)
					}
				}
				if len(done) > 0 {
					c.fail(checkRetry, "retried /refund of cart %s ran again and answered 124115, but items %v are %s: the first attempt had acted %s", ct.ID, done, after.statusOf(done), lost)
					return false
				}
			}
			if len(wasCompleted) > 0 {
				unexpected(fmt.Sprintf("items %v were completed before the refund", wasCompleted))
			}
			return false
		}
		unexpected("")
		return false
	}
	return false
}

// acted records the items a 200 capture, cancel or refund acted on
// (data.itemIds) and checks that no other request acted on them.
func (c *campaign) acted(ct *cart, r *request, a *answer) []string {
	var data struct {
		ItemIDs []string `json:"itemIds"`
	}
	if err := json.Unmarshal(a.Data, &data); err != nil {
		c.fail(checkUnexpected, "%s %s: %s: no itemIds: %v", r.Kind, ct.ID, a, err)
		return nil
	}
	for _, id := range data.ItemIDs {
		it := ct.item(id)
		switch {
		case it == nil || (len(r.Scope) > 0 && !slices.Contains(r.Scope, id)):
			c.fail(checkUnexpected, "%s %s: %s: item %s is not in the request's scope", r.Kind, ct.ID, a, id)
			continue
		case r.Kind != "refund" && !it.TwoStep:
			c.fail(checkUnexpected, "%s %s: %s: item %s is one-step (completed at payment), yet acted on", r.Kind, ct.ID, a, id)
			continue
		}
		for kind, key := range it.actedBy {
			if key != r.Key && (kind == r.Kind || (kind != "refund" && r.Kind != "refund")) {
				c.fail(checkAmounts, "cart %s item %s acted on twice: %s by key %s, then %s by key %s", ct.ID, id, kind, key, r.Kind, r.Key)
			}
		}
		it.actedBy[r.Kind] = r.Key
		switch r.Kind {
		case "capture":
			it.CaptureAcked = true
		case "cancel":
			it.CancelAcked = true
		case "refund":
			it.RefundAcked = true
		}
	}
	return data.ItemIDs
}

// pay pays the cart through the JSON payment flow. The payment page takes
// no Idempotency-Key: a retry after a lost answer is a new payment
// attempt, which finds the cart paid (410, nothing left to pay), still
// being authorized (ongoing), or waiting for payment again (the lost
// authorization was voided). It returns whether the cart is paid.
func (c *campaign) pay(ctx context.Context, rng *rand.Rand, ct *cart) bool {
	anyLost := false
	for range 30 {
		ct.PaySent = true
		if ct.PayFirstSent.IsZero() {
			ct.PayFirstSent = time.Now()
		}
		r := c.newRequest(ct, "pay", http.MethodPost, "", payBody(ct.Card), nil)
		r.URL = ct.PayURL
		a := c.do(ctx, rng, r)
		ct.PayLastSent = time.Now()
		anyLost = anyLost || r.Lost > 0
		if a == nil {
			ct.Abandoned = "payment unanswered"
			c.stats.count("pay", "unanswered")
			return false
		}
		var res struct {
			Result string `json:"result"`
		}
		_ = json.Unmarshal(a.Raw, &res)
		c.stats.count("pay", fmt.Sprintf("HTTP %d %s", a.Status, res.Result))
		switch {
		case a.Status == http.StatusOK && res.Result == "authorized":
			ct.PayAcked = true
			c.stats.count("pay", "acked")
			return true
		case a.Status != http.StatusGone:
			c.fail(checkUnexpected, "pay %s: %s", ct.ID, a)
			ct.Abandoned = "payment refused"
			return false
		}
		// 410: nothing left to pay. Paid already, or in flight.
		for {
			_, st, err := c.getStatus(ctx, rng, ct.ID)
			if st == nil {
				if err != nil && ctx.Err() == nil {
					c.fail(checkUnexpected, "%v", err)
				}
				ct.Abandoned = "no status after payment"
				return false
			}
			if len(st.ongoing()) == 0 {
				paid := true
				for _, it := range ct.Items {
					paid = paid && st.byID[it.ID].PaymentStatus != stInitiated
				}
				if !paid {
					c.stats.count("pay", "retried after the lost authorization was voided")
					break // pay again
				}
				if !anyLost {
					c.fail(checkUnexpected, "pay %s: %s although no payment attempt's answer was lost; status %s", ct.ID, a, st.statuses())
				}
				c.stats.count("pay", "410 on a retry: the lost attempt had paid")
				ct.PayAcked = true
				return true
			}
			if c.srv.uptime() > c.cfg.StuckAfter {
				ct.Abandoned = "payment still ongoing after restart"
				c.stats.count("pay", "abandoned: still ongoing after restart")
				return false
			}
			pause(ctx, rng, 100*time.Millisecond, 250*time.Millisecond)
		}
	}
	ct.Abandoned = "too many payment attempts"
	return false
}

// inlineCheck reads the cart's status just after an acknowledged change
// and checks it (not final: deadlines may still be due, operations in
// flight). It returns the status, or nil when none could be read.
func (c *campaign) inlineCheck(ctx context.Context, rng *rand.Rand, ct *cart) *cartStatus {
	a, st, err := c.getStatus(ctx, rng, ct.ID)
	switch {
	case err != nil && ctx.Err() == nil:
		c.fail(checkUnexpected, "%v", err)
	case st == nil && a != nil:
		c.fail(checkAckedVisible, "cart %s: /init was acknowledged, but /status answers %s", ct.ID, a)
	}
	if st == nil {
		return nil
	}
	ct.checkCart(st, a.At, false, func(check, detail string) { c.fail(check, "just after an acknowledged change: %s", detail) })
	return st
}
