package jsontree

import (
	"errors"
	"fmt"
	"strconv"
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

// manyKeys is an object of n distinct keys ("k0".."k<n-1>") with small
// number values; with dup set, the last key repeats the first.
func manyKeys(n int, dup bool) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		k := i
		if dup && i == n-1 {
			k = 0
		}
		b.WriteString(`"k`)
		b.WriteString(strconv.Itoa(k))
		b.WriteString(`":`)
		b.WriteString(strconv.Itoa(i))
	}
	b.WriteByte('}')
	return []byte(b.String())
}

func TestParseManyKeys(t *testing.T) {
	t.Parallel()
	const n = 50000
	v, err := Parse(manyKeys(n, false))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Members) != n {
		t.Fatalf("%d members, want %d", len(v.Members), n)
	}
	for i, m := range v.Members {
		if want := "k" + strconv.Itoa(i); m.Key != want || m.Value.Text != strconv.Itoa(i) {
			t.Fatalf("member %d = %q: %q, want %q: %d", i, m.Key, m.Value.Text, want, i)
		}
	}
	if got := v.Get("k49999"); got == nil || got.Text != "49999" {
		t.Fatalf("Get(k49999) = %+v", got)
	}

	_, err = Parse(manyKeys(n, true))
	var dup *DuplicateKeyError
	if !errors.As(err, &dup) || dup.Key != "k0" || err.Error() != `duplicate key "k0"` {
		t.Fatalf("duplicate among %d keys: error = %v", n, err)
	}
}

// TestParseDuplicateKeyEachSize checks that a duplicate is found at every
// object size around the switch from scanning to a map, whichever earlier
// key it repeats, and that the first repeated key is the one named.
func TestParseDuplicateKeyEachSize(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 40; n++ {
		for first := range n {
			var b strings.Builder
			b.WriteByte('{')
			for i := range n {
				fmt.Fprintf(&b, `"k%d":%d,`, i, i)
			}
			fmt.Fprintf(&b, `"k%d":{"k%d":0},"k0":1}`, first, first)
			_, err := Parse([]byte(b.String()))
			want := fmt.Sprintf("duplicate key %q", "k"+strconv.Itoa(first))
			if !errors.Is(err, ErrDuplicateKey) || err.Error() != want {
				t.Fatalf("n=%d first=%d: error = %v, want %s", n, first, err, want)
			}
		}
	}
}

func BenchmarkManyKeys(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		data := manyKeys(n, false)
		b.Run(strconv.Itoa(n/1000)+"k", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
