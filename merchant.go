package omnicart

import "time"

// Mode says whether a merchant pays through the sandbox issuer (test) or a
// real acquirer (live).
type Mode string

// Merchant modes.
const (
	ModeTest Mode = "test"
	ModeLive Mode = "live"
)

// Privileges are operator-set permissions of a merchant.
type Privileges struct {
	CartExpiry     bool  `json:"cartExpiry"`
	AutoComplete   bool  `json:"autoComplete"`
	CaptureMinSecs int64 `json:"captureMinSecs"`
	CaptureMaxSecs int64 `json:"captureMaxSecs"`
	Timers         bool  `json:"timers"`
	AmountSettings bool  `json:"amountSettings"`
	OneStep        bool  `json:"oneStep"`
}

// DefaultPrivileges are the privileges of a new merchant.
func DefaultPrivileges() Privileges {
	return Privileges{AutoComplete: true, CaptureMinSecs: 600, CaptureMaxSecs: 604800, Timers: true, AmountSettings: true, OneStep: true}
}

// AllPrivileges grants everything, including setting cartExpiry.
func AllPrivileges() Privileges {
	p := DefaultPrivileges()
	p.CartExpiry = true
	return p
}

// ClampCaptureWindow fits a capture window (seconds) into the permitted
// range. A range with no maximum (zero) is open above.
func (p Privileges) ClampCaptureWindow(w int64) int64 {
	if p.CaptureMaxSecs > 0 && w > p.CaptureMaxSecs {
		w = p.CaptureMaxSecs
	}
	if w < p.CaptureMinSecs {
		w = p.CaptureMinSecs
	}
	return w
}

// Defaults of a new merchant.
const (
	DefaultCartExpirySecs     = 7200
	DefaultMaxDeclines        = 3
	DefaultCaptureWindowSecs  = 172800
	DefaultAutoActionLeadSecs = 3600
)

// Merchant is a business that opens carts.
type Merchant struct {
	ID             string     `json:"merchantId"`
	Name           string     `json:"name"`
	Mode           Mode       `json:"mode"`
	CartExpirySecs int64      `json:"cartExpirySecs"`
	MaxDeclines    int        `json:"maxDeclines"`
	Privileges     Privileges `json:"privileges"`
	// AutoActionLeadSecs is how long before a capture window's auto action
	// the payment.auto_action_pending event is sent.
	AutoActionLeadSecs int64     `json:"autoActionLeadSecs"`
	CreatedAt          time.Time `json:"createdAt"`
	// ClockOffset is how far the merchant's test clock is ahead of real
	// time (always zero in live mode). Stores keep it outside the document.
	ClockOffset time.Duration `json:"-"`
}

// Now is the merchant's clock: real time plus the test-clock offset.
func (m *Merchant) Now(real time.Time) time.Time { return real.Add(m.ClockOffset) }

// CaptureWindowDefault is the capture window of a two-step item whose
// request sets none: DefaultCaptureWindowSecs (two days) clamped into the
// merchant's permitted range, so that an /init without captureSettings
// always fits the merchant (and no error names a field it did not send).
func (m *Merchant) CaptureWindowDefault() int64 {
	return m.Privileges.ClampCaptureWindow(DefaultCaptureWindowSecs)
}

// AutoActionLead is the lead time of the auto-action warning (default one
// hour).
func (m *Merchant) AutoActionLead() time.Duration {
	if m.AutoActionLeadSecs <= 0 {
		return DefaultAutoActionLeadSecs * time.Second
	}
	return time.Duration(m.AutoActionLeadSecs) * time.Second
}

// Methods of the merchant API that a key can be limited to.
const (
	MethodInit    = "init"
	MethodStatus  = "status"
	MethodCapture = "capture"
	MethodCancel  = "cancel"
	MethodModify  = "modify"
	MethodRefund  = "refund"
)

// AllMethods lists every merchant API method.
func AllMethods() []string {
	return []string{MethodInit, MethodStatus, MethodCapture, MethodCancel, MethodModify, MethodRefund}
}

// APIKey is a merchant's credential. Only a keyed hash of the secret is kept.
type APIKey struct {
	Prefix     string     `json:"prefix"`
	MerchantID string     `json:"merchantId"`
	Hash       []byte     `json:"-"`
	Methods    []string   `json:"methods"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	// LastUsedAt is when the key last authenticated a Merchant API request
	// (nil: never), recorded at most about once a minute per key and node.
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	// CreatedBy is who created the key: a Panel user, or the operator
	// (the CLI); "" for none recorded.
	CreatedBy Actor `json:"createdBy,omitempty"`
}

// Allows reports whether the key may call method. A key with no method list
// may call every method.
func (k *APIKey) Allows(method string) bool {
	if len(k.Methods) == 0 {
		return true
	}
	return contains(k.Methods, method)
}

// CatalogItem is an entry of a merchant's items catalog.
type CatalogItem struct {
	ItemID      string `json:"itemId"`
	DisplayName string `json:"displayName"`
}
