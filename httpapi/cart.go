package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

func (s *Server) handleInit(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	root := s.readJSON(w, r, rc)
	if root == nil {
		return
	}
	spec, rd := parseInit(root)
	explainIDs(rd.sp, idsInit, root)
	rc.debug = rd.debugFlag(root)
	answer(s, w, r, rc, func(ctx context.Context) (*gateway.InitResult, error) {
		return s.Service.Init(ctx, rc.merchant, spec, rd.sp)
	}, func(w http.ResponseWriter, res *gateway.InitResult, err error) {
		if err != nil {
			s.fail(w, r, rc, err)
			return
		}
		data := map[string]any{
			"paymentUrl": strings.TrimRight(s.PublicURL, "/") + "/pay/" + res.PayToken,
			"expiresAt":  stamp(res.Cart.ExpiresAt),
		}
		writeSuccess(w, rc, true, res.Cart.ID, data, res.Infos, false)
	})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	rd := &reader{}
	cartID := statusCartID(r)
	switch {
	case cartID == "":
		rd.sp.Add(omnicart.StageCartID, omnicart.Problem{Code: omnicart.CodeCartIDEmpty})
	case !omnicart.ValidCartID(cartID):
		rd.sp.Add(omnicart.StageCartID, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "cartId"})
		cartID = ""
	}
	f := rd.statusQuery(r.URL.Query(), rc)
	explainIDs(rd.sp, idsStatus, nil)
	res, err := s.Service.Status(r.Context(), rc.merchant, cartID, f, rd.sp)
	if err != nil {
		s.fail(w, r, rc, err)
		return
	}
	writeSuccess(w, rc, false, "", res.Cart.View(res.Idx, res.Now), res.Infos, true)
}

// statusCartID is the cartId of a status request's path (/status/{id}
// or /status/:{id}), unescaped.
func statusCartID(r *http.Request) string {
	cartID := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/status"), "/")
	cartID = strings.TrimPrefix(cartID, ":")
	if unescaped, err := url.PathUnescape(cartID); err == nil {
		cartID = unescaped
	}
	return cartID
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
	unknown := make([]string, 0, len(q))
	for k := range q {
		if !contains([]string{"tags", "itemIds", "timerEnabled", "debug"}, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown) // report in a stable order
	for _, k := range unknown {
		rd.format(a, k)
	}
	if d := boolean("debug"); d != nil {
		rc.debug = *d
	}
	f.Tags = list("tags", omnicart.ValidTag)
	f.ItemIDs = list("itemIds", omnicart.ValidItemID)
	f.TimerEnabled = boolean("timerEnabled")
	return f
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
		explainIDs(rd.sp, idsAction, root)
		rc.debug = rd.debugFlag(root)
		answer(s, w, r, rc, func(ctx context.Context) ([]string, error) {
			return s.Service.Act(ctx, rc.merchant, a, cartID, f, rd.sp)
		}, func(w http.ResponseWriter, ids []string, err error) {
			if err != nil {
				s.fail(w, r, rc, err)
				return
			}
			writeSuccess(w, rc, false, "", map[string]any{"itemIds": ids}, nil, false)
		})
	}
}

func (s *Server) handleModify(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	root := s.readJSON(w, r, rc)
	if root == nil {
		return
	}
	cartID, spec, rd := parseModify(root)
	explainIDs(rd.sp, idsModify, root)
	rc.debug = rd.debugFlag(root)
	answer(s, w, r, rc, func(ctx context.Context) (*omnicart.ModifyResult, error) {
		return s.Service.Modify(ctx, rc.merchant, cartID, spec, rd.sp)
	}, func(w http.ResponseWriter, res *omnicart.ModifyResult, err error) {
		if err != nil {
			s.fail(w, r, rc, err)
			return
		}
		data := map[string]any{"modifiedAmounts": nonNil(res.ModifiedAmounts), "modifiedTimers": nonNil(res.ModifiedTimers)}
		writeSuccess(w, rc, false, "", data, res.Infos, false)
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
