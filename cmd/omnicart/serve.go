package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/httpapi"
)

// DemoMerchantID is the id of the merchant --demo creates.
const DemoMerchantID = "demo"

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, dbURL := newFlags("serve", stderr, getenv)
	listen := fs.String("listen", envOr(getenv, "OMNICART_LISTEN", "127.0.0.1:8080"), "address to listen on (env OMNICART_LISTEN)")
	publicURL := fs.String("public-url", getenv("OMNICART_PUBLIC_URL"), "externally visible base URL for payment links (env OMNICART_PUBLIC_URL; default http://LISTEN)")
	demo := fs.Bool("demo", envOr(getenv, "OMNICART_DEMO", "") == "true", "create a test-mode demo merchant if absent and print its key (env OMNICART_DEMO=true)")
	rateLimit := fs.Float64("rate-limit", envFloat(getenv, "OMNICART_RATE_LIMIT", 0), "requests per second allowed to each API key on average, bursts of ten times that (env OMNICART_RATE_LIMIT; 0: no limit)")
	publicOutbox := fs.Bool("public-outbox", envOr(getenv, "OMNICART_PUBLIC_OUTBOX", "") == "true", "serve /sandbox/outbox without an API key, listing every test-mode merchant's payment links (env OMNICART_PUBLIC_OUTBOX=true; on with --demo)")
	answerKeyFile := fs.String("answer-key-file", getenv("OMNICART_ANSWER_KEY_FILE"), "file holding the key that seals stored idempotent answers, created (mode 0600) if missing (env OMNICART_ANSWER_KEY_FILE; default: beside the SQLite database, or ./omnicart-answers.key); every node on one database must use the same key")
	debugListen := fs.String("debug-listen", getenv("OMNICART_DEBUG_LISTEN"), "address of a separate listener serving Go's profiler at /debug/pprof/ (env OMNICART_DEBUG_LISTEN; off when empty; never expose it publicly)")
	cbConfig := callbackFlags(fs, getenv)
	nfConfig := notifyFlags(fs, getenv)
	pos, err := parseFlags(fs, "serve", args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{fmt.Sprintf("serve takes no arguments (got %q)\nusage: %s", pos[0], synopsis("serve"))}
	}
	tuneGC(getenv)
	if *debugListen != "" {
		stop, err := serveDebug(*debugListen)
		if err != nil {
			return err
		}
		defer stop()
	}
	nfCfg, err := nfConfig()
	if err != nil {
		return err
	}
	cbCfg, err := cbConfig(*demo)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, *dbURL, stderr, openOrCreate)
	if err != nil {
		return err
	}
	defer a.Close()
	a.service.LinkSenders = nfCfg.hasSender
	if err := warnUnpayable(ctx, a); err != nil {
		return err
	}
	keyPath := *answerKeyFile
	if keyPath == "" {
		keyPath = a.db.keyPath
	}
	if keyPath == "" {
		keyPath = "omnicart-answers.key"
	}
	if a.service.AnswerKey, err = loadKeyFile(keyPath); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	base := strings.TrimRight(*publicURL, "/")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	if *demo {
		key, renewed, err := ensureDemo(ctx, a)
		if err != nil {
			ln.Close()
			return err
		}
		printDemo(stdout, base, key, demoCartID(), renewed)
		email, password, err := ensureDemoOwner(ctx, a)
		if err != nil {
			ln.Close()
			return err
		}
		fmt.Fprintf(stdout, "Merchant Panel: %s/panel/  sign in as %s with password %s\n\n", base, email, password)
	}
	var draining atomic.Bool
	recoverCtx, stopRecover := context.WithCancel(context.Background())
	if a.db.callbacks == nil {
		stopRecover()
		ln.Close()
		return errors.New("this database engine has no callback store yet: serve needs one")
	}
	callbacks, callbacksDone := startCallbacks(recoverCtx, a, cbCfg)
	notifyDone := startNotify(recoverCtx, a, nfCfg, base)
	metrics := httpapi.NewMetrics()
	metrics.Store = a.db.stats
	metrics.Pool = a.db.pool
	metrics.Version = buildVersion(version, readBuildInfo())
	srv := &http.Server{
		Handler: (&httpapi.Server{Service: a.service, Log: a.log, AccessLog: a.logOut.Delayed(), PublicURL: base, Callbacks: callbacks, PublicOutbox: *publicOutbox || *demo,
			Metrics: metrics, Panel: a.panel(base, callbacks), Listing: a.db.panel,
			Limit: &httpapi.RateLimiter{Rate: *rateLimit, Burst: 10 * *rateLimit},
			Ready: func() bool { return !draining.Load() }}).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	recovered := make(chan struct{})
	go func() {
		defer close(recovered)
		a.service.RunRecovery(recoverCtx, gateway.RecoverEvery)
	}()
	scheduled := make(chan struct{})
	go func() {
		defer close(scheduled)
		a.service.RunScheduler(recoverCtx, 100*time.Millisecond, 200)
	}()
	// When keys were last used: throttled per node, written by one
	// goroutine (set before the server serves a request).
	a.service.KeyUses = gateway.NewKeyUses()
	go a.service.RunKeyUses(recoverCtx)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("omnicart serving", "listen", ln.Addr().String(), "public_url", base, "database", *dbURL)
	fmt.Fprintf(stdout, "OmniCart listening on %s (public URL %s)\n", ln.Addr().String(), base)

	select {
	case err := <-errc:
		stopRecover()
		<-recovered
		<-scheduled
		<-callbacksDone
		<-notifyDone
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down: draining requests")
	draining.Store(true)
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	stopRecover()
	<-recovered
	<-scheduled
	<-callbacksDone
	<-notifyDone
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.log.Info("stopped")
	return nil
}

// demoItems are the itemIds of the OmniCart documentation's examples.
func demoItems() []omnicart.CatalogItem {
	names := []string{
		"pegasus", "naga", "mage", "nomad", "beholder", "genie", "lich", "wight", "vampire", "marksman",
		"zealot", "archangel", "bloodlust", "crusader", "unicorn", "cerberus", "behemoth", "gems", "sulfur",
		"crystal", "harpies", "minotaurs", "beholders", "slow", "berserk", "bless", "dragon", "titan",
		"phoenix", "hydra", "griffin", "angel", "devil", "gold", "wood", "ore", "mercury", "troglodyte",
		"medusa", "minotaur", "manticore", "pikeman", "archer", "swordsman", "monk", "cavalier", "gremlin",
		"gargoyle", "golem", "skeleton", "zombie", "ghost", "imp", "efreet", "centaur", "dwarf", "elf",
	}
	out := make([]omnicart.CatalogItem, len(names))
	for i, n := range names {
		out[i] = omnicart.CatalogItem{ItemID: n, DisplayName: strings.ToUpper(n[:1]) + n[1:]}
	}
	return out
}

// ensureDemo creates the demo merchant if absent and returns an API key of
// it that works. The key is derived from a server secret, so it is the
// same on every start; when the operator revoked it, the next one in the
// series is made (renewed is then set, for the banner to say so), and that
// one is printed on later starts.
func ensureDemo(ctx context.Context, a *app) (key string, renewed bool, err error) {
	if _, err := a.service.Merchant(ctx, DemoMerchantID); errors.Is(err, omnicart.ErrNotFound) {
		_, _, err := a.service.CreateMerchant(ctx, gateway.NewMerchant{ID: DemoMerchantID, Name: "OmniCart Demo Shop",
			Mode: omnicart.ModeTest, Privileges: omnicart.AllPrivileges(), Items: demoItems()})
		if err != nil && !errors.Is(err, omnicart.ErrConflict) {
			return "", false, fmt.Errorf("create demo merchant: %w", err)
		}
	} else if err != nil {
		return "", false, err
	} else if err := a.service.AddItems(ctx, DemoMerchantID, demoItems()); err != nil {
		return "", false, err
	}
	secret, err := a.db.secret(ctx, "demo_key_seed")
	if err != nil {
		return "", false, err
	}
	works := func(key string) (bool, error) {
		m, _, err := a.service.Authenticate(ctx, key)
		if omnicart.CodeOf(err) == omnicart.CodeAuth {
			return false, nil // unknown or revoked
		}
		return err == nil && m.ID == DemoMerchantID, err
	}
	for gen := range maxDemoKeys {
		key := demoKey(secret, gen)
		if ok, err := works(key); ok || err != nil {
			return key, false, err
		}
		// Unknown (store it) or revoked (EnsureKey leaves it revoked).
		if err := a.service.EnsureKey(ctx, DemoMerchantID, key); err != nil {
			return "", false, err
		}
		if ok, err := works(key); ok || err != nil {
			return key, gen > 0, err
		}
	}
	return "", false, fmt.Errorf("demo merchant: the first %d demo keys are all revoked", maxDemoKeys)
}

// maxDemoKeys bounds the series of demo keys (each revocation uses one).
const maxDemoKeys = 10000

// demoKey is the gen-th demo key of the series derived from secret; the
// first is the one earlier versions printed.
func demoKey(secret []byte, gen int) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("demo api key"))
	if gen > 0 {
		m.Write([]byte(" " + strconv.Itoa(gen)))
	}
	return "ock_test_" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// demoCartID is a new cartId for the banner's example, so that the printed
// command works as printed on every start.
func demoCartID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return "demo-cart-" + hex.EncodeToString(b)
}

func printDemo(w io.Writer, base, key, cartID string, renewed bool) {
	note := ""
	if renewed {
		note = "\n  (the earlier demo API key was revoked: this is a new one; it is printed on every start from now on)"
	}
	fmt.Fprintf(w, `
OmniCart demo merchant (test mode, sandbox issuer)
  Base URL : %[1]s
  API key  : %[2]s%[4]s

Try it:
  curl -s -X POST %[1]s/init -H 'Content-Type: application/json' -H 'Api-Access-Token: %[2]s' \
    -d '{"cartId":"%[3]s","currency":"XAU","items":[{"pegasus":{"amount":250}}]}'

Then open data.paymentUrl from the answer and pay with card 4111 1111 1111 1111, any future expiry, any CVC.
Amounts are in minor units; a cartId is 9 to 36 letters, digits, _ or -, new for each cart.

`, base, key, cartID, note)
}

// warnUnpayable logs, at start, that live payments are unavailable when
// live-mode merchants exist and no live provider is configured (their
// /init is refused with 131000; /readyz says so too).
func warnUnpayable(ctx context.Context, a *app) error {
	if a.service.CanPay(omnicart.ModeLive) {
		return nil
	}
	var live []string
	err := a.service.Store.View(ctx, func(tx omnicart.Tx) error {
		ms, err := tx.Merchants(ctx)
		for _, m := range ms {
			if m.Mode == omnicart.ModeLive {
				live = append(live, m.ID)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	if len(live) > 0 {
		a.log.Warn(httpapi.LiveUnavailable, "live_merchants", len(live), "merchant_ids", live)
	}
	return nil
}

// envFloat reads a number from the environment, or def when unset or not a
// number.
func envFloat(getenv func(string) string, key string, def float64) float64 {
	if v, err := strconv.ParseFloat(getenv(key), 64); err == nil {
		return v
	}
	return def
}
