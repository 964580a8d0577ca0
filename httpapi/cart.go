package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
)

func (s *Server) handleInit(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	root := s.readJSON(w, r, rc)
	if root == nil {
		return
	}
	spec, rd := parseInit(root)
	rc.debug = rd.debugFlag(root)
	res, err := s.Service.Init(r.Context(), rc.merchant, spec, rd.sp)
	if err != nil {
		s.fail(w, r, rc, err)
		return
	}
	data := map[string]any{
		"paymentUrl": strings.TrimRight(s.PublicURL, "/") + "/pay/" + res.PayToken,
		"expiresAt":  stamp(res.Cart.ExpiresAt),
	}
	writeSuccess(w, rc, true, res.Cart.ID, data, res.Infos, false)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	rd := &reader{}
	cartID := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/status"), "/")
	cartID = strings.TrimPrefix(cartID, ":")
	if unescaped, err := url.PathUnescape(cartID); err == nil {
		cartID = unescaped
	}
	switch {
	case cartID == "":
		rd.sp.Add(omnicart.StageCartID, omnicart.Problem{Code: omnicart.CodeCartIDEmpty})
	case !omnicart.ValidCartID(cartID):
		rd.sp.Add(omnicart.StageCartID, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "cartId"})
		cartID = ""
	}
	f := rd.statusQuery(r.URL.Query(), rc)
	res, err := s.Service.Status(r.Context(), rc.merchant, cartID, f, rd.sp)
	if err != nil {
		s.fail(w, r, rc, err)
		return
	}
	writeSuccess(w, rc, false, "", statusData(res.Cart, res.Idx, res.Now), res.Infos, true)
}

// statusQuery reads the status filters from the query string: tags and
// itemIds repeated or comma-separated, timerEnabled, debug.
func (rd *reader) statusQuery(q url.Values, rc *reqCtx) omnicart.Filter {
	var f omnicart.Filter
	a := at{stage: omnicart.StageValues}
	list := func(key string, valid func(string) bool) []string {
		var out []string
		for _, v := range q[key] {
			for _, part := range strings.Split(v, ",") {
				if !valid(part) {
					rd.format(a, key)
					return nil
				}
				out = append(out, part)
			}
		}
		return out
	}
	boolean := func(key string) *bool {
		vs, ok := q[key]
		if !ok {
			return nil
		}
		if len(vs) != 1 || (vs[0] != "true" && vs[0] != "false") {
			rd.format(a, key)
			return nil
		}
		b := vs[0] == "true"
		return &b
	}
	for k := range q {
		if !contains([]string{"tags", "itemIds", "timerEnabled", "debug"}, k) {
			rd.format(a, k)
		}
	}
	if d := boolean("debug"); d != nil {
		rc.debug = *d
	}
	f.Tags = list("tags", omnicart.ValidTag)
	f.ItemIDs = list("itemIds", omnicart.ValidItemID)
	f.TimerEnabled = boolean("timerEnabled")
	return f
}

type timerSnapshot struct {
	TriggerEvent  string               `json:"triggerEvent"`
	TimerStatus   omnicart.TimerStatus `json:"timerStatus"`
	RemainingSecs *int64               `json:"remainingSecs"`
}

type captureSnapshot struct {
	AutoAction    omnicart.AutoAction `json:"autoAction"`
	RemainingSecs int64               `json:"remainingSecs"`
}

type itemView struct {
	PaymentStatus   omnicart.Status          `json:"paymentStatus"`
	ItemAmounts     omnicart.Amounts         `json:"itemAmounts"`
	Tag             string                   `json:"tag,omitempty"`
	PaymentSnapshot omnicart.PaymentSnapshot `json:"paymentSnapshot"`
	TimerSnapshot   *timerSnapshot           `json:"timerSnapshot,omitempty"`
	CaptureSnapshot *captureSnapshot         `json:"captureSnapshot,omitempty"`
}

type statusView struct {
	CartID       string                `json:"cartId"`
	CustomerID   string                `json:"customerId,omitempty"`
	Currency     string                `json:"currency"`
	TotalAmounts omnicart.Amounts      `json:"totalAmounts"`
	Items        []map[string]itemView `json:"items"`
}

// statusData renders the status of the items at idx as of now.
func statusData(c *omnicart.Cart, idx []int, now time.Time) statusView {
	v := statusView{CartID: c.ID, CustomerID: c.CustomerID, Currency: c.Currency, TotalAmounts: c.Totals(idx),
		Items: make([]map[string]itemView, 0, len(idx))}
	for _, i := range idx {
		it := &c.Items[i]
		iv := itemView{PaymentStatus: it.ReportedStatus(), ItemAmounts: it.Amounts(), Tag: it.Tag, PaymentSnapshot: it.Payment}
		if t := it.Timer; t != nil {
			iv.TimerSnapshot = &timerSnapshot{TriggerEvent: t.Trigger, TimerStatus: t.StatusAt(now), RemainingSecs: t.RemainingAt(now)}
		}
		if it.Status == omnicart.StatusAuthorized && !it.CaptureDueAt.IsZero() {
			left := int64((it.CaptureDueAt.Sub(now) + time.Second - 1) / time.Second)
			if left < 0 {
				left = 0
			}
			iv.CaptureSnapshot = &captureSnapshot{AutoAction: it.Capture.AutoAction, RemainingSecs: left}
		}
		v.Items = append(v.Items, map[string]itemView{it.ID: iv})
	}
	return v
}

func (s *Server) actionHandler(a omnicart.Action) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		root := s.readJSON(w, r, rc)
		if root == nil {
			return
		}
		rd := &reader{}
		rd.object(at{stage: omnicart.StageValues}, "", root, "cartId", "filterBox", "debug")
		cartID := rd.cartID(root)
		f := rd.filterBox(root)
		rc.debug = rd.debugFlag(root)
		ids, err := s.Service.Act(r.Context(), rc.merchant, a, cartID, f, rd.sp)
		if err != nil {
			s.fail(w, r, rc, err)
			return
		}
		writeSuccess(w, rc, false, "", map[string]any{"itemIds": ids}, nil, false)
	}
}

func (s *Server) handleModify(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	root := s.readJSON(w, r, rc)
	if root == nil {
		return
	}
	cartID, spec, rd := parseModify(root)
	rc.debug = rd.debugFlag(root)
	res, err := s.Service.Modify(r.Context(), rc.merchant, cartID, spec, rd.sp)
	if err != nil {
		s.fail(w, r, rc, err)
		return
	}
	data := map[string]any{"modifiedAmounts": nonNil(res.ModifiedAmounts), "modifiedTimers": nonNil(res.ModifiedTimers)}
	writeSuccess(w, rc, false, "", data, res.Infos, false)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
