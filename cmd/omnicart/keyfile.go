package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// loadKeyFile returns the 32-byte server key kept (hex) in path, creating
// it (mode 0600) the first time. The key seals the answers stored under
// Idempotency-Keys; it lives beside the database, not in it, so that a copy
// of the database alone does not reveal the payment links those answers
// carry. Back it up with the database: without it, stored answers cannot be
// replayed (their requests then answer 199000 instead of a replay).
func loadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadKeyFile(path) // another process created it first
		}
		if err != nil {
			return nil, fmt.Errorf("server key %s: %w", path, err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		if err := f.Sync(); werr == nil {
			werr = err
		}
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return nil, fmt.Errorf("server key %s: %w", path, werr)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("server key %s: %w", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("server key %s: not 64 hexadecimal digits", path)
	}
	return key, nil
}
