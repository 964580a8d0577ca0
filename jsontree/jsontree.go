package jsontree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Kind is the JSON type of a value.
type Kind int

// JSON kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// String names the kind as JSON does.
func (k Kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// Member is one key and value of an object.
type Member struct {
	Key   string
	Value *Value
}

// Value is a decoded JSON value.
type Value struct {
	Kind Kind
	Bool bool
	// Text is the string value, or the number's literal text.
	Text    string
	Items   []*Value
	Members []Member
}

// Get returns the member named key of an object, or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Object {
		return nil
	}
	for _, m := range v.Members {
		if m.Key == key {
			return m.Value
		}
	}
	return nil
}

// scanKeys is how many members an object may have before duplicate keys
// are looked up in a map instead of by scanning the earlier keys: a scan is
// cheaper for the small objects of every request, a map keeps a body of
// many keys linear.
const scanKeys = 16

// MaxDepth is the deepest nesting of arrays and objects accepted.
const MaxDepth = 32

// Errors returned by Parse.
var (
	ErrSyntax       = errors.New("malformed JSON")
	ErrUTF8         = errors.New("invalid UTF-8")
	ErrDepth        = errors.New("JSON nested too deeply")
	ErrDuplicateKey = errors.New("duplicate key")
)

// DuplicateKeyError names the key that appears twice in one object.
type DuplicateKeyError struct{ Key string }

func (e *DuplicateKeyError) Error() string { return fmt.Sprintf("duplicate key %q", e.Key) }

// Unwrap makes errors.Is(err, ErrDuplicateKey) true.
func (e *DuplicateKeyError) Unwrap() error { return ErrDuplicateKey }

// Parse decodes exactly one JSON value from data.
func Parse(data []byte) (*Value, error) {
	if !utf8.Valid(data) {
		return nil, ErrUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrSyntax
	}
	return v, nil
}

func parseValue(dec *json.Decoder, depth int) (*Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, ErrSyntax
	}
	return fromToken(dec, tok, depth)
}

func fromToken(dec *json.Decoder, tok json.Token, depth int) (*Value, error) {
	switch t := tok.(type) {
	case nil:
		return &Value{Kind: Null}, nil
	case bool:
		return &Value{Kind: Bool, Bool: t}, nil
	case json.Number:
		return &Value{Kind: Number, Text: string(t)}, nil
	case string:
		return &Value{Kind: String, Text: t}, nil
	case json.Delim:
		if depth >= MaxDepth {
			return nil, ErrDepth
		}
		switch t {
		case '[':
			v := &Value{Kind: Array, Items: []*Value{}}
			for {
				tok, err := dec.Token()
				if err != nil {
					return nil, ErrSyntax
				}
				if d, ok := tok.(json.Delim); ok && d == ']' {
					return v, nil
				}
				item, err := fromToken(dec, tok, depth+1)
				if err != nil {
					return nil, err
				}
				v.Items = append(v.Items, item)
			}
		case '{':
			v := &Value{Kind: Object, Members: []Member{}}
			// seen indexes the keys once the object outgrows a scan.
			var seen map[string]struct{}
			for {
				tok, err := dec.Token()
				if err != nil {
					return nil, ErrSyntax
				}
				if d, ok := tok.(json.Delim); ok && d == '}' {
					return v, nil
				}
				key, ok := tok.(string)
				if !ok {
					return nil, ErrSyntax
				}
				if seen == nil && len(v.Members) >= scanKeys {
					seen = make(map[string]struct{}, 2*len(v.Members))
					for _, m := range v.Members {
						seen[m.Key] = struct{}{}
					}
				}
				if seen != nil {
					if _, dup := seen[key]; dup {
						return nil, &DuplicateKeyError{Key: key}
					}
					seen[key] = struct{}{}
				} else if v.Get(key) != nil {
					return nil, &DuplicateKeyError{Key: key}
				}
				val, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.Members = append(v.Members, Member{Key: key, Value: val})
			}
		}
	}
	return nil, ErrSyntax
}
