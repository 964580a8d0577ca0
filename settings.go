package omnicart

// Level holds the settings given at one level (cart, tag or item). A nil
// field was not given at that level and is inherited.
type Level struct {
	AmountMode  *AmountMode
	Modifier    *Decimal
	Capture     *bool
	AutoAction  *AutoAction
	WindowSecs  *int64
	EnableTimer *bool
	Trigger     *string
	TimerValue  *int64
}

// SetsAmount reports whether the level sets amount settings.
func (l *Level) SetsAmount() bool { return l.AmountMode != nil || l.Modifier != nil }

// SetsTimer reports whether the level sets timer settings.
func (l *Level) SetsTimer() bool {
	return l.EnableTimer != nil || l.Trigger != nil || l.TimerValue != nil
}

// ItemSpec is one item of an init request.
type ItemSpec struct {
	ID       string
	Tag      string
	Amount   int64
	Quantity *Decimal
	Level    Level
}

// TagSpec is a tag block of an init request's scope.
type TagSpec struct {
	Name  string
	Level Level
}

// InitSpec is a decoded init request.
type InitSpec struct {
	CartID      string
	CustomerID  string
	Currency    string
	CartExpiry  *int64
	Cart        Level
	Tags        []TagSpec
	Items       []ItemSpec
	PaymentForm PaymentForm
}

// Resolved is an item's effective settings after inheritance.
type Resolved struct {
	Payment     PaymentSnapshot
	Capture     CaptureSettings
	EnableTimer bool
	Trigger     *string
	TimerValue  *int64
}

func pick[T any](levels ...*T) *T {
	for _, v := range levels {
		if v != nil {
			return v
		}
	}
	return nil
}

func orDefault[T any](v *T, def T) T {
	if v == nil {
		return def
	}
	return *v
}

// Resolve applies inheritance field by field: item, else tag, else cart, else
// the default (the product defaults; NewCart uses the merchant's capture
// window default instead, see Merchant.CaptureWindowDefault).
func Resolve(it *ItemSpec, tag *Level, cart *Level) Resolved {
	return resolve(it, tag, cart, DefaultCaptureWindowSecs)
}

// resolve is Resolve with the capture window default to use.
func resolve(it *ItemSpec, tag *Level, cart *Level, defaultWindow int64) Resolved {
	if tag == nil {
		tag = &Level{}
	}
	i := &it.Level
	one := One()
	r := Resolved{
		Payment: PaymentSnapshot{
			Amount:   it.Amount,
			Mode:     orDefault(pick(i.AmountMode, tag.AmountMode, cart.AmountMode), AmountDeclared),
			Quantity: orDefault(it.Quantity, one),
			Modifier: orDefault(pick(i.Modifier, tag.Modifier, cart.Modifier), one),
		},
		Capture: CaptureSettings{
			TwoStep:    orDefault(pick(i.Capture, tag.Capture, cart.Capture), true),
			AutoAction: orDefault(pick(i.AutoAction, tag.AutoAction, cart.AutoAction), AutoCancel),
			WindowSecs: orDefault(pick(i.WindowSecs, tag.WindowSecs, cart.WindowSecs), defaultWindow),
		},
		EnableTimer: orDefault(pick(i.EnableTimer, tag.EnableTimer, cart.EnableTimer), false),
		Trigger:     pick(i.Trigger, tag.Trigger, cart.Trigger),
		TimerValue:  pick(i.TimerValue, tag.TimerValue, cart.TimerValue),
	}
	return r
}
