package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/omnicart/omnicart"
)

// The operator's read and maintenance commands: merchant list, merchant
// update, key list, items list and items remove. Like the other
// subcommands they work on an existing database (SQLite or PostgreSQL),
// while servers run on it: a change is seen by the next request.

// Bounds of a merchant's settings, checked by merchant create and merchant
// update alike (validateMerchant).
const (
	// A merchant's default cart expiry obeys the rule of /init's
	// cartExpiry.
	minCartExpirySecs = 60
	maxCartExpirySecs = 30 * 24 * 3600
	// maxWindowSecs bounds the permitted capture window and the
	// auto-action lead: a year, above any card authorization.
	maxWindowSecs  = 365 * 24 * 3600
	maxMaxDeclines = 1000
	// maxMerchantName is the longest merchant name, in characters.
	maxMerchantName = 200
)

// privilegeNames are the operator's names of the on/off privileges, in
// the order they are listed.
var privilegeNames = []string{"timers", "amount-settings", "one-step", "auto-complete", "cart-expiry"}

// privilegeFlag returns the field of the privilege called name.
func privilegeFlag(p *omnicart.Privileges, name string) (*bool, bool) {
	switch name {
	case "timers":
		return &p.Timers, true
	case "amount-settings":
		return &p.AmountSettings, true
	case "one-step":
		return &p.OneStep, true
	case "auto-complete":
		return &p.AutoComplete, true
	case "cart-expiry":
		return &p.CartExpiry, true
	}
	return nil, false
}

// grantedPrivileges lists the names of the privileges p grants.
func grantedPrivileges(p omnicart.Privileges) []string {
	var out []string
	for _, n := range privilegeNames {
		if f, _ := privilegeFlag(&p, n); *f {
			out = append(out, n)
		}
	}
	return out
}

func privilegeList(p omnicart.Privileges) string {
	if g := grantedPrivileges(p); len(g) > 0 {
		return strings.Join(g, ",")
	}
	return "none"
}

// parseWindow reads a capture window range MIN-MAX.
func parseWindow(s string) (minS, maxS int64, err error) {
	lo, hi, ok := strings.Cut(s, "-")
	minS, err1 := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
	maxS, err2 := strconv.ParseInt(strings.TrimSpace(hi), 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, usageError{fmt.Sprintf("--capture-window %q: want MIN-MAX seconds", s)}
	}
	return minS, maxS, nil
}

// Settings validateMerchant checks, by the flag that sets them.
const (
	setName       = "name"
	setWindowMin  = "capture-window-min"
	setWindowMax  = "capture-window-max"
	setCartExpiry = "cart-expiry"
	setDeclines   = "max-declines"
	setLead       = "auto-action-lead"
)

// allSettings are the settings merchant create gives (every one).
var allSettings = map[string]bool{setName: true, setWindowMin: true, setWindowMax: true, setCartExpiry: true, setDeclines: true, setLead: true}

// validateMerchant checks the operator-set values of a merchant that
// given names (allSettings for merchant create; the settings given on the
// command line for merchant update, so that a merchant whose other
// settings predate these rules can still be changed). Every problem is
// named, with the flag that sets it; the error is a usageError (exit
// status 2).
//
// A capture window maximum of 0 is no maximum (as
// omnicart.Privileges.ClampCaptureWindow reads it).
func validateMerchant(m *omnicart.Merchant, given map[string]bool) error {
	var bad []string
	if given[setName] {
		switch name := m.Name; {
		case strings.TrimSpace(name) == "":
			bad = append(bad, "--name: the merchant name must not be empty")
		case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
			bad = append(bad, "--name: the merchant name must be text without control characters")
		case utf8.RuneCountInString(name) > maxMerchantName:
			bad = append(bad, fmt.Sprintf("--name: the merchant name must be at most %d characters", maxMerchantName))
		}
	}
	p := m.Privileges
	if given[setWindowMin] || given[setWindowMax] {
		minBad := given[setWindowMin] && p.CaptureMinSecs < 0
		maxBad := given[setWindowMax] && (p.CaptureMaxSecs < 0 || p.CaptureMaxSecs > maxWindowSecs)
		if minBad || maxBad || (p.CaptureMaxSecs > 0 && p.CaptureMinSecs > p.CaptureMaxSecs) {
			bad = append(bad, fmt.Sprintf("--capture-window %d-%d: the permitted capture window must be MIN-MAX seconds with 0 ≤ MIN ≤ MAX ≤ %d, or MAX 0 for no maximum",
				p.CaptureMinSecs, p.CaptureMaxSecs, maxWindowSecs))
		}
	}
	if given[setCartExpiry] && (m.CartExpirySecs < minCartExpirySecs || m.CartExpirySecs > maxCartExpirySecs) {
		bad = append(bad, fmt.Sprintf("--cart-expiry %d: want %d to %d seconds", m.CartExpirySecs, minCartExpirySecs, maxCartExpirySecs))
	}
	if given[setDeclines] && (m.MaxDeclines < 1 || m.MaxDeclines > maxMaxDeclines) {
		bad = append(bad, fmt.Sprintf("--max-declines %d: want 1 to %d", m.MaxDeclines, maxMaxDeclines))
	}
	if given[setLead] && (m.AutoActionLeadSecs < 1 || m.AutoActionLeadSecs > maxWindowSecs) {
		bad = append(bad, fmt.Sprintf("--auto-action-lead %d: want 1 to %d seconds", m.AutoActionLeadSecs, maxWindowSecs))
	}
	if len(bad) > 0 {
		return usageError{strings.Join(bad, "\n")}
	}
	return nil
}

// windowText writes a permitted capture window range.
func windowText(p omnicart.Privileges) string {
	if p.CaptureMaxSecs == 0 {
		return fmt.Sprintf("%d-0 s (no maximum)", p.CaptureMinSecs)
	}
	return fmt.Sprintf("%d-%d s", p.CaptureMinSecs, p.CaptureMaxSecs)
}

// merchantView is a merchant as the operator's commands print it.
type merchantView struct {
	*omnicart.Merchant
	// ClockOffsetSecs is how far a test-mode merchant's clock was
	// advanced (POST /sandbox/clock).
	ClockOffsetSecs int64 `json:"clockOffsetSecs,omitempty"`
}

func viewMerchant(m *omnicart.Merchant) merchantView {
	return merchantView{Merchant: m, ClockOffsetSecs: int64(m.ClockOffset / time.Second)}
}

// keyView is an API key as key list prints it.
type keyView struct {
	Prefix string `json:"prefix"`
	// Methods are the methods the key may call; AllMethods says the key
	// is not limited (then Methods lists every method).
	Methods    []string   `json:"methods"`
	AllMethods bool       `json:"allMethods"`
	Status     string     `json:"status"` // active or revoked
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	// LastUsedAt is when the key last authenticated a Merchant API
	// request, to about a minute per node; absent: never.
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	// CreatedBy is who created the key: "panel:" and a Panel user's
	// email, or "operator" (the CLI); absent: not recorded.
	CreatedBy omnicart.Actor `json:"createdBy,omitempty"`
}

const timeLayout = "2006-01-02T15:04:05Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// runOperator runs merchant list, merchant update, key list, items list
// and items remove.
func runOperator(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, dbURL := newFlags(cmd, stderr, getenv)
	asJSON := fs.Bool("json", false, "print JSON")
	var merchant *string
	if cmd != "merchant list" {
		merchant = fs.String("merchant", "", "merchant id (required)")
	}
	var up *updateFlags
	var itemFlag *string
	var force *bool
	switch cmd {
	case "merchant update":
		up = defineUpdateFlags(fs)
	case "items remove":
		itemFlag = fs.String("item", "", "the itemId to remove (required; or as the argument)")
		force = fs.Bool("force", false, "remove the item even while carts awaiting payment hold it (their payment page then shows the itemId)")
	}
	pos, err := parseFlags(fs, cmd, args, stdout)
	if err != nil {
		return err
	}
	if merchant != nil && *merchant == "" {
		return usageError{"--merchant is required\nusage: " + synopsis(cmd)}
	}
	item := ""
	switch {
	case cmd == "items remove" && len(pos) == 1 && *itemFlag == "":
		item = pos[0]
	case cmd == "items remove" && len(pos) == 0 && *itemFlag != "":
		item = *itemFlag
	case cmd == "items remove":
		return usageError{"items remove takes one itemId, as --item ID (or as the argument)\nusage: " + synopsis(cmd)}
	case len(pos) != 0:
		return usageError{cmd + " takes no arguments\nusage: " + synopsis(cmd)}
	}
	if item != "" && !omnicart.ValidItemID(item) {
		return usageError{fmt.Sprintf("invalid itemId %q: 1-64 characters of A-Z a-z 0-9 _ . -", item)}
	}
	if up != nil {
		// Flag values that are wrong whatever the merchant: refused before
		// the database is opened.
		if err := up.check(); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, *dbURL, io.Discard, openExisting)
	if err != nil {
		return err
	}
	defer a.Close()
	if merchant != nil {
		if err := a.requireMerchant(ctx, *merchant); err != nil {
			return err
		}
	}
	out := &printer{w: stdout, json: *asJSON}
	switch cmd {
	case "merchant list":
		return a.merchantList(ctx, out)
	case "merchant update":
		return a.merchantUpdate(ctx, *merchant, up, out)
	case "key list":
		return a.keyList(ctx, *merchant, out)
	case "items list":
		return a.itemsList(ctx, *merchant, out)
	case "items remove":
		return a.itemsRemove(ctx, *merchant, item, *force, out)
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// printer prints a command's answer: JSON, or a table.
type printer struct {
	w    io.Writer
	json bool
}

func (p *printer) encode(v any) error { return json.NewEncoder(p.w).Encode(v) }

func (p *printer) table() *tabwriter.Writer { return tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0) }

func (a *app) merchantList(ctx context.Context, out *printer) error {
	var ms []*omnicart.Merchant
	if err := a.service.Store.View(ctx, func(tx omnicart.Tx) error {
		var err error
		ms, err = tx.Merchants(ctx)
		return err
	}); err != nil {
		return err
	}
	if out.json {
		views := make([]merchantView, 0, len(ms))
		for _, m := range ms {
			views = append(views, viewMerchant(m))
		}
		return out.encode(views)
	}
	tw := out.table()
	fmt.Fprintln(tw, "MERCHANT\tNAME\tMODE\tCAPTURE WINDOW\tCART EXPIRY\tMAX DECLINES\tLEAD\tPRIVILEGES\tCREATED")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d-%d s\t%d s\t%d\t%d s\t%s\t%s\n", m.ID, m.Name, m.Mode,
			m.Privileges.CaptureMinSecs, m.Privileges.CaptureMaxSecs, m.CartExpirySecs, m.MaxDeclines, m.AutoActionLeadSecs,
			privilegeList(m.Privileges), fmtTime(m.CreatedAt))
	}
	return tw.Flush()
}

// updateFlags are the flags of merchant update; set holds the names of
// those given.
type updateFlags struct {
	fs                                     *flag.FlagSet
	name, privileges, grant, deny, window  *string
	windowMin, windowMax, cartExpiry, lead *int64
	leadAlias                              *int64
	maxDeclines                            *int
	set                                    map[string]bool
}

func defineUpdateFlags(fs *flag.FlagSet) *updateFlags {
	u := &updateFlags{fs: fs, set: map[string]bool{}}
	u.name = fs.String("name", "", "new merchant name")
	u.privileges = fs.String("privileges", "", "the privileges granted, exactly: comma-separated "+strings.Join(privilegeNames, ",")+", or all, or none")
	u.grant = fs.String("grant", "", "privileges to grant, comma-separated (the others stay as they are)")
	u.deny = fs.String("deny", "", "privileges to withhold, comma-separated (the others stay as they are)")
	u.window = fs.String("capture-window", "", "permitted capture window range in seconds, MIN-MAX (MAX 0: no maximum)")
	u.windowMin = fs.Int64("capture-window-min", 0, "shortest permitted capture window, seconds")
	u.windowMax = fs.Int64("capture-window-max", 0, "longest permitted capture window, seconds (0: no maximum)")
	u.cartExpiry = fs.Int64("cart-expiry", 0, fmt.Sprintf("default cart expiry in seconds (%d to %d)", minCartExpirySecs, maxCartExpirySecs))
	u.maxDeclines = fs.Int("max-declines", 0, fmt.Sprintf("declines after which a cart's items are rejected (1 to %d)", maxMaxDeclines))
	u.lead = fs.Int64("lead-time", 0, "seconds before a capture window's auto action that payment.auto_action_pending is sent")
	u.leadAlias = fs.Int64("auto-action-lead", 0, "the same as --lead-time (the name merchant create uses)")
	return u
}

// check reads which flags were given and refuses contradictions and
// unknown privilege names.
func (u *updateFlags) check() error {
	u.fs.Visit(func(f *flag.Flag) {
		if f.Name != "database" && f.Name != "merchant" && f.Name != "json" {
			u.set[f.Name] = true
		}
	})
	if len(u.set) == 0 {
		return usageError{"merchant update: give at least one setting to change\nusage: " + synopsis("merchant update") + "\nRun 'omnicart merchant update --help' for its flags."}
	}
	if u.set["capture-window"] && (u.set["capture-window-min"] || u.set["capture-window-max"]) {
		return usageError{"--capture-window and --capture-window-min/--capture-window-max: give one form"}
	}
	if u.set["lead-time"] && u.set["auto-action-lead"] && *u.lead != *u.leadAlias {
		return usageError{"--lead-time and --auto-action-lead differ: give one"}
	}
	if u.set["auto-action-lead"] {
		*u.lead = *u.leadAlias
		u.set["lead-time"] = true
	}
	if u.set["privileges"] {
		if _, err := parsePrivileges(*u.privileges, "--privileges", true); err != nil {
			return err
		}
	}
	grant, err := parsePrivileges(*u.grant, "--grant", false)
	if err != nil {
		return err
	}
	deny, err := parsePrivileges(*u.deny, "--deny", false)
	if err != nil {
		return err
	}
	for _, g := range grant {
		for _, d := range deny {
			if g == d {
				return usageError{fmt.Sprintf("--grant and --deny both name %q", g)}
			}
		}
	}
	if u.set["capture-window"] {
		if _, _, err := parseWindow(*u.window); err != nil {
			return err
		}
	}
	return nil
}

// given returns the settings the flags change, as validateMerchant names
// them: only those are checked.
func (u *updateFlags) given() map[string]bool {
	return map[string]bool{
		setName:       u.set["name"],
		setWindowMin:  u.set["capture-window"] || u.set["capture-window-min"],
		setWindowMax:  u.set["capture-window"] || u.set["capture-window-max"],
		setCartExpiry: u.set["cart-expiry"],
		setDeclines:   u.set["max-declines"],
		setLead:       u.set["lead-time"],
	}
}

// parsePrivileges reads a comma-separated list of privilege names; with
// whole, "all" and "none" are accepted too (and an empty list is none).
func parsePrivileges(s, flagName string, whole bool) ([]string, error) {
	list := splitList(s)
	if whole && len(list) == 1 && (list[0] == "all" || list[0] == "none") {
		if list[0] == "all" {
			return privilegeNames, nil
		}
		return nil, nil
	}
	var p omnicart.Privileges
	for _, n := range list {
		if _, ok := privilegeFlag(&p, n); !ok {
			extra := ""
			if whole {
				extra = ", or all, or none"
			}
			return nil, usageError{fmt.Sprintf("%s: unknown privilege %q (want some of %s%s)", flagName, n, strings.Join(privilegeNames, ","), extra)}
		}
	}
	return list, nil
}

// apply returns m with the flags' changes.
func (u *updateFlags) apply(m omnicart.Merchant) (omnicart.Merchant, error) {
	if u.set["name"] {
		m.Name = *u.name
	}
	if u.set["privileges"] {
		on, _ := parsePrivileges(*u.privileges, "--privileges", true)
		for _, n := range privilegeNames {
			f, _ := privilegeFlag(&m.Privileges, n)
			*f = false
		}
		for _, n := range on {
			f, _ := privilegeFlag(&m.Privileges, n)
			*f = true
		}
	}
	grant, _ := parsePrivileges(*u.grant, "--grant", false)
	deny, _ := parsePrivileges(*u.deny, "--deny", false)
	for _, n := range grant {
		f, _ := privilegeFlag(&m.Privileges, n)
		*f = true
	}
	for _, n := range deny {
		f, _ := privilegeFlag(&m.Privileges, n)
		*f = false
	}
	if u.set["capture-window"] {
		lo, hi, err := parseWindow(*u.window)
		if err != nil {
			return m, err
		}
		m.Privileges.CaptureMinSecs, m.Privileges.CaptureMaxSecs = lo, hi
	}
	if u.set["capture-window-min"] {
		m.Privileges.CaptureMinSecs = *u.windowMin
	}
	if u.set["capture-window-max"] {
		m.Privileges.CaptureMaxSecs = *u.windowMax
	}
	if u.set["cart-expiry"] {
		m.CartExpirySecs = *u.cartExpiry
	}
	if u.set["max-declines"] {
		m.MaxDeclines = *u.maxDeclines
	}
	if u.set["lead-time"] {
		m.AutoActionLeadSecs = *u.lead
	}
	return m, nil
}

// merchantChanges lists what differs between two versions of a merchant,
// as "setting: old → new" lines.
func merchantChanges(old, cur *omnicart.Merchant) []string {
	var out []string
	add := func(name, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("%s: %s → %s", name, a, b))
		}
	}
	add("name", strconv.Quote(old.Name), strconv.Quote(cur.Name))
	add("privileges", privilegeList(old.Privileges), privilegeList(cur.Privileges))
	add("capture window", windowText(old.Privileges), windowText(cur.Privileges))
	add("cart expiry", fmt.Sprintf("%d s", old.CartExpirySecs), fmt.Sprintf("%d s", cur.CartExpirySecs))
	add("max declines", strconv.Itoa(old.MaxDeclines), strconv.Itoa(cur.MaxDeclines))
	add("auto-action lead", fmt.Sprintf("%d s", old.AutoActionLeadSecs), fmt.Sprintf("%d s", cur.AutoActionLeadSecs))
	return out
}

// merchantUpdate changes a merchant's name and settings in one
// transaction: the merchant is read, changed, checked with the rules of
// merchant create, and saved. Carts already open keep the settings they
// were opened with (their expiry and capture windows are fixed at /init);
// the next /init, payment attempt and auto-action warning use the new ones.
func (a *app) merchantUpdate(ctx context.Context, id string, u *updateFlags, out *printer) error {
	var before, after omnicart.Merchant
	err := a.service.Store.Tx(ctx, func(tx omnicart.Tx) error {
		m, err := tx.Merchant(ctx, id)
		if err != nil {
			return err
		}
		before = *m
		if after, err = u.apply(*m); err != nil {
			return err
		}
		if err := validateMerchant(&after, u.given()); err != nil {
			return err
		}
		if len(merchantChanges(&before, &after)) == 0 {
			return nil
		}
		return tx.UpdateMerchant(ctx, &after)
	})
	if err != nil {
		return err
	}
	if out.json {
		return out.encode(viewMerchant(&after))
	}
	changes := merchantChanges(&before, &after)
	if len(changes) == 0 {
		fmt.Fprintf(out.w, "merchant %s unchanged (the settings given are its settings already)\n", id)
		return nil
	}
	fmt.Fprintf(out.w, "merchant %s updated:\n", id)
	for _, c := range changes {
		fmt.Fprintf(out.w, "  %s\n", c)
	}
	return nil
}

func (a *app) keyList(ctx context.Context, merchantID string, out *printer) error {
	var keys []*omnicart.APIKey
	if err := a.service.Store.View(ctx, func(tx omnicart.Tx) error {
		var err error
		keys, err = tx.APIKeys(ctx, merchantID)
		return err
	}); err != nil {
		return err
	}
	views := make([]keyView, 0, len(keys))
	for _, k := range keys {
		v := keyView{Prefix: k.Prefix, Methods: k.Methods, AllMethods: len(k.Methods) == 0, Status: "active", CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt,
			CreatedBy: k.CreatedBy}
		if v.AllMethods {
			v.Methods = omnicart.AllMethods()
		}
		if k.RevokedAt != nil {
			v.Status = "revoked"
		}
		views = append(views, v)
	}
	if out.json {
		return out.encode(views)
	}
	tw := out.table()
	fmt.Fprintln(tw, "PREFIX\tSTATUS\tMETHODS\tCREATED\tCREATED BY\tREVOKED\tLAST USED")
	for _, v := range views {
		methods, revoked, used := strings.Join(v.Methods, ","), "-", "never"
		if v.AllMethods {
			methods = "all"
		}
		if v.RevokedAt != nil {
			revoked = fmtTime(*v.RevokedAt)
		}
		if v.LastUsedAt != nil {
			used = fmtTime(*v.LastUsedAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Prefix, v.Status, methods, fmtTime(v.CreatedAt), v.CreatedBy.Label(), revoked, used)
	}
	return tw.Flush()
}

func (a *app) itemsList(ctx context.Context, merchantID string, out *printer) error {
	var items []omnicart.CatalogItem
	if err := a.service.Store.View(ctx, func(tx omnicart.Tx) error {
		var err error
		items, err = tx.ListCatalogItems(ctx, merchantID)
		return err
	}); err != nil {
		return err
	}
	if out.json {
		if items == nil {
			items = []omnicart.CatalogItem{}
		}
		return out.encode(items)
	}
	tw := out.table()
	fmt.Fprintln(tw, "ITEM\tDISPLAY NAME")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\n", it.ItemID, it.DisplayName)
	}
	return tw.Flush()
}

// maxHolders is how many carts awaiting payment items remove names when
// it refuses.
const maxHolders = 5

// awaitingPayment lists (up to maxHolders) carts of the merchant with an
// item itemID that is still initiated: carts whose payment page may be
// open, and shows the item's display name.
func (a *app) awaitingPayment(ctx context.Context, merchantID, itemID string) ([]string, error) {
	if a.db.panel == nil {
		return nil, nil
	}
	var holders []string
	q := omnicart.CartQuery{MerchantID: merchantID, Status: omnicart.StatusInitiated, Limit: 500}
	for {
		page, err := a.db.panel.ListCarts(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, lc := range page {
			for _, it := range lc.Cart.Items {
				if it.ID == itemID && it.Status == omnicart.StatusInitiated {
					holders = append(holders, lc.Cart.ID)
					break
				}
			}
			if len(holders) == maxHolders {
				return holders, nil
			}
		}
		if len(page) < q.Limit {
			return holders, nil
		}
		q.After = page[len(page)-1].Cursor
	}
}

// itemsRemove removes an item from the merchant's catalog. A new /init
// naming it is then refused (124103), as for any itemId not in the
// catalog; carts that hold it keep it, with their amounts, statuses,
// timers and capture windows, and every action on them works (a cart
// holds its items; the catalog is read at /init, and for display names).
// While a cart awaiting payment holds the item the removal is refused
// unless forced: that cart's payment page would show the bare itemId.
func (a *app) itemsRemove(ctx context.Context, merchantID, itemID string, force bool, out *printer) error {
	if err := a.service.Store.View(ctx, func(tx omnicart.Tx) error {
		got, err := tx.CatalogItems(ctx, merchantID, []string{itemID})
		if err == nil && len(got) == 0 {
			err = fmt.Errorf("item %q is not in the catalog of merchant %s (see omnicart items list): %w", itemID, merchantID, omnicart.ErrNotFound)
		}
		return err
	}); err != nil {
		return err
	}
	if !force {
		holders, err := a.awaitingPayment(ctx, merchantID, itemID)
		if err != nil {
			return err
		}
		if len(holders) > 0 {
			more := ""
			if len(holders) == maxHolders {
				more = " and maybe more"
			}
			return fmt.Errorf("item %q is in carts awaiting payment (%s%s): their payment page shows its display name; "+
				"remove it once they are paid or expired, or now with --force (their page then shows the itemId)",
				itemID, strings.Join(holders, ", "), more)
		}
	}
	err := a.service.Store.Tx(ctx, func(tx omnicart.Tx) error { return tx.RemoveCatalogItem(ctx, merchantID, itemID) })
	if errors.Is(err, omnicart.ErrNotFound) {
		return fmt.Errorf("item %q is not in the catalog of merchant %s (see omnicart items list): %w", itemID, merchantID, err)
	}
	if err != nil {
		return err
	}
	if out.json {
		return out.encode(map[string]string{"merchantId": merchantID, "removed": itemID})
	}
	fmt.Fprintf(out.w, "removed %s from the catalog of merchant %s (new carts cannot name it; carts that hold it keep it)\n", itemID, merchantID)
	return nil
}
