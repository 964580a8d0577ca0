package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/omnicart/omnicart/client"
)

// These examples run against a real `omnicart serve` that TestMain starts
// (see main_test.go): serverURL is its address and apiKey the key of a
// test-mode merchant.

// testCard is a sandbox card that always succeeds.
var testCard = client.Card{CardNumber: "4111 1111 1111 1111", Expiry: "12/39", CVC: "123", Cardholder: "Ada Lovelace"}

// Open a cart, let the customer pay it, capture part of it and read it.
func Example() {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)

	cart, err := c.Init(ctx, &client.InitRequest{
		CartID:   "example-flow-0001",
		Currency: "XAU",
		Items: []client.Item{
			{ItemID: "pegasus", Amount: 250, Tag: "rampart"},
			{ItemID: "naga", Amount: 1100, Tag: "tower"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("opened", cart.CartID, "HTTP", cart.HTTPStatus, cart.Code)

	// The customer pays on cart.PaymentURL; an app posts the card as JSON.
	pay, err := c.Pay(ctx, cart.PaymentURL, testCard)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("payment", pay.Result)

	// Capture the rampart items; the others stay authorized.
	captured, err := c.Capture(ctx, &client.ActionRequest{
		CartID:    cart.CartID,
		FilterBox: &client.FilterBox{Tags: []string{"rampart"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("captured", captured.ItemIDs)

	st, err := c.Status(ctx, cart.CartID, client.StatusQuery{})
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range st.Items {
		fmt.Printf("%s %s %+v\n", it.ItemID, it.PaymentStatus, it.ItemAmounts)
	}
	fmt.Printf("total %+v\n", st.TotalAmounts)
	// Output:
	// opened example-flow-0001 HTTP 201 000000
	// payment authorized
	// captured [pegasus]
	// pegasus completed {Initiated:250 Captured:250 Refunded:0 Current:250}
	// naga authorized {Initiated:1100 Captured:0 Refunded:0 Current:1100}
	// total {Initiated:1350 Captured:250 Refunded:0 Current:1350}
}

// Settings at cart, tag and item level, a capture window, a return URL,
// and debug mode reporting an information code.
func ExampleClient_Init() {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)

	cart, err := c.Init(ctx, &client.InitRequest{
		CartID:   "example-init-0001",
		Currency: "EUR",
		Scope: &client.Scope{
			Cart: &client.Settings{PaymentBox: &client.PaymentBox{
				Capture:         client.Bool(true),
				CaptureSettings: &client.CaptureSettings{AutoAction: client.AutoCancel, Value: 86400},
			}},
			Tags: []client.TagSettings{
				{Tag: "instant", Settings: client.Settings{PaymentBox: &client.PaymentBox{Capture: client.Bool(false)}}},
				{Tag: "spare"},
			},
		},
		Items: []client.Item{
			{ItemID: "pegasus", Amount: 250},
			{ItemID: "lich", Amount: 120, Quantity: client.Decimal("2.5"), Tag: "instant",
				Settings: client.Settings{PaymentBox: &client.PaymentBox{AmountMode: client.AmountCalculated}}},
		},
		PaymentForm: &client.PaymentForm{DeliveryOption: client.DeliveryRedirect, Value: "https://shop.example/return"},
		Debug:       true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cart.CartID, cart.Code, cart.Message)
	fmt.Println("payment page:", strings.HasPrefix(cart.PaymentURL, serverURL+"/pay/"))

	st, err := c.Status(ctx, cart.CartID, client.StatusQuery{})
	if err != nil {
		log.Fatal(err)
	}
	lich := st.Item("lich")
	fmt.Println("lich:", lich.ItemAmounts.Current, lich.PaymentSnapshot.AmountMode, lich.PaymentSnapshot.Quantity)
	// Output:
	// example-init-0001 001001 Tag(s) [spare] defined but not used
	// payment page: true
	// lich: 300 calculated 2.5
}

// Status filters: an itemId the cart does not hold is reported as an
// information code while the other items are listed.
func ExampleClient_Status() {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)
	if _, err := c.Init(ctx, &client.InitRequest{CartID: "example-status-01", Currency: "XAU", Items: []client.Item{
		{ItemID: "pegasus", Amount: 250, Tag: "rampart"},
		{ItemID: "naga", Amount: 1100, Tag: "tower"},
	}}); err != nil {
		log.Fatal(err)
	}

	st, err := c.Status(ctx, "example-status-01", client.StatusQuery{ItemIDs: []string{"pegasus", "wight"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Code, st.Message)
	for _, it := range st.Items {
		fmt.Println(it.ItemID, it.Tag, it.PaymentStatus)
	}
	// Output:
	// 001005 Requested cart does not contain itemId(s) [wight]
	// pegasus rampart initiated
}

// Partial cancellation: lower an authorized item's amount (the difference
// is released from the hold), then capture what is left.
func ExampleClient_Modify() {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)
	cartID := paidCart(c, "example-modify-01")

	mod, err := c.Modify(ctx, &client.ModifyRequest{
		CartID: cartID,
		ModifyBox: client.ModifyBox{Items: []client.ModifyItem{
			{ItemID: "pegasus", ModifyAmount: &client.AmountChange{Amount: 150, AmountMode: client.AmountDeclared}},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("modified", mod.ModifiedAmounts)

	if _, err := c.Capture(ctx, &client.ActionRequest{CartID: cartID}); err != nil {
		log.Fatal(err)
	}
	st, err := c.Status(ctx, cartID, client.StatusQuery{ItemIDs: []string{"pegasus"}})
	if err != nil {
		log.Fatal(err)
	}
	p := st.Items[0]
	fmt.Printf("%s %s %+v\n", p.ItemID, p.PaymentStatus, p.ItemAmounts)
	// Output:
	// modified [pegasus]
	// pegasus completed {Initiated:250 Captured:150 Refunded:0 Current:150}
}

// Cancel by tag, capture the rest, then refund one item.
func ExampleClient_Refund() {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)
	cartID := paidCart(c, "example-refund-01")

	canceled, err := c.Cancel(ctx, &client.ActionRequest{CartID: cartID, FilterBox: &client.FilterBox{Tags: []string{"rampart"}}})
	if err != nil {
		log.Fatal(err)
	}
	captured, err := c.Capture(ctx, &client.ActionRequest{CartID: cartID})
	if err != nil {
		log.Fatal(err)
	}
	refunded, err := c.Refund(ctx, &client.ActionRequest{CartID: cartID, FilterBox: &client.FilterBox{ItemIDs: []string{"naga"}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("canceled", canceled.ItemIDs, "captured", captured.ItemIDs, "refunded", refunded.ItemIDs)

	// Refunding again finds nothing completed.
	_, err = c.Refund(ctx, &client.ActionRequest{CartID: cartID})
	fmt.Println(client.ErrorCode(err))
	// Output:
	// canceled [pegasus] captured [naga] refunded [naga]
	// 124115
}

// A test-mode merchant's clock: the capture window ends and its auto
// action cancels the hold before AdvanceClock returns.
func ExampleClient_AdvanceClock() {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)
	cart, err := c.Init(ctx, &client.InitRequest{CartID: "example-clock-01", Currency: "EUR", Items: []client.Item{
		{ItemID: "pegasus", Amount: 250, Settings: client.Settings{PaymentBox: &client.PaymentBox{
			CaptureSettings: &client.CaptureSettings{AutoAction: client.AutoCancel, Value: 600},
		}}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Pay(ctx, cart.PaymentURL, testCard); err != nil {
		log.Fatal(err)
	}
	st, err := c.Status(ctx, cart.CartID, client.StatusQuery{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Items[0].PaymentStatus, st.Items[0].CaptureSnapshot.AutoAction)

	if _, err := c.AdvanceClock(ctx, 10*time.Minute); err != nil {
		log.Fatal(err)
	}
	st, err = c.Status(ctx, cart.CartID, client.StatusQuery{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Items[0].PaymentStatus, st.Items[0].ItemAmounts.Current)
	// Output:
	// authorized cancel
	// canceled 0
}

// Errors carry the OmniCart code, message, HTTP status and Request-Id.
func ExampleError() {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)

	_, err := c.Status(ctx, "example-no-such-cart", client.StatusQuery{})
	var oe *client.Error
	if errors.As(err, &oe) {
		fmt.Println(oe.HTTPStatus, oe.Code, oe.Message, oe.RequestID != "")
	}
	// errors.Is matches by code.
	fmt.Println(errors.Is(err, &client.Error{Code: client.CodeCartNotFound}))

	// With debug on, every problem is listed.
	_, err = c.Init(ctx, &client.InitRequest{CartID: "example-bad-0001", Currency: "ZZZ",
		Items: []client.Item{{ItemID: "unicorn", Amount: 1}}, Debug: true})
	if errors.As(err, &oe) {
		fmt.Println(oe.HTTPStatus, oe.Code, oe.Message)
		for _, d := range oe.Debug {
			fmt.Println("  ", d.Code, d.Message)
		}
	}
	// Output:
	// 400 123001 cartId does not exist true
	// true
	// 400 123000 Unknown currency
	//    124103 unicorn does not exist
}

// A request sent twice under one Idempotency-Key acts once; the second
// answer is the stored one. The key's record tells what the request did.
func ExampleWithIdempotencyKey() {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)
	cartID := paidCart(c, "example-idem-0001")

	// Make the key before the request and keep it with the order, so that
	// a retry after your own restart reuses it.
	key := client.NewIdempotencyKey()
	req := &client.ActionRequest{CartID: cartID}
	first, err := c.Capture(ctx, req, client.WithIdempotencyKey(key))
	if err != nil {
		log.Fatal(err)
	}
	again, err := c.Capture(ctx, req, client.WithIdempotencyKey(key))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first", first.ItemIDs, "replayed:", first.Replayed)
	fmt.Println("again", again.ItemIDs, "replayed:", again.Replayed)

	// If the answer is lost for good, ask what the request did.
	rec, err := c.LookupIdempotencyKey(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	var stored client.ActionResult
	if err := rec.Result(&stored); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Method, rec.Path, rec.HTTPStatus, rec.Code, stored.ItemIDs)
	// Output:
	// first [pegasus naga] replayed: false
	// again [pegasus naga] replayed: true
	// POST /capture 200 000000 [pegasus naga]
}

// A card that asks for 3-D Secure: the app shows the challenge and posts
// the code the customer got.
func ExampleClient_CompleteChallenge() {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)
	cart, err := c.Init(ctx, &client.InitRequest{CartID: "example-3ds-00001", Currency: "EUR",
		Items: []client.Item{{ItemID: "pegasus", Amount: 250}}})
	if err != nil {
		log.Fatal(err)
	}
	pay, err := c.Pay(ctx, cart.PaymentURL, client.Card{CardNumber: "4000 0000 0000 3220", Expiry: "12/39", CVC: "123", Cardholder: "Ada"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pay.Status, pay.Result)
	if pay.Result == client.ResultChallenge {
		pay, err = c.CompleteChallenge(ctx, pay.ChallengeURL, "123456")
		if err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(pay.Status, pay.Result)
	// Output:
	// 200 challenge
	// 200 authorized
}

// Receive callbacks: register an endpoint, verify each callback's
// signature with its secret, and read the events.
func ExampleWebhookVerifier() {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)
	const cartID = "example-hooks-001"

	// The receiver: your web server's handler.
	var verifier atomic.Pointer[client.WebhookVerifier]
	events := make(chan *client.Event, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := verifier.Load().VerifyRequest(r)
		if err != nil {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		if ev.CartID == cartID {
			events <- ev
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	ep, err := c.AddCallbackEndpoint(ctx, client.NewCallbackEndpoint{
		URL:    receiver.URL + "/omnicart",
		Events: []string{client.EventPaymentStatusChanged},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.RemoveCallbackEndpoint(ctx, ep.EndpointID)
	// The secret is shown only now: store it.
	v, err := client.NewWebhookVerifier(ep.Secret)
	if err != nil {
		log.Fatal(err)
	}
	verifier.Store(v)
	fmt.Println(ep.Status, ep.Events)

	cart, err := c.Init(ctx, &client.InitRequest{CartID: cartID, Currency: "EUR",
		Items: []client.Item{{ItemID: "pegasus", Amount: 250}}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Pay(ctx, cart.PaymentURL, testCard); err != nil {
		log.Fatal(err)
	}
	select {
	case ev := <-events:
		ch := ev.Changes[0]
		fmt.Println(ev.Type, ev.Sequence, ch.ItemID, ch.From, "->", ch.To, ev.Data.Item("pegasus").ItemAmounts.Current)
	case <-time.After(30 * time.Second):
		fmt.Println("no callback")
	}

	// The same events, from the API.
	list, err := c.CallbackEvents(ctx, client.EventQuery{CartID: cartID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(list), list[0].Type)
	// Output:
	// active [payment.status_changed]
	// payment.status_changed 1 pegasus initiated -> authorized 250
	// 1 payment.status_changed
}

// paidCart opens a cart of pegasus (tag rampart) and naga (tag tower) and
// pays it.
func paidCart(c *client.Client, cartID string) string {
	ctx := context.Background()
	cart, err := c.Init(ctx, &client.InitRequest{CartID: cartID, Currency: "XAU", Items: []client.Item{
		{ItemID: "pegasus", Amount: 250, Tag: "rampart"},
		{ItemID: "naga", Amount: 1100, Tag: "tower"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	pay, err := c.Pay(ctx, cart.PaymentURL, testCard)
	if err != nil || pay.Result != client.ResultAuthorized {
		log.Fatalf("pay: %v %+v", err, pay)
	}
	return cart.CartID
}
