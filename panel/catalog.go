package panel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/omnicart/omnicart"
)

// The catalog page lists a merchant's items (itemId and display name, the
// name the payment page shows), adds one, renames one, and imports a CSV
// in the format of `omnicart items import` (itemId,displayName rows, an
// optional header row, the name defaulting to the itemId) after a preview
// of what will be added, renamed and left unchanged. Owners and operators
// change the catalog; viewers read it. Items are not removed here.

const (
	// catalogPageSize is how many items the list shows per page.
	catalogPageSize = 100
	// maxImportRows bounds an import (the form's body is bounded too:
	// importLimit).
	maxImportRows = 2000
	// importLimit bounds the import form's body, the CSV file with the
	// rest of the form.
	importLimit = 1 << 20
	// applyLimit bounds the confirmation's form, which carries the
	// file's changes again as CSV (quoting may double a file's size).
	applyLimit = 2*importLimit + formLimit
	// maxDisplayName is the longest display name accepted, in characters.
	maxDisplayName = 200
	// maxFind bounds the itemIds one search looks up.
	maxFind = 100
)

func (h *Handler) catalogRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /panel/catalog", h.auth(h.catalog))
	m.HandleFunc("POST /panel/catalog/add", h.auth(h.catalogAdd))
	m.HandleFunc("POST /panel/catalog/rename", h.auth(h.catalogRename))
	m.HandleFunc("POST /panel/catalog/import", h.authLimit(importLimit, h.catalogTooLarge, h.catalogImport))
	m.HandleFunc("POST /panel/catalog/import/apply", h.authLimit(applyLimit, h.catalogApplyTooLarge, h.catalogApply))
}

type catalogRow struct{ ID, Name string }

type catalogData struct {
	CanEdit bool
	// Items is one page of the catalog, in itemId order; Total counts
	// the whole catalog.
	Items []catalogRow
	Total int
	Next  string
	// Find is the search (itemIds), Found what it found, Missing the
	// itemIds that are not in the catalog.
	Find    string
	Found   []catalogRow
	Missing []string
	// The forms' values, kept when one is refused.
	AddID, AddName, RenameID, RenameName string
	MaxRows, MaxName                     int
	// MaxFile is the largest import form, as the page says it.
	MaxFile string
}

// validCatalogName checks a display name: 1–maxDisplayName characters of
// valid UTF-8 without control characters (a name is shown on payment
// pages; the databases refuse invalid UTF-8 and NUL).
func validCatalogName(name string) error {
	switch {
	case name == "":
		return errors.New("the display name is empty")
	case !utf8.ValidString(name):
		return errors.New("the display name is not valid UTF-8 text")
	case utf8.RuneCountInString(name) > maxDisplayName:
		return fmt.Errorf("the display name has more than %d characters", maxDisplayName)
	case strings.ContainsFunc(name, unicode.IsControl):
		return errors.New("the display name contains a control character (a line break or tab, for instance)")
	}
	return nil
}

// checkCatalogItem validates an item with the rules of the CLI and the API
// (omnicart.ValidItemID) and the display-name rules above.
func checkCatalogItem(it omnicart.CatalogItem) error {
	if !omnicart.ValidItemID(it.ItemID) {
		if it.ItemID == "" {
			return errors.New("the itemId is empty")
		}
		return fmt.Errorf("itemId %q is not valid: 1–64 characters of A–Z a–z 0–9 _ . -", it.ItemID)
	}
	if err := validCatalogName(it.DisplayName); err != nil {
		return fmt.Errorf("itemId %s: %w", it.ItemID, err)
	}
	return nil
}

func (h *Handler) catalog(w http.ResponseWriter, r *http.Request, s *signedIn) {
	q := r.URL.Query()
	// ?rename=ID fills the rename form (the list's Rename links).
	d := catalogData{CanEdit: s.user.Role.CanAct(), MaxRows: maxImportRows, MaxName: maxDisplayName, MaxFile: importLimitText, RenameID: q.Get("rename")}
	p := page{Title: "Catalog", User: s.user, CSRF: s.csrf, Nav: "catalog"}
	n := h.notice(r, s)
	switch {
	case n.Get("added") != "":
		p.Notice = "Added " + n.Get("added") + " to the catalog."
	case n.Get("renamed") != "":
		p.Notice = "Renamed " + n.Get("renamed") + "."
	case n.Get("imported") != "":
		p.Notice = "Imported: " + n.Get("imported") + "."
	}
	h.renderCatalog(w, r, s, p, d, http.StatusOK)
}

// renderCatalog fills the list (and the search of ?find=) and renders the
// catalog page with status.
func (h *Handler) renderCatalog(w http.ResponseWriter, r *http.Request, s *signedIn, p page, d catalogData, status int) {
	ctx := r.Context()
	q := r.URL.Query()
	after := q.Get("after")
	d.Find = strings.TrimSpace(q.Get("find"))
	var find []string
	// An itemId that no catalog may hold (omnicart.ValidItemID) is missing
	// without asking the database (PostgreSQL refuses text that is not
	// valid UTF-8).
	var invalid []string
	d.Find = strings.ToValidUTF8(d.Find, "\uFFFD")
	for _, id := range strings.FieldsFunc(d.Find, func(c rune) bool { return c == ',' || unicode.IsSpace(c) }) {
		switch {
		case !omnicart.ValidItemID(id):
			if !slices.Contains(invalid, id) && len(invalid) < maxFind {
				invalid = append(invalid, id)
			}
		case !slices.Contains(find, id):
			find = append(find, id)
		}
	}
	if len(find) > maxFind {
		find = find[:maxFind]
		p.Error = fmt.Sprintf("Only the first %d itemIds of the search are looked up.", maxFind)
	}
	err := h.Service.Store.View(ctx, func(tx omnicart.Tx) error {
		all, err := tx.ListCatalogItems(ctx, s.merchant.ID)
		if err != nil {
			return err
		}
		d.Total = len(all)
		// Pages by itemId, in byte order (an engine's collation may differ).
		slices.SortFunc(all, func(a, b omnicart.CatalogItem) int { return strings.Compare(a.ItemID, b.ItemID) })
		from, _ := slices.BinarySearchFunc(all, after, func(it omnicart.CatalogItem, id string) int { return strings.Compare(it.ItemID, id) })
		if from < len(all) && all[from].ItemID == after {
			from++
		}
		items := all[from:]
		if len(items) > catalogPageSize {
			items = items[:catalogPageSize]
			d.Next = Prefix + "catalog?after=" + url.QueryEscape(items[len(items)-1].ItemID)
		}
		for _, it := range items {
			d.Items = append(d.Items, catalogRow{ID: it.ItemID, Name: it.DisplayName})
		}
		if d.RenameID != "" && d.RenameName == "" && omnicart.ValidItemID(d.RenameID) {
			got, err := tx.CatalogItems(ctx, s.merchant.ID, []string{d.RenameID})
			if err != nil {
				return err
			}
			if len(got) > 0 {
				d.RenameName = got[0].DisplayName
			}
		}
		d.Missing = invalid
		if len(find) == 0 {
			return nil
		}
		found, err := tx.CatalogItems(ctx, s.merchant.ID, find)
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, it := range found {
			names[it.ItemID] = it.DisplayName
		}
		for _, id := range find {
			if n, ok := names[id]; ok {
				d.Found = append(d.Found, catalogRow{ID: id, Name: n})
			} else {
				d.Missing = append(d.Missing, id)
			}
		}
		return nil
	})
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	p.Data = d
	h.render(w, "catalog", status, p)
}

// catalogReadOnly answers 403 to a user who may not change the catalog.
func (h *Handler) catalogReadOnly(w http.ResponseWriter, r *http.Request, s *signedIn) bool {
	if s.user.Role.CanAct() {
		return false
	}
	h.message(w, r, s, http.StatusForbidden, "Not allowed", "Your role (viewer) can read the catalog but not change it. Nothing was changed.")
	return true
}

// catalogFormError shows the catalog page again with the form's values and
// the error, 400; GET parameters (search, page) are not kept.
func (h *Handler) catalogFormError(w http.ResponseWriter, r *http.Request, s *signedIn, d catalogData, msg string) {
	h.catalogError(w, r, s, d, http.StatusBadRequest, msg)
}

// catalogError shows the catalog page again with the form's values and
// the error, with status.
func (h *Handler) catalogError(w http.ResponseWriter, r *http.Request, s *signedIn, d catalogData, status int, msg string) {
	d.CanEdit, d.MaxRows, d.MaxName, d.MaxFile = s.user.Role.CanAct(), maxImportRows, maxDisplayName, importLimitText
	h.renderCatalog(w, r, s, page{Title: "Catalog", User: s.user, CSRF: s.csrf, Nav: "catalog", Error: msg}, d, status)
}

// importLimitText is importLimit as the catalog page says it.
const importLimitText = "1 MiB"

// catalogTooLarge answers an import form over importLimit (413) on the
// catalog page, whose import form is there to choose a smaller file.
func (h *Handler) catalogTooLarge(w http.ResponseWriter, r *http.Request, s *signedIn) {
	h.catalogError(w, r, s, catalogData{}, http.StatusRequestEntityTooLarge,
		"Not imported: the form (the file and any pasted text) is larger than "+importLimitText+", the most one import takes. Nothing was changed. "+
			fmt.Sprintf("Split it into files of at most %s and %d items, and import each.", importLimitText, maxImportRows))
}

// catalogApplyTooLarge answers a confirmation form over applyLimit (413):
// no preview makes one, so the form was not the Panel's.
func (h *Handler) catalogApplyTooLarge(w http.ResponseWriter, r *http.Request, s *signedIn) {
	h.catalogError(w, r, s, catalogData{}, http.StatusRequestEntityTooLarge,
		"Not imported: the confirmation form is larger than an import's preview makes it. Nothing was changed. Import the file again.")
}

// errCatalogItemExists and errNoCatalogItem are the answers of catalog changes that
// find the item present (add) or absent (rename).
var (
	errCatalogItemExists = errors.New("item exists")
	errNoCatalogItem     = errors.New("no such item")
)

// putCatalogItem adds (wantExisting false) or renames (true) one item in one
// transaction, returning the old name of a renamed item.
func (h *Handler) putCatalogItem(ctx context.Context, merchantID string, it omnicart.CatalogItem, wantExisting bool) (string, error) {
	var old string
	err := h.Service.Store.Tx(ctx, func(tx omnicart.Tx) error {
		got, err := tx.CatalogItems(ctx, merchantID, []string{it.ItemID})
		if err != nil {
			return err
		}
		switch {
		case len(got) > 0 && !wantExisting:
			old = got[0].DisplayName
			return errCatalogItemExists
		case len(got) == 0 && wantExisting:
			return errNoCatalogItem
		case len(got) > 0:
			old = got[0].DisplayName
		}
		return tx.PutCatalogItems(ctx, merchantID, []omnicart.CatalogItem{it})
	})
	return old, err
}

func (h *Handler) catalogAdd(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if h.catalogReadOnly(w, r, s) {
		return
	}
	it := omnicart.CatalogItem{ItemID: strings.TrimSpace(r.PostFormValue("itemId")), DisplayName: strings.TrimSpace(r.PostFormValue("displayName"))}
	d := catalogData{AddID: it.ItemID, AddName: it.DisplayName}
	if it.DisplayName == "" {
		it.DisplayName = it.ItemID // as the CLI names an item it adds
	}
	if err := checkCatalogItem(it); err != nil {
		h.catalogFormError(w, r, s, d, "Not added: "+err.Error()+".")
		return
	}
	old, err := h.putCatalogItem(r.Context(), s.merchant.ID, it, false)
	if errors.Is(err, errCatalogItemExists) {
		h.catalogFormError(w, r, s, d, fmt.Sprintf("Not added: the catalog already has itemId %s (named %q). Rename it instead.", it.ItemID, old))
		return
	}
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, "catalog.add", "item "+it.ItemID, "name: "+it.DisplayName)
	http.Redirect(w, r, h.noticeURL(s, Prefix+"catalog", url.Values{"added": {it.ItemID}, "find": {it.ItemID}}), http.StatusSeeOther)
}

func (h *Handler) catalogRename(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if h.catalogReadOnly(w, r, s) {
		return
	}
	it := omnicart.CatalogItem{ItemID: strings.TrimSpace(r.PostFormValue("itemId")), DisplayName: strings.TrimSpace(r.PostFormValue("displayName"))}
	d := catalogData{RenameID: it.ItemID, RenameName: it.DisplayName}
	if err := checkCatalogItem(it); err != nil {
		h.catalogFormError(w, r, s, d, "Not renamed: "+err.Error()+".")
		return
	}
	old, err := h.putCatalogItem(r.Context(), s.merchant.ID, it, true)
	if errors.Is(err, errNoCatalogItem) {
		h.catalogFormError(w, r, s, d, "Not renamed: the catalog has no itemId "+it.ItemID+". Add it instead.")
		return
	}
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	if old != it.DisplayName {
		h.record(r.Context(), r, s.merchant.ID, s.user.Email, "catalog.rename", "item "+it.ItemID, fmt.Sprintf("name: %q → %q", old, it.DisplayName))
	}
	http.Redirect(w, r, h.noticeURL(s, Prefix+"catalog", url.Values{"renamed": {it.ItemID}, "find": {it.ItemID}}), http.StatusSeeOther)
}

// parseCatalogCSV reads the CLI's import format (cmd/omnicart
// readCatalogCSV): itemId,displayName rows; a first row whose first field
// is "itemId" is a header; a missing or empty name is the itemId; fields
// are trimmed. A UTF-8 byte-order mark (spreadsheets write one) is
// skipped. Beyond the CLI, an itemId listed twice is an error (which name
// was meant?). It returns every error found, each naming its line.
func parseCatalogCSV(in io.Reader) ([]omnicart.CatalogItem, []string) {
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, []string{"the file could not be read: " + err.Error()}
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var (
		out  []omnicart.CatalogItem
		errs []string
		seen = map[string]int{}
	)
	for first := true; len(errs) < 20; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				errs = append(errs, fmt.Sprintf("line %d: %v", pe.Line, pe.Err))
			} else {
				errs = append(errs, err.Error())
			}
			break // the reader cannot go on reliably
		}
		line, _ := cr.FieldPos(0)
		if first && strings.EqualFold(strings.TrimSpace(rec[0]), "itemId") {
			continue
		}
		if len(rec) > 2 {
			errs = append(errs, fmt.Sprintf("line %d: %d fields; want itemId,displayName (quote a name that has a comma)", line, len(rec)))
			continue
		}
		it := omnicart.CatalogItem{ItemID: strings.TrimSpace(rec[0])}
		it.DisplayName = it.ItemID
		if len(rec) == 2 && strings.TrimSpace(rec[1]) != "" {
			it.DisplayName = strings.TrimSpace(rec[1])
		}
		if err := checkCatalogItem(it); err != nil {
			errs = append(errs, fmt.Sprintf("line %d: %v", line, err))
			continue
		}
		if prev, ok := seen[it.ItemID]; ok {
			errs = append(errs, fmt.Sprintf("line %d: itemId %s is also on line %d", line, it.ItemID, prev))
			continue
		}
		seen[it.ItemID] = line
		if len(out) == maxImportRows {
			errs = append(errs, fmt.Sprintf("more than %d items: split the file", maxImportRows))
			break
		}
		out = append(out, it)
	}
	if len(errs) == 0 && len(out) == 0 {
		errs = append(errs, "the file has no items")
	}
	return out, errs
}

// formatCatalogCSV writes items in the import format, with a header.
func formatCatalogCSV(items []omnicart.CatalogItem) string {
	var b strings.Builder
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"itemId", "displayName"})
	for _, it := range items {
		_ = cw.Write([]string{it.ItemID, it.DisplayName})
	}
	cw.Flush()
	return b.String()
}

type catalogImportRow struct{ ID, Name, Old string }

type catalogImportData struct {
	Added, Renamed, Unchanged []catalogImportRow
	// CSV carries the changes (added and renamed items) to the apply form;
	// Digest is the preview's, checked when applying.
	CSV, Digest string
	Errors      []string
}

// changes returns the items an import adds or renames.
func (d *catalogImportData) changes() []omnicart.CatalogItem {
	var out []omnicart.CatalogItem
	for _, rows := range [][]catalogImportRow{d.Added, d.Renamed} {
		for _, r := range rows {
			out = append(out, omnicart.CatalogItem{ItemID: r.ID, DisplayName: r.Name})
		}
	}
	return out
}

// classifyImport compares items with the catalog in tx.
func classifyImport(ctx context.Context, tx omnicart.Tx, merchantID string, items []omnicart.CatalogItem) (catalogImportData, error) {
	var d catalogImportData
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ItemID
	}
	old := map[string]string{}
	// Looked up in chunks: engines bind one parameter per itemId.
	for len(ids) > 0 {
		n := min(len(ids), 500)
		got, err := tx.CatalogItems(ctx, merchantID, ids[:n])
		if err != nil {
			return d, err
		}
		for _, it := range got {
			old[it.ItemID] = it.DisplayName
		}
		ids = ids[n:]
	}
	var lines []string
	for _, it := range items {
		prev, ok := old[it.ItemID]
		row := catalogImportRow{ID: it.ItemID, Name: it.DisplayName, Old: prev}
		kind := "unchanged"
		switch {
		case !ok:
			kind = "added"
			d.Added = append(d.Added, row)
		case prev != it.DisplayName:
			kind = "renamed"
			d.Renamed = append(d.Renamed, row)
		default:
			d.Unchanged = append(d.Unchanged, row)
		}
		if kind != "unchanged" {
			lines = append(lines, fmt.Sprintf("%s\x00%s\x00%s\x00%s\n", kind, it.ItemID, prev, it.DisplayName))
		}
	}
	// The digest is of the changes, in any order: the apply form carries
	// those only (added, then renamed), and unchanged items are not written.
	slices.Sort(lines)
	sum := sha256.New()
	for _, l := range lines {
		sum.Write([]byte(l))
	}
	d.Digest = hex.EncodeToString(sum.Sum(nil)[:16])
	d.CSV = formatCatalogCSV(d.changes())
	return d, nil
}

func (h *Handler) renderCatalogImport(w http.ResponseWriter, s *signedIn, status int, errMsg string, d catalogImportData) {
	h.render(w, "catalog_import", status, page{Title: "Import items: preview", User: s.user, CSRF: s.csrf, Nav: "catalog", Error: errMsg, Data: d})
}

// catalogImportSource returns the CSV of the import form: the uploaded file, else
// the pasted text.
func catalogImportSource(r *http.Request) (io.Reader, bool) {
	if f, fh, err := r.FormFile("file"); err == nil && fh.Size > 0 {
		return f, true
	}
	if text := r.PostFormValue("csv"); strings.TrimSpace(text) != "" {
		return strings.NewReader(text), true
	}
	return nil, false
}

func (h *Handler) catalogImport(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if h.catalogReadOnly(w, r, s) {
		return
	}
	src, ok := catalogImportSource(r)
	if !ok {
		h.catalogFormError(w, r, s, catalogData{}, "Nothing to import: choose a CSV file or paste its rows.")
		return
	}
	items, errs := parseCatalogCSV(src)
	if len(errs) > 0 {
		h.renderCatalogImport(w, s, http.StatusBadRequest, "The file was not imported: fix these lines and try again. Nothing was changed.", catalogImportData{Errors: errs})
		return
	}
	var d catalogImportData
	err := h.Service.Store.View(r.Context(), func(tx omnicart.Tx) error {
		var err error
		d, err = classifyImport(r.Context(), tx, s.merchant.ID, items)
		return err
	})
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.renderCatalogImport(w, s, http.StatusOK, "", d)
}

// errCatalogPreviewStale is the answer of an import whose catalog changed since
// its preview.
var errCatalogPreviewStale = errors.New("the catalog changed since the preview")

func (h *Handler) catalogApply(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if h.catalogReadOnly(w, r, s) {
		return
	}
	items, errs := parseCatalogCSV(strings.NewReader(r.PostFormValue("csv")))
	if len(errs) > 0 {
		h.renderCatalogImport(w, s, http.StatusBadRequest, "The import form was damaged; nothing was changed. Import the file again.", catalogImportData{Errors: errs})
		return
	}
	ctx := r.Context()
	var d catalogImportData
	err := h.Service.Store.Tx(ctx, func(tx omnicart.Tx) error {
		var err error
		if d, err = classifyImport(ctx, tx, s.merchant.ID, items); err != nil {
			return err
		}
		if d.Digest != r.PostFormValue("digest") {
			return errCatalogPreviewStale
		}
		return tx.PutCatalogItems(ctx, s.merchant.ID, d.changes())
	})
	if errors.Is(err, errCatalogPreviewStale) {
		h.renderCatalogImport(w, s, http.StatusConflict, "The catalog changed since this preview (someone else edited it). Nothing was changed: check the new preview below and confirm again.", d)
		return
	}
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	sum := fmt.Sprintf("%d added, %d renamed", len(d.Added), len(d.Renamed))
	h.record(ctx, r, s.merchant.ID, s.user.Email, "catalog.import", fmt.Sprintf("%d items", len(d.Added)+len(d.Renamed)), sum)
	http.Redirect(w, r, h.noticeURL(s, Prefix+"catalog", url.Values{"imported": {sum}}), http.StatusSeeOther)
}
