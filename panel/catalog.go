package panel

import "net/http"

// catalogRoutes registers the catalog pages (list, add, CSV import with preview, rename).
func (h *Handler) catalogRoutes(m *http.ServeMux) {}
