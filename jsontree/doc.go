// Package jsontree decodes JSON into an ordered tree: object members keep the
// order they were written in, numbers keep their exact literal text (nothing
// goes through float64), duplicate keys, invalid UTF-8 and excessive nesting
// are refused. OmniCart's item lists are arrays of objects keyed by itemId
// whose order matters, so they cannot be decoded through Go maps.
package jsontree
