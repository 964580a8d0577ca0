package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/omnicart/omnicart"
)

// NewMerchant describes a merchant to create.
type NewMerchant struct {
	ID         string // optional; generated when empty
	Name       string
	Mode       omnicart.Mode
	Privileges omnicart.Privileges
	Items      []omnicart.CatalogItem
	// Optional settings; zero means the default.
	CartExpirySecs     int64
	MaxDeclines        int
	AutoActionLeadSecs int64
}

// KeyPrefixLen is how many leading characters of an API key are kept in
// clear, to name the key in lists and in revocation.
const KeyPrefixLen = 16

// CreateMerchant creates a merchant with its catalog and a first API key
// allowed every method. It returns the key, which is shown only once.
func (s *Service) CreateMerchant(ctx context.Context, nm NewMerchant) (*omnicart.Merchant, string, error) {
	if strings.TrimSpace(nm.Name) == "" {
		return nil, "", errors.New("merchant name is required")
	}
	if nm.Mode != omnicart.ModeTest && nm.Mode != omnicart.ModeLive {
		return nil, "", fmt.Errorf("mode must be test or live, not %q", nm.Mode)
	}
	if err := validateCatalog(nm.Items); err != nil {
		return nil, "", err
	}
	id := nm.ID
	if id == "" {
		id = "mer_" + randomHex(8)
	}
	m := &omnicart.Merchant{ID: id, Name: nm.Name, Mode: nm.Mode, CartExpirySecs: omnicart.DefaultCartExpirySecs,
		MaxDeclines: omnicart.DefaultMaxDeclines, AutoActionLeadSecs: omnicart.DefaultAutoActionLeadSecs,
		Privileges: nm.Privileges, CreatedAt: s.Now()}
	if nm.CartExpirySecs > 0 {
		m.CartExpirySecs = nm.CartExpirySecs
	}
	if nm.MaxDeclines > 0 {
		m.MaxDeclines = nm.MaxDeclines
	}
	if nm.AutoActionLeadSecs > 0 {
		m.AutoActionLeadSecs = nm.AutoActionLeadSecs
	}
	var raw string
	err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		if err := tx.CreateMerchant(ctx, m); err != nil {
			return err
		}
		if err := tx.PutCatalogItems(ctx, m.ID, nm.Items); err != nil {
			return err
		}
		var err error
		raw, err = s.createKey(ctx, tx, m, nil)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return m, raw, nil
}

// CreateKey adds an API key to a merchant, optionally limited to some
// methods, and returns it (shown only once). The key records who created
// it: the actor of ctx (WithActor), else the operator.
func (s *Service) CreateKey(ctx context.Context, merchantID string, methods []string) (string, error) {
	for _, mt := range methods {
		if !contains(omnicart.AllMethods(), mt) {
			return "", fmt.Errorf("unknown method %q (want some of %s)", mt, strings.Join(omnicart.AllMethods(), ","))
		}
	}
	var raw string
	err := s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		m, err := tx.Merchant(ctx, merchantID)
		if err != nil {
			return fmt.Errorf("merchant %s: %w", merchantID, err)
		}
		raw, err = s.createKey(ctx, tx, m, methods)
		return err
	})
	return raw, err
}

func (s *Service) createKey(ctx context.Context, tx omnicart.Tx, m *omnicart.Merchant, methods []string) (string, error) {
	raw := "ock_" + string(m.Mode) + "_" + randomToken(32) // 256 random bits
	k := &omnicart.APIKey{Prefix: raw[:KeyPrefixLen], MerchantID: m.ID, Hash: s.HashKey(raw), Methods: methods, CreatedAt: s.Now(),
		CreatedBy: keyCreator(ctx)}
	return raw, tx.CreateAPIKey(ctx, k)
}

// keyCreator is who creates a key in ctx: its actor (WithActor: the Panel
// sets its user), else the operator, whose programs (the CLI, --demo) are
// the only other ones that create keys.
func keyCreator(ctx context.Context) omnicart.Actor {
	if a := actorOf(ctx); a != "" {
		return a
	}
	return omnicart.ActorOperator
}

// RevokeKey revokes the merchant's key that starts with prefix.
func (s *Service) RevokeKey(ctx context.Context, merchantID, prefix string) error {
	return s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		err := tx.RevokeAPIKey(ctx, merchantID, prefix, s.Now())
		switch {
		case errors.Is(err, omnicart.ErrNotFound):
			return fmt.Errorf("no active key of merchant %s starts with %q: %w", merchantID, prefix, err)
		case errors.Is(err, omnicart.ErrConflict):
			return fmt.Errorf("more than one key of merchant %s starts with %q; give a longer prefix: %w", merchantID, prefix, err)
		}
		return err
	})
}

// AddItems adds items to (or renames items of) a merchant's catalog.
func (s *Service) AddItems(ctx context.Context, merchantID string, items []omnicart.CatalogItem) error {
	if err := validateCatalog(items); err != nil {
		return err
	}
	return s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		if _, err := tx.Merchant(ctx, merchantID); err != nil {
			return fmt.Errorf("merchant %s: %w", merchantID, err)
		}
		return tx.PutCatalogItems(ctx, merchantID, items)
	})
}

func validateCatalog(items []omnicart.CatalogItem) error {
	for _, it := range items {
		if !omnicart.ValidItemID(it.ItemID) {
			return fmt.Errorf("invalid itemId %q: 1-64 characters of A-Z a-z 0-9 _ . -", it.ItemID)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// EnsureKey stores raw as an API key of the merchant (allowed every method)
// unless it is already stored. It is used for the demo merchant, whose key is
// derived from a server secret so that it stays the same across restarts.
func (s *Service) EnsureKey(ctx context.Context, merchantID, raw string) error {
	return s.Store.Tx(ctx, func(tx omnicart.Tx) error {
		if _, err := tx.APIKeyByHash(ctx, s.HashKey(raw)); err == nil {
			return nil
		} else if !errors.Is(err, omnicart.ErrNotFound) {
			return err
		}
		k := &omnicart.APIKey{Prefix: raw[:KeyPrefixLen], MerchantID: merchantID, Hash: s.HashKey(raw), CreatedAt: s.Now(), CreatedBy: keyCreator(ctx)}
		err := tx.CreateAPIKey(ctx, k)
		if errors.Is(err, omnicart.ErrConflict) {
			return nil // revoked earlier: stays revoked
		}
		return err
	})
}
