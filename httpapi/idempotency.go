package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

// Idempotency-Key on the Merchant API's POST and PATCH requests.
//
// The answer of a request made under a key is stored in the transaction of
// the change it answers (gateway.WithAnswerHook), so the record exists
// exactly when the change committed: after a crash a retry either replays
// the stored answer or runs for the first time; nothing is left "running".
// A refusal that changed nothing is stored in a transaction of its own.
// Requests refused before they reach a use case (a body that is not JSON)
// store nothing: running them again gives the same answer.
//
// Within one process a second request with a key whose first request is
// still running gets 124191; across processes the second one to commit
// finds the key taken, rolls its change back and replays the first answer.

// idemState is what withIdempotency tells the handler through the request
// context.
type idemState struct {
	merchant *omnicart.Merchant
	key      string
	hash     []byte
	method   string
	path     string
	// taken is set when another request stored an answer first.
	taken bool
}

type idemKey struct{}

// withIdempotency runs a POST or PATCH of the Merchant API under its
// Idempotency-Key header, if any: the same key with the same request within
// 24 hours answers the stored response (Idempotent-Replayed: true); with
// another request 124190; while the first still runs 124191.
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
	st := &idemState{merchant: rc.merchant, key: key, hash: fingerprint(r, body), method: r.Method, path: r.URL.Path}
	if s.replay(w, r, rc, st) {
		return
	}
	flight := rc.merchant.ID + "\x00" + key
	if _, busy := s.inflight.LoadOrStore(flight, struct{}{}); busy {
		w.Header().Set("Retry-After", "1")
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeIdempotencyRunning}})
		return
	}
	defer s.inflight.Delete(flight)
	// The first request may have finished between the look-up and the
	// in-flight mark.
	if s.replay(w, r, rc, st) {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r = r.WithContext(context.WithValue(r.Context(), idemKey{}, st))
	handle(w, r, rc)
	if st.taken && !s.replay(w, r, rc, st) {
		w.Header().Set("Retry-After", "1")
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeIdempotencyRunning}})
	}
}

// replay answers from the record stored under st's key, if there is one:
// the stored answer for the same request, 124190 for another. It reports
// whether it answered.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, rc *reqCtx, st *idemState) bool {
	rec, found, err := s.Service.IdempotencyRecord(r.Context(), st.merchant, st.key)
	switch {
	case err != nil:
		s.fail(w, r, rc, err)
		return true
	case !found:
		return false
	case !bytes.Equal(rec.RequestHash, st.hash):
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeIdempotencyReused}})
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
	return true
}

// answer runs a use case and renders its result or error with render.
// Under an Idempotency-Key the answer, rendered by the same function, is
// stored in the transaction of the use case's change.
func answer[T any](s *Server, w http.ResponseWriter, r *http.Request, rc *reqCtx,
	run func(ctx context.Context) (T, error), render func(w http.ResponseWriter, res T, err error)) {
	ctx := r.Context()
	st, _ := ctx.Value(idemKey{}).(*idemState)
	if st != nil {
		ctx = gateway.WithAnswerHook(ctx, func(ctx context.Context, tx omnicart.Tx, result any, refusal error) error {
			res, _ := result.(T)
			rec := newRecorder()
			render(rec, res, refusal)
			if rec.status >= 500 {
				return nil // not an answer to keep: a retry runs again
			}
			var env struct {
				Code string `json:"code"`
			}
			_ = json.Unmarshal(rec.body.Bytes(), &env)
			err := s.Service.StoreAnswer(ctx, tx, st.merchant, st.key, omnicart.IdempotentRecord{
				RequestHash: st.hash, Method: st.method, Path: st.path,
				Status: rec.status, Code: env.Code, Body: rec.body.Bytes(),
			})
			if errors.Is(err, gateway.ErrKeyTaken) {
				st.taken = true
			}
			return err
		})
	}
	res, err := run(ctx)
	if st != nil && st.taken {
		return // withIdempotency answers with the stored record
	}
	render(w, res, err)
}

// recorder keeps a rendered answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// fingerprint identifies a request for its Idempotency-Key: method, path
// and query, and the body as parsed JSON (key order and white space do
// not matter; numbers keep their exact literals), or the raw body when it
// is not JSON.
func fingerprint(r *http.Request, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
	if canon, ok := canonicalJSON(body); ok {
		h.Write([]byte("json:"))
		h.Write(canon)
	} else {
		h.Write([]byte("raw:" + strconv.Itoa(len(body)) + ":"))
		h.Write(body)
	}
	return h.Sum(nil)
}

func canonicalJSON(body []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing data
	}
	out, err := json.Marshal(v) // object keys sorted
	return out, err == nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

// handleIdempotencyKey serves GET /idempotency-keys/{key}: what the calling
// merchant's request under that key did — method, path, HTTP status, code,
// when, and the answer it got — so a merchant can learn the outcome of a
// request whose answer it lost. A key with no stored answer (never used,
// expired after 24 h, or its request changed nothing before it reached a
// use case) is 404 199001.
func (s *Server) handleIdempotencyKey(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	key := strings.TrimPrefix(r.URL.Path, "/idempotency-keys/")
	if unescaped, err := url.PathUnescape(key); err == nil {
		key = unescaped
	}
	if key == "" || len(key) > 255 || !printable(key) {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeInvalidFormat, Arg: "Idempotency-Key"}})
		return
	}
	rec, found, err := s.Service.IdempotencyRecord(r.Context(), rc.merchant, key)
	if err != nil {
		s.fail(w, r, rc, err)
		return
	}
	if !found {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeNotFound}})
		return
	}
	var response any = json.RawMessage(rec.Body)
	if !json.Valid(rec.Body) {
		response = string(rec.Body)
	}
	writeSuccess(w, rc, false, "", map[string]any{
		"idempotencyKey": key,
		"method":         rec.Method,
		"path":           rec.Path,
		"httpStatus":     rec.Status,
		"code":           rec.Code,
		"createdAt":      stamp(rec.CreatedAt),
		"response":       response,
	}, nil, false)
}
