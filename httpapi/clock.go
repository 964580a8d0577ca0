package httpapi

import (
	"net/http"
	"time"

	"github.com/omnicart/omnicart"
)

// handleClock serves POST /sandbox/clock {"advanceSecs": N}: it moves a
// test-mode merchant's clock forward and fires what falls due before
// answering with data.now.
func (s *Server) handleClock(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	// The clock fires captures and cancels: only keys allowed every method
	// may move it.
	if !s.authenticate(w, r, rc, func(m *omnicart.Merchant, k *omnicart.APIKey) bool {
		return r.Method == http.MethodPost && m.Mode == omnicart.ModeTest && len(k.Methods) == 0
	}) {
		return
	}
	m := rc.merchant
	root := s.readJSON(w, r, rc)
	if root == nil {
		return
	}
	rd := &reader{}
	a := at{stage: omnicart.StageValues}
	rd.object(a, "", root, "advanceSecs", "debug")
	secs := rd.integer(a, root, "advanceSecs", 0, 10*365*24*3600)
	if secs == nil && root.Get("advanceSecs") == nil {
		rd.format(a, "advanceSecs")
	}
	rc.debug = rd.debugFlag(root)
	if rd.sp.HasErrors() {
		writeProblems(w, rc, rd.sp.Ordered())
		return
	}
	now, err := s.Service.AdvanceClock(r.Context(), m, time.Duration(*secs)*time.Second)
	if err != nil {
		s.fail(w, r, rc, err)
		return
	}
	writeSuccess(w, rc, false, "", map[string]any{"now": stamp(now)}, nil, false)
}
