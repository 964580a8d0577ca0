package postgres

import (
	"context"
	"encoding/json"

	"github.com/omnicart/omnicart"
)

// The operator's merchant settings and catalog maintenance (omnicart
// merchant update, items list, items remove).

func (t *txn) UpdateMerchant(ctx context.Context, m *omnicart.Merchant) error {
	if err := t.writable("update merchant"); err != nil {
		return err
	}
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	t.merchantLocked = nil
	tag, err := t.q.Exec(ctx, `UPDATE merchants SET name = $2, doc = $3 WHERE id = $1`, m.ID, m.Name, string(doc))
	if err != nil {
		return wrap("update merchant", err)
	}
	if tag.RowsAffected() == 0 {
		return omnicart.ErrNotFound
	}
	return nil
}

func (t *txn) ListCatalogItems(ctx context.Context, merchantID string) ([]omnicart.CatalogItem, error) {
	rows, err := t.q.Query(ctx, `SELECT item_id, display_name FROM catalog_items WHERE merchant_id = $1 ORDER BY item_id COLLATE "C"`, merchantID)
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
	if err := t.writable("remove catalog item"); err != nil {
		return err
	}
	tag, err := t.q.Exec(ctx, `DELETE FROM catalog_items WHERE merchant_id = $1 AND item_id = $2`, merchantID, itemID)
	if err != nil {
		return wrap("remove catalog item", err)
	}
	if tag.RowsAffected() == 0 {
		return omnicart.ErrNotFound
	}
	return nil
}
