package httpapi

import (
	"net/http"
	"strconv"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/panel"
)

// cartsPage is the data of GET /carts.
type cartsPage struct {
	Carts []omnicart.StatusView `json:"carts"`
	// Next is the cursor of the next page (the after parameter), absent on
	// the last page.
	Next string `json:"next,omitempty"`
}

// handleCarts lists the merchant's carts, newest first, with the Panel's
// filters (cartId, customerId, status, currency, from, to) and keyset
// pages (after, limit ≤ 100). A listing reads the stored carts as they
// are: a deadline that is due but not yet fired by the scheduler shows on
// /status/{cartId} (which fires it first) a moment before it shows here.
func (s *Server) handleCarts(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	v := r.URL.Query()
	q, bad := panel.CartQueryFrom(rc.merchant.ID, v)
	if bad == "" && v.Get("limit") != "" {
		n, err := strconv.Atoi(v.Get("limit"))
		if err != nil || n < 1 || n > 100 {
			bad = "limit"
		} else {
			q.Limit = n
		}
	}
	if bad != "" {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeInvalidFormat, Arg: bad}})
		return
	}
	list, err := s.Listing.ListCarts(r.Context(), q)
	if err != nil {
		s.fail(w, r, rc, err)
		return
	}
	out := cartsPage{Carts: []omnicart.StatusView{}}
	now := rc.merchant.Now(s.Service.Now())
	for _, lc := range list {
		lc.Cart.NormalizeTimers(now)
		out.Carts = append(out.Carts, lc.Cart.View(lc.Cart.All(), now))
	}
	if len(list) == q.Limit {
		out.Next = strconv.FormatInt(list[len(list)-1].Cursor, 10)
	}
	writeSuccess(w, rc, false, "", out, nil, false)
}
