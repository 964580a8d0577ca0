// Package jsonw appends JSON values to byte slices, byte for byte as
// encoding/json writes them with HTML escaping off (json.Encoder with
// SetEscapeHTML(false)). Hot responses (GET /status) are written with it
// instead of encoding/json's reflection; its tests hold it to encoding/json's
// output, so a response reads the same whichever path wrote it.
package jsonw
