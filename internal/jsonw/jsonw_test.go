package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// stdString is what encoding/json writes for s with HTML escaping off.
func stdString(t testing.TB, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", `quote " and \ backslash`, "\x00\x01\x07\x08\x0b\x0c\x1f\x7f", "\n\r\t",
		"<script>&amp;</script>", "line\u2028para\u2029end", "é ü 日本 🎉", "\xff\xfe bad \xc3", "\xe2\x80", "ok\xe2\x80\xa8"}
	for _, s := range cases {
		if got, want := String(nil, s), stdString(t, s); !bytes.Equal(got, want) {
			t.Errorf("String(%q) = %s, encoding/json writes %s", s, got, want)
		}
	}
	// Every single byte, and random strings drawn from an alphabet dense in
	// the cases that escape.
	for c := range 256 {
		s := string([]byte{'a', byte(c), 'z'})
		if got, want := String(nil, s), stdString(t, s); !bytes.Equal(got, want) {
			t.Errorf("String(%q) = %s, encoding/json writes %s", s, got, want)
		}
	}
	alphabet := []string{"a", "Z", "0", " ", `"`, `\`, "\n", "\x00", "\x1f", "\x7f", "é", "\u2028", "\u2029", "🎉", "\xff", "\xe2\x80", "<", "&"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var s []byte
		for range rng.IntN(12) {
			s = append(s, alphabet[rng.IntN(len(alphabet))]...)
		}
		if got, want := String(nil, string(s)), stdString(t, string(s)); !bytes.Equal(got, want) {
			t.Fatalf("String(%q) = %s, encoding/json writes %s", s, got, want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("a\u2028\xff\"\\\x01")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := String(nil, s), stdString(t, s); !bytes.Equal(got, want) {
			t.Fatalf("String(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}

func TestKeyAndInt(t *testing.T) {
	b := Key([]byte("{"), "amount")
	b = Int(b, math.MinInt64)
	if got := string(b); got != `{"amount":-9223372036854775808` {
		t.Errorf("got %s", got)
	}
}
