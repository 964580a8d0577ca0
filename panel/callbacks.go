package panel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/webhook"
)

// The Callbacks pages, through webhook.Manager (the use cases of the
// callback management API):
//
//	GET  /panel/callbacks                              endpoints and recent events
//	POST /panel/callbacks/endpoints                    add an endpoint (its secret shown once)
//	GET  /panel/callbacks/endpoints/{id}               one endpoint and its delivery log
//	POST /panel/callbacks/endpoints/{id}               change its URL and events
//	POST /panel/callbacks/endpoints/{id}/rotate        new secret, the old one signs during the overlap
//	POST /panel/callbacks/endpoints/{id}/disable       disable (pending deliveries are canceled)
//	POST /panel/callbacks/endpoints/{id}/enable        enable again
//	GET  /panel/callbacks/endpoints/{id}/remove        confirm removing
//	POST /panel/callbacks/endpoints/{id}/remove        remove it with its log
//	GET  /panel/callbacks/events/{id}                  one event with its deliveries
//	GET  /panel/callbacks/events/{id}/resend           confirm re-sending (?endpointId= for one endpoint)
//	POST /panel/callbacks/events/{id}/resend           re-send
//
// Form fields carry the API's names (url, events, overlapSecs, endpointId),
// so that a refusal reads exactly as the API's answer to the same request.

// callbackRoutes registers the callback endpoint pages (endpoints, delivery log, resend).
func (h *Handler) callbackRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /panel/callbacks", h.auth(h.cb(http.StatusOK, h.callbacks)))
	m.HandleFunc("POST /panel/callbacks/endpoints", h.auth(h.cb(http.StatusNotFound, h.addEndpoint)))
	m.HandleFunc("GET /panel/callbacks/endpoints/{id}", h.auth(h.cb(http.StatusNotFound, h.endpointPage)))
	m.HandleFunc("POST /panel/callbacks/endpoints/{id}", h.auth(h.cb(http.StatusNotFound, h.updateEndpoint)))
	m.HandleFunc("POST /panel/callbacks/endpoints/{id}/rotate", h.auth(h.cb(http.StatusNotFound, h.rotateSecret)))
	m.HandleFunc("POST /panel/callbacks/endpoints/{id}/disable", h.auth(h.cb(http.StatusNotFound, h.setEnabled(false))))
	m.HandleFunc("POST /panel/callbacks/endpoints/{id}/enable", h.auth(h.cb(http.StatusNotFound, h.setEnabled(true))))
	m.HandleFunc("GET /panel/callbacks/endpoints/{id}/remove", h.auth(h.cb(http.StatusNotFound, h.confirmRemoveEndpoint)))
	m.HandleFunc("POST /panel/callbacks/endpoints/{id}/remove", h.auth(h.cb(http.StatusNotFound, h.removeEndpoint)))
	m.HandleFunc("GET /panel/callbacks/events/{id}", h.auth(h.cb(http.StatusNotFound, h.eventPage)))
	m.HandleFunc("GET /panel/callbacks/events/{id}/resend", h.auth(h.cb(http.StatusNotFound, h.confirmResend)))
	m.HandleFunc("POST /panel/callbacks/events/{id}/resend", h.auth(h.cb(http.StatusNotFound, h.resend)))
}

// cb answers that callbacks are not configured when the server has no
// callback manager, and runs next otherwise.
func (h *Handler) cb(status int, next func(http.ResponseWriter, *http.Request, *signedIn)) func(http.ResponseWriter, *http.Request, *signedIn) {
	return func(w http.ResponseWriter, r *http.Request, s *signedIn) {
		if h.Callbacks == nil {
			h.message(w, r, s, status, "Callbacks not configured",
				"Callbacks are not configured on this server (it runs without a callback store), so there are no endpoints or events to show.")
			return
		}
		// An endpoint or event id that is not valid UTF-8 names nothing;
		// the database is not asked (PostgreSQL refuses such text).
		if !utf8.ValidString(r.PathValue("id")) {
			h.message(w, r, s, http.StatusNotFound, "Not found", "This merchant has no callback endpoint or event with that id.")
			return
		}
		next(w, r, s)
	}
}

// mayChange refuses a viewer (403) and reports whether the user may change
// callbacks.
func (h *Handler) mayChange(w http.ResponseWriter, r *http.Request, s *signedIn) bool {
	if s.user.Role.CanAct() {
		return true
	}
	h.message(w, r, s, http.StatusForbidden, "Not allowed", "Your role (viewer) can read callbacks but not change them.")
	return false
}

// refusal returns the main problem of a refusal by the manager (a bad URL,
// event list, overlap...): the code and message the API answers.
func refusal(err error) (omnicart.Problem, bool) {
	var de *omnicart.Error
	if errors.As(err, &de) && len(de.Problems) > 0 {
		return de.Problems[0], true
	}
	return omnicart.Problem{}, false
}

// auditURL is a URL typed into a form as the audit log may repeat it:
// without the user information (user:password@) and the query and
// fragment, which may carry secrets, and as auditInput bounds input. It
// works on the text, so that a URL too malformed to parse loses them too.
func auditURL(raw string) string {
	s := raw
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	start := 0
	if i := strings.Index(s, "//"); i >= 0 {
		start = i + 2
	}
	end := len(s)
	if i := strings.IndexAny(s[start:], "/\\"); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndex(s[start:end], "@"); at >= 0 {
		s = s[:start] + s[start+at+1:]
	}
	return auditInput(s)
}

// problemText is a problem as the API words it: code and message.
func problemText(p omnicart.Problem) string { return string(p.Code) + " " + p.Message() }

func refusalText(p omnicart.Problem) string {
	return "Refused: " + problemText(p) +
		" (the Merchant API's code and message for the same request). Nothing was changed."
}

const stampLayout = "2006-01-02 15:04:05 UTC"

func stampOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(stampLayout)
}

// endpointRow is an endpoint as the pages show it (never its secret).
type endpointRow struct {
	ID, URL, Events, Status, StatusDetail, Rotation, Created, Updated string
	EventList                                                         []string
	Enabled                                                           bool
}

func (h *Handler) endpointRowOf(e *omnicart.CallbackEndpoint) endpointRow {
	now := h.Callbacks.Now()
	row := endpointRow{ID: e.ID, URL: e.URL, Events: strings.Join(e.Events, ", "), EventList: e.Events, Status: e.Status(),
		Enabled: e.Enabled, Created: stampOf(e.CreatedAt), Updated: stampOf(e.UpdatedAt)}
	switch row.Status {
	case omnicart.EndpointDisabled:
		row.StatusDetail = "Nothing is sent to it."
		if e.DisabledReason != "" {
			row.StatusDetail = "Disabled: " + e.DisabledReason + ". Nothing is sent to it."
		}
	case omnicart.EndpointFailing:
		row.StatusDetail = "Failing since " + stampOf(e.FailingSince) + ": a delivery ran out of retries. Deliveries go on; the next success clears the mark."
	default:
		row.StatusDetail = "Receives its events."
	}
	switch {
	case e.PreviousSecret != "" && now.Before(e.PreviousExpiresAt):
		row.Rotation = "Rotated: the previous secret also signs until " + stampOf(e.PreviousExpiresAt) +
			" (in " + e.PreviousExpiresAt.Sub(now).Round(time.Minute).String() + ")."
	case e.PreviousSecret != "":
		row.Rotation = "One secret (the previous one stopped signing at " + stampOf(e.PreviousExpiresAt) + ")."
	default:
		row.Rotation = "One secret."
	}
	return row
}

// deliveryRow is one delivery of an event.
type deliveryRow struct {
	ID                                                     int64
	EndpointID, EndpointURL, Status, LastStatus, LastError string
	Attempts                                               int
	NextAttempt, Created, Finished                         string
	CanResend                                              bool
}

type cbEventRow struct {
	ID, Type, CartID, Created string
	Deliveries                []deliveryRow
}

// overlapChoice is an option of the rotation form.
type overlapChoice struct {
	Secs     int64
	Label    string
	Selected bool
}

func overlapChoices() []overlapChoice {
	return []overlapChoice{
		{0, "none: the old secret stops signing at once", false},
		{3600, "1 hour", false},
		{int64(webhook.DefaultOverlap / time.Second), "24 hours", true},
		{3 * 86400, "3 days", false},
		{int64(webhook.MaxOverlap / time.Second), "7 days (the longest)", false},
	}
}

type eventChoice struct {
	Type    string
	Checked bool
}

func eventChoices(checked []string) []eventChoice {
	var out []eventChoice
	for _, t := range webhook.EventTypes() {
		c := eventChoice{Type: t, Checked: checked == nil}
		for _, v := range checked {
			c.Checked = c.Checked || v == t
		}
		out = append(out, c)
	}
	return out
}

type callbacksData struct {
	Endpoints []endpointRow
	Events    []cbEventRow
	EventsErr string
	Next      string
	// Filters of the events list.
	CartID, Type string
	Types        []string
	// The add form, as sent (after a refusal).
	URL     string
	Choices []eventChoice
	CanAct  bool
	Full    bool
}

const cbEventsPage = 25

// callbacksPage builds the list page; d carries the add form's values.
func (h *Handler) callbacksPage(r *http.Request, s *signedIn, d callbacksData) (callbacksData, string, error) {
	ctx := r.Context()
	eps, err := h.Callbacks.Endpoints(ctx, s.merchant.ID)
	if err != nil {
		return d, "", err
	}
	urls := map[string]*omnicart.CallbackEndpoint{}
	for _, e := range eps {
		d.Endpoints = append(d.Endpoints, h.endpointRowOf(e))
		urls[e.ID] = e
	}
	d.Types, d.CanAct, d.Full = webhook.EventTypes(), s.user.Role.CanAct(), len(eps) >= webhook.MaxEndpointsPerMerchant
	if d.Choices == nil {
		d.Choices = eventChoices(nil)
	}
	v := r.URL.Query()
	d.CartID, d.Type = strings.TrimSpace(v.Get("cartId")), v.Get("type")
	q := omnicart.CallbackEventQuery{CartID: d.CartID, Type: d.Type, Before: v.Get("before"), Limit: cbEventsPage}
	// The API's checks of the same filters, with its messages.
	if d.CartID != "" && !omnicart.ValidCartID(d.CartID) {
		return d, problemText(omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "cartId"}), nil
	}
	if d.Type != "" && !webhook.ValidEventType(d.Type) {
		return d, problemText(omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: "type"}), nil
	}
	// No event id is text that is not valid UTF-8 (PostgreSQL refuses it).
	if !utf8.ValidString(q.Before) {
		return d, problemText(omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "before"}), nil
	}
	evs, err := h.Callbacks.Events(ctx, s.merchant.ID, q)
	if err != nil {
		return d, "", err
	}
	for _, ev := range evs {
		row := cbEventRow{ID: ev.ID, Type: ev.Type, CartID: ev.CartID, Created: stampOf(ev.CreatedAt)}
		ds, err := h.Callbacks.Store.Deliveries(ctx, s.merchant.ID, ev.ID)
		if err != nil {
			return d, "", err
		}
		row.Deliveries = deliveryRows(ds, urls, d.CanAct)
		d.Events = append(d.Events, row)
	}
	if len(evs) == cbEventsPage {
		nv := url.Values{"before": {evs[len(evs)-1].ID}}
		if d.CartID != "" {
			nv.Set("cartId", d.CartID)
		}
		if d.Type != "" {
			nv.Set("type", d.Type)
		}
		d.Next = Prefix + "callbacks?" + nv.Encode()
	}
	return d, "", nil
}

func deliveryRows(ds []omnicart.CallbackDeliveryRecord, eps map[string]*omnicart.CallbackEndpoint, canAct bool) []deliveryRow {
	var out []deliveryRow
	for _, x := range ds {
		row := deliveryRow{ID: x.ID, EndpointID: x.EndpointID, Status: x.Status, Attempts: x.Attempts, LastError: x.LastError,
			Created: stampOf(x.CreatedAt), Finished: stampOf(x.FinishedAt)}
		if x.Status == omnicart.DeliveryPending {
			row.NextAttempt = stampOf(x.NextAttemptAt)
		}
		if x.LastStatus != 0 {
			row.LastStatus = strconv.Itoa(x.LastStatus)
		}
		if e := eps[x.EndpointID]; e != nil {
			row.EndpointURL = e.URL
			row.CanResend = canAct && e.Enabled
		}
		out = append(out, row)
	}
	return out
}

func (h *Handler) callbacks(w http.ResponseWriter, r *http.Request, s *signedIn) {
	d, bad, err := h.callbacksPage(r, s, callbacksData{})
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	p := page{Title: "Callbacks", User: s.user, CSRF: s.csrf, Nav: "callbacks", Data: d}
	status := http.StatusOK
	if bad != "" {
		p.Error, status = "Refused filter: "+bad+" (the Merchant API's answer to the same query).", http.StatusBadRequest
	}
	if id := h.notice(r, s).Get("removed"); id != "" {
		p.Notice = "Endpoint " + id + " is removed, with its pending deliveries and its delivery log."
	}
	h.render(w, "callbacks", status, p)
}

// formEvents reads the events checkboxes: never nil, so that none checked
// is refused as the API refuses "events": [].
func formEvents(r *http.Request) []string {
	return append([]string{}, r.PostForm["events"]...)
}

func (h *Handler) addEndpoint(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !h.mayChange(w, r, s) {
		return
	}
	raw, events := strings.TrimSpace(r.PostFormValue("url")), formEvents(r)
	var e *omnicart.CallbackEndpoint
	var secret string
	var err error
	if !utf8.ValidString(raw) {
		// Malformed, as webhook.CheckURL answers a URL it cannot read
		// (the database would refuse the text).
		raw, err = strings.ToValidUTF8(raw, "\uFFFD"), omnicart.Errorf(omnicart.CodeInvalidFormat, "url")
	} else {
		e, secret, err = h.Callbacks.AddEndpoint(r.Context(), s.merchant.ID, webhook.NewEndpoint{URL: raw, Events: events})
	}
	if p, ok := refusal(err); ok {
		h.record(r.Context(), r, s.merchant.ID, s.user.Email, "callback.endpoint.add.refused", "url "+auditURL(raw), string(p.Code)+" "+p.Message())
		d, _, err := h.callbacksPage(r, s, callbacksData{URL: raw, Choices: eventChoices(events)})
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		h.render(w, "callbacks", http.StatusUnprocessableEntity, page{Title: "Callbacks", User: s.user, CSRF: s.csrf, Nav: "callbacks",
			Error: refusalText(p), Data: d})
		return
	}
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, "callback.endpoint.add", "endpoint "+e.ID, "url "+e.URL+"; events: "+strings.Join(e.Events, ", "))
	// Shown once, in this answer only (no redirect carries it).
	h.showEndpoint(w, r, s, e.ID, http.StatusOK, "The endpoint is added. Copy its signing secret now: it is shown only once.", "", secret, nil)
}

// endpointData is the endpoint page.
type endpointData struct {
	Endpoint  endpointRow
	Attempts  []attemptRow
	Limit     int
	More      string
	NewSecret string
	// The change form (as sent, after a refusal).
	URL      string
	Choices  []eventChoice
	Overlaps []overlapChoice
	CanAct   bool
}

type attemptRow struct {
	At, EventID, EventType, CartID, HTTPStatus, Latency, Error, Response, Status string
	DeliveryID                                                                   int64
	Attempt                                                                      int
}

// showEndpoint renders an endpoint page; form, when set, refills the change
// form (after a refusal).
func (h *Handler) showEndpoint(w http.ResponseWriter, r *http.Request, s *signedIn, id string, status int, notice, errText, secret string, form *endpointData) {
	ctx := r.Context()
	e, err := h.Callbacks.Endpoint(ctx, s.merchant.ID, id)
	if h.endpointFailed(w, r, s, id, err) {
		return
	}
	limit := 100
	if r.Method == http.MethodGet && r.URL.Query().Get("limit") == "500" {
		limit = 500
	}
	as, err := h.Callbacks.Attempts(ctx, s.merchant.ID, id, limit)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	d := endpointData{Endpoint: h.endpointRowOf(e), Limit: limit, NewSecret: secret, URL: e.URL, Choices: eventChoices(e.Events),
		Overlaps: overlapChoices(), CanAct: s.user.Role.CanAct()}
	if form != nil {
		d.URL, d.Choices = form.URL, form.Choices
	}
	for _, a := range as {
		row := attemptRow{At: stampOf(a.At), EventID: a.EventID, EventType: a.EventType, CartID: a.CartID, DeliveryID: a.DeliveryID,
			Attempt: a.Attempt, Latency: fmt.Sprintf("%d ms", a.Latency.Milliseconds()), Error: a.Error, Response: a.Response, Status: a.Status}
		if a.HTTPStatus != 0 {
			row.HTTPStatus = strconv.Itoa(a.HTTPStatus)
		}
		d.Attempts = append(d.Attempts, row)
	}
	if len(as) == limit && limit < 500 {
		d.More = Prefix + "callbacks/endpoints/" + url.PathEscape(id) + "?limit=500"
	}
	h.render(w, "callbacks_endpoint", status, page{Title: "Endpoint " + e.ID, User: s.user, CSRF: s.csrf, Nav: "callbacks",
		Notice: notice, Error: errText, Data: d})
}

func (h *Handler) endpointPage(w http.ResponseWriter, r *http.Request, s *signedIn) {
	var notice string
	switch h.notice(r, s).Get("done") {
	case "enabled":
		notice = "The endpoint is enabled: new events are sent to it again."
	case "disabled":
		notice = "The endpoint is disabled: nothing is sent to it, and its pending deliveries are canceled."
	case "updated":
		notice = "The endpoint is changed."
	}
	h.showEndpoint(w, r, s, r.PathValue("id"), http.StatusOK, notice, "", "", nil)
}

// changeRefused renders the endpoint page with the API's refusal, or the
// not-found or failure page; it reports whether err was handled.
func (h *Handler) changeRefused(w http.ResponseWriter, r *http.Request, s *signedIn, id, action string, err error, form *endpointData) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, omnicart.ErrNotFound) {
		return h.endpointFailed(w, r, s, id, err)
	}
	if p, ok := refusal(err); ok {
		h.record(r.Context(), r, s.merchant.ID, s.user.Email, "callback.endpoint."+action+".refused", "endpoint "+auditInput(id), string(p.Code)+" "+auditInput(p.Message()))
		h.showEndpoint(w, r, s, id, http.StatusUnprocessableEntity, "", refusalText(p), "", form)
		return true
	}
	h.fail(w, r, s, err)
	return true
}

func (h *Handler) updateEndpoint(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !h.mayChange(w, r, s) {
		return
	}
	id := r.PathValue("id")
	raw, events := strings.TrimSpace(r.PostFormValue("url")), formEvents(r)
	var e *omnicart.CallbackEndpoint
	var err error
	if !utf8.ValidString(raw) {
		raw, err = strings.ToValidUTF8(raw, "\uFFFD"), omnicart.Errorf(omnicart.CodeInvalidFormat, "url")
	} else {
		e, err = h.Callbacks.UpdateEndpoint(r.Context(), s.merchant.ID, id, webhook.EndpointPatch{URL: &raw, Events: events})
	}
	if h.changeRefused(w, r, s, id, "update", err, &endpointData{URL: raw, Choices: eventChoices(events)}) {
		return
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, "callback.endpoint.update", "endpoint "+id, "url "+e.URL+"; events: "+strings.Join(e.Events, ", "))
	http.Redirect(w, r, h.noticeURL(s, Prefix+"callbacks/endpoints/"+url.PathEscape(id), url.Values{"done": {"updated"}}), http.StatusSeeOther)
}

func (h *Handler) rotateSecret(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !h.mayChange(w, r, s) {
		return
	}
	id := r.PathValue("id")
	secs, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("overlapSecs")), 10, 64)
	if err != nil {
		err = omnicart.Errorf(omnicart.CodeInvalidFormat, "overlapSecs")
	} else if secs < 0 || secs > int64(webhook.MaxOverlap/time.Second) {
		err = omnicart.Errorf(omnicart.CodeInvalidValue, "overlapSecs")
	}
	var secret string
	if err == nil {
		_, secret, err = h.Callbacks.RotateSecret(r.Context(), s.merchant.ID, id, time.Duration(secs)*time.Second)
	}
	if h.changeRefused(w, r, s, id, "rotate", err, nil) {
		return
	}
	overlap := "none"
	if secs > 0 {
		overlap = (time.Duration(secs) * time.Second).String()
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, "callback.endpoint.rotate", "endpoint "+id, "overlap "+overlap)
	notice := "The secret is rotated. Copy the new signing secret now: it is shown only once."
	if secs > 0 {
		notice += " Deliveries carry signatures by both secrets until the overlap ends."
	}
	h.showEndpoint(w, r, s, id, http.StatusOK, notice, "", secret, nil)
}

func (h *Handler) setEnabled(on bool) func(http.ResponseWriter, *http.Request, *signedIn) {
	return func(w http.ResponseWriter, r *http.Request, s *signedIn) {
		if !h.mayChange(w, r, s) {
			return
		}
		id := r.PathValue("id")
		_, err := h.Callbacks.UpdateEndpoint(r.Context(), s.merchant.ID, id, webhook.EndpointPatch{Enabled: &on})
		action, done := "disable", "disabled"
		if on {
			action, done = "enable", "enabled"
		}
		if h.changeRefused(w, r, s, id, action, err, nil) {
			return
		}
		h.record(r.Context(), r, s.merchant.ID, s.user.Email, "callback.endpoint."+action, "endpoint "+id, "")
		http.Redirect(w, r, h.noticeURL(s, Prefix+"callbacks/endpoints/"+url.PathEscape(id), url.Values{"done": {done}}), http.StatusSeeOther)
	}
}

func (h *Handler) confirmRemoveEndpoint(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !h.mayChange(w, r, s) {
		return
	}
	id := r.PathValue("id")
	e, err := h.Callbacks.Endpoint(r.Context(), s.merchant.ID, id)
	if h.endpointFailed(w, r, s, id, err) {
		return
	}
	h.render(w, "callbacks_remove", http.StatusOK, page{Title: "Remove endpoint", User: s.user, CSRF: s.csrf, Nav: "callbacks",
		Data: h.endpointRowOf(e)})
}

func (h *Handler) removeEndpoint(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !h.mayChange(w, r, s) {
		return
	}
	id := r.PathValue("id")
	e, err := h.Callbacks.Endpoint(r.Context(), s.merchant.ID, id)
	if err == nil {
		err = h.Callbacks.RemoveEndpoint(r.Context(), s.merchant.ID, id)
	}
	if h.endpointFailed(w, r, s, id, err) {
		return
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, "callback.endpoint.remove", "endpoint "+id, "url "+e.URL)
	http.Redirect(w, r, h.noticeURL(s, Prefix+"callbacks", url.Values{"removed": {id}}), http.StatusSeeOther)
}

// eventData is the event page and the resend confirmation.
type eventData struct {
	ID, Type, CartID, Created, Payload string
	Sequence                           int64
	Deliveries                         []deliveryRow
	// Targets are the endpoints a resend may go to (enabled ones).
	Targets []endpointRow
	CanAct  bool
	// The resend being confirmed: Target is one endpoint, or every
	// enabled endpoint subscribed to the event's type (Subscribed).
	Target     *endpointRow
	Subscribed []endpointRow
}

// loadEvent reads an event with its deliveries and the merchant's
// endpoints; it writes the not-found or failure page and returns nil.
func (h *Handler) loadEvent(w http.ResponseWriter, r *http.Request, s *signedIn) (*eventData, []*omnicart.CallbackEndpoint) {
	ctx := r.Context()
	id := r.PathValue("id")
	ev, err := h.Callbacks.Event(ctx, s.merchant.ID, id)
	if errors.Is(err, omnicart.ErrNotFound) {
		h.message(w, r, s, http.StatusNotFound, "No such event", "This merchant has no callback event with this id.")
		return nil, nil
	}
	if err != nil {
		h.fail(w, r, s, err)
		return nil, nil
	}
	eps, err := h.Callbacks.Endpoints(ctx, s.merchant.ID)
	if err != nil {
		h.fail(w, r, s, err)
		return nil, nil
	}
	byID := map[string]*omnicart.CallbackEndpoint{}
	d := &eventData{ID: ev.Event.ID, Type: ev.Event.Type, CartID: ev.Event.CartID, Created: stampOf(ev.Event.CreatedAt),
		Sequence: ev.Event.Sequence, CanAct: s.user.Role.CanAct()}
	for _, e := range eps {
		byID[e.ID] = e
		if e.Enabled {
			row := h.endpointRowOf(e)
			d.Targets = append(d.Targets, row)
			if e.Wants(ev.Event.Type) {
				d.Subscribed = append(d.Subscribed, row)
			}
		}
	}
	d.Deliveries = deliveryRows(ev.Deliveries, byID, d.CanAct)
	var pretty bytes.Buffer
	if json.Indent(&pretty, ev.Event.Payload, "", "  ") == nil {
		d.Payload = pretty.String()
	} else {
		d.Payload = string(ev.Event.Payload)
	}
	return d, eps
}

func (h *Handler) eventPage(w http.ResponseWriter, r *http.Request, s *signedIn) {
	d, _ := h.loadEvent(w, r, s)
	if d == nil {
		return
	}
	p := page{Title: "Event " + d.ID, User: s.user, CSRF: s.csrf, Nav: "callbacks", Data: d}
	if n := h.notice(r, s).Get("resent"); n != "" {
		switch n {
		case "0":
			p.Notice = "Nothing was re-sent: no enabled endpoint is subscribed to " + d.Type + "."
		case "1":
			p.Notice = "Re-sent: 1 new delivery queued, with the same event id and body, signed anew when sent."
		default:
			p.Notice = "Re-sent: " + n + " new deliveries queued, with the same event id and body, signed anew when sent."
		}
	}
	h.render(w, "callbacks_event", http.StatusOK, p)
}

func (h *Handler) confirmResend(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !h.mayChange(w, r, s) {
		return
	}
	d, _ := h.loadEvent(w, r, s)
	if d == nil {
		return
	}
	if target := r.URL.Query().Get("endpointId"); target != "" {
		for i := range d.Targets {
			if d.Targets[i].ID == target {
				d.Target = &d.Targets[i]
			}
		}
		if d.Target == nil {
			// What the API answers for a disabled or unknown endpoint. The
			// parameter is not repeated: a link may carry any text.
			p := omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: "endpointId"}
			h.render(w, "callbacks_event", http.StatusUnprocessableEntity, page{Title: "Event " + d.ID, User: s.user, CSRF: s.csrf,
				Nav: "callbacks", Error: "Refused: " + problemText(p) + ": " + resendNoTarget, Data: d})
			return
		}
	}
	h.render(w, "callbacks_resend", http.StatusOK, page{Title: "Resend event", User: s.user, CSRF: s.csrf, Nav: "callbacks", Data: d})
}

func (h *Handler) resend(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !h.mayChange(w, r, s) {
		return
	}
	id, target := r.PathValue("id"), r.PostFormValue("endpointId")
	var sent []webhook.Resent
	err := omnicart.ErrNotFound // no endpoint id is text that is not valid UTF-8
	if utf8.ValidString(target) {
		sent, err = h.Callbacks.Resend(r.Context(), s.merchant.ID, id, target)
	}
	scope := "to every subscribed endpoint"
	if target != "" {
		scope = "to endpoint " + auditInput(target)
	}
	if errors.Is(err, omnicart.ErrNotFound) {
		h.resendNotFound(w, r, s)
		return
	}
	if p, ok := refusal(err); ok {
		h.record(r.Context(), r, s.merchant.ID, s.user.Email, "callback.event.resend.refused", "event "+auditInput(id), scope+": "+string(p.Code)+" "+auditInput(p.Message()))
		d, _ := h.loadEvent(w, r, s)
		if d == nil {
			return
		}
		h.render(w, "callbacks_event", http.StatusUnprocessableEntity, page{Title: "Event " + d.ID, User: s.user, CSRF: s.csrf,
			Nav: "callbacks", Error: refusalText(p), Data: d})
		return
	}
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	var ids []string
	for _, x := range sent {
		ids = append(ids, fmt.Sprintf("%d→%s", x.DeliveryID, x.EndpointID))
	}
	detail := scope + ": " + strconv.Itoa(len(sent)) + " deliveries"
	if len(ids) > 0 {
		detail += " (" + strings.Join(ids, ", ") + ")"
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, "callback.event.resend", "event "+id, detail)
	http.Redirect(w, r, h.noticeURL(s, Prefix+"callbacks/events/"+url.PathEscape(id), url.Values{"resent": {strconv.Itoa(len(sent))}}), http.StatusSeeOther)
}

// resendNoTarget says why a resend to the chosen endpoint is refused,
// without repeating the endpointId it was given (a link or form may carry
// any text).
const resendNoTarget = "the chosen endpoint is not an enabled endpoint of this merchant (it may have been disabled or removed). " +
	"Nothing was sent. Choose one of the enabled endpoints below."

// resendNotFound answers a resend whose event or endpoint the merchant
// does not have (404): the event's page with why, when the event exists
// (the endpoint is gone), else the not-found page of the event.
func (h *Handler) resendNotFound(w http.ResponseWriter, r *http.Request, s *signedIn) {
	d, _ := h.loadEvent(w, r, s)
	if d == nil {
		return
	}
	h.render(w, "callbacks_event", http.StatusNotFound, page{Title: "Event " + d.ID, User: s.user, CSRF: s.csrf,
		Nav: "callbacks", Error: "Not sent: " + resendNoTarget, Data: d})
}

// endpointFailed answers err of a call on endpoint id: 404 when the
// merchant has no such endpoint, the failure page otherwise. It reports
// whether there was an error to answer.
func (h *Handler) endpointFailed(w http.ResponseWriter, r *http.Request, s *signedIn, id string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, omnicart.ErrNotFound):
		h.message(w, r, s, http.StatusNotFound, "No such endpoint", "This merchant has no callback endpoint "+id+".")
	default:
		h.fail(w, r, s, err)
	}
	return true
}
