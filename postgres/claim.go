package postgres

import (
	"context"
	"fmt"

	"github.com/omnicart/omnicart"
)

// claimCartByID locks a cart unless another transaction holds it. Like
// lockCartByID it takes the merchant row FOR SHARE first, but SKIP LOCKED
// too: a cart whose merchant is being advanced (AdvanceClock holds the
// row, then waits for the merchant's carts) is skipped rather than
// claimed, or the claim, waiting for the merchant in the Merchant call
// that follows, and the advance, waiting for the cart, would deadlock. The
// advance fires that merchant's carts itself.
const claimCartByID = `WITH m AS (SELECT id FROM merchants WHERE id = $1 FOR SHARE SKIP LOCKED)
	SELECT doc FROM carts WHERE merchant_id = (SELECT id FROM m) AND cart_id = $2 FOR UPDATE SKIP LOCKED`

// ClaimCart locks a cart for update, skipping it (omnicart.ErrNotFound)
// when another transaction holds it: nodes firing deadlines at once each
// take different carts.
func (t *txn) ClaimCart(ctx context.Context, merchantID, cartID string) (*omnicart.Cart, error) {
	if !t.write {
		return t.loadCart(ctx, false, cartByID, merchantID, cartID)
	}
	return t.loadCart(ctx, false, claimCartByID, merchantID, cartID)
}

// Savepoint runs fn inside a savepoint (see omnicart.Tx).
func (t *txn) Savepoint(ctx context.Context, fn func() error) error {
	if t.tx == nil || !t.write {
		return fn()
	}
	c := context.WithoutCancel(ctx)
	if _, err := t.tx.Exec(c, "SAVEPOINT part"); err != nil {
		return fmt.Errorf("postgres: savepoint: %w", err)
	}
	// The ledger's pending balance changes, and the writes not sent yet,
	// roll back with the savepoint.
	pending := t.deltas.snapshot()
	undo := func(err error) error {
		t.deltas.restore(pending)
		t.forgetStatuses() // their rows roll back too
		t.tx.drop()
		if _, rerr := t.tx.Exec(c, "ROLLBACK TO SAVEPOINT part"); rerr != nil {
			return fmt.Errorf("%w (rolling back to the savepoint: %v)", err, rerr)
		}
		if _, rerr := t.tx.Exec(c, "RELEASE SAVEPOINT part"); rerr != nil {
			return fmt.Errorf("%w (releasing the savepoint: %v)", err, rerr)
		}
		return err
	}
	if err := fn(); err != nil {
		return undo(err)
	}
	// The deferred writes of fn go with the RELEASE: one of them failing
	// fails fn's part only, as if fn had returned its error.
	if _, err := t.tx.Exec(c, "RELEASE SAVEPOINT part"); err != nil {
		return undo(fmt.Errorf("postgres: release savepoint: %w", err))
	}
	return nil
}
