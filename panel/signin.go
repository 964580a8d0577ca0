package panel

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
)

type signinData struct {
	Email string
	Next  string
}

// signinNonce returns the nonce the sign-in form's CSRF token is bound to,
// setting its cookie when the browser has none.
func (h *Handler) signinNonce(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(signinCookie); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	n := randomToken()
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: n, Path: Prefix + "signin", HttpOnly: true, Secure: h.secure(), SameSite: http.SameSiteStrictMode})
	return n
}

// safeNext keeps a redirect target inside the Panel.
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix) && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return Prefix + "overview"
}

func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Sign in", CSRF: h.csrfFor([]byte("signin\x00" + h.signinNonce(w, r))),
		Data: signinData{Next: r.URL.Query().Get("next")}}
	switch r.URL.Query().Get("reason") {
	case "idle":
		p.Notice = fmt.Sprintf("Your session ended after %d minutes without activity. Sign in again.", int(omnicart.SessionIdleTimeout.Minutes()))
	case "signedout":
		p.Notice = "You are signed out."
	}
	h.render(w, "signin", http.StatusOK, p)
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ctx := r.Context()
	nonce := h.signinNonce(w, r)
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	data := signinData{Email: email, Next: r.PostFormValue("next")}
	p := page{Title: "Sign in", CSRF: h.csrfFor([]byte("signin\x00" + nonce)), Data: data}
	ck, err := r.Cookie(signinCookie)
	if err != nil || ck.Value != nonce || !h.checkCSRF(r, []byte("signin\x00"+nonce)) {
		p.Error = "The sign-in form expired or did not come from this page. Nothing was checked; sign in again."
		h.render(w, "signin", http.StatusForbidden, p)
		return
	}
	now := h.now()
	n, first, err := h.Store.FailedSignIns(ctx, email, now.Add(-omnicart.LockoutWindow))
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if n >= omnicart.MaxFailedSignIns {
		h.renderLocked(w, p, first, now)
		return
	}
	u, err := h.Store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, omnicart.ErrNotFound) {
		h.fail(w, r, nil, err)
		return
	}
	if !checkPassword(u, r.PostFormValue("password")) {
		if err := h.Store.AddFailedSignIn(ctx, email, remoteAddr(r), now); err != nil {
			h.fail(w, r, nil, err)
			return
		}
		if u != nil {
			h.record(ctx, r, u.MerchantID, email, "signin.failed", "", "wrong password")
		}
		if n+1 >= omnicart.MaxFailedSignIns {
			if first.IsZero() {
				first = now
			}
			h.renderLocked(w, p, first, now)
			return
		}
		p.Error = "Wrong email or password."
		h.render(w, "signin", http.StatusUnauthorized, p)
		return
	}
	if err := h.Store.ClearFailedSignIns(ctx, email); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	tok := randomToken()
	sess := &omnicart.Session{Hash: hashToken(tok), UserID: u.ID, CreatedAt: now, LastSeenAt: now, RemoteAddr: remoteAddr(r)}
	if err := h.Store.CreateSession(ctx, sess); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	h.record(ctx, r, u.MerchantID, u.Email, "signin", "", "role "+string(u.Role))
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: Prefix, HttpOnly: true, Secure: h.secure(), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, safeNext(data.Next), http.StatusSeeOther)
}

func (h *Handler) renderLocked(w http.ResponseWriter, p page, first, now time.Time) {
	left := first.Add(omnicart.LockoutWindow).Sub(now).Round(time.Minute)
	if left < time.Minute {
		left = time.Minute
	}
	p.Error = fmt.Sprintf("This account is locked: %d failed sign-ins in %d minutes. Try again in %d minutes, or ask the account's owner to check who is trying.",
		omnicart.MaxFailedSignIns, int(omnicart.LockoutWindow.Minutes()), int(left.Minutes()))
	h.render(w, "signin", http.StatusTooManyRequests, p)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if err := h.Store.DeleteSession(r.Context(), s.session.Hash); err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.record(r.Context(), r, s.user.MerchantID, s.user.Email, "signout", "", "")
	h.clearSession(w)
	http.Redirect(w, r, Prefix+"signin?reason=signedout", http.StatusSeeOther)
}
