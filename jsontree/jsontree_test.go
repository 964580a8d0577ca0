package jsontree

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKeepsOrderAndLiterals(t *testing.T) {
	t.Parallel()
	v, err := Parse([]byte(`{"items":[{"wight":{"amount":1},"lich":{"amount":2}}],"q":0.7,"big":1e309,"n":99999999999999999999}`))
	if err != nil {
		t.Fatal(err)
	}
	el := v.Get("items").Items[0]
	if el.Members[0].Key != "wight" || el.Members[1].Key != "lich" {
		t.Fatalf("order lost: %+v", el.Members)
	}
	if got := v.Get("q").Text; got != "0.7" {
		t.Errorf("q = %q", got)
	}
	if got := v.Get("big").Text; got != "1e309" {
		t.Errorf("big = %q", got)
	}
	if got := v.Get("n").Text; got != "99999999999999999999" {
		t.Errorf("n = %q", got)
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		in   string
		want error
	}{
		"syntax":        {`{"a":}`, ErrSyntax},
		"trailing":      {`{} {}`, ErrSyntax},
		"truncated":     {`{"a":[1,2`, ErrSyntax},
		"empty":         {``, ErrSyntax},
		"bad utf8":      {"{\"a\":\"\xff\"}", ErrUTF8},
		"duplicate key": {`{"a":1,"a":2}`, ErrDuplicateKey},
		"deep":          {strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), ErrDepth},
		"single quote":  {`{'a':1}`, ErrSyntax},
		"nan":           {`{"a":NaN}`, ErrSyntax},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(c.in))
			if !errors.Is(err, c.want) {
				t.Fatalf("Parse(%q) error = %v, want %v", c.in, err, c.want)
			}
		})
	}
}

func TestParseAcceptsMaxDepth(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Parse([]byte(in)); err != nil {
		t.Fatalf("depth %d refused: %v", MaxDepth, err)
	}
}
