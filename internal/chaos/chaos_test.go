package chaos

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

func TestScanBytesFindsCardData(t *testing.T) {
	numbers := []string{"4111111111111111", "5500000000000004"}
	for _, tc := range []struct {
		data   string
		binary bool
		want   string // what the first leak names; "" for none
	}{
		{`{"cardNumber":"4111 1111 1111 1111"}`, false, "card number 4111111111111111"},
		{`x 4111-1111-1111-1111 y`, true, "card number 4111111111111111"},
		{"\x00\x01" + "5500000000000004" + "\xff", true, "card number 5500000000000004"},
		{`{"last4":"1111","brand":"visa"}`, false, ""},
		{`"cvc":"` + cvc + `"`, false, "CVC " + cvc},
		{`{"code":"` + cvc + `"}`, false, "CVC " + cvc},
		{`cvv=` + cvc + `&x=1`, false, "CVC " + cvc},
		{`"amount":1` + cvc, false, ""},
		{`0.` + cvc + `s`, false, ""},
		{`op_` + cvc + `abc`, false, ""},
		{`tok-` + cvc + `_x`, false, ""},
		// In a binary file, three bytes amid random bytes are chance.
		{"\x00\x9f\x13\x80\x01\x02\x03\x04\x05\x06\x07\x08 " + cvc + " \x00\x9f\x13\x80\x01\x02\x03\x04\x05\x06\x07\x08", true, ""},
		{"\x00\x9f\x13\x80\x01\x02\x03\x04\x05\x06\x07\x08CVC\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b", true, ""},
		{`{"holder":"Ada","cvc":"x"}`, true, "the word cvc (a card field)"},
		{`card_cvc=1`, false, "the word cvc (a card field)"},
		{`"CVC: x"`, false, "the word cvc (a card field)"},
		// The end of a hexadecimal id, then bytes of an SQLite record
		// header (found in a long campaign's database).
		{"\x02\x83G\x1f\x05\x05op_3127a0d0e6478f1901490f523ba478bcvC{\"opId\":\"op_3127a0d0e6478f1901490f523ba4", true, ""},
		{`"description":"cvcx"`, false, ""},
	} {
		got := scanBytes([]byte(tc.data), numbers, tc.binary)
		switch {
		case tc.want == "" && len(got) > 0:
			t.Errorf("%q: found %s", tc.data, got[0].what)
		case tc.want != "" && (len(got) == 0 || got[0].what != tc.want):
			t.Errorf("%q: found %v, want %s", tc.data, got, tc.want)
		}
	}
}

func TestMutateJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	valid := `{"cartId":"c","items":[{"h1":{"amount":250,"tag":"t"}}],"n":1.50}`
	dec := json.NewDecoder(strings.NewReader(valid))
	dec.UseNumber()
	root, err := parseNode(dec)
	if err != nil || root.String() != valid {
		t.Fatalf("round trip: %v %s", err, root)
	}
	changed := 0
	for range 200 {
		if m := mutateJSON(rng, valid); m != valid {
			changed++
		}
		if b := mutateBytes(rng, []byte(valid)); bytes.Equal(b, []byte(valid)) {
			t.Logf("a byte mutation left the body as it was")
		}
	}
	if changed < 190 {
		t.Errorf("only %d of 200 JSON mutations changed the body", changed)
	}
}

func TestWrongKeysAreWrong(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	real := "ock_test_" + randomToken(rng, 32)
	for _, k := range wrongKeys(real, "ock_test_revoked") {
		for range 50 {
			for _, v := range k.values(rng) {
				if strings.TrimSpace(v) == real {
					t.Fatalf("%s: the real key", k.kind)
				}
				for i := 0; i < len(v); i++ {
					if (v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f {
						t.Fatalf("%s: %q cannot be sent in a header", k.kind, v)
					}
				}
			}
		}
	}
}

func TestRawEscape(t *testing.T) {
	if got := rawEscape("/status/a b%zz\x00#é"); got != "/status/a%20b%zz%00%23%C3%A9" {
		t.Fatalf("got %q", got)
	}
}

func TestScheduleAddsUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	gaps := schedule(rng, 500, 30*time.Minute, 5*time.Second)
	var sum time.Duration
	long := 0
	for _, g := range gaps {
		sum += g
		if g > 5*time.Second {
			long++
		}
	}
	if len(gaps) != 500 || long < 500/6 || sum > 30*time.Minute {
		t.Fatalf("%d gaps, %d long, %s in all", len(gaps), long, sum)
	}
}

func TestScanFileFindsALeak(t *testing.T) {
	path := t.TempDir() + "/f"
	data := append(bytes.Repeat([]byte{0, 0x9f, 'x'}, 1000), []byte(`{"n":"4111 1111 1111 1111","brand":"visa","last4":"1111"}`)...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c := &campaign{}
	size, found, leaks, err := c.scanFile(path, []string{"4111111111111111"}, true, []byte(`"brand":"visa","last4":"1111"`))
	if err != nil || size != int64(len(data)) || !found || len(leaks) != 1 || leaks[0].off != 3006 {
		t.Fatalf("size %d found %v leaks %+v err %v", size, found, leaks, err)
	}
}
