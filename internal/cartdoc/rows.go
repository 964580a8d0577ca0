package cartdoc

import (
	"fmt"

	"github.com/omnicart/omnicart"
)

// Rows are the rows of a query reading (pk, doc) of carts: database/sql's
// and pgx's both are.
type Rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}

// ScanListed decodes rows of (pk, doc), each pk the listed cart's cursor.
// The caller closes rows and names the query in the error.
func ScanListed(rows Rows) ([]omnicart.ListedCart, error) {
	var out []omnicart.ListedCart
	for rows.Next() {
		var pk int64
		var doc []byte
		if err := rows.Scan(&pk, &doc); err != nil {
			return nil, err
		}
		var c omnicart.Cart
		if err := Decode(doc, &c); err != nil {
			return nil, fmt.Errorf("decode cart %d: %w", pk, err)
		}
		out = append(out, omnicart.ListedCart{Cursor: pk, Cart: &c})
	}
	return out, rows.Err()
}

// ScanCarts is ScanListed without the cursors.
func ScanCarts(rows Rows) ([]*omnicart.Cart, error) {
	listed, err := ScanListed(rows)
	if err != nil {
		return nil, err
	}
	out := make([]*omnicart.Cart, len(listed))
	for i, lc := range listed {
		out[i] = lc.Cart
	}
	return out, nil
}
