// Package cartdoc decodes the cart documents that storage engines keep
// (a Cart as encoding/json writes it). Every status and every change
// decodes one, so it is on the hottest path OmniCart has; this package
// decodes with the JSON v2 implementation (github.com/go-json-experiment/json)
// set to encoding/json's semantics, which decodes a cart in about 60 % of
// encoding/json's time with a quarter of its allocations. Documents are
// still written by encoding/json: the formats are one.
package cartdoc
