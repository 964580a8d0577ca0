package panel

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/omnicart/omnicart"
)

// catalogItem reads one item of the merchant's catalog from the store.
func (tp *testPanel) catalogItem(id string) (omnicart.CatalogItem, bool) {
	tp.t.Helper()
	var got []omnicart.CatalogItem
	err := tp.service.Store.View(context.Background(), func(tx omnicart.Tx) error {
		var err error
		got, err = tx.CatalogItems(context.Background(), tp.merchant.ID, []string{id})
		return err
	})
	if err != nil {
		tp.t.Fatal(err)
	}
	if len(got) == 0 {
		return omnicart.CatalogItem{}, false
	}
	return got[0], true
}

func TestCatalogList(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	res := tp.get("/panel/catalog")
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "2 items, in itemId order", "<code>naga</code>", "Naga", "<code>pegasus</code>", "Pegasus",
		`action="/panel/catalog/add"`, `action="/panel/catalog/rename"`, `action="/panel/catalog/import"`, `aria-current="page">Catalog`)
	if strings.Index(res.body, "<code>naga</code>") > strings.Index(res.body, "<code>pegasus</code>") {
		t.Error("the list is not in itemId order")
	}
	// A search finds one and names what is missing.
	res = tp.get("/panel/catalog?find=pegasus,+nope")
	tp.wantBody(res, "Search results", "Not in the catalog: <code>nope</code>")
	// Pages of catalogPageSize, by itemId.
	var many []omnicart.CatalogItem
	for i := range catalogPageSize + 5 {
		many = append(many, omnicart.CatalogItem{ItemID: fmt.Sprintf("item-%03d", i), DisplayName: fmt.Sprintf("Item %d", i)})
	}
	if err := tp.service.AddItems(context.Background(), tp.merchant.ID, many); err != nil {
		t.Fatal(err)
	}
	res = tp.get("/panel/catalog")
	tp.wantBody(res, fmt.Sprintf("%d items", catalogPageSize+7), "item-000", `rel="next"`)
	tp.wantNoBody(res, "<code>pegasus</code>")
	res = tp.get("/panel/catalog?after=" + url.QueryEscape(many[catalogPageSize-2].ItemID))
	tp.wantBody(res, "item-104", "<code>naga</code>", "<code>pegasus</code>")
	tp.wantNoBody(res, "item-098", `rel="next"`)
}

func TestCatalogAddAndRename(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	res := tp.post("/panel/catalog/add", url.Values{"itemId": {"griffin"}, "displayName": {"Royal Griffin"}})
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Added griffin to the catalog.", "Royal Griffin")
	if it, ok := tp.catalogItem("griffin"); !ok || it.DisplayName != "Royal Griffin" {
		t.Fatalf("griffin in the store: %+v %v", it, ok)
	}
	if e := tp.lastAudit(); e.Action != "catalog.add" || e.Target != "item griffin" || e.Actor != tp.user.Email || e.RemoteAddr == "" {
		t.Fatalf("audit: %+v", e)
	}
	// Without a name the item is named by its itemId, as the CLI does.
	tp.wantStatus(tp.post("/panel/catalog/add", url.Values{"itemId": {"imp"}}), http.StatusOK)
	if it, _ := tp.catalogItem("imp"); it.DisplayName != "imp" {
		t.Fatalf("imp: %+v", it)
	}
	// Adding an existing item does not rename it.
	res = tp.post("/panel/catalog/add", url.Values{"itemId": {"pegasus"}, "displayName": {"Other"}})
	tp.wantStatus(res, http.StatusBadRequest)
	tp.wantBody(res, "already has itemId pegasus", "Rename it instead")
	if it, _ := tp.catalogItem("pegasus"); it.DisplayName != "Pegasus" {
		t.Fatalf("pegasus renamed by add: %+v", it)
	}
	// Bad input is a clear error on the page, the form keeps its values.
	for _, c := range []struct{ id, name, want string }{
		{"bad id!", "x", "is not valid: 1–64 characters"},
		{strings.Repeat("a", 65), "x", "is not valid"},
		{"", "x", "the itemId is empty"},
		{"ok-id", "tab\there", "control character"},
		{"ok-id", strings.Repeat("n", maxDisplayName+1), "more than 200 characters"},
		{"ok-id", "\xff\xfe", "not valid UTF-8"},
	} {
		res := tp.post("/panel/catalog/add", url.Values{"itemId": {c.id}, "displayName": {c.name}})
		tp.wantStatus(res, http.StatusBadRequest)
		tp.wantBody(res, "Not added: ", c.want)
		if _, ok := tp.catalogItem(c.id); ok && c.id != "" {
			t.Fatalf("%q was added", c.id)
		}
	}

	// Rename.
	res = tp.get("/panel/catalog?rename=pegasus")
	tp.wantBody(res, `id="rename-id" name="itemId" value="pegasus"`, `id="rename-name" name="displayName" value="Pegasus"`)
	res = tp.post("/panel/catalog/rename", url.Values{"itemId": {"pegasus"}, "displayName": {"Winged Horse"}})
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Renamed pegasus.", "Winged Horse")
	if it, _ := tp.catalogItem("pegasus"); it.DisplayName != "Winged Horse" {
		t.Fatalf("pegasus: %+v", it)
	}
	if e := tp.lastAudit(); e.Action != "catalog.rename" || e.Target != "item pegasus" || !strings.Contains(e.Detail, `"Pegasus" → "Winged Horse"`) {
		t.Fatalf("audit: %+v", e)
	}
	res = tp.post("/panel/catalog/rename", url.Values{"itemId": {"unicorn"}, "displayName": {"U"}})
	tp.wantStatus(res, http.StatusBadRequest)
	tp.wantBody(res, "the catalog has no itemId unicorn")
	if _, ok := tp.catalogItem("unicorn"); ok {
		t.Fatal("rename added unicorn")
	}
	res = tp.post("/panel/catalog/rename", url.Values{"itemId": {"naga"}, "displayName": {""}})
	tp.wantStatus(res, http.StatusBadRequest)
	tp.wantBody(res, "the display name is empty")
}

func TestCatalogImport(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	// The CLI's format: a header, a renamed item, an unchanged one, new
	// ones (one without a name, one with a quoted comma), a BOM.
	file := "\ufeffitemId,displayName\npegasus,Flying Horse\nnaga,Naga\nhydra\n\"dragon\",\"Dragon, Red\"\n"
	res := tp.postMultipart("/panel/catalog/import", nil, file)
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "<strong>2</strong> to add, <strong>1</strong> to rename, <strong>1</strong> unchanged",
		"To add (2)", "<code>hydra</code>", "Dragon, Red", "To rename (1)", "Flying Horse", "Unchanged (1)", "Apply: add 2, rename 1")
	// The preview changed nothing.
	if _, ok := tp.catalogItem("hydra"); ok {
		t.Fatal("the preview added hydra")
	}
	if it, _ := tp.catalogItem("pegasus"); it.DisplayName != "Pegasus" {
		t.Fatal("the preview renamed pegasus")
	}
	csvField, digest := formValue(t, res.body, "csv"), formValue(t, res.body, "digest")

	// A tampered form is refused by the digest.
	bad := tp.postMultipart("/panel/catalog/import/apply", map[string]string{"csv": csvField + "wight,Wight\n", "digest": digest}, "")
	tp.wantStatus(bad, http.StatusConflict)
	tp.wantBody(bad, "The catalog changed since this preview", "Apply: add 3, rename 1")
	if _, ok := tp.catalogItem("wight"); ok {
		t.Fatal("a stale apply added wight")
	}

	res = tp.postMultipart("/panel/catalog/import/apply", map[string]string{"csv": csvField, "digest": digest}, "")
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Imported: 2 added, 1 renamed.")
	for id, name := range map[string]string{"pegasus": "Flying Horse", "naga": "Naga", "hydra": "hydra", "dragon": "Dragon, Red"} {
		if it, ok := tp.catalogItem(id); !ok || it.DisplayName != name {
			t.Errorf("%s: %+v %v, want %q", id, it, ok, name)
		}
	}
	if e := tp.lastAudit(); e.Action != "catalog.import" || e.Detail != "2 added, 1 renamed" {
		t.Fatalf("audit: %+v", e)
	}
	// The same file again changes nothing and offers no button.
	res = tp.postMultipart("/panel/catalog/import", nil, file)
	tp.wantBody(res, "<strong>0</strong> to add, <strong>0</strong> to rename, <strong>4</strong> unchanged", "Nothing to change")
	tp.wantNoBody(res, "Apply:")

	// Pasted text works as a file does; the catalog moving between preview
	// and apply is caught.
	res = tp.postMultipart("/panel/catalog/import", map[string]string{"csv": "behemoth,Behemoth"}, "")
	tp.wantBody(res, "<strong>1</strong> to add")
	csvField, digest = formValue(t, res.body, "csv"), formValue(t, res.body, "digest")
	tp.wantStatus(tp.post("/panel/catalog/add", url.Values{"itemId": {"behemoth"}, "displayName": {"Big One"}}), http.StatusOK)
	res = tp.postMultipart("/panel/catalog/import/apply", map[string]string{"csv": csvField, "digest": digest}, "")
	tp.wantStatus(res, http.StatusConflict)
	tp.wantBody(res, "<strong>1</strong> to rename", "Big One")
	if it, _ := tp.catalogItem("behemoth"); it.DisplayName != "Big One" {
		t.Fatalf("behemoth: %+v", it)
	}
}

func TestCatalogImportErrors(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	before := len(tp.audit())
	for _, c := range []struct{ file, want string }{
		{"ok,Fine\nbad id,Name\n", "line 2: itemId &#34;bad id&#34; is not valid"},
		{"a,b,c\n", "line 1: 3 fields"},
		{"x,One\ny,Two\nx,Three\n", "line 3: itemId x is also on line 1"},
		{"itemId,displayName\n", "the file has no items"},
		{"a,\"open\n", "line 1"},
	} {
		res := tp.postMultipart("/panel/catalog/import", nil, c.file)
		tp.wantStatus(res, http.StatusBadRequest)
		tp.wantBody(res, "Problems in the file", c.want, "Nothing was changed")
		tp.wantNoBody(res, "Apply:")
	}
	res := tp.postMultipart("/panel/catalog/import", nil, "")
	tp.wantStatus(res, http.StatusBadRequest)
	tp.wantBody(res, "Nothing to import")
	if _, ok := tp.catalogItem("ok"); ok {
		t.Fatal("a file with errors was partly imported")
	}
	if n := len(tp.audit()); n != before {
		t.Fatalf("refused imports wrote %d audit entries", n-before)
	}
}

func TestCatalogViewerReadOnly(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleViewer)
	res := tp.get("/panel/catalog")
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "<code>pegasus</code>", "Your role (viewer) can read the catalog but not change it.")
	tp.wantNoBody(res, `action="/panel/catalog/add"`, `action="/panel/catalog/rename"`, `action="/panel/catalog/import"`, "?rename=")
	for _, path := range []string{"/panel/catalog/add", "/panel/catalog/rename"} {
		res := tp.post(path, url.Values{"itemId": {"pegasus"}, "displayName": {"Hacked"}})
		tp.wantStatus(res, http.StatusForbidden)
		tp.wantBody(res, "Not allowed")
	}
	for _, path := range []string{"/panel/catalog/import", "/panel/catalog/import/apply"} {
		tp.wantStatus(tp.postMultipart(path, map[string]string{"csv": "pegasus,Hacked"}, ""), http.StatusForbidden)
	}
	if it, _ := tp.catalogItem("pegasus"); it.DisplayName != "Pegasus" {
		t.Fatalf("a viewer changed pegasus: %+v", it)
	}
}

func TestCatalogNeedsCSRF(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	res := tp.postNoCSRF("/panel/catalog/add", url.Values{"itemId": {"forged"}, "displayName": {"Forged"}})
	tp.wantStatus(res, http.StatusForbidden)
	tp.wantBody(res, "Form refused")
	res = tp.postNoCSRF("/panel/catalog/rename", url.Values{"itemId": {"pegasus"}, "displayName": {"Forged"}, "csrf": {"not-the-token"}})
	tp.wantStatus(res, http.StatusForbidden)
	if _, ok := tp.catalogItem("forged"); ok {
		t.Fatal("a forged form added an item")
	}
	if it, _ := tp.catalogItem("pegasus"); it.DisplayName != "Pegasus" {
		t.Fatal("a forged form renamed pegasus")
	}
	// Signed out: the form is refused too.
	anon := *tp
	anon.client = newTestBrowser(t)
	tp.wantStatus(anon.post("/panel/catalog/add", url.Values{"itemId": {"forged"}}), http.StatusUnauthorized)
}

// catalogCSV is an import file of n new items named with pad characters
// each.
func catalogCSV(n, pad int) string {
	var b strings.Builder
	b.WriteString("itemId,displayName\n")
	for i := range n {
		fmt.Fprintf(&b, "bulk-%05d,%s\n", i, strings.Repeat("n", pad))
	}
	return b.String()
}

// TestCatalogImportSizeLimit: the import takes a file far larger than
// other forms (which stop at 64 KiB), and its preview's confirmation too;
// a file over 1 MiB is answered 413 on the catalog page with what to do
// (not as a form without its security token), whether the browser said
// the body's length or sent it in chunks; a larger form elsewhere gets
// 413 too.
func TestCatalogImportSizeLimit(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	// 1800 items of about 150 bytes: some 270 KB.
	file := catalogCSV(1800, 135)
	if len(file) <= formLimit || len(file) >= importLimit {
		t.Fatalf("the file has %d bytes", len(file))
	}
	res := tp.postMultipart("/panel/catalog/import", nil, file)
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "<strong>1800</strong> to add", "Apply: add 1800, rename 0")
	res = tp.postMultipart("/panel/catalog/import/apply", map[string]string{"csv": formValue(t, res.body, "csv"), "digest": formValue(t, res.body, "digest")}, "")
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Imported: 1800 added, 0 renamed.")
	if it, ok := tp.catalogItem("bulk-01799"); !ok || len(it.DisplayName) != 135 {
		t.Fatalf("bulk-01799 after the import: %+v %v", it, ok)
	}

	// Over 1 MiB: 1900 items of some 560 bytes.
	big := catalogCSV(1900, 540)
	if len(big) <= importLimit {
		t.Fatalf("the big file has %d bytes", len(big))
	}
	before := len(tp.audit())
	for _, chunked := range []bool{false, true} {
		res := tp.postMultipartBody("/panel/catalog/import", big, chunked)
		tp.wantStatus(res, http.StatusRequestEntityTooLarge)
		tp.wantBody(res, "Not imported: the form (the file and any pasted text) is larger than 1 MiB", "Split it into files of at most 1 MiB and 2000 items",
			`action="/panel/catalog/import"`)
		tp.wantNoBody(res, "Form refused", "security token")
	}
	if _, ok := tp.catalogItem("bulk-01899"); ok {
		t.Fatal("a file over the limit was imported")
	}
	if n := len(tp.audit()); n != before {
		t.Errorf("refused uploads wrote %d audit entries", n-before)
	}
	// The import still needs the CSRF token.
	tp.wantStatus(tp.do(http.MethodPost, "/panel/catalog/import", strings.NewReader(url.Values{"csv": {"forged,Forged"}}.Encode()),
		"application/x-www-form-urlencoded"), http.StatusForbidden)
	// Other forms keep their 64 KiB.
	res = tp.post("/panel/catalog/add", url.Values{"itemId": {"padded"}, "displayName": {strings.Repeat("x", 70<<10)}})
	tp.wantStatus(res, http.StatusRequestEntityTooLarge)
	tp.wantBody(res, "Form too large", "Nothing was changed")
	tp.wantNoBody(res, "Form refused")
}

// postMultipartBody sends an import form with file, with the CSRF token
// first; chunked hides the body's length (Transfer-Encoding: chunked).
func (tp *testPanel) postMultipartBody(path, file string, chunked bool) testResponse {
	tp.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("csrf", tp.csrf)
	fw, err := mw.CreateFormFile("file", "big.csv")
	if err != nil {
		tp.t.Fatal(err)
	}
	_, _ = fw.Write([]byte(file))
	if err := mw.Close(); err != nil {
		tp.t.Fatal(err)
	}
	var body io.Reader = &b
	if chunked {
		body = io.MultiReader(&b) // no Len: sent chunked
	}
	return tp.do(http.MethodPost, path, body, mw.FormDataContentType())
}
