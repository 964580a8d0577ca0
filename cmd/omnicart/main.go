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

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/gateway"
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

const usage = `usage:
  omnicart serve [--listen ADDR] [--database URL] [--public-url URL] [--demo] [--allow-private-callbacks]
  omnicart merchant create --name NAME [--items a,b] [--mode test|live] [--all-privileges] [--json]
  omnicart key create --merchant ID [--methods init,status,capture,cancel,modify,refund]
  omnicart key revoke --merchant ID KEYPREFIX
  omnicart items add --merchant ID a,b,c
  omnicart items import --merchant ID --csv FILE
  omnicart callbacks add|list|remove|rotate|enable|disable|deliveries|events|resend --merchant ID ...
  omnicart migrate`

// run executes one command line. It is main without the process: tests call
// it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{usage}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, getenv)
	case "migrate":
		fs, db := newFlags("migrate", stderr, getenv)
		if err := fs.Parse(args[1:]); err != nil {
			return usageError{err.Error()}
		}
		a, err := openApp(ctx, *db, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		fmt.Fprintln(stdout, "database is up to date")
		return nil
	case "callbacks":
		return runCallbacks(ctx, args[1:], stdout, stderr, getenv)
	case "merchant", "key", "items":
		if len(args) < 2 {
			return usageError{usage}
		}
		return runAdmin(ctx, args[0], args[1], args[2:], stdout, stderr, getenv)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", args[0], usage)}
}

// newFlags returns a flag set with the --database flag every command takes.
func newFlags(name string, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("database", envOr(getenv, "OMNICART_DATABASE", "sqlite:./omnicart.db"), "database URL: sqlite:PATH (env OMNICART_DATABASE)")
	return fs, db
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
	// clock is the one clock of the process: the service, its scheduler
	// and recovery loops, and the dispatchers read it and wait on it.
	clock omnicart.Clock
}

func (a *app) Close() error { return a.db.close() }

// openApp opens the database named by dbURL and wires the service.
func openApp(ctx context.Context, dbURL string, logOut io.Writer) (*app, error) {
	db, err := openEngine(ctx, dbURL)
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
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	issuer := sandbox.New(db.ledger, fpKey)
	clk := clock.Real{}
	svc := &gateway.Service{
		Store: db.store,
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
	return &app{db: db, service: svc, log: log, clock: clk}, nil
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
