package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// message returns a payment-link message of merchantID's cart, created
// and due at `at`.
func message(merchantID, cartID, channel string, at time.Time) *omnicart.Notification {
	return &omnicart.Notification{MerchantID: merchantID, CartID: cartID, Channel: channel,
		Recipient: "to-" + cartID, PayToken: "token-" + cartID, MerchantName: "Shop " + merchantID, Amount: 1350,
		Currency: "EUR", ExpiresAt: at.Add(2 * time.Hour), Sandbox: true, State: omnicart.NotificationQueued,
		NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
}

func enqueue(tb testing.TB, s omnicart.Store, ns ...*omnicart.Notification) {
	tb.Helper()
	tx(tb, s, func(tx omnicart.Tx) error {
		for _, n := range ns {
			if err := tx.EnqueueNotification(context.Background(), n); err != nil {
				return err
			}
		}
		return nil
	})
}

// notifications lists the messages q selects, in a View.
func notifications(tb testing.TB, s omnicart.Store, q omnicart.NotificationQuery) []omnicart.Notification {
	tb.Helper()
	var out []omnicart.Notification
	view(tb, s, func(tx omnicart.Tx) error {
		var err error
		out, err = tx.Notifications(context.Background(), q)
		return err
	})
	return out
}

// notification returns the message with id.
func notification(tb testing.TB, s omnicart.Store, id int64) omnicart.Notification {
	tb.Helper()
	for _, n := range notifications(tb, s, omnicart.NotificationQuery{Limit: 1000}) {
		if n.ID == id {
			return n
		}
	}
	tb.Fatalf("no notification %d", id)
	return omnicart.Notification{}
}

func notificationIDs(ns []omnicart.Notification) []int64 {
	var ids []int64
	for _, n := range ns {
		ids = append(ids, n.ID)
	}
	return ids
}

// sameMessage reports how got differs from the message enqueued as want,
// in the fields the queue does not change.
func sameMessage(got omnicart.Notification, want *omnicart.Notification) string {
	switch {
	case got.ID != want.ID, got.MerchantID != want.MerchantID, got.CartID != want.CartID, got.Channel != want.Channel,
		got.Recipient != want.Recipient, got.MerchantName != want.MerchantName, got.Amount != want.Amount,
		got.Currency != want.Currency, !got.ExpiresAt.Equal(want.ExpiresAt), got.Sandbox != want.Sandbox,
		!got.CreatedAt.Equal(want.CreatedAt):
		return fmt.Sprintf("got %+v, enqueued %+v", got, *want)
	}
	return ""
}

// testNotifications checks EnqueueNotification and the Notifications
// query: ids, filters, newest first, the default limit.
func testNotifications(t *testing.T, e Engine) {
	s := e.Store
	ctx := context.Background()
	n1 := message("m1", "cart-1", omnicart.ChannelEmail, t0)
	n2 := message("m1", "cart-2", omnicart.ChannelSMS, t0.Add(time.Second))
	n3 := message("m2", "cart-1", omnicart.ChannelPush, t0.Add(2*time.Second))
	n3.Sandbox = false
	enqueue(t, s, n1, n2)
	enqueue(t, s, n3)
	if n1.ID == 0 || n1.ID == n2.ID || n2.ID == n3.ID || n1.ID == n3.ID {
		t.Fatalf("ids: %d %d %d", n1.ID, n2.ID, n3.ID)
	}
	all := notifications(t, s, omnicart.NotificationQuery{})
	if fmt.Sprint(notificationIDs(all)) != fmt.Sprint([]int64{n3.ID, n2.ID, n1.ID}) {
		t.Fatalf("Notifications = %v, want %d %d %d (newest first)", notificationIDs(all), n3.ID, n2.ID, n1.ID)
	}
	for i, want := range []*omnicart.Notification{n3, n2, n1} {
		got := all[i]
		if diff := sameMessage(got, want); diff != "" {
			t.Errorf("stored message: %s", diff)
		}
		if got.State != omnicart.NotificationQueued || got.Attempts != 0 || got.PayToken != want.PayToken ||
			!got.NextAttemptAt.Equal(want.NextAttemptAt) || got.Via != "" || got.LastError != "" || !got.SentAt.IsZero() {
			t.Errorf("new message: %+v", got)
		}
	}
	for _, c := range []struct {
		q    omnicart.NotificationQuery
		want []int64
	}{
		{omnicart.NotificationQuery{MerchantID: "m1"}, []int64{n2.ID, n1.ID}},
		{omnicart.NotificationQuery{MerchantID: "m1", CartID: "cart-1"}, []int64{n1.ID}},
		{omnicart.NotificationQuery{CartID: "cart-1"}, []int64{n3.ID, n1.ID}},
		{omnicart.NotificationQuery{MerchantID: "m3"}, nil},
		{omnicart.NotificationQuery{Via: omnicart.ViaOutbox}, nil},
		{omnicart.NotificationQuery{Limit: 2}, []int64{n3.ID, n2.ID}},
	} {
		if got := notificationIDs(notifications(t, s, c.q)); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("Notifications(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
	// The same in Read and in Tx.
	for name, run := range map[string]func(context.Context, func(omnicart.Tx) error) error{"Read": s.Read, "Tx": s.Tx} {
		err := run(ctx, func(tx omnicart.Tx) error {
			got, err := tx.Notifications(ctx, omnicart.NotificationQuery{MerchantID: "m1"})
			if err == nil && fmt.Sprint(notificationIDs(got)) != fmt.Sprint([]int64{n2.ID, n1.ID}) {
				t.Errorf("Notifications in %s = %v", name, notificationIDs(got))
			}
			return err
		})
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Limit 0 means 100.
	var many []*omnicart.Notification
	for i := range 101 {
		many = append(many, message("m4", fmt.Sprint("cart-", i), omnicart.ChannelEmail, t0))
	}
	enqueue(t, s, many...)
	got := notifications(t, s, omnicart.NotificationQuery{MerchantID: "m4"})
	if len(got) != 100 || got[0].ID != many[100].ID {
		t.Errorf("default limit: %d messages, first %d; want 100, first %d", len(got), got[0].ID, many[100].ID)
	}
}

// testNotificationQueue works a few messages off the queue: claims lease
// the due messages, earliest due first; a lease that runs out brings a
// message back; Sent, Retry and Fail record outcomes.
func testNotificationQueue(t *testing.T, e Engine) {
	s, q := e.Store, e.Notifications
	ctx := context.Background()
	a := message("m1", "cart-a", omnicart.ChannelEmail, t0)
	b := message("m1", "cart-b", omnicart.ChannelSMS, t0.Add(time.Second))
	c := message("m2", "cart-c", omnicart.ChannelPush, t0.Add(2*time.Second))
	enqueue(t, s, c, a) // ids are not the order of due times
	enqueue(t, s, b)
	const lease = time.Minute
	claim := func(now time.Time, limit int) []omnicart.Notification {
		t.Helper()
		got, err := q.Claim(ctx, now, lease, limit)
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		for _, n := range got {
			if !n.NextAttemptAt.Equal(now.Add(lease)) || n.State != omnicart.NotificationQueued {
				t.Errorf("claimed at %v: %+v, want next attempt at the end of the lease", now, n)
			}
		}
		return got
	}
	wantClaim := func(now time.Time, limit int, want ...*omnicart.Notification) []omnicart.Notification {
		t.Helper()
		got := claim(now, limit)
		var wantIDs []int64
		for _, w := range want {
			wantIDs = append(wantIDs, w.ID)
		}
		if fmt.Sprint(notificationIDs(got)) != fmt.Sprint(wantIDs) {
			t.Fatalf("Claim(+%v, limit %d) = %v, want %v", now.Sub(t0), limit, notificationIDs(got), wantIDs)
		}
		for i, n := range got {
			if diff := sameMessage(n, want[i]); diff != "" {
				t.Errorf("claimed message: %s", diff)
			}
			if n.PayToken != want[i].PayToken {
				t.Errorf("claimed message %d has token %q, want %q", n.ID, n.PayToken, want[i].PayToken)
			}
		}
		return got
	}
	attempts := func(n *omnicart.Notification) int { t.Helper(); return notification(t, s, n.ID).Attempts }

	wantClaim(t0.Add(-time.Millisecond), 10) // nothing due yet
	now := t0.Add(5 * time.Second)
	got := wantClaim(now, 2, a, b) // earliest due first
	if got[0].Attempts != 1 || got[1].Attempts != 1 {
		t.Errorf("attempts after the first claim: %d, %d", got[0].Attempts, got[1].Attempts)
	}
	wantClaim(now, 10, c)
	wantClaim(now, 10) // all leased
	wantClaim(now.Add(lease-time.Millisecond), 10)
	if st := notification(t, s, a.ID); st.Attempts != 1 || !st.NextAttemptAt.Equal(now.Add(lease)) {
		t.Errorf("stored after the claim: %+v", st)
	}

	// Sent: a through SMTP (token forgotten), b to the sandbox outbox
	// (token kept).
	sentAt := now.Add(time.Second)
	if err := q.Sent(ctx, a.ID, omnicart.ViaSMTP, sentAt, false); err != nil {
		t.Fatal(err)
	}
	if err := q.Sent(ctx, b.ID, omnicart.ViaOutbox, sentAt, true); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		n     *omnicart.Notification
		via   string
		token string
	}{{a, omnicart.ViaSMTP, ""}, {b, omnicart.ViaOutbox, b.PayToken}} {
		got := notification(t, s, w.n.ID)
		if got.State != omnicart.NotificationSent || got.Via != w.via || got.PayToken != w.token ||
			!got.SentAt.Equal(sentAt) || !got.UpdatedAt.Equal(sentAt) || got.Attempts != 1 {
			t.Errorf("sent message: %+v", got)
		}
	}
	if got := notificationIDs(notifications(t, s, omnicart.NotificationQuery{Via: omnicart.ViaSMTP})); fmt.Sprint(got) != fmt.Sprint([]int64{a.ID}) {
		t.Errorf("Notifications via smtp = %v", got)
	}
	if got := notificationIDs(notifications(t, s, omnicart.NotificationQuery{Via: omnicart.ViaOutbox, MerchantID: "m1"})); fmt.Sprint(got) != fmt.Sprint([]int64{b.ID}) {
		t.Errorf("Notifications via outbox = %v", got)
	}
	// A worker whose lease ran out reports a failure for a message
	// another worker sent meanwhile: it stays sent.
	if err := q.Retry(ctx, a.ID, "timeout", now.Add(time.Hour), sentAt.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := notification(t, s, a.ID); got.State != omnicart.NotificationSent || got.LastError != "" {
		t.Errorf("sent message after a late Retry: %+v", got)
	}

	// The lease of c runs out: c comes back, its attempt counted.
	now = now.Add(lease)
	got = wantClaim(now, 10, c)
	if got[0].Attempts != 2 || attempts(c) != 2 {
		t.Errorf("attempts after the lease ran out: %d (stored %d), want 2", got[0].Attempts, attempts(c))
	}
	// Retry: c waits until the time given.
	next := now.Add(10 * time.Minute)
	if err := q.Retry(ctx, c.ID, "connection refused", next, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := notification(t, s, c.ID); got.State != omnicart.NotificationQueued || got.LastError != "connection refused" ||
		!got.NextAttemptAt.Equal(next) || !got.UpdatedAt.Equal(now.Add(time.Second)) || got.PayToken != c.PayToken {
		t.Errorf("retried message: %+v", got)
	}
	wantClaim(now.Add(lease), 10) // the lease would have run out: Retry's time counts
	wantClaim(next.Add(-time.Millisecond), 10)
	got = wantClaim(next, 10, c)
	if got[0].Attempts != 3 || got[0].LastError != "connection refused" {
		t.Errorf("claimed after a retry: %+v", got[0])
	}

	// Fail: c is done for good.
	failedAt := next.Add(time.Second)
	if err := q.Fail(ctx, c.ID, "recipient refused", failedAt); err != nil {
		t.Fatal(err)
	}
	if got := notification(t, s, c.ID); got.State != omnicart.NotificationFailed || got.LastError != "recipient refused" ||
		got.PayToken != "" || !got.UpdatedAt.Equal(failedAt) || got.Attempts != 3 {
		t.Errorf("failed message: %+v", got)
	}
	// Sent and failed messages are never claimed again.
	wantClaim(t0.Add(1000*time.Hour), 10)
}

// testNotificationClaimsRace has workers claim from the queue at once:
// each message goes to exactly one of them.
func testNotificationClaimsRace(t *testing.T, e Engine) {
	ctx := context.Background()
	const messages, workers = 48, 8
	var ns []*omnicart.Notification
	for i := range messages {
		ns = append(ns, message(fmt.Sprint("m", i%3), fmt.Sprint("cart-", i), omnicart.ChannelEmail, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	enqueue(t, e.Store, ns...)
	now := t0.Add(time.Second)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed = map[int64][]int{}
	)
	for w := range workers {
		wg.Go(func() {
			for round := 0; round <= messages; round++ {
				got, err := e.Notifications.Claim(ctx, now, time.Minute, 3)
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, n := range got {
					claimed[n.ID] = append(claimed[n.ID], w)
					if n.Attempts != 1 {
						t.Errorf("message %d claimed with %d attempts", n.ID, n.Attempts)
					}
				}
				mu.Unlock()
			}
			t.Errorf("worker %d still claiming after %d rounds", w, messages)
		})
	}
	wg.Wait()
	for _, n := range ns {
		if by := claimed[n.ID]; len(by) != 1 {
			t.Errorf("message %d claimed by workers %v, want exactly one", n.ID, by)
		}
	}
	if len(claimed) != messages {
		ids := make([]int64, 0, len(claimed))
		for id := range claimed {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		t.Errorf("claimed %v, want the %d messages enqueued", ids, messages)
	}
	for _, n := range notifications(t, e.Store, omnicart.NotificationQuery{Limit: messages}) {
		if n.Attempts != 1 || !n.NextAttemptAt.Equal(now.Add(time.Minute)) {
			t.Errorf("message after the race: %+v", n)
		}
	}
}
