// Package clock implements omnicart.Clock: Real, the system clock that
// production wires into every loop that waits, and Fake, the one settable
// clock every test shares. A test moves a Fake forward with Advance or Set,
// which fires the timers that fall due, instead of sleeping.
package clock
