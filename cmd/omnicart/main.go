package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/internal/syncio"
	"github.com/omnicart/omnicart/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "omnicart:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "omnicart:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errHelp is returned by parseFlags once it has printed a command's help
// (-h, --help); run answers it with success.
var errHelp = errors.New("help printed")

const usage = `usage:
  omnicart serve [--listen ADDR] [--database URL] [--public-url URL] [--demo] [--allow-private-callbacks] ...
  omnicart merchant create --name NAME [--items a,b] [--mode test|live] [--all-privileges] [--json] ...
  omnicart merchant list [--json]
  omnicart merchant update --merchant ID [--name NAME] [--privileges LIST] [--capture-window MIN-MAX] ... [--json]
  omnicart key create --merchant ID [--methods init,status,capture,cancel,modify,refund]
  omnicart key list --merchant ID [--json]
  omnicart key revoke --merchant ID KEYPREFIX
  omnicart items add --merchant ID a,b,c
  omnicart items import --merchant ID --csv FILE
  omnicart items list --merchant ID [--json]
  omnicart items remove --merchant ID --item ID [--force] [--json]
  omnicart user create|list|remove --merchant ID ... [--json]
  omnicart callbacks add|list|remove|rotate|enable|disable|deliveries|events|resend --merchant ID ...
  omnicart migrate [--database URL]
  omnicart version
Every command takes --help. Every command but serve and migrate works on an
existing database only (--database, env OMNICART_DATABASE, default
sqlite:./omnicart.db).`

// commandHelp is the synopsis and description of each command, printed
// by --help above its flags.
var commandHelp = map[string][2]string{
	"serve": {"omnicart serve [flags]",
		"Runs the payment gateway: the Merchant API, the payment page, timers, callbacks and payment links. Creates the database when it does not exist."},
	"migrate": {"omnicart migrate [--database URL]",
		"Creates the database when it does not exist, and brings its schema up to date (every command does that too; migrate is the one that may create)."},
	"merchant create": {"omnicart merchant create --name NAME [flags]",
		"Creates a merchant with its items catalog and a first API key (printed once). Test mode uses the sandbox issuer; this server has no live payment provider yet, so live merchants cannot take payments."},
	"merchant list": {"omnicart merchant list [--json]",
		"Lists every merchant with its mode, settings (capture window range, cart expiry, max declines, auto-action lead), privileges and creation time."},
	"merchant update": {"omnicart merchant update --merchant ID [--name NAME] [--privileges LIST|all|none] [--grant LIST] [--deny LIST] " +
		"[--capture-window MIN-MAX | --capture-window-min N --capture-window-max N] [--cart-expiry N] [--max-declines N] [--lead-time N] [--json]",
		"Changes a merchant's name, privileges and settings, checked with the rules of merchant create; give at least one. " +
			"Privileges: " + strings.Join(privilegeNames, ", ") + " (--privileges sets the whole list; --grant and --deny change some). " +
			"Servers running on the database use the new settings from their next request; carts already open keep the expiry and capture windows they were opened with. " +
			"Prints what changed (with --json, the merchant as merchant list shows it)."},
	"key create": {"omnicart key create --merchant ID [--methods init,status,capture,cancel,modify,refund]",
		"Adds an API key to a merchant (printed once), optionally limited to some methods."},
	"key revoke": {"omnicart key revoke --merchant ID KEYPREFIX",
		"Revokes the merchant's key that starts with KEYPREFIX (its first 16 characters, or any unambiguous prefix)."},
	"key list": {"omnicart key list --merchant ID [--json]",
		"Lists the merchant's API keys: prefix (the first 16 characters, what key revoke takes), status, allowed methods, creation and revocation. Keys themselves are never stored."},
	"items add": {"omnicart items add --merchant ID a,b,c",
		"Adds itemIds to a merchant's catalog (their display name is the itemId)."},
	"items import": {"omnicart items import --merchant ID --csv FILE",
		"Adds or renames catalog items from a CSV file with columns itemId,displayName (a header row is skipped)."},
	"items list": {"omnicart items list --merchant ID [--json]",
		"Lists the merchant's items catalog (itemId and display name), by itemId."},
	"items remove": {"omnicart items remove --merchant ID --item ID [--force] [--json]",
		"Removes an item from the merchant's catalog: a new /init naming it is refused (124103), as for any itemId not in the catalog. " +
			"Carts that already hold it keep it (amounts, statuses, timers, capture windows) and every action on them works. " +
			"While a cart awaiting payment holds the item the removal is refused, since that cart's payment page shows the item's display name; " +
			"--force removes it anyway (that page then shows the itemId). The item can be added again with items add."},
	"user create": {"omnicart user create --merchant ID --email E --role owner|operator|viewer [--password-stdin] [--json]",
		"Adds a Merchant Panel user to a merchant. Without --password-stdin a random password is made and printed once; with it, the password (12 to 72 bytes) is the first line of standard input."},
	"user list":   {"omnicart user list [--merchant ID] [--json]", "Lists the Merchant Panel users (of one merchant, or of all)."},
	"user remove": {"omnicart user remove --merchant ID --email E|USERID [--json]", "Removes a Merchant Panel user of the merchant (by --email, or by its USERID or email as the argument) and ends its sessions."},
	"version": {"omnicart version",
		"Prints the version of this binary (from its build information; \"dev\" when unknown)."},
}

// nounUsage lists the verbs of merchant, key and items.
var nounUsage = map[string]string{
	"merchant": "usage:\n  omnicart merchant create --name NAME [flags]\n  omnicart merchant list [--json]\n  omnicart merchant update --merchant ID [flags]\nRun 'omnicart merchant create --help' (or list, update) for flags.",
	"key":      "usage:\n  omnicart key create --merchant ID [--methods ...]\n  omnicart key list --merchant ID [--json]\n  omnicart key revoke --merchant ID KEYPREFIX\nRun 'omnicart key create --help' (or list, revoke) for flags.",
	"items":    "usage:\n  omnicart items add --merchant ID a,b,c\n  omnicart items import --merchant ID --csv FILE\n  omnicart items list --merchant ID [--json]\n  omnicart items remove --merchant ID --item ID [--force] [--json]\nRun 'omnicart items add --help' (or import, list, remove) for flags.",
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

// run executes one command line. It is main without the process: tests call
// it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	err := dispatch(ctx, args, stdout, stderr, getenv)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{usage}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, getenv)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr, getenv)
	case "version", "--version", "-version":
		if args[0] == "version" {
			fs := flag.NewFlagSet("version", flag.ContinueOnError)
			if _, err := parseFlags(fs, "version", args[1:], stdout); err != nil {
				return err
			}
		}
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "callbacks":
		return runCallbacks(ctx, args[1:], stdout, stderr, getenv)
	case "user":
		return runUser(ctx, args[1:], os.Stdin, stdout, stderr, getenv)
	case "merchant", "key", "items":
		if len(args) < 2 {
			return usageError{nounUsage[args[0]]}
		}
		if isHelp(args[1]) {
			fmt.Fprintln(stdout, nounUsage[args[0]])
			return errHelp
		}
		return runAdmin(ctx, args[0], args[1], args[2:], stdout, stderr, getenv)
	case "help", "-h", "--help", "-help":
		if args[0] == "help" && len(args) > 1 {
			// omnicart help merchant create = omnicart merchant create --help
			return dispatch(ctx, append(append([]string{}, args[1:]...), "--help"), stdout, stderr, getenv)
		}
		fmt.Fprintln(stdout, usage)
		return errHelp
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", args[0], usage)}
}

// newFlags returns a flag set with the --database flag every command takes.
func newFlags(name string, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("database", envOr(getenv, "OMNICART_DATABASE", "sqlite:./omnicart.db"), "database URL: sqlite:PATH or postgres://USER@HOST:PORT/DB (env OMNICART_DATABASE)")
	return fs, db
}

// parseFlags parses the arguments of command name; flags may come before
// and after positional arguments, which it returns. -h or --help prints
// the command's help (synopsis, description and flags) on stdout and
// returns errHelp; a bad flag is a usageError naming the synopsis.
func parseFlags(fs *flag.FlagSet, name string, args []string, stdout io.Writer) ([]string, error) {
	fs.SetOutput(io.Discard) // errors are returned, help goes to stdout
	fs.Usage = func() {}
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, fs, name)
			return nil, errHelp
		}
		if err != nil {
			return nil, usageError{fmt.Sprintf("%v\nusage: %s\nRun 'omnicart %s --help' for its flags.", err, synopsis(name), name)}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// helpFor returns the synopsis and description of command name.
func helpFor(name string) [2]string {
	if h, ok := commandHelp[name]; ok {
		return h
	}
	if verb, ok := strings.CutPrefix(name, "callbacks "); ok {
		if h, ok := callbacksHelp(verb); ok {
			return h
		}
	}
	return [2]string{"omnicart " + name, ""}
}

func synopsis(name string) string { return helpFor(name)[0] }

// printHelp prints the help of command name: synopsis, description and
// flags.
func printHelp(w io.Writer, fs *flag.FlagSet, name string) {
	h := helpFor(name)
	fmt.Fprintf(w, "usage: %s\n", synopsis(name))
	if h[1] != "" {
		fmt.Fprintf(w, "\n%s\n", h[1])
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// runMigrate runs `omnicart migrate`: it creates the database when it does
// not exist and brings its schema up to date.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, db := newFlags("migrate", stderr, getenv)
	pos, err := parseFlags(fs, "migrate", args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{"migrate takes no arguments\nusage: " + synopsis("migrate")}
	}
	// A PostgreSQL database is the operator's: it exists (opening it
	// fails otherwise), and migrate brings its schema up to date.
	existed := true
	if !isPostgresURL(*db) {
		var err error
		if existed, err = databaseExists(*db); err != nil {
			return fmt.Errorf("cannot create the database: %w", err)
		}
	}
	a, err := openApp(ctx, *db, stderr, openOrCreate)
	if err != nil {
		return err
	}
	defer a.Close()
	if !existed {
		fmt.Fprintf(stdout, "created database %s\n", *db)
		return nil
	}
	fmt.Fprintln(stdout, "database is up to date")
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// app is the wired application: storage, sandbox issuer and use cases.
type app struct {
	db      *engine
	service *gateway.Service
	log     *slog.Logger
	// logOut is the writer under log's handler, safe for concurrent use:
	// the HTTP server writes its access log entries to it directly,
	// through Delayed.
	logOut *syncio.Gatherer
	// clock is the one clock of the process: the service, its scheduler
	// and recovery loops, and the dispatchers read it and wait on it.
	clock omnicart.Clock
	// dbURL is the database as the operator named it, for messages.
	dbURL string
}

// Close writes the access log entries still gathered (and any entry
// gathered later at once) and closes the database.
func (a *app) Close() error {
	_ = a.logOut.Close()
	return a.db.close()
}

// openApp opens the database named by dbURL (creating it only with
// openOrCreate) and wires the service.
func openApp(ctx context.Context, dbURL string, logOut io.Writer, mode openMode) (*app, error) {
	db, err := openEngine(ctx, dbURL, mode)
	if err != nil {
		return nil, err
	}
	pepper, err := db.secret(ctx, "api_key_pepper")
	if err != nil {
		db.close()
		return nil, err
	}
	fpKey, err := db.secret(ctx, "card_fingerprint_key")
	if err != nil {
		db.close()
		return nil, err
	}
	// The log's handler and the HTTP server's access log write lines to
	// logOut from many goroutines. Access log entries are written
	// together, at most 2 ms late (one system call for tens of requests
	// under load); the handler's lines are written at once, after the
	// entries gathered before them.
	out := syncio.NewGatherer(logOut, 2*time.Millisecond, 64<<10)
	log := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if db.setLog != nil {
		db.setLog(log)
	}
	issuer := sandbox.New(db.ledger, fpKey)
	clk := clock.Real{}
	svc := &gateway.Service{
		Store: db.store,
		// Test mode pays through the sandbox issuer. No live provider
		// (acquirer) exists yet: live merchants get ErrNoProvider, so
		// their /init is refused (131000) and their payment page says
		// payments are not available.
		Provider: func(m *omnicart.Merchant) (omnicart.Provider, error) {
			if m.Mode == omnicart.ModeTest {
				return issuer, nil
			}
			return nil, gateway.ErrNoProvider
		},
		Now:       clk.Now,
		Clock:     clk,
		KeyPepper: pepper,
		Log:       log,
	}
	return &app{db: db, service: svc, log: log, logOut: out, clock: clk, dbURL: dbURL}, nil
}

// requireMerchant fails with a message naming the database when no
// merchant has the given id, so that a mistyped --merchant (or the wrong
// --database) is an error rather than an empty answer.
func (a *app) requireMerchant(ctx context.Context, id string) error {
	_, err := a.service.Merchant(ctx, id)
	if errors.Is(err, omnicart.ErrNotFound) {
		return fmt.Errorf("merchant %q does not exist in database %s (check --merchant and --database)", id, a.dbURL)
	}
	return err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
