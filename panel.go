package omnicart

import (
	"context"
	"time"
)

// Role is what a Merchant Panel user may do.
type Role string

// Panel roles.
const (
	// RoleOwner may do everything, and read the audit log.
	RoleOwner Role = "owner"
	// RoleOperator works with carts and API keys.
	RoleOperator Role = "operator"
	// RoleViewer reads only.
	RoleViewer Role = "viewer"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleOperator || r == RoleViewer }

// CanAct reports whether r may change carts and API keys.
func (r Role) CanAct() bool { return r == RoleOwner || r == RoleOperator }

// CanAudit reports whether r may read the audit log.
func (r Role) CanAudit() bool { return r == RoleOwner }

// Sign-in rules of the Panel.
const (
	// MaxFailedSignIns failed sign-ins within LockoutWindow lock an
	// account until the oldest of them is LockoutWindow old.
	MaxFailedSignIns = 10
	LockoutWindow    = 15 * time.Minute
	// SessionIdleTimeout ends a session not used for this long.
	SessionIdleTimeout = 30 * time.Minute
	// SessionMaxAge ends every session this long after sign-in.
	SessionMaxAge = 12 * time.Hour
)

// User is a person who signs in to the Merchant Panel for one merchant.
// Emails are unique across merchants (a sign-in names no merchant).
type User struct {
	ID           string    `json:"userId"`
	MerchantID   string    `json:"merchantId"`
	Email        string    `json:"email"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Session is a signed-in browser. Only a hash of its cookie is stored.
type Session struct {
	Hash       []byte
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	RemoteAddr string
}

// Expired reports whether the session ended by now (idle too long or too
// old).
func (s *Session) Expired(now time.Time) bool {
	return now.Sub(s.LastSeenAt) >= SessionIdleTimeout || now.Sub(s.CreatedAt) >= SessionMaxAge
}

// AuditEntry is one line of a merchant's audit log: who did what, when, and
// from where.
type AuditEntry struct {
	ID         int64     `json:"id"`
	MerchantID string    `json:"merchantId"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Target     string    `json:"target,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	RemoteAddr string    `json:"remoteAddr,omitempty"`
	At         time.Time `json:"at"`
}

// CartQuery selects a merchant's carts, newest first, one page at a time
// (keyset pagination: After is the Cursor of the last cart of the previous
// page, 0 for the first page).
type CartQuery struct {
	MerchantID string
	// CartID and CustomerID, when set, match exactly.
	CartID     string
	CustomerID string
	// Status keeps carts with at least one item in this stored status.
	Status   Status
	Currency string
	// CreatedFrom and CreatedTo, when set, bound the cart's creation
	// (real time, from inclusive, to exclusive).
	CreatedFrom, CreatedTo time.Time
	After                  int64
	Limit                  int
}

// ListedCart is a cart of a listing with its cursor.
type ListedCart struct {
	Cursor int64
	Cart   *Cart
}

// PanelStore keeps the Merchant Panel's users, sessions, failed sign-ins
// and audit log, and lists carts. Storage engines implement it
// (sqlite.Panel, postgres.Panel) and pass storetest.RunPanel. The rules
// (lockout, idle timeout, roles) live in package panel; missing records
// are errors wrapping ErrNotFound.
type PanelStore interface {
	// CreateUser stores a user. It returns ErrConflict when the email is
	// taken and ErrNotFound when the merchant does not exist.
	CreateUser(ctx context.Context, u *User) error
	// User returns a user by id.
	User(ctx context.Context, id string) (*User, error)
	// UserByEmail returns a user by email (exact, as stored: lower case).
	UserByEmail(ctx context.Context, email string) (*User, error)
	// Users lists a merchant's users ("" for every merchant), oldest first.
	Users(ctx context.Context, merchantID string) ([]*User, error)
	// RemoveUser deletes a user of a merchant and its sessions.
	RemoveUser(ctx context.Context, merchantID, id string) error

	// AddFailedSignIn records a failed sign-in for an email.
	AddFailedSignIn(ctx context.Context, email, remoteAddr string, at time.Time) error
	// FailedSignIns counts an email's failed sign-ins at or after since and
	// returns the earliest of them.
	FailedSignIns(ctx context.Context, email string, since time.Time) (n int, first time.Time, err error)
	// ClearFailedSignIns forgets an email's failed sign-ins.
	ClearFailedSignIns(ctx context.Context, email string) error

	// CreateSession stores a session.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session with this hash.
	Session(ctx context.Context, hash []byte) (*Session, error)
	// TouchSession records that a session was used at `at`.
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	// DeleteSession ends a session (no error when there is none).
	DeleteSession(ctx context.Context, hash []byte) error

	// AppendAudit adds an entry to a merchant's audit log and sets e.ID.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// Audit lists a merchant's audit log, newest first, entries with id
	// below before (0: from the newest), up to limit.
	Audit(ctx context.Context, merchantID string, before int64, limit int) ([]AuditEntry, error)

	// ListCarts lists the carts q selects, newest first, up to q.Limit.
	ListCarts(ctx context.Context, q CartQuery) ([]ListedCart, error)

	// MoneyDays returns the money a merchant moved on each day from `from`
	// to `to` (both included, UTC days of merchant time), one entry per day
	// and currency that saw money move, by day then currency. It adds up
	// the operations that settled as succeeded (FinishOperation), in the
	// transaction that settled them.
	MoneyDays(ctx context.Context, merchantID string, from, to time.Time) ([]MoneyDay, error)
	// CartStatusCounts counts a merchant's carts by item status: a cart is
	// counted once under each stored status its items have.
	CartStatusCounts(ctx context.Context, merchantID string) (map[Status]int, error)
	// CartsDue returns up to limit of a merchant's carts whose next
	// deadline (real time, as stored by CreateCart and SaveCart) is at or
	// before until, soonest first.
	CartsDue(ctx context.Context, merchantID string, until time.Time, limit int) ([]*Cart, error)
}

// MoneyDay is the money a merchant moved in one currency on one day: the
// sums of the amounts of the operations that succeeded that day, by kind
// (minor units).
type MoneyDay struct {
	// Day is the day's midnight, UTC.
	Day        time.Time
	Currency   string
	Authorized int64
	Captured   int64
	// Released is what was canceled: holds given back, whole or in part.
	Released int64
	Refunded int64
}

// DayNumber is the number of days from 1970-01-01 to t's UTC day, the
// day key of MoneyDays.
func DayNumber(t time.Time) int64 {
	ms := t.UnixMilli()
	n := ms / msPerDay
	if ms%msPerDay < 0 {
		n-- // before 1970: floor, not truncation
	}
	return n
}

// DayOf is the midnight (UTC) of the day DayNumber numbers n.
func DayOf(n int64) time.Time { return time.UnixMilli(n * msPerDay).UTC() }

const msPerDay = 24 * 60 * 60 * 1000
