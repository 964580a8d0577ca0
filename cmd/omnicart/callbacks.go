package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/webhook"
)

const callbacksUsage = `usage:
  omnicart callbacks add --merchant ID --url URL [--events a,b] [--disabled] [--json]
  omnicart callbacks list --merchant ID [--json]
  omnicart callbacks remove --merchant ID ENDPOINT_ID
  omnicart callbacks rotate --merchant ID ENDPOINT_ID [--overlap 24h] [--json]
  omnicart callbacks enable|disable --merchant ID ENDPOINT_ID
  omnicart callbacks deliveries --merchant ID ENDPOINT_ID [--limit N] [--json]
  omnicart callbacks events --merchant ID [--cart CARTID] [--limit N] [--json]
  omnicart callbacks resend --merchant ID EVENT_ID [--endpoint ENDPOINT_ID]
Event types: payment.status_changed, timer.status_changed, payment.auto_action_pending
(default: all). ENDPOINT_ID may also be given as --endpoint.`

// callbacksHelp is the --help of a callbacks verb: its line of
// callbacksUsage and what it does.
func callbacksHelp(verb string) ([2]string, bool) {
	for _, line := range strings.Split(callbacksUsage, "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "omnicart callbacks ")
		if !ok {
			continue
		}
		verbs, _, _ := strings.Cut(rest, " ")
		for _, v := range strings.Split(verbs, "|") {
			if v == verb {
				return [2]string{line, callbacksAbout[v]}, true
			}
		}
	}
	return [2]string{}, false
}

// callbacksAbout describes each callbacks verb for its --help.
var callbacksAbout = map[string]string{
	"add":        "Registers a callback endpoint of the merchant and prints its signing secret (once).",
	"list":       "Lists the merchant's callback endpoints.",
	"remove":     "Removes an endpoint and its delivery log.",
	"rotate":     "Gives an endpoint a new signing secret; the old one also signs during the overlap.",
	"enable":     "Enables an endpoint (deliveries resume).",
	"disable":    "Disables an endpoint (its pending deliveries are canceled).",
	"deliveries": "Shows an endpoint's delivery log, newest first.",
	"events":     "Lists the merchant's events, newest first.",
	"resend":     "Sends an event again, to one endpoint or to every subscribed one.",
}

// callbackManager is the management use case on the app's database. The
// operator may register any http(s) URL; the server still refuses to connect
// to private addresses unless started with --allow-private-callbacks.
func callbackManager(a *app) *webhook.Manager {
	return &webhook.Manager{Store: a.db.callbacks, Now: a.clock.Now, AllowPrivate: true}
}

// callbacksConfig is what `serve` needs to run callbacks.
type callbacksConfig struct {
	allowPrivate bool
	schedule     webhook.Schedule
}

// startCallbacks starts the dispatcher that delivers callbacks until ctx
// ends, and returns the manager the management API uses and a channel
// closed when the dispatcher has stopped.
func startCallbacks(ctx context.Context, a *app, cfg callbacksConfig) (*webhook.Manager, <-chan struct{}) {
	store := a.db.callbacks
	if cfg.schedule == nil {
		cfg.schedule = webhook.DefaultSchedule()
	}
	d := &webhook.Dispatcher{Store: store, Client: webhook.NewClient(webhook.ClientOptions{AllowPrivate: cfg.allowPrivate}),
		Log: a.log, Clock: a.clock, Schedule: cfg.schedule}
	m := &webhook.Manager{Store: store, Now: a.clock.Now, AllowPrivate: cfg.allowPrivate, Notify: d.Poke}
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	a.log.Info("callbacks: dispatcher started", "allow_private", cfg.allowPrivate, "retry_schedule", d.Schedule.String())
	return m, done
}

// callbackFlags reads the callback settings of `serve`: whether private
// addresses may be called (--allow-private-callbacks, on with --demo) and
// the retry schedule (--callback-retry-schedule, for tests and tuning).
func callbackFlags(fs *flag.FlagSet, getenv func(string) string) func(demo bool) (callbacksConfig, error) {
	allow := fs.Bool("allow-private-callbacks", envOr(getenv, "OMNICART_ALLOW_PRIVATE_CALLBACKS", "") == "true",
		"let callbacks reach loopback, private and link-local addresses (env OMNICART_ALLOW_PRIVATE_CALLBACKS=true; on with --demo)")
	sched := fs.String("callback-retry-schedule", getenv("OMNICART_CALLBACK_RETRY_SCHEDULE"),
		"comma-separated delays between callback retries, for tests and tuning (env OMNICART_CALLBACK_RETRY_SCHEDULE; default 5s,5m,30m,2h,5h,10h,14h,20h,20h)")
	return func(demo bool) (callbacksConfig, error) {
		cfg := callbacksConfig{allowPrivate: *allow || demo}
		if *sched != "" {
			s, err := webhook.ParseSchedule(*sched)
			if err != nil {
				return cfg, usageError{"--callback-retry-schedule: " + err.Error()}
			}
			cfg.schedule = s
		}
		return cfg, nil
	}
}

// runCallbacks runs `omnicart callbacks VERB ...`.
func runCallbacks(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{callbacksUsage}
	}
	if isHelp(args[0]) {
		fmt.Fprintln(stdout, callbacksUsage)
		return errHelp
	}
	verb := args[0]
	fs, dbURL := newFlags("callbacks "+verb, stderr, getenv)
	merchant := fs.String("merchant", "", "merchant id (required)")
	endpoint := fs.String("endpoint", "", "endpoint id")
	asJSON := fs.Bool("json", false, "print JSON")
	var url, events, overlap, cart *string
	var disabled *bool
	var limit *int
	switch verb {
	case "add":
		url = fs.String("url", "", "callback URL, http or https (required)")
		events = fs.String("events", "", "comma-separated event types (default: all)")
		disabled = fs.Bool("disabled", false, "add the endpoint disabled")
	case "rotate":
		overlap = fs.String("overlap", "24h", "how long the old secret keeps signing next to the new one (0 to stop at once; at most 168h)")
	case "deliveries":
		limit = fs.Int("limit", 100, "how many attempts to show (1-500)")
	case "events":
		cart = fs.String("cart", "", "only the events of this cartId")
		limit = fs.Int("limit", 50, "how many events to show (1-200)")
	case "list", "remove", "enable", "disable", "resend":
	default:
		return usageError{fmt.Sprintf("unknown command %q\n%s", "callbacks "+verb, callbacksUsage)}
	}
	pos, err := parseFlags(fs, "callbacks "+verb, args[1:], stdout)
	if err != nil {
		return err
	}
	if *merchant == "" {
		return usageError{"--merchant is required\nusage: " + synopsis("callbacks "+verb)}
	}
	// The endpoint (or, for resend, the event) may be positional.
	target := *endpoint
	switch verb {
	case "remove", "rotate", "enable", "disable", "deliveries":
		if len(pos) == 1 && target == "" {
			target = pos[0]
		} else if len(pos) != 0 || target == "" {
			return usageError{fmt.Sprintf("callbacks %s takes one ENDPOINT_ID", verb)}
		}
	case "resend":
		if len(pos) != 1 {
			return usageError{"callbacks resend takes one EVENT_ID"}
		}
	default:
		if len(pos) != 0 {
			return usageError{fmt.Sprintf("callbacks %s takes no arguments", verb)}
		}
	}
	var overlapD time.Duration
	if overlap != nil {
		if overlapD, err = time.ParseDuration(*overlap); err != nil {
			if n, nerr := strconv.Atoi(*overlap); nerr == nil {
				overlapD, err = time.Duration(n)*time.Second, nil
			} else {
				return usageError{"--overlap: want a duration such as 24h or 0"}
			}
		}
	}
	a, err := openApp(ctx, *dbURL, io.Discard, openExisting)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.requireMerchant(ctx, *merchant); err != nil {
		return err
	}
	m := callbackManager(a)
	out := cliOut{w: stdout, json: *asJSON}

	switch verb {
	case "add":
		if *url == "" {
			return usageError{"--url is required"}
		}
		var evs []string
		if *events != "" {
			evs = splitList(*events)
		}
		en := !*disabled
		e, secret, err := m.AddEndpoint(ctx, *merchant, webhook.NewEndpoint{URL: *url, Events: evs, Enabled: &en})
		if err != nil {
			return err
		}
		if out.json {
			return out.print(map[string]string{"endpointId": e.ID, "secret": secret})
		}
		fmt.Fprintf(stdout, "endpoint %s -> %s (%s)\nsigning secret (shown once): %s\n", e.ID, e.URL, strings.Join(e.Events, ","), secret)
		return nil
	case "list":
		eps, err := m.Endpoints(ctx, *merchant)
		if err != nil {
			return err
		}
		if out.json {
			list := make([]map[string]any, 0, len(eps))
			for _, e := range eps {
				list = append(list, endpointMap(e))
			}
			return out.print(list)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ENDPOINT\tSTATUS\tEVENTS\tURL")
		for _, e := range eps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ID, e.Status(), strings.Join(e.Events, ","), e.URL)
		}
		return tw.Flush()
	case "remove":
		if err := m.RemoveEndpoint(ctx, *merchant, target); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "removed")
		return nil
	case "rotate":
		e, secret, err := m.RotateSecret(ctx, *merchant, target, overlapD)
		if err != nil {
			return err
		}
		if out.json {
			res := map[string]string{"endpointId": e.ID, "secret": secret}
			if e.PreviousSecret != "" {
				res["previousSecretExpiresAt"] = webhook.Stamp(e.PreviousExpiresAt)
			}
			return out.print(res)
		}
		fmt.Fprintf(stdout, "new signing secret (shown once): %s\n", secret)
		if e.PreviousSecret != "" {
			fmt.Fprintf(stdout, "the previous secret also signs until %s\n", webhook.Stamp(e.PreviousExpiresAt))
		}
		return nil
	case "enable", "disable":
		en := verb == "enable"
		if _, err := m.UpdateEndpoint(ctx, *merchant, target, webhook.EndpointPatch{Enabled: &en}); err != nil {
			return err
		}
		fmt.Fprintln(stdout, verb+"d")
		return nil
	case "deliveries":
		as, err := m.Attempts(ctx, *merchant, target, *limit)
		if err != nil {
			return err
		}
		if out.json {
			return out.print(as)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tEVENT\tTYPE\tATTEMPT\tHTTP\tLATENCY\tERROR")
		for _, x := range as {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%dms\t%s\n", webhook.Stamp(x.At), x.EventID, x.EventType, x.Attempt, x.HTTPStatus, x.Latency.Milliseconds(), x.Error)
		}
		return tw.Flush()
	case "events":
		evs, err := m.Events(ctx, *merchant, omnicart.CallbackEventQuery{CartID: *cart, Limit: *limit})
		if err != nil {
			return err
		}
		if out.json {
			list := make([]json.RawMessage, 0, len(evs))
			for _, e := range evs {
				list = append(list, e.Payload)
			}
			return out.print(list)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EVENT\tTYPE\tCART\tSEQUENCE")
		for _, e := range evs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", e.ID, e.Type, e.CartID, e.Sequence)
		}
		return tw.Flush()
	case "resend":
		sent, err := m.Resend(ctx, *merchant, pos[0], *endpoint)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "queued %d deliveries\n", len(sent))
		return nil
	}
	return nil
}

type cliOut struct {
	w    io.Writer
	json bool
}

func (o cliOut) print(v any) error {
	enc := json.NewEncoder(o.w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func endpointMap(e *omnicart.CallbackEndpoint) map[string]any {
	m := map[string]any{"endpointId": e.ID, "url": e.URL, "events": e.Events, "enabled": e.Enabled, "status": e.Status(),
		"createdAt": webhook.Stamp(e.CreatedAt)}
	if e.DisabledReason != "" {
		m["disabledReason"] = e.DisabledReason
	}
	if !e.FailingSince.IsZero() {
		m["failingSince"] = webhook.Stamp(e.FailingSince)
	}
	if e.PreviousSecret != "" {
		m["previousSecretExpiresAt"] = webhook.Stamp(e.PreviousExpiresAt)
	}
	return m
}
