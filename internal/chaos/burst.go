package chaos

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The burst phase: Config.Bursts times, Config.BurstWidth identical
// requests with one Idempotency-Key are sent at the same moment, in turn
// /init, /capture, /refund and /modify (the last three on a cart paid just
// before). Exactly one of them may run; every other answer must be the
// stored answer (the same status and body, with Idempotent-Replayed: true)
// or 409 124191 with a Retry-After header. The same request sent once
// more afterwards must replay the stored answer. The cart then must show
// one effect (the model's checks: captured once, refunded once, the
// partial refund once), and the ledger and the events are checked with
// every other cart at the end.

// burstParallel is how many bursts run at the same time.
const burstParallel = 4

// burstWindow is the capture window of burst carts: long enough that it
// never acts during the campaign.
const burstWindow = 10 * time.Minute

var burstKinds = []string{"init", "capture", "refund", "modify"}

func (c *campaign) burstPhase(ctx context.Context, rng *rand.Rand) {
	if c.cfg.Bursts < 0 {
		return
	}
	t0 := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for w := range burstParallel {
		r := rand.New(rand.NewPCG(rng.Uint64(), uint64(w)))
		wg.Go(func() {
			for i := range work {
				c.burst(ctx, r, i, burstKinds[i%len(burstKinds)])
			}
		})
	}
	for i := range c.cfg.Bursts {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	c.logf("bursts: %d bursts of %d identical requests in %s", c.cfg.Bursts, c.cfg.BurstWidth, time.Since(t0).Round(time.Millisecond))
}

// shot is the outcome of one request of a burst.
type shot struct {
	a   *answer
	err error
}

// burst runs burst i of the given kind.
func (c *campaign) burst(ctx context.Context, rng *rand.Rand, i int, kind string) {
	ct := c.newCart(fmt.Sprintf("burst-%04d", i), rng)
	for _, it := range ct.Items {
		switch kind {
		case "capture":
			it.TwoStep, it.Auto, it.Window = true, "cancel", burstWindow
		case "refund", "modify":
			it.TwoStep, it.Auto, it.Window = false, "", 0
		default:
			if it.TwoStep {
				it.Window = burstWindow
			}
		}
	}
	c.addCart(ct)
	setup := func(what string) {
		c.fail(checkUnexpected, "burst %d (%s): %s failed: %s", i, kind, what, ct.Abandoned)
	}
	var before *cartStatus
	if kind != "init" {
		ct.InitSent, ct.InitAt = true, time.Now()
		r := c.newRequest(ct, "init", http.MethodPost, "/init", ct.initBody(), nil)
		if !c.send1(ctx, rng, ct, r, nil) || !ct.InitAcked {
			setup("init")
			return
		}
		if !c.pay(ctx, rng, ct) {
			setup("payment")
			return
		}
		if before = c.inlineCheck(ctx, rng, ct); before == nil {
			return
		}
	}
	var r *request
	switch kind {
	case "init":
		ct.InitSent, ct.InitAt = true, time.Now()
		r = c.newRequest(ct, "init", http.MethodPost, "/init", ct.initBody(), nil)
	case "capture":
		var scope []string
		if len(ct.Items) > 1 && rng.IntN(3) == 0 {
			scope = []string{ct.Items[rng.IntN(len(ct.Items))].ID}
		}
		for _, it := range ct.twoStep(scope) {
			it.CaptureSent = true
		}
		r = c.newRequest(ct, "capture", http.MethodPost, "/capture", actionBody(ct.ID, scope), scope)
	case "refund":
		var scope []string
		if len(ct.Items) > 1 && rng.IntN(3) == 0 {
			scope = []string{ct.Items[rng.IntN(len(ct.Items))].ID}
		}
		for _, it := range ct.Items {
			if len(scope) == 0 || scope[0] == it.ID {
				it.RefundSent = true
			}
		}
		r = c.newRequest(ct, "refund", http.MethodPost, "/refund", actionBody(ct.ID, scope), scope)
	case "modify":
		it := ct.Items[rng.IntN(len(ct.Items))]
		it.ModifySent, it.ModifyAmount = true, 1+rng.Int64N(it.Amount-1)
		body := fmt.Sprintf(`{"cartId":%q,"modifyBox":{"items":[{%q:{"modifyAmount":{"amount":%d}}}]}}`, ct.ID, it.ID, it.ModifyAmount)
		r = c.newRequest(ct, "modify", http.MethodPatch, "/modify", body, []string{it.ID})
	}

	// Fire.
	shots := make([]shot, c.cfg.BurstWidth)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range shots {
		wg.Go(func() {
			<-start
			a, err := c.send(ctx, r.Method, r.URL, r.Key, r.Body, true)
			shots[k] = shot{a, err}
		})
	}
	r.FirstSent = time.Now()
	close(start)
	wg.Wait()
	r.Attempts = len(shots)
	c.stats.attempts.Add(int64(len(shots)))

	// Exactly one ran; the others replayed it or were told it runs.
	var ran []*answer
	var replays []*answer
	running := 0
	where := fmt.Sprintf("burst %d: %d × %s %s key %q", i, len(shots), r.Method, r.URL[len(c.base):], r.Key)
	for _, s := range shots {
		switch a := s.a; {
		case s.err != nil:
			c.fail(checkBurst, "%s: a request got no answer: %v", where, s.err)
		case a.Status == http.StatusConflict && a.Code == codeRunning:
			running++
			if a.Replayed {
				c.fail(checkBurst, "%s: 124191 marked Idempotent-Replayed: %s", where, a)
			}
			if n, err := strconv.Atoi(a.RetryAfter); err != nil || n < 1 {
				c.fail(checkBurst, "%s: 124191 without a valid Retry-After (%q): %s", where, a.RetryAfter, a)
			}
		case a.Replayed:
			replays = append(replays, a)
		default:
			ran = append(ran, a)
		}
	}
	c.stats.count("bursts", kind)
	c.stats.add("bursts", "answers: ran", len(ran))
	c.stats.add("bursts", "answers: replayed", len(replays))
	c.stats.add("bursts", "answers: 124191 in progress", running)
	if len(ran) != 1 {
		var all []string
		for _, a := range ran {
			all = append(all, a.String())
		}
		c.fail(checkBurst, "%s: %d requests ran (answered neither as a replay nor 124191), want exactly 1: %s", where, len(ran), strings.Join(all, " | "))
	}
	// Once more, alone: the stored answer.
	again := c.do(ctx, rng, &request{Kind: r.Kind, Method: r.Method, URL: r.URL, Key: r.Key, Body: r.Body})
	if again == nil {
		c.fail(checkBurst, "%s: the request sent again afterwards got no answer", where)
		return
	}
	if !again.Replayed {
		c.fail(checkBurst, "%s: the request sent again afterwards was not replayed: %s", where, again)
	}
	ref := again
	if len(ran) > 0 {
		ref = ran[0]
		if again.Status != ref.Status || !bytes.Equal(again.Raw, ref.Raw) {
			c.fail(checkBurst, "%s: the request sent again afterwards answered %s, but the request that ran answered %s", where, again, ref)
		}
	}
	for _, a := range replays {
		if a.Status != ref.Status || !bytes.Equal(a.Raw, ref.Raw) {
			c.fail(checkBurst, "%s: a replay answered %s, but the stored answer is %s", where, a, ref)
			break
		}
	}
	r.Answer = ref
	var after *cartStatus
	if r.Kind != "init" || ref.Status == http.StatusCreated {
		_, after, _ = c.getStatus(ctx, rng, ct.ID)
	}
	if c.judge(ct, r, ref, before, after, false) {
		c.inlineCheck(ctx, rng, ct)
	}
}
