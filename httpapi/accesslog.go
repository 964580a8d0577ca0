package httpapi

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/omnicart/omnicart/internal/jsonw"
)

// accessLine is one request's access log entry.
type accessLine struct {
	at               time.Time
	id, method, path string
	status           int
	bytes            int64
	durationMs       float64
	merchant         string // "" for none
}

// append appends the entry as one JSON line: the members, in order and
// format, that slog's JSONHandler writes for the record the middleware
// logs through Server.Log ("time", "level", "msg", then the attributes),
// without its per-attribute work and the json.Marshal of the float
// (TestAccessLineMatchesSlog holds the two together). Strings are escaped
// as encoding/json escapes them, which differs from slog only in writing
// \b and \f rather than \u0008 and \u000c.
func (l *accessLine) append(b []byte) []byte {
	b = append(b, `{"time":"`...)
	b = l.at.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","request_id":`...)
	b = jsonw.String(b, l.id)
	b = append(b, `,"method":`...)
	b = jsonw.String(b, l.method)
	b = append(b, `,"path":`...)
	b = jsonw.String(b, l.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(l.status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, l.bytes, 10)
	b = append(b, `,"duration_ms":`...)
	b = appendJSONFloat(b, l.durationMs)
	if l.merchant != "" {
		b = append(b, `,"merchant":`...)
		b = jsonw.String(b, l.merchant)
	}
	return append(b, "}\n"...)
}

// appendJSONFloat appends f as encoding/json writes a float64: plain
// decimal notation between 1e-6 and 1e21 (a duration in milliseconds always
// is), json.Marshal's own output otherwise.
func appendJSONFloat(b []byte, f float64) []byte {
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	out, err := json.Marshal(f)
	if err != nil { // NaN, ±Inf: slog writes the error as the value
		return strconv.AppendQuote(b, err.Error())
	}
	return append(b, out...)
}
