package omnicart

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/omnicart/omnicart/internal/randfill"
)

// TestCloneIsDeep fills every exported field of carts with random values
// (so that a field added later is covered), adds produced events, and
// checks that Clone is equal to its original and shares no slice, map or
// pointer with it (the events' own contents excepted: an event is not
// changed once produced), so that changing a clone never changes the
// original.
func TestCloneIsDeep(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		var c Cart
		randfill.Fill(r, reflect.ValueOf(&c).Elem())
		if i%2 == 0 {
			c.events = []Event{{Type: EventPaymentStatusChanged, Sequence: 1}}
		}
		d := c.Clone()
		if !reflect.DeepEqual(&c, d) {
			t.Fatalf("cart %d: the clone differs:\n%+v\n%+v", i, c, *d)
		}
		if p := randfill.Aliased(reflect.ValueOf(&c).Elem(), reflect.ValueOf(d).Elem()); p != "" {
			t.Fatalf("cart %d: the clone shares %s with its original", i, p)
		}
	}
}
