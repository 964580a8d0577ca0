package panel

import "net/http"

// callbackRoutes registers the callback endpoint pages (endpoints, delivery log, resend).
func (h *Handler) callbackRoutes(m *http.ServeMux) {}
