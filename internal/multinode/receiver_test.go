package multinode

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// receiver is a callback endpoint on 127.0.0.1: it checks every request's
// signature (Standard Webhooks' Go library) and counts the deliveries of
// each event by webhook-id. The first delivery of one event in eight is
// answered 503, so that the dispatchers' retries run too.
type receiver struct {
	srv *httptest.Server

	mu        sync.Mutex
	secret    string
	attempts  int            // requests
	delivered map[string]int // webhook-id → 2xx answers
	refused   map[string]int // webhook-id → 503 answers
	failures  []string
}

func newReceiver(tb testing.TB) *receiver {
	r := &receiver{delivered: map[string]int{}, refused: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/hooks" }

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

// flaky reports whether the event's first delivery is refused.
func flaky(id string) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()%8 == 0
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	r.attempts++
	secret := r.secret
	r.mu.Unlock()
	id := req.Header.Get("webhook-id")
	problem := ""
	switch {
	case err != nil:
		problem = "reading body: " + err.Error()
	case req.Method != http.MethodPost || req.URL.Path != "/hooks":
		problem = "unexpected " + req.Method + " " + req.URL.Path
	default:
		wh, err := standardwebhooks.NewWebhook(secret)
		if err == nil {
			err = wh.Verify(body, req.Header)
		}
		var ev struct {
			ID string `json:"id"`
		}
		switch {
		case err != nil:
			problem = fmt.Sprintf("signature of %s: %v", id, err)
		case json.Unmarshal(body, &ev) != nil || ev.ID != id:
			problem = fmt.Sprintf("body of %s does not carry its id: %.200s", id, body)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if problem != "" {
		r.failures = append(r.failures, problem)
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	if flaky(id) && r.refused[id] == 0 {
		r.refused[id]++
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	r.delivered[id]++
	w.WriteHeader(http.StatusNoContent)
}

// snapshot returns a copy of the delivery counts and the failures.
func (r *receiver) snapshot() (delivered map[string]int, refused int, attempts int, failures []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delivered = make(map[string]int, len(r.delivered))
	for k, v := range r.delivered {
		delivered[k] = v
	}
	return delivered, len(r.refused), r.attempts, append([]string(nil), r.failures...)
}
