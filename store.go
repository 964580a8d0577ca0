package omnicart

import (
	"context"
	"time"
)

// Store is the storage of OmniCart. Both engines (SQLite, PostgreSQL)
// implement it and pass the same conformance suite.
type Store interface {
	// Tx runs fn in one transaction that may write. The transaction is
	// committed when fn returns nil and rolled back otherwise. Transactions
	// are serializable with respect to carts: a cart loaded with LockCart
	// cannot change until the transaction ends.
	Tx(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction: its reads see one
	// consistent snapshot.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Read runs fn with reads that each see committed state, without a
	// transaction around them (two reads may see different moments). It is
	// for hot paths whose reads need no common snapshot; fn must not write.
	Read(ctx context.Context, fn func(tx Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// CartKey names a cart.
type CartKey struct {
	MerchantID string
	CartID     string
}

// Tx is a storage transaction.
type Tx interface {
	// CreateMerchant stores a new merchant.
	CreateMerchant(ctx context.Context, m *Merchant) error
	// Merchant returns a merchant or ErrNotFound.
	Merchant(ctx context.Context, id string) (*Merchant, error)
	// Merchants lists every merchant.
	Merchants(ctx context.Context) ([]*Merchant, error)
	// UpdateMerchant saves a merchant's name and document (its settings);
	// its test clock is kept. It returns ErrNotFound when there is none.
	UpdateMerchant(ctx context.Context, m *Merchant) error

	// CreateAPIKey stores a key (its hash only).
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash returns the unrevoked key with this hash, or ErrNotFound.
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// RevokeAPIKey revokes the merchant's key whose prefix starts with
	// prefix. It returns ErrNotFound when no key matches and ErrConflict when
	// more than one does.
	RevokeAPIKey(ctx context.Context, merchantID, prefix string, at time.Time) error
	// APIKeys lists a merchant's keys.
	APIKeys(ctx context.Context, merchantID string) ([]*APIKey, error)
	// TouchAPIKey records that the key with this hash authenticated a
	// request at at (its LastUsedAt), unless a later time is recorded. An
	// unknown hash is not an error.
	TouchAPIKey(ctx context.Context, hash []byte, at time.Time) error

	// PutCatalogItems adds or renames catalog items.
	PutCatalogItems(ctx context.Context, merchantID string, items []CatalogItem) error
	// CatalogItems returns the catalog entries among ids, in any order.
	CatalogItems(ctx context.Context, merchantID string, ids []string) ([]CatalogItem, error)
	// ListCatalogItems lists a merchant's whole catalog, by itemId.
	ListCatalogItems(ctx context.Context, merchantID string) ([]CatalogItem, error)
	// RemoveCatalogItem deletes an item from a merchant's catalog (carts
	// that hold the item keep it), or returns ErrNotFound.
	RemoveCatalogItem(ctx context.Context, merchantID, itemID string) error

	// CartExists reports whether the merchant has a cart with this id.
	CartExists(ctx context.Context, merchantID, cartID string) (bool, error)
	// CreateCart stores a new cart with its payment token hash and events
	// (each with its Actor), and its next deadline due (real time: the merchant's deadline minus
	// its test-clock offset; zero for none). It returns ErrConflict when
	// the cartId exists.
	CreateCart(ctx context.Context, c *Cart, payTokenHash []byte, due time.Time) error
	// LockCart loads a cart for update, or returns ErrNotFound.
	LockCart(ctx context.Context, merchantID, cartID string) (*Cart, error)
	// ClaimCart locks a cart for update unless another transaction holds
	// it: then, or when there is no such cart, it returns ErrNotFound (the
	// scheduler's claim: nodes skip carts another node is firing).
	ClaimCart(ctx context.Context, merchantID, cartID string) (*Cart, error)
	// LockCartByToken loads, for update, the cart whose payment token has
	// this hash, or returns ErrNotFound.
	LockCartByToken(ctx context.Context, tokenHash []byte) (*Cart, error)
	// Cart loads a cart without locking it, or returns ErrNotFound.
	Cart(ctx context.Context, merchantID, cartID string) (*Cart, error)
	// SaveCart saves a changed cart, the events it produced (each with its
	// Actor) and its next deadline (real time, as CreateCart; zero for
	// none).
	SaveCart(ctx context.Context, c *Cart, due time.Time) error
	// EventActors returns the actors recorded with the merchant's cart's
	// events whose sequence is from..to (inclusive), by sequence; events
	// with none recorded are left out. An unknown cart has none.
	EventActors(ctx context.Context, merchantID, cartID string, from, to int64) (map[int64]Actor, error)
	// DueCarts lists carts whose next deadline is at or before now (real
	// time), earliest first, optionally of one merchant only. Engines with
	// row locks lock and skip-lock them so that nodes share the work.
	DueCarts(ctx context.Context, now time.Time, merchantID string, limit int) ([]CartKey, error)
	// AdvanceClock moves a merchant's test clock forward by d, shifting the
	// real-time due moments of its carts accordingly.
	AdvanceClock(ctx context.Context, merchantID string, d time.Duration) error
	// ActiveTimer finds a cart of the merchant, other than exceptCartID,
	// where customerID has an active timer on itemID at now. ok is false
	// when there is none.
	ActiveTimer(ctx context.Context, merchantID, customerID, itemID string, now time.Time, exceptCartID string) (cartID string, ok bool, err error)

	// CreateOperations records money operations before the provider is
	// called.
	CreateOperations(ctx context.Context, ops []Operation, at time.Time) error
	// FinishOperation marks an operation settled with its outcome.
	FinishOperation(ctx context.Context, opID string, outcome string, at time.Time) error
	// IdempotencyRecord returns the record of a merchant's key, or
	// ErrNotFound.
	IdempotencyRecord(ctx context.Context, merchantID, key string) (IdempotentRecord, error)
	// PutIdempotencyRecord stores the record of a merchant's key. A record
	// already stored under the key is replaced only when it was created
	// before replaceBefore (it expired); otherwise PutIdempotencyRecord
	// returns ErrConflict and changes nothing.
	PutIdempotencyRecord(ctx context.Context, merchantID, key string, rec IdempotentRecord, replaceBefore time.Time) error
	// PruneIdempotencyRecords deletes up to limit records created before
	// `before` and returns how many it deleted.
	PruneIdempotencyRecords(ctx context.Context, before time.Time, limit int) (int, error)

	// UnfinishedOperations lists operations created before `before` that
	// were never settled (a crash between the provider call and the save).
	UnfinishedOperations(ctx context.Context, before time.Time, limit int) ([]Operation, error)
	// ClaimUnfinishedOperations is recovery's claim, in a write
	// transaction: up to limit operations created before `before`, never
	// settled, and not leased by anyone at now (no lease, or one that
	// ended at or before now), oldest first (by creation, then id); each
	// is leased until leaseUntil, so that other nodes skip it until then.
	// Engines with row locks skip rows another transaction holds (FOR
	// UPDATE SKIP LOCKED): two nodes claiming at once get different
	// operations. A node that dies leaves its claims to run out. Settling
	// (FinishOperation) takes an operation off the list for good; an
	// operation whose retry failed again comes back when its lease ends.
	ClaimUnfinishedOperations(ctx context.Context, now, before, leaseUntil time.Time, limit int) ([]Operation, error)

	// EnqueueNotification stores a payment-link message to be sent, due at
	// once, and sets n.ID.
	EnqueueNotification(ctx context.Context, n *Notification) error
	// Notifications lists the messages q selects, newest first.
	Notifications(ctx context.Context, q NotificationQuery) ([]Notification, error)

	// Ledger is the sandbox issuer's ledger inside this transaction: what
	// it posts commits or rolls back with the transaction.
	Ledger() Ledger

	// Savepoint runs fn inside a savepoint of the transaction: when fn
	// returns an error, what it wrote is rolled back and the transaction
	// goes on; the error is returned.
	Savepoint(ctx context.Context, fn func() error) error
}
