package panel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
)

// noticeSig is the query parameter that signs a redirect's notice
// parameters (?imported=, ?done=...). A page shows a notice only from
// parameters its own session's redirect signed: a link crafted elsewhere
// ("?imported=… sign in again at evil.example") shows none.
const noticeSig = "ns"

// noticeMAC is the HMAC, under a key derived from the API-key pepper (as
// the CSRF tokens, with a label of its own), of the session's hash, the
// page's path (unescaped) and the canonical encoding of the parameters.
func (h *Handler) noticeMAC(s *signedIn, path string, v url.Values) []byte {
	k := hmac.New(sha256.New, h.Service.KeyPepper)
	k.Write([]byte("omnicart panel notice v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write(s.session.Hash)
	m.Write([]byte{0})
	m.Write([]byte(path))
	m.Write([]byte{0})
	m.Write([]byte(v.Encode()))
	return m.Sum(nil)
}

// noticeURL is the redirect target path?v&ns=… after an action: path is
// escaped as in a URL (Prefix+"carts/"+url.PathEscape(id)), v its whole
// query, signed for s's session.
func (h *Handler) noticeURL(s *signedIn, path string, v url.Values) string {
	plain, err := url.PathUnescape(path)
	if err != nil {
		plain = path
	}
	q := url.Values{}
	for k, vs := range v {
		q[k] = vs
	}
	q.Set(noticeSig, base64.RawURLEncoding.EncodeToString(h.noticeMAC(s, plain, v)))
	return path + "?" + q.Encode()
}

// notice is the query of a request made by a redirect noticeURL built for
// this session and this page, without its signature; otherwise (no
// signature, a parameter changed, added or removed, another session's or
// another page's signature) it is nil, so that no notice is shown. Pages
// read their notice parameters only through it.
func (h *Handler) notice(r *http.Request, s *signedIn) url.Values {
	q := r.URL.Query()
	sigs := q[noticeSig]
	if len(sigs) != 1 || s == nil || s.session == nil {
		return nil
	}
	got, err := base64.RawURLEncoding.DecodeString(sigs[0])
	if err != nil {
		return nil
	}
	delete(q, noticeSig)
	if !hmac.Equal(got, h.noticeMAC(s, r.URL.Path, q)) {
		return nil
	}
	return q
}
