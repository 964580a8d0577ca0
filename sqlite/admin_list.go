package sqlite

import (
	"context"
	"encoding/json"

	"github.com/omnicart/omnicart"
)

// The operator's merchant settings and catalog maintenance (omnicart
// merchant update, items list, items remove).

func (t *txn) UpdateMerchant(ctx context.Context, m *omnicart.Merchant) error {
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE merchants SET name = ?, doc = ? WHERE id = ?`, m.Name, string(doc), m.ID)
	if err != nil {
		return wrap("update merchant", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap("update merchant", err)
	} else if n == 0 {
		return omnicart.ErrNotFound
	}
	return nil
}

func (t *txn) ListCatalogItems(ctx context.Context, merchantID string) ([]omnicart.CatalogItem, error) {
	rows, err := t.query(ctx, `SELECT item_id, display_name FROM catalog_items WHERE merchant_id = ? ORDER BY item_id`, merchantID)
	if err != nil {
		return nil, wrap("list catalog items", err)
	}
	defer rows.Close()
	var out []omnicart.CatalogItem
	for rows.Next() {
		var it omnicart.CatalogItem
		if err := rows.Scan(&it.ItemID, &it.DisplayName); err != nil {
			return nil, wrap("list catalog items", err)
		}
		out = append(out, it)
	}
	return out, wrap("list catalog items", rows.Err())
}

func (t *txn) RemoveCatalogItem(ctx context.Context, merchantID, itemID string) error {
	res, err := t.exec(ctx, `DELETE FROM catalog_items WHERE merchant_id = ? AND item_id = ?`, merchantID, itemID)
	if err != nil {
		return wrap("remove catalog item", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap("remove catalog item", err)
	} else if n == 0 {
		return omnicart.ErrNotFound
	}
	return nil
}
