package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
		return createKeyFile(path)
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

// createKeyFile writes a new key to a temporary file beside path, syncs
// it, and links it into place: a process starting at the same moment sees
// either no file or the whole key, never an empty one, and the first link
// wins (the loser reads the winner's key).
func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("server key %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	if err := f.Chmod(0o600); werr == nil {
		werr = err
	}
	if err := f.Sync(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return nil, fmt.Errorf("server key %s: %w", path, werr)
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return loadKeyFile(path) // another process created it first
	} else if err != nil {
		return nil, fmt.Errorf("server key %s: %w", path, err)
	}
	return key, nil
}
