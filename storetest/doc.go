// Package storetest is the conformance suite every omnicart.Store engine
// must pass: Run(t, open) exercises merchants, keys, the catalog, carts and
// their events, the active-timer index, deadlines and the test clock, and
// money operations, through the Store interface only.
package storetest
