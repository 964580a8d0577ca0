package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/omnicart/omnicart/internal/e2e"
)

// TestCallbacksCrashBetweenCommitAndDelivery kills the server (SIGKILL)
// while the first delivery of a committed event is in flight and
// unanswered, restarts it, and checks that the event is delivered.
// Deliveries committed while nothing could send them (the second event is
// committed after the receiver started holding requests) come through too.
func TestCallbacksCrashBetweenCommitAndDelivery(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--allow-private-callbacks", "--callback-retry-schedule", cbSchedule)
	_, c, r, _ := cbMerchant(t, srv, "pegasus,naga")
	r.hold = make(chan struct{})
	cart := "cb-crash-0001"
	cbInitAndPay(t, c, `{"cartId":"`+cart+`","currency":"EUR","items":[{"pegasus":{"amount":250,"capture":true}}]}`)
	r.waitFor("the delivery to be in flight", func(r *cbReceiver) bool { return r.inFlight == 1 })
	cbCall(t, c, http.MethodPost, "/capture", `{"cartId":"`+cart+`"}`, http.StatusOK, "000000")

	srv.Kill()
	r.mu.Lock()
	close(r.hold)
	r.hold = nil
	got := len(r.events)
	r.mu.Unlock()
	if got != 0 {
		t.Fatalf("%d events answered before the crash", got)
	}
	srv.Restart()
	r.waitPayment(cart, "pegasus:initiated>authorized", "pegasus:authorized>captured", "pegasus:captured>completed")
}

// TestCallbacksRestartKeepsPendingRetries stops the server while a
// delivery waits for its next retry and checks that the retry happens
// after the restart.
func TestCallbacksRestartKeepsPendingRetries(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--allow-private-callbacks", "--callback-retry-schedule", "1s,1s,1s,1s")
	_, c, r, ep := cbMerchant(t, srv, "pegasus")
	up := make(chan struct{})
	r.setAnswer(func(int) int {
		select {
		case <-up:
			return http.StatusNoContent
		default:
			return http.StatusBadGateway
		}
	})
	cart := "cb-restart-0001"
	cbInitAndPay(t, c, `{"cartId":"`+cart+`","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
	r.waitFor("a failed attempt", func(r *cbReceiver) bool { return r.requests >= 1 })
	srv.Stop()
	close(up)
	srv.Restart()
	c.BaseURL = srv.URL // the restarted server listens on a new port
	r.waitFor("the event after the restart", cbHasCartEvents(cart, 1))
	var log []cbAttemptData
	cbWaitUntil(t, "the success in the delivery log", r, func() bool {
		log = cbEndpointLog(t, c, ep)
		return len(log) > 0 && log[0].DeliveryStatus == "succeeded"
	})
	if len(log) < 2 || *log[0].HTTPStatus != 204 || *log[len(log)-1].HTTPStatus != 502 || log[len(log)-1].Attempt != 1 {
		t.Fatalf("delivery log: %+v", log)
	}
}

// TestCallbacksPrivateAddressesRefused runs a server without
// --allow-private-callbacks: the management API refuses literal private
// URLs, and deliveries to URLs the operator registered anyway are refused
// when connecting — also when a name resolves to a loopback address — and
// logged, without any request reaching the receiver.
func TestCallbacksPrivateAddressesRefused(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	id, c := srv.Merchant("pegasus")
	for _, u := range []string{"http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://169.254.169.254/latest/meta-data",
		"http://10.1.2.3/hook", "http://[::1]:9/hook", "http://[fd00:ec2::254]/hook", "http://0.0.0.0:9/"} {
		res := cbCall(t, c, http.MethodPost, "/callbacks/endpoints", `{"url":"`+u+`"}`, 400, "123003")
		if res.Message != "url has invalid value" {
			t.Fatalf("%s: %s", u, res.Raw)
		}
	}
	r := cbNewReceiver(t)
	byIP, secret := cbAddEndpoint(t, srv, id, r.URL())
	r.setSecrets(secret)
	u, err := url.Parse(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	byName, _ := cbAddEndpoint(t, srv, id, "http://localhost:"+u.Port()+"/hooks")
	cbInitAndPay(t, c, `{"cartId":"cb-private-0001","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
	for _, ep := range []string{byIP, byName} {
		cbWaitUntil(t, "a refused attempt to "+ep, r, func() bool {
			log := cbEndpointLog(t, c, ep)
			return len(log) > 0 && strings.Contains(log[0].Error, "not allowed") && log[0].HTTPStatus == nil
		})
	}
	if n, _ := r.count(); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
}
