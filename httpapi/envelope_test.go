package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/omnicart/omnicart"
)

// TestEnvelopeAppendJSON holds the envelope's hand-written encoding to
// what json.Encoder (HTML escaping off) writes for it, and checks that an
// envelope it cannot write (other data, a debug list) still goes through
// the encoder.
func TestEnvelopeAppendJSON(t *testing.T) {
	secs := int64(3)
	view := omnicart.StatusView{CartID: "c<&>\u2028\"", Currency: "EUR", Items: []map[string]omnicart.ItemView{
		{"it\xff": {PaymentStatus: omnicart.StatusAuthorized, Tag: "t\n",
			TimerSnapshot: &omnicart.TimerSnapshot{TriggerEvent: "x", RemainingSecs: &secs}}}}}
	debug := []debugEntry{{Code: "124101", Message: "m<"}}
	envs := []envelope{
		{Data: view, Code: omnicart.CodeSuccess, Message: "Success", Timestamp: "2026-12-02T10:00:00.000Z"},
		{CartID: "cart\t1", Data: view, Code: "004100", Message: "Info \"quoted\"", Rule: "a & b", Timestamp: "t"},
		{Code: omnicart.CodeAuth, Message: "Authentication error", Timestamp: "t"},
		{Code: omnicart.CodeAuth, Message: "x", Debug: &debug, Timestamp: "t"},
		{Data: map[string]string{"paymentUrl": "http://x/pay/a?b=<c>&d"}, Code: omnicart.CodeSuccess, Message: "Success", Timestamp: "t"},
		{Data: (*omnicart.StatusView)(nil), Code: omnicart.CodeSuccess, Message: "Success", Timestamp: "t"},
		{Data: &view, Code: omnicart.CodeSuccess, Message: "Success", Timestamp: "t"},
	}
	for i, env := range envs {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(env); err != nil {
			t.Fatal(err)
		}
		got, ok := env.appendJSON(nil)
		if fast := env.Debug == nil && (env.Data == nil || i < 2); ok != fast {
			t.Errorf("envelope %d: appendJSON ok = %v, want %v", i, ok, fast)
		}
		if ok && !bytes.Equal(got, want.Bytes()) {
			t.Errorf("envelope %d:\n got %s\nwant %s", i, got, want.Bytes())
		}
		rec := httptest.NewRecorder()
		writeJSON(rec, 200, env)
		if !bytes.Equal(rec.Body.Bytes(), want.Bytes()) {
			t.Errorf("envelope %d: writeJSON wrote\n%s\nwant\n%s", i, rec.Body.Bytes(), want.Bytes())
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("envelope %d: Content-Type %q", i, ct)
		}
	}
}
