package panel

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/omnicart/omnicart"
)

// withQuery is u's path with the query q.
func withQuery(u *url.URL, q url.Values) string {
	return u.Path + "?" + q.Encode()
}

// The green notice after an action comes from its redirect's parameters
// only when they carry this session's signature for this page: a link
// with made-up text (content spoofing: "?imported=… sign in again at
// evil.example") shows no notice.
func TestNoticeSigned(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	res := tp.post("/panel/catalog/add", url.Values{"itemId": {"griffin"}, "displayName": {"Royal Griffin"}})
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Added griffin to the catalog.")
	q := res.url.Query()
	if res.url.Path != "/panel/catalog" || q.Get("added") != "griffin" || q.Get(noticeSig) == "" {
		t.Fatalf("redirect after add: %s", res.url)
	}
	// The same URL again (a reload) shows it again.
	tp.wantBody(tp.get(res.url.RequestURI()), "Added griffin to the catalog.")

	const spoof = "sign in again at evil.example"
	changed := url.Values{}
	for k, v := range q {
		changed[k] = v
	}
	changed.Set("added", spoof)
	unsigned := url.Values{"added": {"griffin"}, "find": {"griffin"}}
	extra := url.Values{}
	for k, v := range q {
		extra[k] = v
	}
	extra.Set("imported", spoof)
	for name, target := range map[string]string{
		"changed parameter": withQuery(res.url, changed),
		"no signature":      withQuery(res.url, unsigned),
		"added parameter":   withQuery(res.url, extra),
		"bad signature":     "/panel/catalog?added=griffin&find=griffin&ns=" + strings.Repeat("A", 43),
		"crafted":           "/panel/catalog?imported=" + url.QueryEscape(spoof),
	} {
		page := tp.get(target)
		tp.wantStatus(page, http.StatusOK)
		tp.wantNoBody(page, "Added griffin", "Imported:", spoof)
		if strings.Contains(page.body, `role="status"`) {
			t.Errorf("%s: a notice is shown at %s", name, target)
		}
	}

	// Another session (the same user signed in on another browser) gets no
	// notice from the first session's URL, and vice versa.
	other := *tp
	other.client = newTestBrowser(t)
	if res := other.signIn(tp.user.Email, testPassword); res.status != http.StatusOK || !strings.Contains(res.body, "Sign out") {
		t.Fatalf("second sign-in: %d at %s", res.status, res.url)
	}
	other.csrf = other.token(other.get("/panel/overview"))
	page := other.get(res.url.RequestURI())
	tp.wantStatus(page, http.StatusOK)
	tp.wantNoBody(page, "Added griffin")
	theirs := other.post("/panel/catalog/rename", url.Values{"itemId": {"griffin"}, "displayName": {"Griffin"}})
	other.wantBody(theirs, "Renamed griffin.")
	tp.wantNoBody(tp.get(theirs.url.RequestURI()), "Renamed griffin.")
	tp.wantBody(tp.get(res.url.RequestURI()), "Added griffin to the catalog.")
}

// A cart action's signed notice is bound to its cart's page: the same
// query on another cart shows nothing, and items changed show nothing.
func TestNoticeSignedCart(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	for _, id := range []string{"cart-note-0001", "cart-note-0002"} {
		tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: id, Items: []omnicart.ItemSpec{
			{ID: "pegasus", Tag: "rampart", Amount: 1000}, {ID: "naga", Tag: "tower", Amount: 550}}}))
	}
	done := tp.submitConfirm(tp.get("/panel/carts/cart-note-0001/confirm?tag=rampart&action=capture"))
	tp.wantStatus(done, http.StatusOK)
	tp.wantBody(done, "Done: capture of pegasus.")
	q := done.url.Query()
	if done.url.Path != "/panel/carts/cart-note-0001" || q.Get("done") != "capture" || q.Get(noticeSig) == "" {
		t.Fatalf("redirect after capture: %s", done.url)
	}
	tp.wantNoBody(tp.get("/panel/carts/cart-note-0002?"+q.Encode()), "Done: ")
	q.Set("items", "pegasus, naga")
	tp.wantNoBody(tp.get("/panel/carts/cart-note-0001?"+q.Encode()), "Done: ")
	tp.wantNoBody(tp.get("/panel/carts/cart-note-0001?done=capture&items=naga"), "Done: ")
}
