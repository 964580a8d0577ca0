package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// testMerchantUpdate: UpdateMerchant saves a merchant's name and settings,
// keeps its test clock and its creation, is seen by every read, rolls back
// with its transaction, and refuses a merchant that does not exist.
func testMerchantUpdate(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	other := merchant(t, s, "m2")
	tx(t, s, func(tx omnicart.Tx) error { return tx.AdvanceClock(ctx, "m1", 90*time.Second) })

	want := *m
	want.Name = "Renamed Shop"
	want.CartExpirySecs, want.MaxDeclines, want.AutoActionLeadSecs = 900, 5, 120
	want.Privileges = omnicart.Privileges{CartExpiry: true, CaptureMinSecs: 60, CaptureMaxSecs: 3600}
	tx(t, s, func(tx omnicart.Tx) error { return tx.UpdateMerchant(ctx, &want) })
	want.ClockOffset = 90 * time.Second

	for name, run := range map[string]func(context.Context, func(omnicart.Tx) error) error{"View": s.View, "Read": s.Read, "Tx": s.Tx} {
		err := run(ctx, func(tx omnicart.Tx) error {
			got, err := tx.Merchant(ctx, "m1")
			if err != nil {
				return err
			}
			if !got.CreatedAt.Equal(want.CreatedAt) {
				t.Errorf("%s: createdAt %v, want %v", name, got.CreatedAt, want.CreatedAt)
			}
			got.CreatedAt = want.CreatedAt
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("%s: Merchant after update = %+v, want %+v", name, *got, want)
			}
			all, err := tx.Merchants(ctx)
			if err != nil {
				return err
			}
			if len(all) != 2 || all[0].ID != "m1" || all[0].Name != "Renamed Shop" || all[0].MaxDeclines != 5 || all[0].ClockOffset != 90*time.Second {
				t.Errorf("%s: Merchants after update = %+v", name, all)
			}
			if all[1].Name != other.Name || all[1].Privileges != other.Privileges {
				t.Errorf("%s: the other merchant changed: %+v", name, all[1])
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	// A rolled-back update leaves the merchant as it was.
	undone := want
	undone.Name = "Never Saved"
	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		if err := tx.UpdateMerchant(ctx, &undone); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("rolled-back update: %v", err)
	}
	view(t, s, func(tx omnicart.Tx) error {
		if got, err := tx.Merchant(ctx, "m1"); err != nil || got.Name != "Renamed Shop" {
			t.Errorf("after a rollback: %+v, %v", got, err)
		}
		return nil
	})

	// No such merchant: ErrNotFound, and nothing is created.
	ghost := want
	ghost.ID = "m-ghost"
	if err := s.Tx(ctx, func(tx omnicart.Tx) error { return tx.UpdateMerchant(ctx, &ghost) }); !errors.Is(err, omnicart.ErrNotFound) {
		t.Errorf("UpdateMerchant of an unknown merchant: %v, want ErrNotFound", err)
	}
	view(t, s, func(tx omnicart.Tx) error {
		if _, err := tx.Merchant(ctx, "m-ghost"); !errors.Is(err, omnicart.ErrNotFound) {
			t.Errorf("UpdateMerchant created a merchant: %v", err)
		}
		return nil
	})
}

// testCatalogAdmin: ListCatalogItems lists a merchant's whole catalog by
// itemId; RemoveCatalogItem deletes one item of one merchant (ErrNotFound
// when it has none), and a cart that holds the item keeps it.
func testCatalogAdmin(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m1 := merchant(t, s, "m1")
	merchant(t, s, "m2")
	list := func(merchantID string) []omnicart.CatalogItem {
		t.Helper()
		var got []omnicart.CatalogItem
		view(t, s, func(tx omnicart.Tx) error {
			var err error
			got, err = tx.ListCatalogItems(ctx, merchantID)
			return err
		})
		return got
	}
	if got := list("m1"); len(got) != 0 {
		t.Fatalf("empty catalog listed %+v", got)
	}
	tx(t, s, func(tx omnicart.Tx) error {
		if err := tx.PutCatalogItems(ctx, "m1", []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "Pegasus"},
			{ItemID: "naga", DisplayName: "Naga"}, {ItemID: "Zeta", DisplayName: "Zeta"}, {ItemID: "lich", DisplayName: "Lich"}}); err != nil {
			return err
		}
		return tx.PutCatalogItems(ctx, "m2", []omnicart.CatalogItem{{ItemID: "naga", DisplayName: "Other Naga"}})
	})
	// By itemId, byte order (upper case first), in every kind of read.
	want := []omnicart.CatalogItem{{ItemID: "Zeta", DisplayName: "Zeta"}, {ItemID: "lich", DisplayName: "Lich"},
		{ItemID: "naga", DisplayName: "Naga"}, {ItemID: "pegasus", DisplayName: "Pegasus"}}
	if got := list("m1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("ListCatalogItems = %+v, want %+v", got, want)
	}
	if err := s.Read(ctx, func(tx omnicart.Tx) error {
		got, err := tx.ListCatalogItems(ctx, "m1")
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("ListCatalogItems in a Read = %+v", got)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := list("m2"); len(got) != 1 || got[0].DisplayName != "Other Naga" {
		t.Fatalf("m2's catalog = %+v", got)
	}

	// A cart holding naga, then naga removed from m1's catalog.
	c := newCart(t, m1, "cart-00001", "cus-1", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok-admin-1"), time.Time{}) })
	tx(t, s, func(tx omnicart.Tx) error { return tx.RemoveCatalogItem(ctx, "m1", "naga") })
	if got := list("m1"); len(got) != 3 || got[0].ItemID != "Zeta" || got[1].ItemID != "lich" || got[2].ItemID != "pegasus" {
		t.Errorf("after removing naga: %+v", got)
	}
	view(t, s, func(tx omnicart.Tx) error {
		if got, err := tx.CatalogItems(ctx, "m1", []string{"naga", "pegasus"}); err != nil || len(got) != 1 || got[0].ItemID != "pegasus" {
			t.Errorf("CatalogItems after removing naga = %+v, %v", got, err)
		}
		got, err := tx.Cart(ctx, "m1", "cart-00001")
		if err != nil {
			return err
		}
		if len(got.Items) != 2 || got.Items[1].ID != "naga" || got.Items[1].Initiated != 1100 {
			t.Errorf("the cart lost its item with the catalog entry: %+v", got.Items)
		}
		return nil
	})
	// The other merchant's item of the same id stays.
	if got := list("m2"); len(got) != 1 || got[0].ItemID != "naga" {
		t.Errorf("removing m1's naga changed m2's catalog: %+v", got)
	}

	// Removing what is not there: ErrNotFound, nothing changes.
	for _, c := range []struct{ merchant, item string }{{"m1", "naga"}, {"m1", "griffin"}, {"m2", "pegasus"}, {"m-ghost", "naga"}} {
		err := s.Tx(ctx, func(tx omnicart.Tx) error { return tx.RemoveCatalogItem(ctx, c.merchant, c.item) })
		if !errors.Is(err, omnicart.ErrNotFound) {
			t.Errorf("RemoveCatalogItem(%s, %s) = %v, want ErrNotFound", c.merchant, c.item, err)
		}
	}
	// A removal rolls back with its transaction; an item put back is listed
	// again.
	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		if err := tx.RemoveCatalogItem(ctx, "m1", "pegasus"); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	tx(t, s, func(tx omnicart.Tx) error {
		return tx.PutCatalogItems(ctx, "m1", []omnicart.CatalogItem{{ItemID: "naga", DisplayName: "Naga Again"}})
	})
	if got := list("m1"); len(got) != 4 || got[2] != (omnicart.CatalogItem{ItemID: "naga", DisplayName: "Naga Again"}) || got[3].ItemID != "pegasus" {
		t.Errorf("after a rolled-back removal and a put: %+v", got)
	}
}
