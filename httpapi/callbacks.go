package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/webhook"
)

// The callback management API, under /callbacks/, authenticated like the
// Merchant API and answering with the same envelope:
//
//	GET    /callbacks/endpoints                      list endpoints
//	POST   /callbacks/endpoints                      add one (201; the secret is shown once)
//	GET    /callbacks/endpoints/{id}                 one endpoint
//	PATCH  /callbacks/endpoints/{id}                 change url, events, enabled
//	DELETE /callbacks/endpoints/{id}                 remove it
//	POST   /callbacks/endpoints/{id}/rotate          new secret, old one signs during the overlap
//	GET    /callbacks/endpoints/{id}/deliveries      its delivery log, one entry per attempt
//	GET    /callbacks/events                         recent events (cartId, type, before, limit)
//	GET    /callbacks/events/{id}                    one event with its deliveries
//	POST   /callbacks/events/{id}/resend             send it again (optionally to one endpoint)
//
// Unknown paths and unknown endpoint or event ids are 404 199001; a wrong
// method on a known path is 405 131000 (after authentication), and so is a
// key limited to some methods: managing callbacks needs an unrestricted key.

// cbRoute is a matched management path: its kind and the id in it.
type cbRoute struct {
	kind string
	id   string
}

func matchCallbacks(path string) (cbRoute, bool) {
	rest, ok := strings.CutPrefix(path, "/callbacks/")
	if !ok {
		return cbRoute{}, false
	}
	seg := strings.Split(rest, "/")
	switch {
	case len(seg) == 1 && (seg[0] == "endpoints" || seg[0] == "events"):
		return cbRoute{kind: seg[0]}, true
	case len(seg) == 2 && (seg[0] == "endpoints" || seg[0] == "events") && seg[1] != "":
		return cbRoute{kind: seg[0] + "/id", id: seg[1]}, true
	case len(seg) == 3 && seg[0] == "endpoints" && seg[1] != "" && (seg[2] == "rotate" || seg[2] == "deliveries"):
		return cbRoute{kind: "endpoints/id/" + seg[2], id: seg[1]}, true
	case len(seg) == 3 && seg[0] == "events" && seg[1] != "" && seg[2] == "resend":
		return cbRoute{kind: "events/id/resend", id: seg[1]}, true
	}
	return cbRoute{}, false
}

// cbMethods are the methods each management path answers.
func cbMethods(kind string) []string {
	switch kind {
	case "endpoints":
		return []string{http.MethodGet, http.MethodPost}
	case "endpoints/id":
		return []string{http.MethodGet, http.MethodPatch, http.MethodDelete}
	case "endpoints/id/rotate", "events/id/resend":
		return []string{http.MethodPost}
	}
	return []string{http.MethodGet}
}

func (s *Server) handleCallbacks(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	rt, ok := matchCallbacks(r.URL.Path)
	if !ok || s.Callbacks == nil {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeNotFound}})
		return
	}
	if !s.authenticate(w, r, rc, func(_ *omnicart.Merchant, k *omnicart.APIKey) bool {
		return contains(cbMethods(rt.kind), r.Method) && len(k.Methods) == 0
	}) {
		return
	}
	m := rc.merchant
	switch rt.kind + " " + r.Method {
	case "endpoints GET":
		s.cbListEndpoints(w, r, rc)
	case "endpoints POST":
		s.cbAddEndpoint(w, r, rc)
	case "endpoints/id GET":
		e, err := s.Callbacks.Endpoint(r.Context(), m.ID, rt.id)
		s.cbAnswer(w, r, rc, err, func() any { return endpointJSON(e, "") })
	case "endpoints/id PATCH":
		s.cbUpdateEndpoint(w, r, rc, rt.id)
	case "endpoints/id DELETE":
		err := s.Callbacks.RemoveEndpoint(r.Context(), m.ID, rt.id)
		s.cbAnswer(w, r, rc, err, func() any { return map[string]any{"endpointId": rt.id, "removed": true} })
	case "endpoints/id/rotate POST":
		s.cbRotate(w, r, rc, rt.id)
	case "endpoints/id/deliveries GET":
		s.cbAttempts(w, r, rc, rt.id)
	case "events GET":
		s.cbEvents(w, r, rc)
	case "events/id GET":
		d, err := s.Callbacks.Event(r.Context(), m.ID, rt.id)
		s.cbAnswer(w, r, rc, err, func() any { return eventDetailJSON(d) })
	case "events/id/resend POST":
		s.cbResend(w, r, rc, rt.id)
	}
}

// cbAnswer writes err (unknown ids are 404 199001) or the data data()
// returns.
func (s *Server) cbAnswer(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error, data func() any) {
	s.cbAnswerStatus(w, r, rc, err, false, data)
}

func (s *Server) cbAnswerStatus(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error, created bool, data func() any) {
	if errors.Is(err, omnicart.ErrNotFound) {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeNotFound}})
		return
	}
	if err != nil {
		s.fail(w, r, rc, err)
		return
	}
	writeSuccess(w, rc, created, "", data(), nil, false)
}

// endpointView is an endpoint as the management API shows it (never its
// secret, except right after it was made).
type endpointView struct {
	EndpointID              string   `json:"endpointId"`
	URL                     string   `json:"url"`
	Events                  []string `json:"events"`
	Enabled                 bool     `json:"enabled"`
	Status                  string   `json:"status"`
	DisabledReason          string   `json:"disabledReason,omitempty"`
	FailingSince            string   `json:"failingSince,omitempty"`
	PreviousSecretExpiresAt string   `json:"previousSecretExpiresAt,omitempty"`
	CreatedAt               string   `json:"createdAt"`
	UpdatedAt               string   `json:"updatedAt"`
	Secret                  string   `json:"secret,omitempty"`
}

func optStamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return stamp(t)
}

func endpointJSON(e *omnicart.CallbackEndpoint, secret string) endpointView {
	v := endpointView{EndpointID: e.ID, URL: e.URL, Events: e.Events, Enabled: e.Enabled, Status: e.Status(),
		DisabledReason: e.DisabledReason, FailingSince: optStamp(e.FailingSince), CreatedAt: stamp(e.CreatedAt),
		UpdatedAt: stamp(e.UpdatedAt), Secret: secret}
	if e.PreviousSecret != "" {
		v.PreviousSecretExpiresAt = optStamp(e.PreviousExpiresAt)
	}
	if v.Events == nil {
		v.Events = []string{}
	}
	return v
}

func (s *Server) cbListEndpoints(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	eps, err := s.Callbacks.Endpoints(r.Context(), rc.merchant.ID)
	s.cbAnswer(w, r, rc, err, func() any {
		out := make([]endpointView, 0, len(eps))
		for _, e := range eps {
			out = append(out, endpointJSON(e, ""))
		}
		return map[string]any{"endpoints": out}
	})
}

// readEndpointBody reads url, events and enabled of an add or change
// request. It writes the error response and returns false on bad input.
func (s *Server) readEndpointBody(w http.ResponseWriter, r *http.Request, rc *reqCtx, needURL bool) (url *string, events []string, enabled *bool, ok bool) {
	root := s.readJSON(w, r, rc)
	if root == nil {
		return nil, nil, nil, false
	}
	rd := &reader{}
	a := at{stage: omnicart.StageValues}
	rd.object(a, "", root, "url", "events", "enabled", "debug")
	url = rd.str(a, root, "url")
	if needURL && url == nil && root.Get("url") == nil {
		rd.format(a, "url")
	}
	events = rd.stringList(a, root, "events", func(string) bool { return true })
	enabled = rd.boolean(a, root, "enabled")
	rc.debug = rd.debugFlag(root)
	if rd.sp.HasErrors() {
		writeProblems(w, rc, rd.sp.Ordered())
		return nil, nil, nil, false
	}
	return url, events, enabled, true
}

func (s *Server) cbAddEndpoint(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	url, events, enabled, ok := s.readEndpointBody(w, r, rc, true)
	if !ok {
		return
	}
	e, secret, err := s.Callbacks.AddEndpoint(r.Context(), rc.merchant.ID, webhook.NewEndpoint{URL: *url, Events: events, Enabled: enabled})
	s.cbAnswerStatus(w, r, rc, err, true, func() any { return endpointJSON(e, secret) })
}

func (s *Server) cbUpdateEndpoint(w http.ResponseWriter, r *http.Request, rc *reqCtx, id string) {
	url, events, enabled, ok := s.readEndpointBody(w, r, rc, false)
	if !ok {
		return
	}
	e, err := s.Callbacks.UpdateEndpoint(r.Context(), rc.merchant.ID, id, webhook.EndpointPatch{URL: url, Events: events, Enabled: enabled})
	s.cbAnswer(w, r, rc, err, func() any { return endpointJSON(e, "") })
}

// hasBody reports whether the request carries a body.
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && len(r.TransferEncoding) > 0)
}

func (s *Server) cbRotate(w http.ResponseWriter, r *http.Request, rc *reqCtx, id string) {
	overlap := webhook.DefaultOverlap
	if hasBody(r) {
		root := s.readJSON(w, r, rc)
		if root == nil {
			return
		}
		rd := &reader{}
		a := at{stage: omnicart.StageValues}
		rd.object(a, "", root, "overlapSecs", "debug")
		secs := rd.integer(a, root, "overlapSecs", 0, int64(webhook.MaxOverlap/time.Second))
		rc.debug = rd.debugFlag(root)
		if rd.sp.HasErrors() {
			writeProblems(w, rc, rd.sp.Ordered())
			return
		}
		if secs != nil {
			overlap = time.Duration(*secs) * time.Second
		}
	}
	e, secret, err := s.Callbacks.RotateSecret(r.Context(), rc.merchant.ID, id, overlap)
	s.cbAnswer(w, r, rc, err, func() any { return endpointJSON(e, secret) })
}

// query reads the allowed query parameters; an unknown or repeated one is
// 122001 "<name> has invalid format".
func (s *Server) query(w http.ResponseWriter, r *http.Request, rc *reqCtx, allowed ...string) (map[string]string, bool) {
	out := map[string]string{}
	for name, vals := range r.URL.Query() {
		if !contains(allowed, name) || len(vals) != 1 {
			writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeInvalidFormat, Arg: name}})
			return nil, false
		}
		out[name] = vals[0]
	}
	return out, true
}

// limitParam reads the limit query parameter (1..max).
func limitParam(q map[string]string, max int) (int, *omnicart.Problem) {
	v, ok := q["limit"]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "limit"}
	}
	if n < 1 || n > max {
		return 0, &omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: "limit"}
	}
	return n, nil
}

type attemptView struct {
	DeliveryID     int64  `json:"deliveryId"`
	EventID        string `json:"eventId"`
	EventType      string `json:"eventType"`
	CartID         string `json:"cartId"`
	Attempt        int    `json:"attempt"`
	At             string `json:"at"`
	HTTPStatus     *int   `json:"httpStatus"`
	LatencyMs      int64  `json:"latencyMs"`
	Error          string `json:"error,omitempty"`
	Response       string `json:"response,omitempty"`
	DeliveryStatus string `json:"deliveryStatus"`
}

func (s *Server) cbAttempts(w http.ResponseWriter, r *http.Request, rc *reqCtx, id string) {
	q, ok := s.query(w, r, rc, "limit")
	if !ok {
		return
	}
	limit, p := limitParam(q, 500)
	if p != nil {
		writeProblems(w, rc, omnicart.Problems{*p})
		return
	}
	as, err := s.Callbacks.Attempts(r.Context(), rc.merchant.ID, id, limit)
	s.cbAnswer(w, r, rc, err, func() any {
		out := make([]attemptView, 0, len(as))
		for _, a := range as {
			v := attemptView{DeliveryID: a.DeliveryID, EventID: a.EventID, EventType: a.EventType, CartID: a.CartID, Attempt: a.Attempt,
				At: stamp(a.At), LatencyMs: a.Latency.Milliseconds(), Error: a.Error, Response: a.Response, DeliveryStatus: a.Status}
			if a.HTTPStatus != 0 {
				st := a.HTTPStatus
				v.HTTPStatus = &st
			}
			out = append(out, v)
		}
		return map[string]any{"endpointId": id, "deliveries": out}
	})
}

func (s *Server) cbEvents(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q, ok := s.query(w, r, rc, "cartId", "type", "before", "limit")
	if !ok {
		return
	}
	var ps omnicart.Problems
	eq := omnicart.CallbackEventQuery{CartID: q["cartId"], Type: q["type"], Before: q["before"]}
	if _, set := q["cartId"]; set && !omnicart.ValidCartID(eq.CartID) {
		ps = append(ps, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "cartId"})
	}
	if _, set := q["type"]; set && !webhook.ValidEventType(eq.Type) {
		ps = append(ps, omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: "type"})
	}
	limit, p := limitParam(q, 200)
	if p != nil {
		ps = append(ps, *p)
	}
	if len(ps) > 0 {
		writeProblems(w, rc, ps)
		return
	}
	eq.Limit = limit
	evs, err := s.Callbacks.Events(r.Context(), rc.merchant.ID, eq)
	s.cbAnswer(w, r, rc, err, func() any {
		out := make([]json.RawMessage, 0, len(evs))
		for _, e := range evs {
			out = append(out, json.RawMessage(e.Payload))
		}
		return map[string]any{"events": out}
	})
}

type deliveryView struct {
	DeliveryID     int64  `json:"deliveryId"`
	EndpointID     string `json:"endpointId"`
	Status         string `json:"status"`
	Attempts       int    `json:"attempts"`
	NextAttemptAt  string `json:"nextAttemptAt,omitempty"`
	LastHTTPStatus *int   `json:"lastHttpStatus"`
	LastError      string `json:"lastError,omitempty"`
	CreatedAt      string `json:"createdAt"`
	FinishedAt     string `json:"finishedAt,omitempty"`
}

func eventDetailJSON(d *webhook.EventDetail) any {
	ds := make([]deliveryView, 0, len(d.Deliveries))
	for _, x := range d.Deliveries {
		v := deliveryView{DeliveryID: x.ID, EndpointID: x.EndpointID, Status: x.Status, Attempts: x.Attempts,
			NextAttemptAt: optStamp(x.NextAttemptAt), LastError: x.LastError, CreatedAt: stamp(x.CreatedAt), FinishedAt: optStamp(x.FinishedAt)}
		if x.LastStatus != 0 {
			st := x.LastStatus
			v.LastHTTPStatus = &st
		}
		ds = append(ds, v)
	}
	return map[string]any{"event": json.RawMessage(d.Event.Payload), "deliveries": ds}
}

func (s *Server) cbResend(w http.ResponseWriter, r *http.Request, rc *reqCtx, id string) {
	endpointID := ""
	if hasBody(r) {
		root := s.readJSON(w, r, rc)
		if root == nil {
			return
		}
		rd := &reader{}
		a := at{stage: omnicart.StageValues}
		rd.object(a, "", root, "endpointId", "debug")
		if v := rd.str(a, root, "endpointId"); v != nil {
			endpointID = *v
			if endpointID == "" {
				rd.format(a, "endpointId")
			}
		}
		rc.debug = rd.debugFlag(root)
		if rd.sp.HasErrors() {
			writeProblems(w, rc, rd.sp.Ordered())
			return
		}
	}
	sent, err := s.Callbacks.Resend(r.Context(), rc.merchant.ID, id, endpointID)
	s.cbAnswer(w, r, rc, err, func() any {
		out := make([]map[string]any, 0, len(sent))
		for _, d := range sent {
			out = append(out, map[string]any{"deliveryId": d.DeliveryID, "endpointId": d.EndpointID})
		}
		return map[string]any{"eventId": id, "deliveries": out}
	})
}
