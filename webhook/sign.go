package webhook

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strconv"
	"sync"

	"github.com/omnicart/omnicart/internal/hmacpool"
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
	return signWith(func(secret string) (*signer, error) {
		k, err := SecretKey(secret)
		if err != nil {
			return nil, err
		}
		return newSigner(k), nil
	}, secrets, id, timestamp, body)
}

// signWith is Sign with the secret-to-signer step handed in (the
// dispatcher caches it).
func signWith(signerOf func(string) (*signer, error), secrets []string, id string, timestamp int64, body []byte) (string, error) {
	b := make([]byte, 0, len(secrets)*48)
	for i, s := range secrets {
		sg, err := signerOf(s)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, "v1,"...)
		b = sg.sign(b, id, timestamp, body)
	}
	return string(b), nil
}

// signer computes HMAC-SHA256 signatures under one key, reusing keyed
// hash states (internal/hmacpool).
type signer struct {
	key  []byte
	macs hmacpool.Pool
}

func newSigner(key []byte) *signer { return &signer{key: key} }

// sign appends the standard base64 of HMAC-SHA256 over
// "id.timestamp.body" to dst.
func (s *signer) sign(dst []byte, id string, timestamp int64, body []byte) []byte {
	m := s.macs.Get(s.key)
	var buf [24]byte
	_, _ = io.WriteString(m, id)
	_, _ = m.Write(append(strconv.AppendInt(append(buf[:0], '.'), timestamp, 10), '.'))
	_, _ = m.Write(body)
	var sum [sha256.Size]byte
	out := m.Sum(sum[:0])
	s.macs.Put(m)
	return base64.StdEncoding.AppendEncode(dst, out)
}

// keyCache remembers the signers of secrets.
type keyCache struct {
	mu      sync.Mutex
	signers map[string]*signer
}

func (c *keyCache) signer(secret string) (*signer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sg, ok := c.signers[secret]; ok {
		return sg, nil
	}
	k, err := SecretKey(secret)
	if err != nil {
		return nil, err
	}
	if c.signers == nil || len(c.signers) > 4096 {
		c.signers = map[string]*signer{}
	}
	sg := newSigner(k)
	c.signers[secret] = sg
	return sg, nil
}
