package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/omnicart/omnicart"
)

// openAPIDoc is the OpenAPI document of what this server answers, served at
// GET /openapi.yaml.
//
//go:embed openapi.yaml
var openAPIDoc []byte

// OpenAPIDocument returns the server's OpenAPI document.
func OpenAPIDocument() []byte { return append([]byte(nil), openAPIDoc...) }

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeMethodNotAllowed}})
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(openAPIDoc)
	}
}
