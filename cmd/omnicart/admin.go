package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

func runAdmin(ctx context.Context, noun, verb string, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cmd := noun + " " + verb
	switch cmd {
	case "merchant list", "merchant update", "key list", "items list", "items remove":
		return runOperator(ctx, cmd, args, stdout, stderr, getenv)
	}
	fs, dbURL := newFlags(cmd, stderr, getenv)
	var merchant *string
	if noun != "merchant" {
		merchant = fs.String("merchant", "", "merchant id (required)")
	}
	var name, items, mode, methods, csvPath *string
	var allPriv, asJSON *bool
	var deny, window *string
	var cartExpiry, lead *int64
	var maxDeclines *int
	var newPriv omnicart.Privileges
	switch cmd {
	case "merchant create":
		name = fs.String("name", "", "merchant name (required)")
		items = fs.String("items", "", "comma-separated itemIds for the catalog")
		mode = fs.String("mode", "test", "test (sandbox issuer) or live (no live payment provider exists yet: live merchants cannot take payments)")
		allPriv = fs.Bool("all-privileges", false, "grant every privilege, including setting cartExpiry")
		asJSON = fs.Bool("json", false, "print {\"merchantId\",\"apiKey\"} as JSON")
		deny = fs.String("deny", "", "privileges to withhold, comma-separated: timers,amount-settings,one-step,auto-complete,cart-expiry")
		window = fs.String("capture-window", "600-604800", "permitted capture window range in seconds, MIN-MAX (MAX 0: no maximum)")
		cartExpiry = fs.Int64("cart-expiry", omnicart.DefaultCartExpirySecs, fmt.Sprintf("default cart expiry in seconds (%d to %d)", minCartExpirySecs, maxCartExpirySecs))
		maxDeclines = fs.Int("max-declines", omnicart.DefaultMaxDeclines, fmt.Sprintf("declines after which a cart's items are rejected (1 to %d)", maxMaxDeclines))
		lead = fs.Int64("auto-action-lead", omnicart.DefaultAutoActionLeadSecs, fmt.Sprintf("seconds before a capture window's auto action that payment.auto_action_pending is sent (1 to %d; 0 means the default, %d)",
			maxWindowSecs, omnicart.DefaultAutoActionLeadSecs))
	case "key create":
		methods = fs.String("methods", "", "comma-separated methods the key may call (default: all)")
	case "key revoke", "items add":
	case "items import":
		csvPath = fs.String("csv", "", "CSV file with columns itemId,displayName (required)")
	default:
		return usageError{fmt.Sprintf("unknown command %q\n%s", cmd, nounUsage[noun])}
	}
	// Flags may also follow the positional argument
	// (`items add --merchant m a,b --database sqlite:x`).
	pos, err := parseFlags(fs, cmd, args, stdout)
	if err != nil {
		return err
	}
	if merchant != nil && *merchant == "" {
		return usageError{"--merchant is required\nusage: " + synopsis(cmd)}
	}
	switch cmd {
	case "merchant create":
		if len(pos) != 0 {
			return usageError{"merchant create takes no arguments\nusage: " + synopsis(cmd)}
		}
		if strings.TrimSpace(*name) == "" {
			return usageError{"--name is required\nusage: " + synopsis(cmd)}
		}
		if m := omnicart.Mode(*mode); m != omnicart.ModeTest && m != omnicart.ModeLive {
			return usageError{fmt.Sprintf("--mode %q: want test or live", *mode)}
		}
		// The settings obey the rules merchant update checks too, before
		// anything is created.
		priv := omnicart.DefaultPrivileges()
		if *allPriv {
			priv = omnicart.AllPrivileges()
		}
		if err := applyPrivilegeFlags(&priv, *deny, *window); err != nil {
			return err
		}
		newPriv = priv
		if *lead == 0 {
			*lead = omnicart.DefaultAutoActionLeadSecs // as before the rules: 0 is the default
		}
		if err := validateMerchant(&omnicart.Merchant{Name: *name, Privileges: priv, CartExpirySecs: *cartExpiry,
			MaxDeclines: *maxDeclines, AutoActionLeadSecs: *lead}, allSettings); err != nil {
			return err
		}
	case "key create", "items import":
		if len(pos) != 0 {
			return usageError{cmd + " takes no arguments\nusage: " + synopsis(cmd)}
		}
	case "key revoke":
		if len(pos) != 1 {
			return usageError{"key revoke takes one KEYPREFIX\nusage: " + synopsis(cmd)}
		}
	case "items add":
		if len(pos) != 1 {
			return usageError{"items add takes one comma-separated list of itemIds\nusage: " + synopsis(cmd)}
		}
	}
	// Creating a merchant is how a database is set up (the load harness
	// and the README start that way), so it may create the database; every
	// other subcommand refuses one that does not exist.
	openMode := openExisting
	if noun+" "+verb == "merchant create" {
		openMode = openOrCreate
	}
	a, err := openApp(ctx, *dbURL, io.Discard, openMode)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.service
	if merchant != nil {
		if err := a.requireMerchant(ctx, *merchant); err != nil {
			return err
		}
	}

	switch noun + " " + verb {
	case "merchant create":
		priv := newPriv
		var cat []omnicart.CatalogItem
		for _, id := range splitList(*items) {
			cat = append(cat, omnicart.CatalogItem{ItemID: id, DisplayName: id})
		}
		m, key, err := svc.CreateMerchant(ctx, gateway.NewMerchant{Name: *name, Mode: omnicart.Mode(*mode), Privileges: priv, Items: cat,
			CartExpirySecs: *cartExpiry, MaxDeclines: *maxDeclines, AutoActionLeadSecs: *lead})
		if err != nil {
			return err
		}
		if !svc.CanPay(m.Mode) {
			fmt.Fprintf(stderr, "omnicart: warning: %s payments cannot be taken by this server yet: no %s payment provider is configured. "+
				"Merchant %s is created, but its /init is refused (131000 Not allowed to pass this method) until one is; "+
				"use --mode test to take test payments with the sandbox issuer.\n", m.Mode, m.Mode, m.ID)
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]string{"merchantId": m.ID, "apiKey": key})
		}
		fmt.Fprintf(stdout, "merchant %s (%s, %s mode)\nAPI key (shown once): %s\n", m.ID, m.Name, m.Mode, key)
		return nil
	case "key create":
		key, err := svc.CreateKey(ctx, *merchant, splitList(*methods))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		return nil
	case "key revoke":
		if err := svc.RevokeKey(ctx, *merchant, pos[0]); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "revoked")
		return nil
	case "items add":
		var cat []omnicart.CatalogItem
		for _, id := range splitList(pos[0]) {
			cat = append(cat, omnicart.CatalogItem{ItemID: id, DisplayName: id})
		}
		if err := svc.AddItems(ctx, *merchant, cat); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %d items\n", len(cat))
		return nil
	case "items import":
		cat, err := readCatalogCSV(*csvPath)
		if err != nil {
			return err
		}
		if err := svc.AddItems(ctx, *merchant, cat); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "imported %d items\n", len(cat))
		return nil
	}
	return nil
}

// readCatalogCSV reads itemId,displayName rows; a header row naming those
// columns is skipped.
func readCatalogCSV(path string) ([]omnicart.CatalogItem, error) {
	if path == "" {
		return nil, usageError{"--csv is required"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var out []omnicart.CatalogItem
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if line == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "itemId") {
			continue
		}
		if len(rec) < 1 || len(rec) > 2 {
			return nil, fmt.Errorf("%s line %d: want itemId,displayName", path, line)
		}
		it := omnicart.CatalogItem{ItemID: strings.TrimSpace(rec[0])}
		it.DisplayName = it.ItemID
		if len(rec) == 2 && strings.TrimSpace(rec[1]) != "" {
			it.DisplayName = strings.TrimSpace(rec[1])
		}
		out = append(out, it)
	}
	return out, nil
}

// applyPrivilegeFlags withholds the named privileges and sets the capture
// window range.
func applyPrivilegeFlags(p *omnicart.Privileges, deny, window string) error {
	for _, d := range splitList(deny) {
		switch d {
		case "timers":
			p.Timers = false
		case "amount-settings":
			p.AmountSettings = false
		case "one-step":
			p.OneStep = false
		case "auto-complete":
			p.AutoComplete = false
		case "cart-expiry":
			p.CartExpiry = false
		default:
			return usageError{fmt.Sprintf("--deny: unknown privilege %q", d)}
		}
	}
	minS, maxS, err := parseWindow(window)
	if err != nil {
		return err
	}
	p.CaptureMinSecs, p.CaptureMaxSecs = minS, maxS
	return nil
}
