package cartdoc

import (
	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/omnicart/omnicart"
)

// Decode decodes a stored cart document into c, which should be zero,
// exactly as encoding/json.Unmarshal would: with encoding/json's
// semantics (names matched without regard to case, durations as integer
// nanoseconds, its merging and error rules).
func Decode(doc []byte, c *omnicart.Cart) error {
	return jsonv2.Unmarshal(doc, c, jsonv1.DefaultOptionsV1())
}
