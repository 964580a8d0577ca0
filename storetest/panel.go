package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// RunPanel runs the suite of omnicart.PanelStore. open returns a new, empty
// database's Store and PanelStore for each subtest.
func RunPanel(t *testing.T, open func(tb testing.TB) (omnicart.Store, omnicart.PanelStore)) {
	for _, c := range []struct {
		name string
		run  func(*testing.T, omnicart.Store, omnicart.PanelStore)
	}{
		{"Users", testPanelUsers},
		{"SessionsAndSignIns", testPanelSessions},
		{"Audit", testPanelAudit},
		{"ListCarts", testPanelListCarts},
		{"ListCartsByItemStatus", testPanelListCartsByStatus},
		{"MoneyDays", testPanelMoneyDays},
		{"CartStatusCounts", testPanelCartStatusCounts},
		{"CartsDue", testPanelCartsDue},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, p := open(t)
			c.run(t, s, p)
		})
	}
}

func testPanelUsers(t *testing.T, s omnicart.Store, p omnicart.PanelStore) {
	ctx := context.Background()
	merchant(t, s, "m1")
	merchant(t, s, "m2")
	u1 := &omnicart.User{ID: "usr_1", MerchantID: "m1", Email: "a@example.com", Role: omnicart.RoleOwner, PasswordHash: "h1", CreatedAt: t0}
	u2 := &omnicart.User{ID: "usr_2", MerchantID: "m1", Email: "b@example.com", Role: omnicart.RoleViewer, PasswordHash: "h2", CreatedAt: t0.Add(time.Second)}
	u3 := &omnicart.User{ID: "usr_3", MerchantID: "m2", Email: "c@example.com", Role: omnicart.RoleOperator, PasswordHash: "h3", CreatedAt: t0.Add(2 * time.Second)}
	for _, u := range []*omnicart.User{u1, u2, u3} {
		if err := p.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser %s: %v", u.ID, err)
		}
	}
	if err := p.CreateUser(ctx, &omnicart.User{ID: "usr_4", MerchantID: "m2", Email: "a@example.com", Role: omnicart.RoleViewer, PasswordHash: "x", CreatedAt: t0}); !errors.Is(err, omnicart.ErrConflict) {
		t.Errorf("duplicate email: %v, want ErrConflict", err)
	}
	if err := p.CreateUser(ctx, &omnicart.User{ID: "usr_5", MerchantID: "nope", Email: "z@example.com", Role: omnicart.RoleViewer, PasswordHash: "x", CreatedAt: t0}); !errors.Is(err, omnicart.ErrNotFound) {
		t.Errorf("unknown merchant: %v, want ErrNotFound", err)
	}
	got, err := p.UserByEmail(ctx, "b@example.com")
	if err != nil || *got != *u2 {
		t.Errorf("UserByEmail = %+v, %v; want %+v", got, err, u2)
	}
	if got, err := p.User(ctx, "usr_3"); err != nil || *got != *u3 {
		t.Errorf("User = %+v, %v; want %+v", got, err, u3)
	}
	if _, err := p.User(ctx, "usr_9"); !errors.Is(err, omnicart.ErrNotFound) {
		t.Errorf("User(missing): %v", err)
	}
	ids := func(m string) []string {
		us, err := p.Users(ctx, m)
		if err != nil {
			t.Fatalf("Users: %v", err)
		}
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		return out
	}
	if got := ids("m1"); !slices.Equal(got, []string{"usr_1", "usr_2"}) {
		t.Errorf("Users(m1) = %v", got)
	}
	if got := ids(""); !slices.Equal(got, []string{"usr_1", "usr_2", "usr_3"}) {
		t.Errorf("Users(all) = %v", got)
	}
	if err := p.RemoveUser(ctx, "m2", "usr_2"); !errors.Is(err, omnicart.ErrNotFound) {
		t.Errorf("RemoveUser of another merchant: %v, want ErrNotFound", err)
	}
	sess := &omnicart.Session{Hash: []byte("h-usr2"), UserID: "usr_2", CreatedAt: t0, LastSeenAt: t0, RemoteAddr: "127.0.0.1"}
	if err := p.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveUser(ctx, "m1", "usr_2"); err != nil {
		t.Fatalf("RemoveUser: %v", err)
	}
	if got := ids("m1"); !slices.Equal(got, []string{"usr_1"}) {
		t.Errorf("after remove Users(m1) = %v", got)
	}
	if _, err := p.Session(ctx, sess.Hash); !errors.Is(err, omnicart.ErrNotFound) {
		t.Errorf("a removed user's session remains: %v", err)
	}
}

func testPanelSessions(t *testing.T, s omnicart.Store, p omnicart.PanelStore) {
	ctx := context.Background()
	merchant(t, s, "m1")
	u := &omnicart.User{ID: "usr_1", MerchantID: "m1", Email: "a@example.com", Role: omnicart.RoleOwner, PasswordHash: "h", CreatedAt: t0}
	if err := p.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := &omnicart.Session{Hash: []byte("session-hash"), UserID: u.ID, CreatedAt: t0, LastSeenAt: t0, RemoteAddr: "192.0.2.1"}
	if err := p.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := p.CreateSession(ctx, &omnicart.Session{Hash: []byte("x"), UserID: "nobody", CreatedAt: t0, LastSeenAt: t0}); !errors.Is(err, omnicart.ErrNotFound) {
		t.Errorf("session of an unknown user: %v, want ErrNotFound", err)
	}
	if err := p.TouchSession(ctx, sess.Hash, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := p.TouchSession(ctx, sess.Hash, t0.Add(time.Second)); err != nil { // never moves back
		t.Fatal(err)
	}
	got, err := p.Session(ctx, sess.Hash)
	if err != nil || got.UserID != u.ID || !got.CreatedAt.Equal(t0) || !got.LastSeenAt.Equal(t0.Add(time.Minute)) || got.RemoteAddr != "192.0.2.1" {
		t.Errorf("Session = %+v, %v", got, err)
	}
	if err := p.DeleteSession(ctx, sess.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Session(ctx, sess.Hash); !errors.Is(err, omnicart.ErrNotFound) {
		t.Errorf("deleted session: %v", err)
	}
	if err := p.DeleteSession(ctx, sess.Hash); err != nil {
		t.Errorf("deleting again: %v", err)
	}

	for i := range 3 {
		if err := p.AddFailedSignIn(ctx, "a@example.com", "192.0.2.9", t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.AddFailedSignIn(ctx, "other@example.com", "192.0.2.9", t0); err != nil {
		t.Fatal(err)
	}
	n, first, err := p.FailedSignIns(ctx, "a@example.com", t0.Add(30*time.Second))
	if err != nil || n != 2 || !first.Equal(t0.Add(time.Minute)) {
		t.Errorf("FailedSignIns = %d, %v, %v; want 2 from t0+1m", n, first, err)
	}
	if err := p.ClearFailedSignIns(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := p.FailedSignIns(ctx, "a@example.com", t0); n != 0 {
		t.Errorf("after clear: %d", n)
	}
	if n, _, _ := p.FailedSignIns(ctx, "other@example.com", t0); n != 1 {
		t.Errorf("another email's failures: %d, want 1", n)
	}
}

func testPanelAudit(t *testing.T, s omnicart.Store, p omnicart.PanelStore) {
	ctx := context.Background()
	for i := range 5 {
		m := "m1"
		if i == 2 {
			m = "m2"
		}
		e := &omnicart.AuditEntry{MerchantID: m, Actor: "a@example.com", Action: fmt.Sprintf("act%d", i), Target: "cart c1", Detail: "d", RemoteAddr: "192.0.2.1", At: t0.Add(time.Duration(i) * time.Second)}
		if err := p.AppendAudit(ctx, e); err != nil || e.ID == 0 {
			t.Fatalf("AppendAudit: %v (id %d)", err, e.ID)
		}
	}
	page, err := p.Audit(ctx, "m1", 0, 2)
	if err != nil || len(page) != 2 || page[0].Action != "act4" || page[1].Action != "act3" {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	if !page[0].At.Equal(t0.Add(4*time.Second)) || page[0].RemoteAddr != "192.0.2.1" || page[0].Target != "cart c1" {
		t.Errorf("entry = %+v", page[0])
	}
	page, err = p.Audit(ctx, "m1", page[1].ID, 10)
	if err != nil || len(page) != 2 || page[0].Action != "act1" || page[1].Action != "act0" {
		t.Errorf("second page = %+v, %v", page, err)
	}
}

func testPanelListCarts(t *testing.T, s omnicart.Store, p omnicart.PanelStore) {
	ctx := context.Background()
	m1 := merchant(t, s, "m1")
	m2 := merchant(t, s, "m2")
	for i := range 7 {
		customer := ""
		if i%2 == 0 {
			customer = "cus_even"
		}
		c := newCart(t, m1, fmt.Sprintf("c%d", i), customer, false, t0)
		if i == 3 {
			c.Currency = "USD"
		}
		if i == 5 {
			c.Items[1].Status = omnicart.StatusAuthorized
		}
		tx(t, s, func(tx omnicart.Tx) error {
			return tx.CreateCart(ctx, c, []byte(fmt.Sprintf("tok-m1-%d", i)), time.Time{})
		})
	}
	other := newCart(t, m2, "c1", "cus_even", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, other, []byte("tok-m2"), time.Time{}) })

	list := func(q omnicart.CartQuery) ([]string, int64) {
		t.Helper()
		got, err := p.ListCarts(ctx, q)
		if err != nil {
			t.Fatalf("ListCarts(%+v): %v", q, err)
		}
		var ids []string
		var last int64
		for _, lc := range got {
			if lc.Cart.MerchantID != q.MerchantID {
				t.Errorf("cart %s of merchant %s listed for %s", lc.Cart.ID, lc.Cart.MerchantID, q.MerchantID)
			}
			ids = append(ids, lc.Cart.ID)
			last = lc.Cursor
		}
		return ids, last
	}
	ids, cur := list(omnicart.CartQuery{MerchantID: "m1", Limit: 3})
	if !slices.Equal(ids, []string{"c6", "c5", "c4"}) {
		t.Errorf("page 1 = %v", ids)
	}
	ids, cur = list(omnicart.CartQuery{MerchantID: "m1", Limit: 3, After: cur})
	if !slices.Equal(ids, []string{"c3", "c2", "c1"}) {
		t.Errorf("page 2 = %v", ids)
	}
	if ids, _ = list(omnicart.CartQuery{MerchantID: "m1", Limit: 3, After: cur}); !slices.Equal(ids, []string{"c0"}) {
		t.Errorf("page 3 = %v", ids)
	}
	for _, c := range []struct {
		q    omnicart.CartQuery
		want []string
	}{
		{omnicart.CartQuery{MerchantID: "m1", CustomerID: "cus_even"}, []string{"c6", "c4", "c2", "c0"}},
		{omnicart.CartQuery{MerchantID: "m1", CartID: "c1"}, []string{"c1"}},
		{omnicart.CartQuery{MerchantID: "m1", Currency: "USD"}, []string{"c3"}},
		{omnicart.CartQuery{MerchantID: "m1", Status: omnicart.StatusAuthorized}, []string{"c5"}},
		{omnicart.CartQuery{MerchantID: "m1", Status: omnicart.StatusInitiated, Currency: "EUR", CustomerID: "cus_even", Limit: 2}, []string{"c6", "c4"}},
		{omnicart.CartQuery{MerchantID: "m2"}, []string{"c1"}},
		{omnicart.CartQuery{MerchantID: "m2", CartID: "c2"}, nil},
		{omnicart.CartQuery{MerchantID: "m1", CreatedFrom: t0, CreatedTo: t0.Add(time.Second), CartID: "c0"}, []string{"c0"}},
		{omnicart.CartQuery{MerchantID: "m1", CreatedFrom: t0.Add(time.Second)}, nil},
		{omnicart.CartQuery{MerchantID: "m1", CreatedTo: t0}, nil},
	} {
		if got, _ := list(c.q); !slices.Equal(got, c.want) {
			t.Errorf("ListCarts(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
}

// testPanelListCartsByStatus checks the item-status filter against the
// carts' documents as they change: carts with several statuses, statuses
// that come and go over a cart's life (saved after a lock, without one,
// and in a savepoint rolled back), keyset pages, and the other filters
// beside it. The listing must give the carts whose document has an item in
// the status, newest first, whatever the store indexes.
func testPanelListCartsByStatus(t *testing.T, s omnicart.Store, p omnicart.PanelStore) {
	ctx := context.Background()
	m1 := merchant(t, s, "m1")
	m2 := merchant(t, s, "m2")
	const n = 12
	for i := range n {
		customer := ""
		if i%3 == 0 {
			customer = "cus_3"
		}
		c := newCart(t, m1, fmt.Sprintf("c%02d", i), customer, false, t0.Add(time.Duration(i)*time.Minute))
		if i%4 == 1 {
			c.Currency = "USD"
		}
		tx(t, s, func(tx omnicart.Tx) error {
			return tx.CreateCart(ctx, c, []byte(fmt.Sprintf("tok-m1-%d", i)), time.Time{})
		})
	}
	// The other merchant's carts have every status: none may be listed.
	for i, st := range []omnicart.Status{omnicart.StatusRefunded, omnicart.StatusCaptured, omnicart.StatusCompleted} {
		c := newCart(t, m2, fmt.Sprintf("c%02d", i), "cus_3", false, t0)
		c.Items[0].Status = st
		tx(t, s, func(tx omnicart.Tx) error {
			return tx.CreateCart(ctx, c, []byte(fmt.Sprintf("tok-m2-%d", i)), time.Time{})
		})
	}
	set := func(id string, sts ...omnicart.Status) { t.Helper(); setStatuses(t, s, "m1", id, sts...) }
	var (
		initiated  = omnicart.StatusInitiated
		authorized = omnicart.StatusAuthorized
		completed  = omnicart.StatusCompleted
		refunded   = omnicart.StatusRefunded
		canceled   = omnicart.StatusCanceled
		expired    = omnicart.StatusExpired
		captured   = omnicart.StatusCaptured
		rejected   = omnicart.StatusRejected
	)
	set("c01", authorized, authorized)
	set("c02", completed, refunded)
	set("c03", completed, completed)
	set("c04", refunded, canceled)
	set("c05", authorized, authorized)
	set("c05", completed, authorized)
	set("c05", completed, refunded) // authorized gone, refunded come
	set("c06", captured, authorized)
	set("c06", completed, completed) // captured came and went
	set("c07", completed, refunded)
	set("c07", refunded, refunded)  // completed gone
	set("c07", refunded, refunded)  // unchanged
	set("c08", canceled, completed) // then swapped: the same set
	set("c08", completed, canceled)
	set("c09", refunded, refunded)
	set("c10", expired, expired)
	set("c11", completed, canceled)
	// Several saves of one cart in one transaction, the last restoring
	// the set it had.
	tx(t, s, func(tx omnicart.Tx) error {
		c, err := tx.LockCart(ctx, "m1", "c03")
		if err != nil {
			return err
		}
		c.Items[0].Status = refunded
		if err := tx.SaveCart(ctx, c, time.Time{}); err != nil {
			return err
		}
		c.Items[0].Status = rejected
		if err := tx.SaveCart(ctx, c, time.Time{}); err != nil {
			return err
		}
		c.Items[0].Status = completed
		return tx.SaveCart(ctx, c, time.Time{})
	})
	// A cart saved without being loaded in the transaction.
	c10 := loadCart(t, s, "m1", "c10")
	c10.Items[1].Status = refunded
	tx(t, s, func(tx omnicart.Tx) error { return tx.SaveCart(ctx, c10, time.Time{}) })
	// A change rolled back with its savepoint, then saved again in the
	// same transaction: the rows the first save wrote are gone, those of
	// the second must be there.
	tx(t, s, func(tx omnicart.Tx) error {
		c, err := tx.LockCart(ctx, "m1", "c00")
		if err != nil {
			return err
		}
		c.Items[0].Status = expired
		err = tx.Savepoint(ctx, func() error {
			if err := tx.SaveCart(ctx, c, time.Time{}); err != nil {
				return err
			}
			if _, err := tx.CartExists(ctx, "m1", "c00"); err != nil { // the save's writes are sent
				return err
			}
			return errors.New("rolled back")
		})
		if err == nil {
			return errors.New("savepoint: no error")
		}
		return tx.SaveCart(ctx, c, time.Time{})
	})

	// The expected listings, from the documents of all of m1's carts.
	all, err := p.ListCarts(ctx, omnicart.CartQuery{MerchantID: "m1", Limit: 100})
	if err != nil || len(all) != n {
		t.Fatalf("ListCarts(all) = %d carts, %v", len(all), err)
	}
	want := func(q omnicart.CartQuery) []string {
		var ids []string
		for _, lc := range all {
			c := lc.Cart
			has := false
			for _, it := range c.Items {
				has = has || it.Status == q.Status
			}
			if !has || q.CustomerID != "" && c.CustomerID != q.CustomerID || q.Currency != "" && c.Currency != q.Currency ||
				q.CartID != "" && c.ID != q.CartID ||
				!q.CreatedFrom.IsZero() && c.CreatedAt.Before(q.CreatedFrom) || !q.CreatedTo.IsZero() && !c.CreatedAt.Before(q.CreatedTo) {
				continue
			}
			ids = append(ids, c.ID)
		}
		return ids
	}
	// pages lists q's carts by pages of size, following the cursors.
	pages := func(q omnicart.CartQuery, size int) []string {
		t.Helper()
		var ids []string
		q.Limit = size
		for range n + 1 {
			page, err := p.ListCarts(ctx, q)
			if err != nil {
				t.Fatalf("ListCarts(%+v): %v", q, err)
			}
			for _, lc := range page {
				if lc.Cart.MerchantID != q.MerchantID {
					t.Errorf("cart %s of merchant %s listed", lc.Cart.ID, lc.Cart.MerchantID)
				}
				ids = append(ids, lc.Cart.ID)
				q.After = lc.Cursor
			}
			if len(page) < size {
				return ids
			}
		}
		t.Fatalf("ListCarts(%+v): more pages than carts", q)
		return nil
	}
	// A few listings spelled out, so that the model above is checked too.
	for _, c := range []struct {
		st   omnicart.Status
		want []string
	}{
		{refunded, []string{"c10", "c09", "c07", "c05", "c04", "c02"}},
		{completed, []string{"c11", "c08", "c06", "c05", "c03", "c02"}},
		{authorized, []string{"c01"}},
		{initiated, []string{"c00"}},
		{expired, []string{"c10", "c00"}},
		{canceled, []string{"c11", "c08", "c04"}},
		{captured, nil},
		{rejected, nil},
	} {
		if got := want(omnicart.CartQuery{Status: c.st}); !slices.Equal(got, c.want) {
			t.Errorf("documents with an item %s: %v, want %v", c.st, got, c.want)
		}
	}
	for _, st := range []omnicart.Status{initiated, authorized, captured, completed, refunded, canceled, expired, rejected, "ongoing"} {
		for _, q := range []omnicart.CartQuery{
			{MerchantID: "m1", Status: st},
			{MerchantID: "m1", Status: st, Currency: "USD"},
			{MerchantID: "m1", Status: st, Currency: "EUR"},
			{MerchantID: "m1", Status: st, CustomerID: "cus_3"},
			{MerchantID: "m1", Status: st, CartID: "c05"},
			{MerchantID: "m1", Status: st, CreatedFrom: t0.Add(3 * time.Minute), CreatedTo: t0.Add(10 * time.Minute)},
			{MerchantID: "m1", Status: st, Currency: "EUR", CreatedTo: t0.Add(8 * time.Minute)},
		} {
			w := want(q)
			for _, size := range []int{1, 2, 5, 50} {
				if got := pages(q, size); !slices.Equal(got, w) {
					t.Errorf("ListCarts(%+v) by pages of %d = %v, want %v", q, size, got, w)
				}
			}
		}
	}
	if got := pages(omnicart.CartQuery{MerchantID: "m2", Status: refunded}, 2); !slices.Equal(got, []string{"c00"}) {
		t.Errorf("m2 refunded: %v", got)
	}
	if got := pages(omnicart.CartQuery{MerchantID: "m2", Status: captured, Currency: "EUR"}, 1); !slices.Equal(got, []string{"c01"}) {
		t.Errorf("m2 captured: %v", got)
	}
}

// testPanelMoneyDays checks that MoneyDays adds up, per day and currency,
// the operations that settled as succeeded, by kind, and nothing else:
// not failed or declined ones, not an outcome written twice, not a
// settlement rolled back, not another merchant's.
func testPanelMoneyDays(t *testing.T, s omnicart.Store, p omnicart.PanelStore) {
	ctx := context.Background()
	day1 := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	var ops []omnicart.Operation
	seq := 0
	op := func(m *omnicart.Merchant, cart string, kind omnicart.OpKind, cur string, amount int64) omnicart.Operation {
		seq++
		o := omnicart.Operation{OpID: fmt.Sprintf("op-%d", seq), Kind: kind, MerchantID: m.ID, CartID: cart,
			ItemIDs: []string{"pegasus"}, Currency: cur, Amount: amount}
		ops = append(ops, o)
		return o
	}
	m1, m2 := merchant(t, s, "m1"), merchant(t, s, "m2")
	for i := range 6 {
		for _, m := range []*omnicart.Merchant{m1, m2} {
			c := newCart(t, m, fmt.Sprintf("c%d", i), "", false, t0)
			tx(t, s, func(tx omnicart.Tx) error {
				return tx.CreateCart(ctx, c, []byte(fmt.Sprintf("tok-%s-%d", m.ID, i)), time.Time{})
			})
		}
	}
	type settle struct {
		op      omnicart.Operation
		outcome string
		at      time.Time
	}
	var settles []settle
	add := func(o omnicart.Operation, outcome string, at time.Time) {
		settles = append(settles, settle{o, outcome, at})
	}
	// Day 1, EUR: 1000+500 authorized on two carts, 700 captured, 300
	// released, 1 failed capture, 1 declined authorization.
	add(op(m1, "c0", omnicart.OpAuthorize, "EUR", 1000), "succeeded", day1.Add(time.Hour))
	add(op(m1, "c1", omnicart.OpAuthorize, "EUR", 500), "succeeded", day1.Add(2*time.Hour))
	add(op(m1, "c0", omnicart.OpCapture, "EUR", 700), "succeeded", day1.Add(3*time.Hour))
	add(op(m1, "c0", omnicart.OpRelease, "EUR", 300), "succeeded", day1.Add(24*time.Hour-time.Millisecond))
	add(op(m1, "c1", omnicart.OpCapture, "EUR", 500), "failed", day1.Add(4*time.Hour))
	add(op(m1, "c2", omnicart.OpAuthorize, "EUR", 9000), "declined", day1.Add(4*time.Hour))
	// Day 1, JPY on one cart; day 2, EUR refunds and a capture on carts
	// of every lane.
	add(op(m1, "c3", omnicart.OpAuthorize, "JPY", 4200), "succeeded", day1.Add(5*time.Hour))
	for i := range 6 {
		add(op(m1, fmt.Sprintf("c%d", i), omnicart.OpRefund, "EUR", int64(10+i)), "succeeded", day2)
	}
	add(op(m1, "c4", omnicart.OpCapture, "EUR", 250), "succeeded", day2.Add(time.Hour))
	// The other merchant, the same days.
	add(op(m2, "c0", omnicart.OpAuthorize, "EUR", 77), "succeeded", day1.Add(time.Hour))
	add(op(m2, "c0", omnicart.OpCapture, "EUR", 77), "succeeded", day2.Add(time.Hour))
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateOperations(ctx, ops, day1) })
	for _, st := range settles {
		tx(t, s, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, st.op.OpID, st.outcome, st.at) })
	}
	// An outcome written again is not counted again.
	tx(t, s, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, settles[0].op.OpID, "succeeded", day2) })
	// A settlement rolled back is not counted.
	late := op(m1, "c5", omnicart.OpCapture, "EUR", 123456)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateOperations(ctx, []omnicart.Operation{late}, day1) })
	errUndo := errors.New("undo")
	if err := s.Tx(ctx, func(tx omnicart.Tx) error {
		if err := tx.FinishOperation(ctx, late.OpID, "succeeded", day2); err != nil {
			return err
		}
		if _, err := tx.Merchant(ctx, "m1"); err != nil { // a statement after it, so a deferred write is sent
			return err
		}
		return errUndo
	}); !errors.Is(err, errUndo) {
		t.Fatalf("rolled back transaction: %v", err)
	}

	got, err := p.MoneyDays(ctx, "m1", day1, day2.Add(23*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []omnicart.MoneyDay{
		{Day: day1, Currency: "EUR", Authorized: 1500, Captured: 700, Released: 300},
		{Day: day1, Currency: "JPY", Authorized: 4200},
		{Day: day2, Currency: "EUR", Captured: 250, Refunded: 10 + 11 + 12 + 13 + 14 + 15},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("MoneyDays(m1, day 1..2) =\n%v\nwant\n%v", got, want)
	}
	for _, d := range got {
		if d.Day.Location() != time.UTC {
			t.Errorf("day %v not in UTC", d.Day)
		}
	}
	got, err = p.MoneyDays(ctx, "m1", day2, day2)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want[2:]) {
		t.Errorf("MoneyDays(m1, day 2) = %v, want %v", got, want[2:])
	}
	got, err = p.MoneyDays(ctx, "m2", day1, day2)
	if err != nil {
		t.Fatal(err)
	}
	want = []omnicart.MoneyDay{{Day: day1, Currency: "EUR", Authorized: 77}, {Day: day2, Currency: "EUR", Captured: 77}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("MoneyDays(m2) = %v, want %v", got, want)
	}
	if got, err := p.MoneyDays(ctx, "m1", day2.Add(24*time.Hour), day2.Add(48*time.Hour)); err != nil || len(got) != 0 {
		t.Errorf("MoneyDays(m1, later days) = %v, %v; want none", got, err)
	}
}

// testPanelCartStatusCounts checks that carts are counted once under each
// status their items have, per merchant, as saves change them.
func testPanelCartStatusCounts(t *testing.T, s omnicart.Store, p omnicart.PanelStore) {
	ctx := context.Background()
	m1, m2 := merchant(t, s, "m1"), merchant(t, s, "m2")
	for i := range 4 {
		c := newCart(t, m1, fmt.Sprintf("c%d", i), "", false, t0)
		tx(t, s, func(tx omnicart.Tx) error {
			return tx.CreateCart(ctx, c, []byte(fmt.Sprintf("tok-%d", i)), time.Time{})
		})
	}
	c := newCart(t, m2, "c0", "", false, t0)
	c.Items[0].Status = omnicart.StatusRefunded
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok-m2"), time.Time{}) })
	set := func(id string, sts ...omnicart.Status) { t.Helper(); setStatuses(t, s, "m1", id, sts...) }
	set("c1", omnicart.StatusAuthorized, omnicart.StatusAuthorized)
	set("c2", omnicart.StatusCompleted, omnicart.StatusAuthorized)
	set("c3", omnicart.StatusCompleted, omnicart.StatusRefunded)
	set("c3", omnicart.StatusCompleted, omnicart.StatusCompleted)
	got, err := p.CartStatusCounts(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[omnicart.Status]int{omnicart.StatusInitiated: 1, omnicart.StatusAuthorized: 2, omnicart.StatusCompleted: 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CartStatusCounts(m1) = %v, want %v", got, want)
	}
	if got, err := p.CartStatusCounts(ctx, "m3"); err != nil || len(got) != 0 {
		t.Errorf("CartStatusCounts(no carts) = %v, %v; want none", got, err)
	}
}

// testPanelCartsDue checks that CartsDue lists a merchant's carts whose
// next deadline is at or before the cut, soonest first, up to the limit,
// and no cart without one or of another merchant.
func testPanelCartsDue(t *testing.T, s omnicart.Store, p omnicart.PanelStore) {
	ctx := context.Background()
	m1, m2 := merchant(t, s, "m1"), merchant(t, s, "m2")
	create := func(m *omnicart.Merchant, id string, due time.Time) {
		t.Helper()
		c := newCart(t, m, id, "", false, t0)
		tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte(m.ID+id), due) })
	}
	create(m1, "c-late", t0.Add(3*time.Hour))
	create(m1, "c-first", t0.Add(time.Hour))
	create(m1, "c-none", time.Time{})
	create(m1, "c-second", t0.Add(2*time.Hour))
	create(m1, "c-cut", t0.Add(150*time.Minute))
	create(m2, "c-other", t0.Add(time.Minute))
	// A save moves a deadline past the cut.
	tx(t, s, func(tx omnicart.Tx) error {
		c, err := tx.LockCart(ctx, "m1", "c-second")
		if err != nil {
			return err
		}
		return tx.SaveCart(ctx, c, t0.Add(5*time.Hour))
	})
	ids := func(cs []*omnicart.Cart) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	got, err := p.CartsDue(ctx, "m1", t0.Add(150*time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"c-first", "c-cut"}; !slices.Equal(ids(got), want) {
		t.Errorf("CartsDue(m1, +2h30) = %v, want %v", ids(got), want)
	}
	got, err = p.CartsDue(ctx, "m1", t0.Add(24*time.Hour), 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"c-first", "c-cut"}; !slices.Equal(ids(got), want) {
		t.Errorf("CartsDue(m1, +24h, limit 2) = %v, want %v", ids(got), want)
	}
	if len(got) > 0 && (got[0].MerchantID != "m1" || len(got[0].Items) != 2) {
		t.Errorf("CartsDue returned %+v, not the stored cart", got[0])
	}
}

// setStatuses gives the items of a merchant's cart these statuses, locked
// and saved in a transaction of its own.
func setStatuses(t *testing.T, s omnicart.Store, merchantID, cartID string, sts ...omnicart.Status) {
	t.Helper()
	ctx := context.Background()
	tx(t, s, func(tx omnicart.Tx) error {
		c, err := tx.LockCart(ctx, merchantID, cartID)
		if err != nil {
			return err
		}
		for i, st := range sts {
			c.Items[i].Status = st
		}
		return tx.SaveCart(ctx, c, time.Time{})
	})
}
