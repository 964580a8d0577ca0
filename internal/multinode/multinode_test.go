package multinode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/internal/pgserver"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/webhook"
)

// Phases of the load, from its start.
const (
	killNodeAt    = 5 * time.Second         // SIGKILL one node
	nodeDownFor   = 1500 * time.Millisecond // then restart it
	crashDBAt     = 11 * time.Second        // stop PostgreSQL in immediate mode
	dbDownFor     = 2 * time.Second         // after every node reported not ready
	stopClientsAt = 20 * time.Second        // no new lifecycles after this
	clients       = 9
)

func TestMultiNode(t *testing.T) {
	if testing.Short() {
		t.Skip("the multi-node test takes about a minute")
	}
	began := time.Now()
	pg := pgserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := buildBinary(t)
	dbURL := createDatabase(t, ctx, pg.URL, "omnicart")

	// One answer key, given to every node, as an operator would.
	keyFile := filepath.Join(t.TempDir(), "answers.key")
	var key [32]byte
	_, _ = rand.Read(key[:])
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = newNode(t, fmt.Sprintf("node%d", i+1), bin, "--database", dbURL, "--answer-key-file", keyFile,
			"--allow-private-callbacks", "--callback-retry-schedule", "50ms,100ms,200ms,500ms,1s")
	}
	// The nodes start at once: their migrations serialize on the advisory
	// lock.
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() { errs[i] = n.start() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		if t.Failed() {
			if logs := pgLog(pg.Port); logs != "" {
				if len(logs) > 20000 {
					logs = "…" + logs[len(logs)-20000:]
				}
				t.Logf("PostgreSQL's log:\n%s", logs)
			}
			if os.Getenv("MULTINODE_DEBUG") != "" {
				for _, n := range nodes {
					n.signal(syscall.SIGQUIT) // a goroutine dump in its log
				}
			}
			for _, n := range nodes {
				logs := n.Logs()
				if len(logs) > 20000 {
					logs = "…" + logs[len(logs)-20000:]
				}
				t.Logf("%s's log:\n%s", n.name, logs)
			}
		}
	}()
	for _, n := range nodes {
		if _, err := n.waitReady(ctx, http.StatusOK, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	// The merchant and its endpoint, with the CLI.
	out := admin(t, bin, dbURL, "merchant", "create", "--name", "Multi-node Shop", "--items", strings.Join(catalog, ","),
		"--all-privileges", "--capture-window", "1-604800", "--auto-action-lead", "1", "--json")
	var m struct {
		MerchantID string `json:"merchantId"`
		APIKey     string `json:"apiKey"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.APIKey == "" {
		t.Fatalf("merchant create printed %q: %v", out, err)
	}
	rcv := newReceiver(t)
	out = admin(t, bin, dbURL, "callbacks", "add", "--merchant", m.MerchantID, "--url", rcv.URL(), "--json")
	var ep struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(out), &ep); err != nil || ep.Secret == "" {
		t.Fatalf("callbacks add printed %q: %v", out, err)
	}
	rcv.setSecret(ep.Secret)
	setup := time.Since(began)

	w := &workload{nodes: nodes, apiKey: m.APIKey, http: &http.Client{Timeout: 15 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	defer func() {
		if t.Failed() || os.Getenv("MULTINODE_DEBUG") != "" {
			w.mu.Lock()
			t.Logf("lost answers (the first %d):\n%s", len(w.lostLog), strings.Join(w.lostLog, "\n"))
			w.mu.Unlock()
		}
	}()
	stop := make(chan struct{})
	var clientsDone sync.WaitGroup
	loadStart := time.Now()
	w.start = loadStart
	for i := range clients {
		clientsDone.Go(func() { w.run(ctx, i, stop) })
	}

	// Mid-load: one node dies and comes back on its port.
	sleepUntil(ctx, loadStart.Add(killNodeAt))
	victim := nodes[1]
	victim.kill()
	t.Logf("%v: %s killed with SIGKILL", time.Since(loadStart).Round(time.Millisecond), victim.name)
	sleepUntil(ctx, loadStart.Add(killNodeAt+nodeDownFor))
	if err := victim.start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%v: %s restarted", time.Since(loadStart).Round(time.Millisecond), victim.name)

	// Mid-load: PostgreSQL crashes. Every node reports not ready, then
	// ready again by itself once the server is back.
	sleepUntil(ctx, loadStart.Add(crashDBAt))
	crashed := time.Now()
	pg.Stop("immediate")
	t.Logf("%v: PostgreSQL stopped (immediate)", time.Since(loadStart).Round(time.Millisecond))
	notReady := make([]time.Duration, len(nodes))
	for i, n := range nodes {
		if _, err := n.waitReady(ctx, http.StatusServiceUnavailable, 15*time.Second); err != nil {
			t.Error(err)
		}
		notReady[i] = time.Since(crashed)
	}
	sleepUntil(ctx, time.Now().Add(dbDownFor))
	pg.Start()
	restarted := time.Now()
	t.Logf("%v: PostgreSQL started again after %v", time.Since(loadStart).Round(time.Millisecond), restarted.Sub(crashed).Round(time.Millisecond))
	readyAgain := make([]time.Duration, len(nodes))
	for i, n := range nodes {
		if _, err := n.waitReady(ctx, http.StatusOK, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		readyAgain[i] = time.Since(restarted)
	}

	if os.Getenv("MULTINODE_DEBUG") != "" {
		sleepUntil(ctx, loadStart.Add(stopClientsAt-time.Second))
		t.Logf("sessions at +%v:\n%s", time.Since(loadStart).Round(time.Second), sessions(ctx, dbURL))
	}
	sleepUntil(ctx, loadStart.Add(stopClientsAt))
	close(stop)
	clientsDone.Wait()
	loadTime := time.Since(loadStart)
	for _, p := range w.problems {
		t.Error(p)
	}

	// Every deadline falls due at most 4 s after the last payment; wait
	// until no item is authorized or ongoing any more.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var carts []*cart
	w.mu.Lock()
	carts = append(carts, w.carts...)
	w.mu.Unlock()
	var lastPaid time.Time
	for _, c := range carts {
		if c.PaidAt.After(lastPaid) {
			lastPaid = c.PaidAt
		}
	}
	// Every capture window (at most 4 s) ends within 4 s of the last
	// payment; then nothing may stay due: the next deadlines left are the
	// unpaid carts' expiry, two hours away.
	settleStart := time.Now()
	sleepUntil(ctx, lastPaid.Add(4*time.Second))
	for {
		var due int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM carts WHERE next_due_at < $1`, time.Now().Add(time.Minute).UnixMilli()).Scan(&due); err != nil {
			t.Fatal(err)
		}
		if due == 0 {
			break
		}
		if time.Since(settleStart) > time.Minute {
			t.Fatalf("%d carts still have deadlines to fire a minute after the load", due)
		}
		time.Sleep(100 * time.Millisecond)
	}
	settled := time.Since(settleStart)

	statuses := checkVisible(t, ctx, w, carts)
	fired := checkEvents(t, ctx, conn, m.MerchantID, carts, statuses)
	delivery := checkDelivered(t, ctx, conn, m.MerchantID, rcv)
	ledger := checkLedger(t, ctx, conn, m.MerchantID, statuses)

	var deadlocks int64
	if err := conn.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&deadlocks); err != nil {
		t.Error(err)
	}
	for _, n := range nodes {
		if strings.Contains(n.Logs(), "panic") {
			t.Errorf("%s's log shows a panic", n.name)
		}
	}

	acked, paid, abandoned := 0, 0, map[string]int{}
	for _, c := range carts {
		if c.InitAcked {
			acked++
		}
		if c.Paid {
			paid++
		}
		if c.Abandoned != "" {
			abandoned[c.Abandoned]++
		}
	}
	t.Logf(`multi-node run: 3 nodes, %d clients, load %v (setup %v, settle %v, whole test %v)
carts: %d opened (acknowledged), %d paid, abandoned %v
%s killed at +%v, restarted after %v
PostgreSQL crashed at +%v: nodes not ready after %v; down %v; nodes ready again %v after its start
%s
%s
%s
PostgreSQL: %d deadlocks detected (and broken; the transactions run again)
requests:%s`,
		clients, loadTime.Round(time.Millisecond), setup.Round(time.Millisecond), settled.Round(time.Millisecond), time.Since(began).Round(time.Second),
		acked, paid, abandoned, victim.name, killNodeAt, nodeDownFor,
		crashDBAt, roundAll(notReady), restarted.Sub(crashed).Round(time.Millisecond), roundAll(readyAgain),
		fired, delivery, ledger, deadlocks, w.stats.String())
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

func sleepUntil(ctx context.Context, at time.Time) {
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// pgLog returns the log of the private server listening on port (found
// by its configuration), or "".
func pgLog(port int) string {
	confs, _ := filepath.Glob(filepath.Join(os.TempDir(), "omnicart-pg-*", "data", "postgresql.conf"))
	for _, c := range confs {
		b, err := os.ReadFile(c)
		if err == nil && strings.Contains(string(b), fmt.Sprintf("\nport = %d\n", port)) {
			logs, _ := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(c)), "server.log"))
			return string(logs)
		}
	}
	return ""
}

// sessions lists the database's sessions, for debugging.
func sessions(ctx context.Context, dbURL string) string {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err.Error()
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT pid, client_port, state, coalesce(wait_event_type,''), coalesce(wait_event,''),
		coalesce(extract(epoch from now() - xact_start)::int, -1), pg_blocking_pids(pid)::text, left(query, 160)
		FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY xact_start NULLS LAST`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var pid, port, age int
		var state, wt, we, blockers, query string
		if err := rows.Scan(&pid, &port, &state, &wt, &we, &age, &blockers, &query); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "pid %d port %d %s wait %s/%s xact %ds blocked by %s: %s\n", pid, port, state, wt, we, age, blockers, strings.Join(strings.Fields(query), " "))
	}
	return b.String()
}

// createDatabase creates a database on the private server and returns
// its URL.
func createDatabase(tb testing.TB, ctx context.Context, adminURL, name string) string {
	tb.Helper()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		tb.Fatal(err)
	}
	return strings.Replace(adminURL, "/postgres?", "/"+name+"?", 1)
}

// cartState is a cart's status, by item.
type cartState map[string]struct {
	Status  string `json:"paymentStatus"`
	Amounts struct {
		Initiated int64 `json:"initiated"`
		Captured  int64 `json:"captured"`
		Refunded  int64 `json:"refunded"`
		Current   int64 `json:"current"`
	} `json:"itemAmounts"`
}

// checkVisible reads every acknowledged cart on every node: the three
// answers are the same, and match what the clients were told. It returns
// the statuses.
func checkVisible(t *testing.T, ctx context.Context, w *workload, carts []*cart) map[string]cartState {
	t.Helper()
	out := map[string]cartState{}
	var mu sync.Mutex
	work := make(chan *cart)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for c := range work {
				var first string
				var st cartState
				for _, n := range w.nodes {
					a, err := w.status(ctx, n, c.ID)
					if err != nil {
						t.Error(err)
						continue
					}
					if a.Status != http.StatusOK {
						t.Errorf("cart %s (init acknowledged) on %s: %s", c.ID, n.name, a)
						continue
					}
					var data struct {
						Items []map[string]json.RawMessage `json:"items"`
					}
					if err := json.Unmarshal(a.Data, &data); err != nil {
						t.Errorf("status %s on %s: %v", c.ID, n.name, err)
						continue
					}
					got := cartState{}
					for _, m := range data.Items {
						for id, raw := range m {
							v := got[id]
							_ = json.Unmarshal(raw, &v)
							got[id] = v
						}
					}
					norm, _ := json.Marshal(got)
					if first == "" {
						first, st = string(norm), got
					} else if string(norm) != first {
						t.Errorf("cart %s: %s answers %s, %s answered %s", c.ID, n.name, norm, w.nodes[0].name, first)
					}
				}
				if st == nil {
					continue
				}
				for _, it := range c.Items {
					got := st[it.ID]
					if want := c.want(it); want != "" && got.Status != want {
						t.Errorf("cart %s item %s (capture %v, autoAction %s, window %d s, paid %v, captured %v, capture refused %v): %s, want %s",
							c.ID, it.ID, it.Capture, it.Auto, it.Window, c.Paid, c.Captured[it.ID], c.CaptureRefused, got.Status, want)
					}
					if got.Status == "authorized" || got.Status == "ongoing" {
						t.Errorf("cart %s item %s still %s after every deadline", c.ID, it.ID, got.Status)
					}
				}
				mu.Lock()
				out[c.ID] = st
				mu.Unlock()
			}
		})
	}
	for _, c := range carts {
		if c.InitAcked {
			work <- c
		}
	}
	close(work)
	wg.Wait()
	return out
}

// storedEvent is an event as the events table keeps it.
type storedEvent struct {
	Type    string `json:"type"`
	Changes []struct {
		ItemID string `json:"itemId"`
		From   string `json:"from"`
		To     string `json:"to"`
	} `json:"changes"`
	AutoActions []struct {
		ItemID     string `json:"itemId"`
		AutoAction string `json:"autoAction"`
	} `json:"autoActions"`
}

// checkEvents reads every event from the events table and checks that
// each deadline fired once: per item, the payment changes form one chain
// without repeats ending at the item's status; at most one auto-action
// warning per item, and exactly one for each item that ended by its auto
// action.
func checkEvents(t *testing.T, ctx context.Context, conn *pgx.Conn, merchantID string, carts []*cart, statuses map[string]cartState) string {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT c.cart_id, e.sequence, e.body FROM events e JOIN carts c ON c.pk = e.cart_pk
		WHERE c.merchant_id = $1 ORDER BY c.cart_id, e.sequence`, merchantID)
	if err != nil {
		t.Fatal(err)
	}
	type itemKey struct{ cart, item string }
	chains := map[itemKey][]string{}
	warnings := map[itemKey]int{}
	lastSeq := map[string]int64{}
	events := 0
	for rows.Next() {
		var cartID, body string
		var seq int64
		if err := rows.Scan(&cartID, &seq, &body); err != nil {
			t.Fatal(err)
		}
		events++
		if seq != lastSeq[cartID]+1 {
			t.Errorf("cart %s: event %d follows %d", cartID, seq, lastSeq[cartID])
		}
		lastSeq[cartID] = seq
		var ev storedEvent
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			t.Fatalf("event %s #%d: %v", cartID, seq, err)
		}
		switch ev.Type {
		case omnicart.EventPaymentStatusChanged:
			for _, c := range ev.Changes {
				k := itemKey{cartID, c.ItemID}
				chain := chains[k]
				if len(chain) == 0 {
					chain = []string{c.From}
				} else if chain[len(chain)-1] != c.From {
					t.Errorf("cart %s item %s: change %s>%s after %v", cartID, c.ItemID, c.From, c.To, chain)
				}
				chains[k] = append(chain, c.To)
			}
		case omnicart.EventAutoActionPending:
			for _, a := range ev.AutoActions {
				warnings[itemKey{cartID, a.ItemID}]++
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	autoCanceled, autoCompleted, captured := 0, 0, 0
	for _, c := range carts {
		st, ok := statuses[c.ID]
		if !ok {
			continue
		}
		for _, it := range c.Items {
			k := itemKey{c.ID, it.ID}
			chain := chains[k]
			final := st[it.ID].Status
			seen := map[string]bool{}
			for _, s := range chain {
				if seen[s] {
					t.Errorf("cart %s item %s reached %s twice: %v", c.ID, it.ID, s, chain)
				}
				seen[s] = true
			}
			if len(chain) > 0 && chain[len(chain)-1] != final {
				t.Errorf("cart %s item %s: events end at %s, status is %s", c.ID, it.ID, chain[len(chain)-1], final)
			}
			if warnings[k] > 1 {
				t.Errorf("cart %s item %s: %d auto-action warnings", c.ID, it.ID, warnings[k])
			}
			if !c.Paid {
				continue
			}
			byAuto := !c.Captured[it.ID] && (!it.Capture || c.CaptureAnswered)
			if byAuto {
				if warnings[k] != 1 {
					t.Errorf("cart %s item %s ended by its auto action (%s) after %d warnings, want 1", c.ID, it.ID, it.Auto, warnings[k])
				}
				if it.Auto == "cancel" {
					autoCanceled++
				} else {
					autoCompleted++
				}
			} else if c.Captured[it.ID] {
				captured++
			}
		}
	}
	return fmt.Sprintf("events: %d in the events table; deadlines fired once each: %d auto-cancels, %d auto-completes (each after one warning); %d items captured by the clients",
		events, autoCanceled, autoCompleted, captured)
}

// checkDelivered waits until every event of the events table reached the
// receiver (by webhook-id), and that the receiver got nothing else.
func checkDelivered(t *testing.T, ctx context.Context, conn *pgx.Conn, merchantID string, rcv *receiver) string {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT c.cart_id, e.sequence FROM events e JOIN carts c ON c.pk = e.cart_pk WHERE c.merchant_id = $1`, merchantID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for rows.Next() {
		var cartID string
		var seq int64
		if err := rows.Scan(&cartID, &seq); err != nil {
			t.Fatal(err)
		}
		want[webhook.EventID(merchantID, cartID, seq)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var missing []string
	for {
		delivered, refused, attempts, failures := rcv.snapshot()
		for _, f := range failures {
			t.Error("receiver: " + f)
		}
		if len(failures) > 0 {
			return ""
		}
		missing = missing[:0]
		for id := range want {
			if delivered[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			dups, unknown := 0, 0
			for id, n := range delivered {
				if n > 1 {
					dups++
				}
				if !want[id] {
					unknown++
				}
			}
			if unknown > 0 {
				t.Errorf("the receiver got %d events the events table does not hold", unknown)
			}
			return fmt.Sprintf("callbacks: all %d events delivered (%d requests; %d first deliveries refused with 503 and retried; %d events delivered more than once); the last arrived %v after the checks began",
				len(want), attempts, refused, dups, time.Since(start).Round(time.Millisecond))
		}
		if time.Since(start) > 45*time.Second {
			sort.Strings(missing)
			t.Errorf("%d of %d events never reached the receiver, e.g. %v", len(missing), len(want), missing[:min(5, len(missing))])
			return ""
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkLedger checks the sandbox ledger in the database: balances sum to
// zero per currency (sandbox.CheckBalances), each is the sum of its
// entries, no hold is left, no operation is unsettled, and the merchant's
// balance is what the carts captured.
func checkLedger(t *testing.T, ctx context.Context, conn *pgx.Conn, merchantID string, statuses map[string]cartState) string {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT a.account, a.currency, a.balance, COALESCE(e.sum, 0)
		FROM ledger_balances a LEFT JOIN (SELECT account, currency, sum(amount) AS sum FROM ledger_entries GROUP BY account, currency) e
		USING (account, currency) ORDER BY a.account, a.currency`)
	if err != nil {
		t.Fatal(err)
	}
	var bs []sandbox.Balance
	holds, merchant := 0, int64(0)
	for rows.Next() {
		var b sandbox.Balance
		var entries int64
		if err := rows.Scan(&b.Account, &b.Currency, &b.Amount, &entries); err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
		if entries != b.Amount {
			t.Errorf("account %s %s: balance %d, entries sum to %d", b.Account, b.Currency, b.Amount, entries)
		}
		if strings.HasPrefix(b.Account, "hold:") {
			holds++
			if b.Amount != 0 {
				t.Errorf("hold %s still holds %d %s with every item captured or canceled", b.Account, b.Amount, b.Currency)
			}
		}
		if b.Account == "merchant:"+merchantID && b.Currency == "EUR" {
			merchant = b.Amount
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.CheckBalances(bs); err != nil {
		t.Errorf("ledger: %v", err)
	}
	var wantMerchant int64
	for _, st := range statuses {
		for _, it := range st {
			wantMerchant += it.Amounts.Captured - it.Amounts.Refunded
		}
	}
	if merchant != wantMerchant {
		t.Errorf("the merchant's balance is %d EUR, its carts captured %d", merchant, wantMerchant)
	}
	var unsettled int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM operations WHERE outcome IS NULL`).Scan(&unsettled); err != nil {
		t.Fatal(err)
	}
	if unsettled != 0 {
		t.Errorf("%d operations left unsettled", unsettled)
	}
	return fmt.Sprintf("ledger: %d accounts balance (sum zero per currency), %d holds all released, merchant balance %d EUR = captured by the carts, no operation unsettled",
		len(bs), holds, merchant)
}
