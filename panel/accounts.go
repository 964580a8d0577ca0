package panel

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/omnicart/omnicart"
)

// Accounts manages Panel users (the CLI's `omnicart user ...`).
type Accounts struct {
	Store omnicart.PanelStore
	Now   func() time.Time
	// Cost is the bcrypt cost (bcrypt.DefaultCost when 0).
	Cost int
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 12

// NormalizeEmail lower-cases and checks an email address.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e {
		return "", fmt.Errorf("email %q is not a valid address", email)
	}
	return e, nil
}

// NewPassword returns a random password (128 bits) for a new user.
func NewPassword() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Create adds a user to a merchant with password (NewPassword when empty)
// and returns the user and the password. Errors: an invalid email, role or
// password; omnicart.ErrConflict when the email is taken,
// omnicart.ErrNotFound when the merchant does not exist.
func (a *Accounts) Create(ctx context.Context, merchantID, email string, role omnicart.Role, password string) (*omnicart.User, string, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, "", err
	}
	if !role.Valid() {
		return nil, "", fmt.Errorf("role %q: want owner, operator or viewer", role)
	}
	if password == "" {
		password = NewPassword()
	} else if len(password) < MinPasswordLen {
		return nil, "", fmt.Errorf("the password must have at least %d characters", MinPasswordLen)
	} else if len(password) > 72 {
		return nil, "", errors.New("the password must have at most 72 bytes")
	}
	cost := a.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return nil, "", err
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, "", err
	}
	u := &omnicart.User{ID: "usr_" + hex.EncodeToString(id), MerchantID: merchantID, Email: email, Role: role,
		PasswordHash: string(hash), CreatedAt: a.Now().UTC()}
	if err := a.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, omnicart.ErrConflict) {
			return nil, "", fmt.Errorf("a user with email %s exists: %w", email, err)
		}
		return nil, "", err
	}
	return u, password, nil
}

// List lists a merchant's users ("" for all).
func (a *Accounts) List(ctx context.Context, merchantID string) ([]*omnicart.User, error) {
	return a.Store.Users(ctx, merchantID)
}

// Remove deletes a merchant's user, by id or email, with its sessions.
func (a *Accounts) Remove(ctx context.Context, merchantID, idOrEmail string) error {
	id := idOrEmail
	if strings.Contains(idOrEmail, "@") {
		e, err := NormalizeEmail(idOrEmail)
		if err != nil {
			return err
		}
		u, err := a.Store.UserByEmail(ctx, e)
		if err != nil {
			return fmt.Errorf("no user %s: %w", idOrEmail, err)
		}
		id = u.ID
	}
	if err := a.Store.RemoveUser(ctx, merchantID, id); err != nil {
		return fmt.Errorf("no user %s of merchant %s: %w", idOrEmail, merchantID, err)
	}
	return nil
}

// checkPassword compares a password with a user's hash. With no user it
// compares against a fixed hash, so that an unknown email costs the same
// time as a wrong password.
func checkPassword(u *omnicart.User, password string) bool {
	hash := dummyHash
	if u != nil {
		hash = []byte(u.PasswordHash)
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	return ok && u != nil
}

// dummyHash is a bcrypt hash of a random password (cost 10).
var dummyHash = []byte("$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z1G6IHcgxzg0n5CdYpaVqcgO")
