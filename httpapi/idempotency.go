package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"

	"github.com/omnicart/omnicart"
)

// withIdempotency runs a POST or PATCH of the Merchant API under its
// Idempotency-Key header, if any: the same key with the same request within
// 24 hours answers the stored response (Idempotent-Replayed: true); with
// another request 124190; while the first still runs 124191. Server errors
// (5xx) are not stored, so that a retry runs again.
func (s *Server) withIdempotency(w http.ResponseWriter, r *http.Request, rc *reqCtx, handle apiHandler) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || (r.Method != http.MethodPost && r.Method != http.MethodPatch) {
		handle(w, r, rc)
		return
	}
	if len(key) > 255 || !printable(key) {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeInvalidFormat, Arg: "Idempotency-Key"}})
		return
	}
	body, ok := readBody(w, r, rc)
	if !ok {
		return
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n" + r.Header.Get("Content-Type") + "\n"))
	h.Write(body)
	hash := h.Sum(nil)

	rec, claimed, err := s.Service.ClaimIdempotencyKey(r.Context(), rc.merchant, key, hash)
	if err != nil {
		s.fail(w, r, rc, err)
		return
	}
	if !claimed {
		switch {
		case !bytes.Equal(rec.RequestHash, hash):
			writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeIdempotencyReused}})
		case !rec.Done:
			w.Header().Set("Retry-After", "1")
			writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeIdempotencyRunning}})
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(rec.Status)
			_, _ = w.Write(rec.Body)
		}
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var kept bytes.Buffer
	rw := &statusWriter{ResponseWriter: w, keep: &kept}
	handle(rw, r, rc)
	status := rw.status
	if status >= 500 || status == 0 {
		status = 0 // release the key: a retry runs again
	}
	// Store even if the client went away: the work is done.
	if err := s.Service.FinishIdempotencyKey(context.WithoutCancel(r.Context()), rc.merchant, key, status, kept.Bytes()); err != nil {
		s.Log.ErrorContext(r.Context(), "storing the idempotent response", "request_id", rc.id, "err", err)
	}
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}
