// Package panel is the Merchant Panel: server-rendered pages (html/template,
// embedded; JavaScript only for the new API key's copy button, allowed by
// its hash, every page working without it) where a merchant's users sign
// in, see their carts and money, act on carts through the same use cases as the Merchant
// API (gateway.Service), manage API keys and, for owners, read the audit
// log. It is mounted at /panel/ by httpapi and wired by cmd/omnicart.
//
// Security: passwords are bcrypt hashes; a session is a random cookie
// (HttpOnly, SameSite=Lax, Secure behind https) whose SHA-256 is stored
// (omnicart.PanelStore), ending after omnicart.SessionIdleTimeout without
// use; every form carries a CSRF token bound to the session (or, for the
// sign-in form, to a nonce cookie); omnicart.MaxFailedSignIns failed
// sign-ins lock an account for omnicart.LockoutWindow; every action is
// written to the audit log with who, what, when and from where. The
// Content-Security-Policy allows only the inline style sheet, by hash.
package panel
