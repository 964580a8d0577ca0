package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/internal/jsonw"
)

// httpStatus maps a main response code to its HTTP status.
func httpStatus(code omnicart.Code, created bool) int {
	switch code {
	case omnicart.CodeAuth:
		return http.StatusUnauthorized
	case omnicart.CodeCartExists, omnicart.CodeActiveTimer, omnicart.CodeItemNotInCatalog,
		omnicart.CodeIdempotencyReused, omnicart.CodeIdempotencyRunning:
		return http.StatusConflict
	case omnicart.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case omnicart.CodeSystem:
		return http.StatusInternalServerError
	case omnicart.CodeNotFound:
		return http.StatusNotFound
	case omnicart.CodeTooManyRequests:
		return http.StatusTooManyRequests
	case omnicart.CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case omnicart.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	if code.IsInfo() || code == omnicart.CodeSuccess {
		if created {
			return http.StatusCreated
		}
		return http.StatusOK
	}
	return http.StatusBadRequest
}

// debugEntry is one entry of the debug list. Rule states the rule an
// identifier broke (omnicart.Problem.Rule), beside the message whose text
// SPEC fixes.
type debugEntry struct {
	Code    omnicart.Code `json:"code"`
	Message string        `json:"message"`
	Rule    string        `json:"rule,omitempty"`
}

type envelope struct {
	CartID  string        `json:"cartId,omitempty"`
	Data    any           `json:"data,omitempty"`
	Code    omnicart.Code `json:"code"`
	Message string        `json:"message"`
	// Rule is the main problem's Rule, with debug on.
	Rule      string        `json:"rule,omitempty"`
	Debug     *[]debugEntry `json:"debug,omitempty"`
	Timestamp string        `json:"timestamp"`
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func entries(ps omnicart.Problems) []debugEntry {
	out := make([]debugEntry, 0, len(ps))
	for _, p := range ps {
		out = append(out, debugEntry{Code: p.Code, Message: p.Message(), Rule: p.Rule})
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if env, ok := v.(envelope); ok {
		if b, ok := env.appendJSON(make([]byte, 0, 1024)); ok {
			w.WriteHeader(status)
			_, _ = w.Write(b)
			return
		}
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// appendJSON appends the envelope and a newline, the bytes json.Encoder
// (HTML escaping off) writes for it, when its data is an
// omnicart.StatusView value (or none) and it has no debug list; ok is
// false otherwise, and the caller encodes it by reflection.
func (e envelope) appendJSON(b []byte) (_ []byte, ok bool) {
	view, isView := e.Data.(omnicart.StatusView)
	if (e.Data != nil && !isView) || e.Debug != nil {
		return b, false
	}
	b = append(b, '{')
	if e.CartID != "" {
		b = append(b, `"cartId":`...)
		b = jsonw.String(b, e.CartID)
		b = append(b, ',')
	}
	if isView {
		b = append(b, `"data":`...)
		b = view.AppendJSON(b)
		b = append(b, ',')
	}
	b = append(b, `"code":`...)
	b = jsonw.String(b, string(e.Code))
	b = append(b, `,"message":`...)
	b = jsonw.String(b, e.Message)
	if e.Rule != "" {
		b = append(b, `,"rule":`...)
		b = jsonw.String(b, e.Rule)
	}
	b = append(b, `,"timestamp":`...)
	b = jsonw.String(b, e.Timestamp)
	return append(b, "}\n"...), true
}

// writeProblems writes a failed response: the first problem is the main
// code; with debug on the others are listed, and the rule the main problem
// broke is stated beside its message; with debug off the list is empty.
func writeProblems(w http.ResponseWriter, rc *reqCtx, ps omnicart.Problems) {
	if len(ps) == 0 {
		ps = omnicart.Problems{{Code: omnicart.CodeSystem}}
	}
	rest := omnicart.Problems{}
	rule := ""
	if rc.debug {
		rest = ps[1:]
		rule = ps[0].Rule
	}
	list := entries(rest)
	writeJSON(w, httpStatus(ps[0].Code, false), envelope{
		Code: ps[0].Code, Message: ps[0].Message(), Rule: rule, Debug: &list, Timestamp: stamp(rc.received),
	})
}

// writeSuccess writes a successful response. infos are the info messages
// found; forced are those that are the main code even with debug off (status
// filters that matched nothing).
func writeSuccess(w http.ResponseWriter, rc *reqCtx, created bool, cartID string, data any, infos omnicart.Problems, forced bool) {
	env := envelope{CartID: cartID, Data: data, Code: omnicart.CodeSuccess, Message: "Success", Timestamp: stamp(rc.received)}
	switch {
	case rc.debug:
		rest := omnicart.Problems{}
		if len(infos) > 0 {
			env.Code, env.Message = infos[0].Code, infos[0].Message()
			rest = infos[1:]
		}
		list := entries(rest)
		env.Debug = &list
	case forced && len(infos) > 0:
		env.Code, env.Message = infos[0].Code, infos[0].Message()
	}
	writeJSON(w, httpStatus(env.Code, created), env)
}
