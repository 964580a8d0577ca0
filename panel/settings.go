package panel

import "net/http"

// settingsRoutes registers the settings page (merchant settings read-only, test clock, sandbox outbox).
func (h *Handler) settingsRoutes(m *http.ServeMux) {}
