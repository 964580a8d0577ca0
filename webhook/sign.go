package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Sign returns the value of the webhook-signature header for a message:
// for each secret, "v1," and the standard base64 of HMAC-SHA256 keyed by
// the secret's bytes over "id.timestamp.body", separated by spaces (several
// secrets sign during a rotation's overlap). Secrets that are not valid
// "whsec_" base64 are an error.
func Sign(secrets []string, id string, timestamp int64, body []byte) (string, error) {
	return signWith(SecretKey, secrets, id, timestamp, body)
}

// signWith is Sign with the secret-to-key step handed in (the dispatcher
// caches it).
func signWith(key func(string) ([]byte, error), secrets []string, id string, timestamp int64, body []byte) (string, error) {
	var b strings.Builder
	for i, s := range secrets {
		k, err := key(s)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(signature(k, id, timestamp, body))
	}
	return b.String(), nil
}

// keyCache remembers the HMAC keys of secrets.
type keyCache struct {
	mu   sync.Mutex
	keys map[string][]byte
}

func (c *keyCache) key(secret string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.keys[secret]; ok {
		return k, nil
	}
	k, err := SecretKey(secret)
	if err != nil {
		return nil, err
	}
	if c.keys == nil || len(c.keys) > 4096 {
		c.keys = map[string][]byte{}
	}
	c.keys[secret] = k
	return k, nil
}

func signature(key []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
