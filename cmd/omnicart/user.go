package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/panel"
	"github.com/omnicart/omnicart/webhook"
)

const userUsage = "usage:\n  omnicart user create --merchant ID --email E --role owner|operator|viewer [--password-stdin] [--json]\n  omnicart user list [--merchant ID] [--json]\n  omnicart user remove --merchant ID --email E|USERID [--json]\nRun 'omnicart user create --help' (or list, remove) for flags."

// accounts returns the Panel's user management on the app's database.
func (a *app) accounts() (*panel.Accounts, error) {
	if a.db.panel == nil {
		return nil, errors.New("this database engine has no Panel store")
	}
	return &panel.Accounts{Store: a.db.panel, Now: a.service.Now}, nil
}

func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{userUsage}
	}
	if isHelp(args[0]) {
		fmt.Fprintln(stdout, userUsage)
		return errHelp
	}
	verb := args[0]
	cmd := "user " + verb
	fs, dbURL := newFlags(cmd, stderr, getenv)
	merchant := fs.String("merchant", "", "merchant id")
	asJSON := fs.Bool("json", false, "print JSON")
	var email, role *string
	var fromStdin *bool
	switch verb {
	case "create":
		email = fs.String("email", "", "the user's email (required; unique across merchants)")
		role = fs.String("role", "", "owner, operator or viewer (required)")
		fromStdin = fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	case "remove":
		email = fs.String("email", "", "the email of the user to remove (or give its USERID or email as the argument)")
	case "list":
	default:
		return usageError{fmt.Sprintf("unknown command %q\n%s", cmd, userUsage)}
	}
	pos, err := parseFlags(fs, cmd, args[1:], stdout)
	if err != nil {
		return err
	}
	switch {
	case verb != "list" && *merchant == "":
		return usageError{"--merchant is required\nusage: " + synopsis(cmd)}
	case verb == "remove" && len(pos)+btoi(*email != "") != 1:
		return usageError{"user remove takes one user: --email E, or its USERID or email as the argument\nusage: " + synopsis(cmd)}
	case verb == "remove" && *email != "":
		if !strings.Contains(*email, "@") {
			return usageError{fmt.Sprintf("--email %q is not an email address (give a USERID as the argument)", *email)}
		}
		pos = []string{*email}
	case verb != "remove" && len(pos) != 0:
		return usageError{cmd + " takes no arguments\nusage: " + synopsis(cmd)}
	case verb == "create" && (*email == "" || *role == ""):
		return usageError{"--email and --role are required\nusage: " + synopsis(cmd)}
	}
	var password string
	if verb == "create" && *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if password = strings.TrimRight(line, "\r\n"); password == "" {
			return usageError{"--password-stdin: standard input has no password"}
		}
	}
	a, err := openApp(ctx, *dbURL, io.Discard, openExisting)
	if err != nil {
		return err
	}
	defer a.Close()
	if *merchant != "" {
		if err := a.requireMerchant(ctx, *merchant); err != nil {
			return err
		}
	}
	acc, err := a.accounts()
	if err != nil {
		return err
	}
	switch verb {
	case "create":
		u, pw, err := acc.Create(ctx, *merchant, *email, omnicart.Role(*role), password)
		if err != nil {
			return err
		}
		if *fromStdin {
			pw = ""
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(struct {
				*omnicart.User
				Password string `json:"password,omitempty"`
			}{u, pw})
		}
		fmt.Fprintf(stdout, "user %s (%s, %s of merchant %s)\n", u.ID, u.Email, u.Role, u.MerchantID)
		if pw != "" {
			fmt.Fprintf(stdout, "password (shown once): %s\n", pw)
		}
		return nil
	case "list":
		us, err := acc.List(ctx, *merchant)
		if err != nil {
			return err
		}
		if *asJSON {
			if us == nil {
				us = []*omnicart.User{}
			}
			return json.NewEncoder(stdout).Encode(us)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tMERCHANT\tEMAIL\tROLE\tCREATED")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.MerchantID, u.Email, u.Role, u.CreatedAt.Format("2006-01-02T15:04:05Z"))
		}
		return tw.Flush()
	case "remove":
		// The user as it was, for the answer (Remove finds it again, and
		// refuses a user of another merchant).
		var gone *omnicart.User
		if us, err := acc.List(ctx, *merchant); err == nil {
			e, _ := panel.NormalizeEmail(pos[0])
			for _, u := range us {
				if u.ID == pos[0] || (e != "" && u.Email == e) {
					gone = u
				}
			}
		}
		if err := acc.Remove(ctx, *merchant, pos[0]); err != nil {
			return err
		}
		if *asJSON {
			ans := map[string]string{"removed": pos[0], "merchantId": *merchant}
			if gone != nil {
				ans["userId"], ans["email"], ans["role"] = gone.ID, gone.Email, string(gone.Role)
			}
			return json.NewEncoder(stdout).Encode(ans)
		}
		if gone != nil {
			fmt.Fprintf(stdout, "removed user %s (%s, %s of merchant %s); its sessions are ended\n", gone.ID, gone.Email, gone.Role, *merchant)
			return nil
		}
		fmt.Fprintln(stdout, "removed")
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DemoOwnerEmail is the Panel user --demo creates.
const DemoOwnerEmail = "owner@demo.example"

// ensureDemoOwner creates the demo merchant's Panel owner if absent and
// returns its email and password. The password is derived from a server
// secret, so the same one is printed on every start without being stored.
func ensureDemoOwner(ctx context.Context, a *app) (email, password string, err error) {
	acc, err := a.accounts()
	if err != nil {
		return "", "", err
	}
	secret, err := a.db.secret(ctx, "demo_key_seed")
	if err != nil {
		return "", "", err
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("demo panel password"))
	password = base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:20]
	if _, err := a.db.panel.UserByEmail(ctx, DemoOwnerEmail); err == nil {
		return DemoOwnerEmail, password, nil
	} else if !errors.Is(err, omnicart.ErrNotFound) {
		return "", "", err
	}
	if _, _, err := acc.Create(ctx, DemoMerchantID, DemoOwnerEmail, omnicart.RoleOwner, password); err != nil && !errors.Is(err, omnicart.ErrConflict) {
		return "", "", fmt.Errorf("create demo Panel owner: %w", err)
	}
	return DemoOwnerEmail, password, nil
}

// panel returns the Merchant Panel handler, or nil when the engine has no
// Panel store.
func (a *app) panel(base string, callbacks *webhook.Manager) http.Handler {
	if a.db.panel == nil {
		return nil
	}
	acc, _ := a.accounts()
	return &panel.Handler{Service: a.service, Store: a.db.panel, Accounts: acc, Callbacks: callbacks, Log: a.log, PublicURL: base}
}
