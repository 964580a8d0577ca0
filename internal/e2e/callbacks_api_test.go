package e2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// cbCheckSecret checks the format of a signing secret: "whsec_" and the
// standard base64 of at least 24 random bytes.
func cbCheckSecret(tb testing.TB, s string) {
	tb.Helper()
	raw, ok := strings.CutPrefix(s, "whsec_")
	b, err := base64.StdEncoding.DecodeString(raw)
	if !ok || err != nil || len(b) < 24 {
		tb.Fatalf("secret %q: want whsec_ and base64 of >= 24 bytes (%v, %d bytes)", s, err, len(b))
	}
}

// testCallbackManagementAPI covers the management JSON API: its routes,
// authentication, merchant isolation and the codes of bad input.
func testCallbackManagementAPI(t *testing.T, srv *e2e.Server) {
	id, c := srv.Merchant("pegasus")
	_, other := srv.Merchant("pegasus")
	ctx := context.Background()

	t.Run("authentication and routing", func(t *testing.T) {
		for _, key := range []string{"", "ock_test_wrong"} {
			res, err := client.New(srv.URL, key).Do(ctx, http.MethodGet, "/callbacks/endpoints", nil)
			if err != nil || res.Status != 401 || res.Code != "111000" || res.Message != "Authentication error" {
				t.Fatalf("key %q: %v %s", key, err, cbRaw(res))
			}
		}
		cbCall(t, c, http.MethodGet, "/callbacks/nothing", nil, 404, "199001")
		cbCall(t, c, http.MethodGet, "/callbacks/endpoints/ep_missing", nil, 404, "199001")
		cbCall(t, c, http.MethodGet, "/callbacks/endpoints/ep_missing/deliveries", nil, 404, "199001")
		cbCall(t, c, http.MethodGet, "/callbacks/events/evt_missing", nil, 404, "199001")
		cbCall(t, c, http.MethodPost, "/callbacks/events/evt_missing/resend", nil, 404, "199001")
		cbCall(t, c, http.MethodPut, "/callbacks/endpoints", `{}`, 405, "131000")
		cbCall(t, c, http.MethodPost, "/callbacks/events", `{}`, 405, "131000")
		// Managing callbacks needs a key allowed every method.
		limited := srv.Client(strings.TrimSpace(srv.Admin("key", "create", "--merchant", id, "--methods", "status")))
		cbCall(t, limited, http.MethodGet, "/callbacks/endpoints", nil, 405, "131000")
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct{ body, code, message string }{
			{`{}`, "122001", "url has invalid format"},
			{`{"url":42}`, "122001", "url has invalid format"},
			{`{"url":"ftp://example.com/hook"}`, "122001", "url has invalid format"},
			{`{"url":"/relative"}`, "122001", "url has invalid format"},
			{`{"url":"https://user:pw@example.com/hook"}`, "123003", "url has invalid value"},
			{`{"url":"https://example.com/hook","events":["payment.refunded"]}`, "123003", "events has invalid value"},
			{`{"url":"https://example.com/hook","events":[]}`, "123003", "events has invalid value"},
			{`{"url":"https://example.com/hook","events":"payment.status_changed"}`, "122001", "events has invalid format"},
			{`{"url":"https://example.com/hook","enabled":"yes"}`, "122001", "enabled has invalid format"},
			{`{"url":"https://example.com/hook","secret":"whsec_x"}`, "122001", "secret has invalid format"},
			{`{"url":"https://example.com/hook","url":"https://example.org"}`, "122001", "url has invalid format"},
			{`[1]`, "122001", "body has invalid format"},
			{`{"url":`, "122001", "body has invalid format"},
		} {
			res := cbCall(t, c, http.MethodPost, "/callbacks/endpoints", tc.body, 400, tc.code)
			if res.Message != tc.message || res.Debug == nil {
				t.Fatalf("%s: %s", tc.body, res.Raw)
			}
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/callbacks/endpoints", strings.NewReader(`{"url":"https://example.com"}`))
		req.Header.Set("Api-Access-Token", c.APIKey)
		req.Header.Set("Content-Type", "text/plain")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("wrong Content-Type: %v %v", err, resp)
		}
		resp.Body.Close()
		cbCall(t, c, http.MethodGet, "/callbacks/events?limit=0", nil, 400, "123003")
		cbCall(t, c, http.MethodGet, "/callbacks/events?limit=ten", nil, 400, "122001")
		cbCall(t, c, http.MethodGet, "/callbacks/events?type=payment.refunded", nil, 400, "123003")
		res := cbCall(t, c, http.MethodGet, "/callbacks/events?since=1", nil, 400, "122001")
		if res.Message != "since has invalid format" {
			t.Fatalf("unknown query parameter: %s", res.Raw)
		}
	})

	t.Run("add, list, change, rotate, remove", func(t *testing.T) {
		res := cbCall(t, c, http.MethodPost, "/callbacks/endpoints", `{"url":"https://example.com/omnicart","events":["payment.status_changed"]}`, 201, "000000")
		added := cbData[cbEndpointData](t, res)
		cbCheckSecret(t, added.Secret)
		if !strings.HasPrefix(added.EndpointID, "ep_") || !added.Enabled || added.Status != "active" ||
			strings.Join(added.Events, ",") != "payment.status_changed" || added.URL != "https://example.com/omnicart" {
			t.Fatalf("added: %s", res.Raw)
		}
		res = cbCall(t, c, http.MethodGet, "/callbacks/endpoints", nil, 200, "000000")
		if strings.Contains(string(res.Raw), added.Secret) || strings.Contains(string(res.Raw), "whsec_") {
			t.Fatalf("the list shows a secret: %s", res.Raw)
		}
		list := cbData[struct {
			Endpoints []cbEndpointData `json:"endpoints"`
		}](t, res).Endpoints
		if len(list) != 1 || list[0].EndpointID != added.EndpointID {
			t.Fatalf("list: %s", res.Raw)
		}
		// Another merchant sees nothing of it.
		cbCall(t, other, http.MethodGet, "/callbacks/endpoints/"+added.EndpointID, nil, 404, "199001")
		cbCall(t, other, http.MethodDelete, "/callbacks/endpoints/"+added.EndpointID, nil, 404, "199001")
		if res := cbCall(t, other, http.MethodGet, "/callbacks/endpoints", nil, 200, "000000"); strings.Contains(string(res.Raw), added.EndpointID) {
			t.Fatalf("other merchant's list: %s", res.Raw)
		}
		res = cbCall(t, c, http.MethodPatch, "/callbacks/endpoints/"+added.EndpointID,
			`{"events":["timer.status_changed","payment.auto_action_pending"],"enabled":false}`, 200, "000000")
		if e := cbData[cbEndpointData](t, res); e.Enabled || e.Status != "disabled" || strings.Join(e.Events, ",") != "timer.status_changed,payment.auto_action_pending" {
			t.Fatalf("patched: %s", res.Raw)
		}
		cbCall(t, c, http.MethodPost, "/callbacks/endpoints/"+added.EndpointID+"/rotate", `{"overlapSecs":-1}`, 400, "123003")
		cbCall(t, c, http.MethodPost, "/callbacks/endpoints/"+added.EndpointID+"/rotate", `{"overlapSecs":604801}`, 400, "123003")
		res = cbCall(t, c, http.MethodPost, "/callbacks/endpoints/"+added.EndpointID+"/rotate", nil, 200, "000000")
		rot := cbData[cbEndpointData](t, res)
		cbCheckSecret(t, rot.Secret)
		if rot.Secret == added.Secret || rot.PreviousSecretExpiresAt == "" {
			t.Fatalf("rotated (default overlap): %s", res.Raw)
		}
		res = cbCall(t, c, http.MethodDelete, "/callbacks/endpoints/"+added.EndpointID, nil, 200, "000000")
		if !strings.Contains(string(res.Raw), `"removed":true`) {
			t.Fatalf("delete: %s", res.Raw)
		}
		cbCall(t, c, http.MethodGet, "/callbacks/endpoints/"+added.EndpointID, nil, 404, "199001")
		cbCall(t, c, http.MethodDelete, "/callbacks/endpoints/"+added.EndpointID, nil, 404, "199001")
	})
}

// testCallbackCLI covers `omnicart callbacks`.
func testCallbackCLI(t *testing.T, srv *e2e.Server) {
	id, c := srv.Merchant("pegasus")
	out := srv.Admin("callbacks", "add", "--merchant", id, "--url", "https://example.com/a", "--events", "payment.status_changed,timer.status_changed", "--json")
	var added map[string]string
	if err := json.Unmarshal([]byte(out), &added); err != nil || len(added) != 2 || added["endpointId"] == "" {
		t.Fatalf("callbacks add --json printed %q: %v", out, err)
	}
	cbCheckSecret(t, added["secret"])
	ep := added["endpointId"]
	// The same endpoint through the API, which never shows the secret.
	e := cbGetEndpoint(t, c, ep)
	if e.URL != "https://example.com/a" || strings.Join(e.Events, ",") != "payment.status_changed,timer.status_changed" || e.Secret != "" {
		t.Fatalf("endpoint added by the CLI: %+v", e)
	}
	out = srv.Admin("callbacks", "list", "--merchant", id, "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0]["endpointId"] != ep || strings.Contains(out, "whsec_") {
		t.Fatalf("callbacks list --json printed %q: %v", out, err)
	}
	if out := srv.Admin("callbacks", "list", "--merchant", id); !strings.Contains(out, ep) || !strings.Contains(out, "active") {
		t.Fatalf("callbacks list printed %q", out)
	}
	out = srv.Admin("callbacks", "rotate", "--merchant", id, "--endpoint", ep, "--json")
	var rot map[string]string
	if err := json.Unmarshal([]byte(out), &rot); err != nil || rot["endpointId"] != ep || rot["secret"] == added["secret"] || rot["previousSecretExpiresAt"] == "" {
		t.Fatalf("callbacks rotate --json printed %q: %v", out, err)
	}
	cbCheckSecret(t, rot["secret"])
	srv.Admin("callbacks", "disable", "--merchant", id, ep)
	if e := cbGetEndpoint(t, c, ep); e.Enabled {
		t.Fatalf("after disable: %+v", e)
	}
	srv.Admin("callbacks", "enable", "--merchant", id, ep)
	if e := cbGetEndpoint(t, c, ep); !e.Enabled {
		t.Fatalf("after enable: %+v", e)
	}
	for _, args := range [][]string{
		{"callbacks", "add", "--merchant", id, "--url", "https://example.com/a", "--events", "payment.refunded"},
		{"callbacks", "add", "--merchant", id, "--url", "mailto:ops@example.com"},
		{"callbacks", "add", "--merchant", "mer_missing", "--url", "https://example.com/a"},
		{"callbacks", "add", "--url", "https://example.com/a"},
		{"callbacks", "remove", "--merchant", id, "ep_missing"},
		{"callbacks", "frobnicate", "--merchant", id},
	} {
		if out, err := srv.TryAdmin(args...); err == nil {
			t.Fatalf("%v succeeded: %s", args, out)
		}
	}
	if out := srv.Admin("callbacks", "remove", "--merchant", id, ep); !strings.Contains(out, "removed") {
		t.Fatalf("callbacks remove printed %q", out)
	}
	if out := srv.Admin("callbacks", "list", "--merchant", id, "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("list after remove: %q", out)
	}
}
