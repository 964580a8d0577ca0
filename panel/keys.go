package panel

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
)

type keyRow struct {
	Prefix, Methods, Created, Revoked string
	// LastUsed is when the key last authenticated a Merchant API request
	// (to about a minute), or "never".
	LastUsed string
	// CreatedBy is who created the key: a Panel user's email, or the
	// operator (the CLI).
	CreatedBy string
	Active    bool
}

// keyCreator is who created a key, as the keys list shows it.
func keyCreator(a omnicart.Actor) string {
	if email, ok := a.PanelUser(); ok {
		return email
	}
	return a.Label()
}

type keysData struct {
	Keys    []keyRow
	Methods []string
	NewKey  string
	Prefix  string // the key to confirm revoking
	// CopyScript is the copy button's script, shown with NewKey; the
	// Content-Security-Policy allows it by its hash.
	CopyScript template.JS
}

func (h *Handler) keyRows(r *http.Request, s *signedIn) ([]keyRow, error) {
	var keys []*omnicart.APIKey
	err := h.Service.Store.View(r.Context(), func(tx omnicart.Tx) error {
		var err error
		keys, err = tx.APIKeys(r.Context(), s.merchant.ID)
		return err
	})
	var out []keyRow
	for _, k := range keys {
		row := keyRow{Prefix: k.Prefix, Methods: "all", Created: k.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), Active: k.RevokedAt == nil,
			CreatedBy: keyCreator(k.CreatedBy)}
		if len(k.Methods) > 0 {
			row.Methods = strings.Join(k.Methods, ", ")
		}
		if k.RevokedAt != nil {
			row.Revoked = k.RevokedAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		row.LastUsed = "never"
		if k.LastUsedAt != nil {
			row.LastUsed = k.LastUsedAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		out = append(out, row)
	}
	return out, err
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request, s *signedIn) {
	rows, err := h.keyRows(r, s)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	p := page{Title: "API keys", User: s.user, CSRF: s.csrf, Nav: "keys", Data: keysData{Keys: rows, Methods: omnicart.AllMethods()}}
	if revoked := h.notice(r, s).Get("revoked"); revoked != "" {
		p.Notice = "Key " + revoked + "… is revoked: the API now refuses it (111000)."
	}
	h.render(w, "keys", http.StatusOK, p)
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !s.user.Role.CanAct() {
		h.message(w, r, s, http.StatusForbidden, "Not allowed", "Your role (viewer) can read API keys but not create them.")
		return
	}
	var methods []string
	for _, m := range r.PostForm["methods"] {
		if !slices.Contains(omnicart.AllMethods(), m) {
			h.message(w, r, s, http.StatusBadRequest, "Unknown method", "An API key can be limited to init, status, capture, cancel, modify and refund.")
			return
		}
		methods = append(methods, m)
	}
	if len(methods) == len(omnicart.AllMethods()) {
		methods = nil // every method, now and to come
	}
	raw, err := h.Service.CreateKey(r.Context(), s.merchant.ID, methods)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	prefix := raw[:16]
	detail := "methods: all"
	if len(methods) > 0 {
		detail = "methods: " + strings.Join(methods, ", ")
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, "key.create", "key "+prefix, detail)
	rows, err := h.keyRows(r, s)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	// Shown once, in this answer only (no redirect carries it).
	h.render(w, "keys", http.StatusOK, page{Title: "API keys", User: s.user, CSRF: s.csrf, Nav: "keys",
		Notice: "Copy the new key now: it is shown only once.", Data: keysData{Keys: rows, Methods: omnicart.AllMethods(), NewKey: raw, CopyScript: copyScript}})
}

func (h *Handler) confirmRevoke(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !s.user.Role.CanAct() {
		h.message(w, r, s, http.StatusForbidden, "Not allowed", "Your role (viewer) can read API keys but not revoke them.")
		return
	}
	h.render(w, "revoke", http.StatusOK, page{Title: "Revoke key", User: s.user, CSRF: s.csrf, Nav: "keys",
		Data: keysData{Prefix: r.URL.Query().Get("prefix")}})
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !s.user.Role.CanAct() {
		h.message(w, r, s, http.StatusForbidden, "Not allowed", "Your role (viewer) can read API keys but not revoke them.")
		return
	}
	prefix := r.PostFormValue("prefix")
	if len(prefix) < 16 {
		h.message(w, r, s, http.StatusBadRequest, "No such key", "Choose the key to revoke from the list.")
		return
	}
	err := h.Service.RevokeKey(r.Context(), s.merchant.ID, prefix)
	if errors.Is(err, omnicart.ErrNotFound) || errors.Is(err, omnicart.ErrConflict) {
		h.message(w, r, s, http.StatusNotFound, "No such key", "This merchant has no active key "+prefix+"….")
		return
	}
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, "key.revoke", "key "+prefix, "")
	http.Redirect(w, r, h.noticeURL(s, Prefix+"keys", url.Values{"revoked": {prefix}}), http.StatusSeeOther)
}

type auditRow struct{ At, Actor, Action, Target, Detail, From string }

type auditData struct {
	Rows []auditRow
	Next string
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !s.user.Role.CanAudit() {
		h.message(w, r, s, http.StatusForbidden, "Not allowed", "Only owners can read the audit log.")
		return
	}
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		before = parseInt(b)
	}
	es, err := h.Store.Audit(r.Context(), s.merchant.ID, before, 50)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	var d auditData
	for _, e := range es {
		d.Rows = append(d.Rows, auditRow{At: e.At.UTC().Format(time.RFC3339), Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail, From: e.RemoteAddr})
	}
	if len(es) == 50 {
		d.Next = Prefix + "audit?before=" + itoa(es[len(es)-1].ID)
	}
	h.render(w, "audit", http.StatusOK, page{Title: "Audit log", User: s.user, CSRF: s.csrf, Nav: "audit", Data: d})
}
