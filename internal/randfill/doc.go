// Package randfill fills Go values with random data by reflection, for
// tests that must keep holding when a type gains fields: every exported
// field, slice element, map entry and pointer target gets a value.
package randfill
