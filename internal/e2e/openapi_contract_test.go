package e2e_test

// The request contract of /openapi.yaml, tested against the real server.
//
// TestOpenAPIContract generates requests from the document the server
// serves and sends them: for every Merchant API operation it starts from
// the operation's documented examples and walks their schemas, producing
// one request per alternative the schema allows at each place (every enum
// value, both ends of every range and length, optional properties left out
// or added, the other branches of a oneOf, other keys for itemId and tag
// maps) and one request per rule it can break there (a missing required
// property, an unknown property where additionalProperties is false, a
// pattern, length, range, multipleOf or enum violation, a wrong JSON type,
// null). Each request is classified by the document itself (kin-openapi
// request validation plus the x-propertyNames key rules), never by the
// generator's intent, and the server must agree: a request the document
// allows is accepted (2xx) or refused only for a documented business reason
// of that operation (the cart's state, a filter that matches nothing, …); a
// request the document forbids is refused with HTTP 400 and a format or
// value code that names the offending property. Every response validates
// against the document.
//
// GET /carts is checked by requests written out (ctListCarts): its filters
// are free text matched exactly and dates whose two forms the document
// states in prose, so its cases are written by hand; every answer (pages,
// filters, each refusal) validates against the document.
//
// A few /init rules span several properties (inheritance of timer settings,
// the cart total, customerId for timers, paymentBox equal to the direct
// form); OpenAPI 3.0 can only state them in prose, so ctInitRules computes
// them and the server must answer with their code.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/omnicart/omnicart/internal/e2e"
)

// ctFormatCodes are the refusals of a request that breaks a stated rule:
// cartId missing (121101), format (122001, 122002), currency (123000),
// value (123002, 123003) and a value outside the permitted range (133000).
var ctFormatCodes = []string{"121101", "122001", "122002", "123000", "123002", "123003", "133000"}

// ctNamedCodes carry the offending property's name in their message.
var ctNamedCodes = []string{"122001", "122002", "123002", "123003", "133000"}

// ctOp is one Merchant API operation under test.
type ctOp struct {
	name   string // operationId
	method string
	path   string // as in the document
	// business are the codes a request the document allows may still get,
	// for reasons of state the document describes (not of format).
	business []string
}

var ctOps = []ctOp{
	{"initCart", http.MethodPost, "/init", nil},
	{"cartStatus", http.MethodGet, "/status/{cartId}", []string{"121103"}},
	{"capture", http.MethodPost, "/capture", []string{"124004", "124005", "124006", "124007", "121103", "124114"}},
	{"cancel", http.MethodPost, "/cancel", []string{"124004", "124005", "124006", "124007", "121103", "124114"}},
	{"refund", http.MethodPost, "/refund", []string{"124004", "124005", "124006", "124007", "121103", "124115"}},
	{"modify", http.MethodPatch, "/modify", []string{"124004", "124005", "124102", "121102",
		"124104", "124105", "124106", "124107", "124108", "124109", "124110", "124111", "124112", "124113"}},
}

// ---------------------------------------------------------------------
// Mutations of a JSON value.
// ---------------------------------------------------------------------

// ctPath addresses a value: string keys and int indexes.
type ctPath []any

func (p ctPath) with(k any) ctPath { return append(slices.Clip(p), k) }

func (p ctPath) String() string {
	var b strings.Builder
	for _, k := range p {
		switch k := k.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		}
	}
	if b.Len() == 0 {
		return "(body)"
	}
	return b.String()
}

// lastName is the last property name of the path.
func (p ctPath) lastName() string {
	for i := len(p) - 1; i >= 0; i-- {
		if s, ok := p[i].(string); ok {
			return s
		}
	}
	return ""
}

type ctMutKind int

const (
	ctSet ctMutKind = iota
	ctDelete
	ctRename
)

// ctMutation changes one place of a request.
type ctMutation struct {
	kind  ctMutKind
	path  ctPath // the value set or deleted; for ctRename the object
	value any    // ctSet
	from  string // ctRename
	to    string // ctRename
}

func ctCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, c := range v {
			m[k] = ctCopy(c)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, c := range v {
			a[i] = ctCopy(c)
		}
		return a
	}
	return v
}

// ctApply returns a copy of root with m applied.
func ctApply(root any, m ctMutation) any {
	root = ctCopy(root)
	target := m.path
	if m.kind != ctRename {
		if len(target) == 0 {
			return ctCopy(m.value)
		}
		target = target[:len(target)-1]
	}
	cur := root
	for _, k := range target {
		switch k := k.(type) {
		case string:
			cur = cur.(map[string]any)[k]
		case int:
			cur = cur.([]any)[k]
		}
	}
	switch m.kind {
	case ctSet:
		switch k := m.path[len(m.path)-1].(type) {
		case string:
			cur.(map[string]any)[k] = ctCopy(m.value)
		case int:
			cur.([]any)[k] = ctCopy(m.value)
		}
	case ctDelete:
		delete(cur.(map[string]any), m.path[len(m.path)-1].(string))
	case ctRename:
		obj := cur.(map[string]any)
		obj[m.to] = obj[m.from]
		delete(obj, m.from)
	}
	return root
}

func ctGet(root any, p ...any) any {
	cur := root
	for _, k := range p {
		switch k := k.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[k]
		case int:
			a, ok := cur.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			cur = a[k]
		}
	}
	return cur
}

// ---------------------------------------------------------------------
// Strings from patterns.
// ---------------------------------------------------------------------

// ctPreferred are the characters strings are built from when a pattern
// allows them, in order; the rest of a class is used otherwise.
const ctPreferred = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-.~!"

// ctRegex generates strings matching a pattern. Repeats take their
// minimum (short) or maximum (long, minimum+8 when unbounded); the first
// unbounded repeat may be stretched to reach a length, and one repeat may be
// forced outside its bounds to build a violation.
type ctRegex struct {
	re *syntax.Regexp
}

func ctCompile(pattern string) *ctRegex {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	return &ctRegex{re: re}
}

type ctGenOpts struct {
	long    bool
	stretch int // extra repetitions of the first unbounded repeat
	force   int // index (in walk order) of the repeat to force, -1 none
	forceN  int // its repetition count
	seed    int // rotates the characters chosen
}

func (g *ctRegex) gen(o ctGenOpts) string {
	var b strings.Builder
	idx, stretched, depth := 0, false, 0
	var walk func(re *syntax.Regexp)
	pick := func(ranges []rune, n int) rune {
		var in []rune
		for _, c := range ctPreferred {
			for i := 0; i+1 < len(ranges); i += 2 {
				if c >= ranges[i] && c <= ranges[i+1] {
					in = append(in, c)
					break
				}
			}
		}
		if len(in) == 0 {
			return ranges[0]
		}
		return in[(n+o.seed)%len(in)]
	}
	count := 0
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			b.WriteString(string(re.Rune))
		case syntax.OpCharClass:
			b.WriteRune(pick(re.Rune, count))
			count++
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteRune(pick([]rune{'a', 'z'}, count))
			count++
		case syntax.OpConcat, syntax.OpCapture:
			for _, s := range re.Sub {
				walk(s)
			}
		case syntax.OpAlternate:
			walk(re.Sub[0])
		case syntax.OpQuest, syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
			lo, hi := re.Min, re.Max
			switch re.Op {
			case syntax.OpQuest:
				lo, hi = 0, 1
			case syntax.OpStar:
				lo, hi = 0, -1
			case syntax.OpPlus:
				lo, hi = 1, -1
			}
			n := lo
			if o.long {
				n = hi
				if hi < 0 {
					n = lo + 8
				}
			}
			if hi < 0 && !stretched {
				stretched = true
				n += o.stretch
			}
			if depth == 0 {
				// Only top-level repeats are numbered (see repeats).
				if idx == o.force {
					n = o.forceN
				}
				idx++
			}
			depth++
			for i := 0; i < n; i++ {
				walk(re.Sub[0])
			}
			depth--
		}
	}
	walk(g.re)
	return b.String()
}

// repeats lists the bounds of the pattern's repeats in walk order (as gen
// numbers them): hi is -1 when unbounded.
func (g *ctRegex) repeats() [][2]int {
	var out [][2]int
	var walk func(re *syntax.Regexp)
	// Repeats inside a repeat are not numbered: their bounds are not
	// varied.
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpQuest:
			out = append(out, [2]int{0, 1})
		case syntax.OpStar:
			out = append(out, [2]int{0, -1})
		case syntax.OpPlus:
			out = append(out, [2]int{1, -1})
		case syntax.OpRepeat:
			out = append(out, [2]int{re.Min, re.Max})
		case syntax.OpAlternate:
			walk(re.Sub[0]) // gen takes the first alternative
		default:
			for _, s := range re.Sub {
				walk(s)
			}
		}
	}
	walk(g.re)
	return out
}

// ctStrings returns strings the schema allows (shortest, longest, seeded
// variations) and strings that break exactly one of its rules.
func ctStrings(s *openapi3.Schema, seed int) (valid, invalid []string) {
	ok := func(v string) bool { return s.VisitJSON(v) == nil }
	addValid := func(v string) {
		if ok(v) && !slices.Contains(valid, v) {
			valid = append(valid, v)
		}
	}
	addInvalid := func(v string) {
		if !ok(v) && !slices.Contains(invalid, v) {
			invalid = append(invalid, v)
		}
	}
	var rx *ctRegex
	if s.Pattern != "" {
		rx = ctCompile(s.Pattern)
	}
	maxLen := -1
	if s.MaxLength != nil {
		maxLen = int(*s.MaxLength)
	}
	minLen := int(s.MinLength)
	fill := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(ctPreferred[(i+seed)%26])
		}
		return b.String()
	}
	if rx == nil {
		addValid(fill(max(minLen, 1)))
		if maxLen >= 0 {
			addValid(fill(maxLen))
			addInvalid(fill(maxLen + 1))
		}
		if minLen > 0 {
			addInvalid(fill(minLen - 1))
		}
	} else {
		short := rx.gen(ctGenOpts{force: -1, seed: seed})
		long := rx.gen(ctGenOpts{long: true, force: -1, seed: seed})
		longLen := utf8.RuneCountInString(long)
		// stretched stretches the first unbounded repeat of the long string
		// to n characters ("" when the pattern cannot).
		stretched := func(n int) string {
			if n <= longLen {
				return ""
			}
			st := rx.gen(ctGenOpts{long: true, force: -1, seed: seed, stretch: n - longLen})
			if utf8.RuneCountInString(st) != n {
				return ""
			}
			return st
		}
		addValid(short)
		if st := stretched(maxLen); st != "" {
			long = st
		}
		addValid(long)
		for i, r := range rx.repeats() {
			if r[0] > 0 {
				addInvalid(rx.gen(ctGenOpts{force: i, forceN: r[0] - 1, seed: seed}))
			}
			if r[1] >= 0 {
				addInvalid(rx.gen(ctGenOpts{force: i, forceN: r[1] + 1, seed: seed}))
			}
		}
		if maxLen >= 0 {
			if st := stretched(maxLen + 1); st != "" {
				addInvalid(st)
			}
		}
		if minLen > 0 {
			addInvalid("")
		}
		// One character outside the pattern, in the middle of a valid string
		// (of at least three characters when there is one), and leading
		// white space.
		base := []rune(short)
		if len(base) < 3 {
			base = []rune(long)
		}
		if len(base) > 0 {
			mid := len(base) / 2
			for _, c := range " !,é:@" {
				v := string(base[:mid]) + string(c) + string(base[mid+1:])
				if !ok(v) {
					addInvalid(v)
					break
				}
			}
		}
		addInvalid(" " + short)
	}
	if ex, isStr := s.Example.(string); isStr {
		addValid(ex)
	}
	return valid, invalid
}

// ---------------------------------------------------------------------
// The generator.
// ---------------------------------------------------------------------

// ctVariant is one generated request body (or, for status, the object of
// its parameters).
type ctVariant struct {
	label string
	body  any
	// intent is what the generator meant: true for an alternative the schema
	// allows, false for a broken rule. The document's own verdict decides
	// what the server must answer; a broken rule the document does not
	// refuse is a generator (or document) bug.
	intent bool
	// probe marks a request tried whatever the document says (an unknown
	// property on an open object, a number below an unstated minimum, …),
	// so that a rule the server enforces and the document omits shows up.
	probe bool
	field string // the property a refusal must name
	at    ctPath // where the base was changed (nil for a base itself)
	// header holds the request's header parameters (Idempotency-Key).
	header map[string]any
}

// targets reports whether the variant changed the property at path p (or
// inside it).
func (v ctVariant) targets(p ...any) bool {
	if len(v.at) < len(p) {
		return false
	}
	for i, k := range p {
		if v.at[i] != k {
			return false
		}
	}
	return true
}

type ctGen struct {
	query bool // status parameters: every value is text, no JSON types
	seed  int
	out   []ctVariant
	base  any
	// covered records, per object schema, the properties seen in a base.
	covered map[*openapi3.Schema]map[string]bool
	where   map[*openapi3.Schema]string
}

func (g *ctGen) emit(m ctMutation, intent bool, label, field string) {
	at := m.path
	if m.kind == ctRename {
		at = at.with(m.from)
	}
	g.out = append(g.out, ctVariant{label: label, body: ctApply(g.base, m), intent: intent, field: field, at: at})
}

// probe emits a request whose verdict is the document's alone.
func (g *ctGen) probe(m ctMutation, label, field string) {
	g.emit(m, false, label+" (probe)", field)
	g.out[len(g.out)-1].probe = true
}

func ctType(s *openapi3.Schema) string {
	if s.Type == nil {
		switch {
		case len(s.Properties) > 0 || s.AdditionalProperties.Schema != nil:
			return "object"
		case s.Items != nil:
			return "array"
		}
		return ""
	}
	for _, t := range []string{"object", "array", "string", "integer", "number", "boolean"} {
		if s.Type.Is(t) {
			return t
		}
	}
	return ""
}

func ctPropertyNames(s *openapi3.Schema) *openapi3.Schema {
	raw, ok := s.Extensions["x-propertyNames"].(map[string]any)
	if !ok {
		return nil
	}
	p, _ := raw["pattern"].(string)
	return &openapi3.Schema{Type: &openapi3.Types{"string"}, Pattern: p}
}

func ctClosed(s *openapi3.Schema) bool {
	return s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
}

// minimal builds the smallest value the schema allows: its example, else
// its required properties, first enum value, minimum, shortest string.
func (g *ctGen) minimal(s *openapi3.Schema) any {
	if s.Example != nil {
		return ctCopy(s.Example)
	}
	if len(s.OneOf) > 0 {
		return g.minimal(s.OneOf[0].Value)
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	switch ctType(s) {
	case "object":
		m := map[string]any{}
		for _, r := range s.Required {
			m[r] = g.minimal(s.Properties[r].Value)
		}
		if s.MinProps > 0 && s.AdditionalProperties.Schema != nil {
			key := "k"
			if pn := ctPropertyNames(s); pn != nil {
				v, _ := ctStrings(pn, 0)
				key = v[0]
			}
			m[key] = g.minimal(s.AdditionalProperties.Schema.Value)
		}
		return m
	case "array":
		a := []any{}
		for i := uint64(0); i < s.MinItems; i++ {
			a = append(a, g.minimal(s.Items.Value))
		}
		return a
	case "string":
		v, _ := ctStrings(s, g.seed)
		return v[0]
	case "integer", "number":
		if s.Min != nil {
			return *s.Min
		}
		return 0.0
	case "boolean":
		return false
	}
	return nil
}

// ctWrongTypes are values of other JSON types than the schema's.
func ctWrongTypes(t string) []any {
	switch t {
	case "object":
		return []any{[]any{}}
	case "array":
		return []any{map[string]any{}}
	case "string":
		return []any{1.0}
	case "integer":
		return []any{"1", 1.5}
	case "number":
		return []any{"1"}
	case "boolean":
		return []any{"true"}
	}
	return nil
}

func ctNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// ctRound drops the binary noise of min-step arithmetic (0.01-0.000001 is
// 0.009999, not 0.009999000000000001).
func ctRound(f float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 9, 64), 64)
	return r
}

// walk generates the variants of the value v at path p with schema s.
func (g *ctGen) walk(s *openapi3.Schema, v any, p ctPath, where string) {
	g.seed++
	name := p.lastName()
	if len(s.OneOf) > 0 {
		match := -1
		for i, br := range s.OneOf {
			if br.Value.VisitJSON(v) == nil {
				match = i
				break
			}
		}
		if match < 0 {
			panic(fmt.Sprintf("%s: the base value matches no oneOf branch", p))
		}
		g.walk(s.OneOf[match].Value, v, p, where)
		// The other branches: each as a whole, then walked on their own
		// minimal value in place of this one.
		saved := g.base
		for i, br := range s.OneOf {
			if i == match {
				continue
			}
			alt := g.minimal(br.Value)
			g.emit(ctMutation{kind: ctSet, path: p, value: alt}, true, fmt.Sprintf("%s: oneOf branch %d", p, i), name)
			g.base = ctApply(saved, ctMutation{kind: ctSet, path: p, value: alt})
			g.walk(br.Value, alt, p, where)
		}
		g.base = saved
		return
	}
	t := ctType(s)
	if len(p) > 0 && !g.query {
		for _, bad := range ctWrongTypes(t) {
			g.emit(ctMutation{kind: ctSet, path: p, value: bad}, false, fmt.Sprintf("%s: wrong type %T", p, bad), name)
		}
		g.emit(ctMutation{kind: ctSet, path: p, value: nil}, s.Nullable, fmt.Sprintf("%s: null", p), name)
	}
	if len(s.Enum) > 0 {
		for _, e := range s.Enum {
			if e != nil && e != v {
				g.emit(ctMutation{kind: ctSet, path: p, value: e}, true, fmt.Sprintf("%s = %v (enum)", p, e), name)
			}
		}
		if first, ok := s.Enum[0].(string); ok {
			bad := strings.ToUpper(first)
			if bad == first {
				bad = strings.ToLower(first)
			}
			g.emit(ctMutation{kind: ctSet, path: p, value: bad}, false, fmt.Sprintf("%s = %q (not in enum)", p, bad), name)
		}
		return
	}
	switch t {
	case "object":
		m, _ := v.(map[string]any)
		g.cover(s, "", where)
		for _, r := range s.Required {
			if _, ok := m[r]; ok && !(g.query && r == "cartId") {
				g.emit(ctMutation{kind: ctDelete, path: p.with(r)}, false, fmt.Sprintf("%s: required %s missing", p, r), r)
			}
		}
		unknown := "unknownProperty"
		if g.query {
			unknown = "unknownParameter"
		}
		if ctClosed(s) {
			g.emit(ctMutation{kind: ctSet, path: p.with(unknown), value: true}, false, fmt.Sprintf("%s: unknown property", p), unknown)
		} else if s.AdditionalProperties.Schema == nil && !g.query {
			g.probe(ctMutation{kind: ctSet, path: p.with(unknown), value: true}, fmt.Sprintf("%s: unknown property", p), unknown)
		}
		if s.MinProps > 0 && len(m) > 0 {
			g.emit(ctMutation{kind: ctSet, path: p, value: map[string]any{}}, false, fmt.Sprintf("%s: fewer than %d properties", p, s.MinProps), name)
		}
		names := make([]string, 0, len(s.Properties))
		for n := range s.Properties {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ps := s.Properties[n].Value
			val, present := m[n]
			if !present {
				g.emit(ctMutation{kind: ctSet, path: p.with(n), value: g.minimal(ps)}, true, fmt.Sprintf("%s: optional %s added", p, n), n)
				continue
			}
			g.cover(s, n, where)
			if !slices.Contains(s.Required, n) {
				g.emit(ctMutation{kind: ctDelete, path: p.with(n)}, true, fmt.Sprintf("%s: optional %s left out", p, n), n)
			}
			g.walk(ps, val, p.with(n), where+"."+n)
		}
		if ap := s.AdditionalProperties.Schema; ap != nil {
			keys := make([]string, 0, len(m))
			for k := range m {
				if _, declared := s.Properties[k]; !declared {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			pn := ctPropertyNames(s)
			for _, k := range keys {
				if pn != nil {
					valid, invalid := ctStrings(pn, g.seed)
					for _, nk := range valid {
						if _, taken := m[nk]; !taken {
							g.emit(ctMutation{kind: ctRename, path: p, from: k, to: nk}, true, fmt.Sprintf("%s: key %s renamed %q", p, k, nk), nk)
						}
					}
					for _, nk := range invalid {
						g.emit(ctMutation{kind: ctRename, path: p, from: k, to: nk}, false, fmt.Sprintf("%s: key %s renamed %q", p, k, nk), nk)
					}
				}
				g.walk(ap.Value, m[k], p.with(k), where+".{key}")
			}
		}
	case "array":
		a, _ := v.([]any)
		if s.MinItems > 0 {
			g.emit(ctMutation{kind: ctSet, path: p, value: []any{}}, false, fmt.Sprintf("%s: fewer than %d items", p, s.MinItems), name)
		} else if len(a) > 0 {
			g.emit(ctMutation{kind: ctSet, path: p, value: []any{}}, true, fmt.Sprintf("%s: empty", p), name)
		}
		for i, el := range a {
			g.walk(s.Items.Value, el, p.with(i), where+"[]")
		}
	case "string":
		if s.Pattern == "" && s.MinLength == 0 {
			g.probe(ctMutation{kind: ctSet, path: p, value: ""}, fmt.Sprintf("%s = \"\"", p), name)
		}
		valid, invalid := ctStrings(s, g.seed)
		for _, sv := range valid {
			if sv != v {
				g.emit(ctMutation{kind: ctSet, path: p, value: sv}, true, fmt.Sprintf("%s = %q", p, ctShort(sv)), name)
			}
		}
		for _, sv := range invalid {
			g.emit(ctMutation{kind: ctSet, path: p, value: sv}, false, fmt.Sprintf("%s = %q", p, ctShort(sv)), name)
		}
	case "integer", "number":
		var valid, invalid []float64
		step := 1.0
		if t == "number" {
			step = 0
			if s.MultipleOf != nil {
				step = *s.MultipleOf
			}
		}
		if s.Min != nil {
			valid = append(valid, *s.Min)
			if step > 0 {
				invalid = append(invalid, *s.Min-step)
			} else {
				invalid = append(invalid, *s.Min-1)
			}
			if t == "number" && step > 0 {
				valid = append(valid, *s.Min+step)
			}
		}
		if s.Max != nil {
			valid = append(valid, *s.Max)
			invalid = append(invalid, *s.Max+1)
		}
		if s.Min == nil {
			g.probe(ctMutation{kind: ctSet, path: p, value: -1.0}, fmt.Sprintf("%s = -1", p), name)
		}
		if s.Max == nil {
			g.probe(ctMutation{kind: ctSet, path: p, value: 1e16}, fmt.Sprintf("%s = 10^16", p), name)
		}
		if s.MultipleOf != nil {
			base := 1.0
			if s.Min != nil {
				base = *s.Min
			}
			invalid = append(invalid, base+*s.MultipleOf/10)
		}
		if ex, ok := s.Example.(float64); ok {
			valid = append(valid, ex)
		}
		for i, f := range invalid {
			invalid[i] = ctRound(f)
		}
		for _, f := range valid {
			f = ctRound(f)
			if f != v {
				g.emit(ctMutation{kind: ctSet, path: p, value: f}, true, fmt.Sprintf("%s = %s", p, ctNum(f)), name)
			}
		}
		for _, f := range invalid {
			g.emit(ctMutation{kind: ctSet, path: p, value: f}, false, fmt.Sprintf("%s = %s", p, ctNum(f)), name)
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			g.emit(ctMutation{kind: ctSet, path: p, value: !b}, true, fmt.Sprintf("%s = %v", p, !b), name)
		}
	}
}

func ctShort(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%s…(%d chars)", s[:20], utf8.RuneCountInString(s))
	}
	return s
}

func (g *ctGen) cover(s *openapi3.Schema, prop, where string) {
	if g.covered[s] == nil {
		g.covered[s] = map[string]bool{}
		g.where[s] = where
	}
	if prop != "" {
		g.covered[s][prop] = true
	}
}

// ctKeysOK checks the x-propertyNames rules of the value, which kin-openapi
// does not know.
func ctKeysOK(s *openapi3.Schema, v any) error {
	if len(s.OneOf) > 0 {
		for _, br := range s.OneOf {
			if br.Value.VisitJSON(v) == nil {
				return ctKeysOK(br.Value, v)
			}
		}
		return nil
	}
	switch v := v.(type) {
	case map[string]any:
		pn := ctPropertyNames(s)
		for k, c := range v {
			if ps := s.Properties[k]; ps != nil {
				if err := ctKeysOK(ps.Value, c); err != nil {
					return err
				}
				continue
			}
			if pn != nil && pn.VisitJSON(k) != nil {
				return fmt.Errorf("key %q does not match %s", k, pn.Pattern)
			}
			if ap := s.AdditionalProperties.Schema; ap != nil {
				if err := ctKeysOK(ap.Value, c); err != nil {
					return err
				}
			}
		}
	case []any:
		if s.Items != nil {
			for _, c := range v {
				if err := ctKeysOK(s.Items.Value, c); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------------
// Cross-property rules of /init (stated in the document's prose).
// ---------------------------------------------------------------------

// ctLevel is the settings of one level as written: nil fields were not
// given. Present-but-null triggerEvent counts as given.
type ctLevel map[string]any

// ctSettings reads a level object: the direct payment fields, paymentBox,
// enableTimer and timer, and reports a direct/paymentBox disagreement.
func ctSettings(obj any) (l ctLevel, conflict bool) {
	l = ctLevel{}
	m, _ := obj.(map[string]any)
	box, _ := m["paymentBox"].(map[string]any)
	read := func(src map[string]any, key, sub string) (any, bool) {
		if sub == "" {
			v, ok := src[key]
			return v, ok
		}
		cs, _ := src[key].(map[string]any)
		v, ok := cs[sub]
		return v, ok
	}
	for _, f := range [][2]string{{"amountMode", ""}, {"amountModifier", ""}, {"capture", ""}, {"captureSettings", "autoAction"}, {"captureSettings", "value"}} {
		name := f[0]
		if f[1] != "" {
			name += "." + f[1]
		}
		d, dOK := read(m, f[0], f[1])
		b, bOK := read(box, f[0], f[1])
		if dOK && bOK && d != b {
			conflict = true
		}
		if dOK {
			l[name] = d
		} else if bOK {
			l[name] = b
		}
	}
	if v, ok := m["enableTimer"]; ok {
		l["enableTimer"] = v
	}
	if t, ok := m["timer"].(map[string]any); ok {
		for _, k := range []string{"triggerEvent", "value"} {
			if v, ok := t[k]; ok {
				l["timer."+k] = v
			}
		}
	}
	return l, conflict
}

// ctInitRules returns the code the server must answer an /init body the
// schema allows with, when it breaks a rule that spans properties ("" when
// it breaks none), and why. The rules are those the document states in
// prose, checked in the server's order.
func ctInitRules(body any) (string, string) {
	root, _ := body.(map[string]any)
	cartObj, _ := ctGet(root, "scope", "cart").(map[string]any)
	cart, cartConflict := ctSettings(cartObj)
	type tag struct {
		name string
		obj  map[string]any
		l    ctLevel
	}
	var tags []tag
	byName := map[string]ctLevel{}
	tagConflict := false
	tl, _ := ctGet(root, "scope", "tags").([]any)
	for _, el := range tl {
		m, _ := el.(map[string]any)
		for _, name := range ctSortedKeys(m) {
			o, _ := m[name].(map[string]any)
			l, c := ctSettings(o)
			tags = append(tags, tag{name, o, l})
			byName[name] = l
			tagConflict = tagConflict || c
		}
	}
	type item struct {
		id, tag string
		obj     map[string]any
		get     func(k string) (any, bool)
		timed   bool
	}
	var items []item
	il, _ := root["items"].([]any)
	for _, el := range il {
		m, _ := el.(map[string]any)
		for _, k := range ctSortedKeys(m) {
			o, _ := m[k].(map[string]any)
			own, conflict := ctSettings(o)
			if conflict {
				return "123002", k + ": paymentBox and the direct form differ"
			}
			it := item{id: k, obj: o}
			it.tag, _ = o["tag"].(string)
			levels := []ctLevel{own, byName[it.tag], cart}
			it.get = func(key string) (any, bool) {
				for _, l := range levels {
					if v, ok := l[key]; ok {
						return v, true
					}
				}
				return nil, false
			}
			on, _ := it.get("enableTimer")
			it.timed = on == true
			items = append(items, it)
		}
	}
	if cartConflict || tagConflict {
		return "123003", "paymentBox and the direct form differ at cart or tag level"
	}
	// A timer block without enableTimer must serve an inheriting item whose
	// timer is enabled.
	unused := func(obj map[string]any, reaches func(it item) bool) bool {
		_, hasTimer := obj["timer"]
		_, hasEnable := obj["enableTimer"]
		if !hasTimer || hasEnable {
			return false
		}
		for _, it := range items {
			if it.timed && reaches(it) {
				return false
			}
		}
		return true
	}
	if unused(cartObj, func(item) bool { return true }) {
		return "123003", "the cart's timer block serves no enabled timer"
	}
	for _, tg := range tags {
		if unused(tg.obj, func(it item) bool { return it.tag == tg.name }) {
			return "123003", "tag " + tg.name + ": the timer block serves no enabled timer"
		}
	}
	for _, it0 := range items {
		if unused(it0.obj, func(it item) bool { return it.id == it0.id }) {
			return "123002", it0.id + ": the timer block serves no enabled timer"
		}
	}
	var total float64
	for _, it := range items {
		amount, _ := it.obj["amount"].(float64)
		full := amount
		if mode, _ := it.get("amountMode"); mode == "calculated" {
			q, ok := it.obj["quantity"].(float64)
			if !ok {
				q = 1
			}
			mod, ok := it.get("amountModifier")
			if !ok {
				mod = 1.0
			}
			full = math.Round(amount * q * mod.(float64))
			if full < 1 || full > 1e15 {
				return "123002", it.id + ": calculated amount outside 1–10^15"
			}
		}
		total += full
		if it.timed {
			if _, ok := it.get("timer.triggerEvent"); !ok {
				return "123002", it.id + ": enabled timer without triggerEvent"
			}
			if _, ok := it.get("timer.value"); !ok {
				return "123002", it.id + ": enabled timer without value"
			}
		}
	}
	if total > 1e15 {
		return "123003", "cart total above 10^15"
	}
	if _, ok := root["customerId"]; !ok {
		for _, it := range items {
			if it.timed {
				return "121102", "an item has an enabled timer and there is no customerId"
			}
		}
	}
	return "", ""
}

func ctSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------

type ctEnv struct {
	t      *testing.T
	srv    *e2e.Server
	doc    *openapi3.T
	router routers.Router
	mu     sync.Mutex
	seq    int
}

func (e *ctEnv) next() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	return e.seq
}

// ctCase is a variant ready to send.
type ctCase struct {
	ctVariant
	docErr error // the document's verdict: nil when it allows the request
}

func (e *ctEnv) operation(op ctOp) *openapi3.Operation {
	item := e.doc.Paths.Find(op.path)
	if item == nil {
		e.t.Fatalf("%s: no such path in /openapi.yaml", op.path)
	}
	o := item.GetOperation(op.method)
	if o == nil || o.OperationID != op.name {
		e.t.Fatalf("%s %s: not operation %s in /openapi.yaml", op.method, op.path, op.name)
	}
	return o
}

// paramsSchema is the parameters of a GET operation as one object schema,
// with the examples as its base value.
func (e *ctEnv) paramsSchema(o *openapi3.Operation, in ...string) (*openapi3.Schema, map[string]any) {
	s := &openapi3.Schema{Type: &openapi3.Types{"object"}, Properties: openapi3.Schemas{}}
	if v, ok := o.Extensions["x-additionalParameters"].(bool); ok && !v {
		f := false
		s.AdditionalProperties.Has = &f
	}
	base := map[string]any{}
	for _, pr := range o.Parameters {
		p := pr.Value
		if !slices.Contains(in, p.In) {
			continue
		}
		s.Properties[p.Name] = p.Schema
		if p.Required {
			s.Required = append(s.Required, p.Name)
		}
		if p.Example == nil {
			e.t.Fatalf("parameter %s of %s has no example", p.Name, o.OperationID)
		}
		base[p.Name] = ctCopy(p.Example)
	}
	return s, base
}

// generate builds every case of an operation.
func (e *ctEnv) generate(op ctOp) (cases []ctCase, covered map[*openapi3.Schema]map[string]bool, where map[*openapi3.Schema]string) {
	o := e.operation(op)
	g := &ctGen{covered: map[*openapi3.Schema]map[string]bool{}, where: map[*openapi3.Schema]string{}}
	var schema *openapi3.Schema
	var bases []ctVariant
	if op.method == http.MethodGet {
		g.query = true
		var base map[string]any
		schema, base = e.paramsSchema(o, "path", "query")
		bases = append(bases, ctVariant{label: "parameter examples", body: base, intent: true},
			ctVariant{label: "minimal instance", body: g.minimal(schema), intent: true})
	} else {
		mt := o.RequestBody.Value.Content.Get("application/json")
		schema = mt.Schema.Value
		names := make([]string, 0, len(mt.Examples))
		for n := range mt.Examples {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			bases = append(bases, ctVariant{label: "example " + n, body: ctCopy(mt.Examples[n].Value.Value), intent: true})
		}
		if len(bases) == 0 {
			e.t.Fatalf("%s: the request body has no examples", op.name)
		}
		bases = append(bases, ctVariant{label: "minimal instance", body: g.minimal(schema), intent: true})
	}
	for _, b := range bases {
		g.out = append(g.out, b)
		g.base = b.body
		g.walk(schema, b.body, nil, op.name)
	}
	// Header parameters, sent with the first base.
	if hs, hbase := e.paramsSchema(o, "header"); len(hs.Properties) > 0 {
		hg := &ctGen{query: true, covered: g.covered, where: g.where}
		hg.base = hbase
		hg.out = append(hg.out, ctVariant{label: "header examples", body: hbase, intent: true})
		hg.walk(hs, hbase, nil, op.name+" headers")
		for _, v := range hg.out {
			v.header, v.body = v.body.(map[string]any), bases[0].body
			v.label = "header " + v.label
			g.out = append(g.out, v)
		}
	}
	for _, v := range g.out {
		cases = append(cases, ctCase{ctVariant: v, docErr: e.verdict(op, schema, v)})
	}
	return cases, g.covered, g.where
}

// request builds the HTTP request of a case: target and JSON body.
func ctRequest(op ctOp, body any) (target string, raw []byte) {
	if op.method != http.MethodGet {
		raw, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		return op.path, raw
	}
	m := body.(map[string]any)
	q := url.Values{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "cartId" {
			continue
		}
		switch v := m[k].(type) {
		case []any:
			for _, el := range v {
				q.Add(k, fmt.Sprint(el))
			}
		default:
			q.Add(k, fmt.Sprint(v))
		}
	}
	target = strings.Replace(op.path, "{cartId}", url.PathEscape(fmt.Sprint(m["cartId"])), 1)
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	return target, nil
}

// verdict asks the document whether it allows the request.
func (e *ctEnv) verdict(op ctOp, schema *openapi3.Schema, v ctVariant) error {
	body := v.body
	target, raw := ctRequest(op, body)
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(op.method, e.srv.URL+target, rd)
	if err != nil {
		return err
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, hv := range v.header {
		req.Header.Set(k, fmt.Sprint(hv))
	}
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		return err
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(e.t.Context(), in); err != nil {
		return err
	}
	if op.method == http.MethodGet {
		if m, ok := body.(map[string]any); ok && ctClosed(schema) {
			for k := range m {
				if schema.Properties[k] == nil {
					return fmt.Errorf("unknown parameter %q", k)
				}
			}
		}
		return nil
	}
	return ctKeysOK(schema, body)
}

// TestOpenAPIContract sends the requests generated from /openapi.yaml to
// the server (see the file comment).
func TestOpenAPIContract(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	docRes := ownDo(t, srv.URL, http.MethodGet, "/openapi.yaml", "", "")
	doc, err := openapi3.NewLoader().LoadFromData(docRes.raw)
	if err != nil {
		t.Fatalf("load /openapi.yaml: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("/openapi.yaml: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: srv.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	env := &ctEnv{t: t, srv: srv, doc: doc, router: router}

	// Generate everything first: the merchants' catalogs must hold every
	// itemId the valid requests use.
	type gen struct {
		op    ctOp
		cases []ctCase
	}
	var gens []gen
	catalog := map[string]bool{}
	for _, id := range ctSetupItems {
		catalog[id] = true
	}
	itemID := regexp.MustCompile(doc.Components.Schemas["ItemId"].Value.Pattern)
	for _, op := range ctOps {
		cases, covered, where := env.generate(op)
		for s, props := range covered {
			for n := range s.Properties {
				if !props[n] {
					t.Errorf("%s: no example of the request has %s.%s: add it to an example so that it is tested", op.name, where[s], n)
				}
			}
		}
		for _, c := range cases {
			if c.docErr == nil {
				for _, id := range ctItemIDs(op, c.body) {
					if itemID.MatchString(id) {
						catalog[id] = true
					}
				}
			}
		}
		gens = append(gens, gen{op, cases})
	}
	ids := make([]string, 0, len(catalog))
	for id := range catalog {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	t.Run("idempotencyKey", func(t *testing.T) {
		t.Parallel()
		_, c := srv.Merchant("pegasus")
		api := &ownAPI{base: srv.URL, router: router, seen: map[string]bool{}}
		body := `{"cartId":"ct-lookup-0001","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`
		api.call(t, http.MethodPost, "/init", c.APIKey, body, 201, "000000", "Idempotency-Key", "ct-lookup-1")
		api.call(t, http.MethodPost, "/init", c.APIKey, body, 409, "124101", "Idempotency-Key", "ct-lookup-2")
		api.call(t, http.MethodGet, "/idempotency-keys/ct-lookup-1", c.APIKey, "", 200, "000000")
		api.call(t, http.MethodGet, "/idempotency-keys/ct-lookup-2", c.APIKey, "", 200, "000000")
		api.call(t, http.MethodGet, "/idempotency-keys/never-used", c.APIKey, "", 404, "199001")
		api.call(t, http.MethodGet, "/idempotency-keys/"+strings.Repeat("k", 256), c.APIKey, "", 400, "122001")
		api.call(t, http.MethodGet, "/idempotency-keys/ct-lookup-1", "", "", 401, "111000")
	})
	t.Run("listCarts", func(t *testing.T) {
		t.Parallel()
		ctListCarts(t, srv, doc, router)
	})
	for _, g := range gens {
		t.Run(g.op.name, func(t *testing.T) {
			t.Parallel()
			_, c := srv.Merchant(strings.Join(ids, ","), "--all-privileges")
			r := &ctRunner{env: env, t: t, op: g.op, key: c.APIKey,
				api: &ownAPI{base: srv.URL, router: router, seen: map[string]bool{}}}
			r.run(g.cases)
		})
	}
}

// ctSetupItems are the catalog items the set-up carts use.
var ctSetupItems = []string{"pegasus", "naga", "lich", "ct-tag-0", "ct-tag-1", "ct-tag-2", "ct-tag-3"}

// ctItemIDs lists the itemIds a request names.
func ctItemIDs(op ctOp, body any) []string {
	var out []string
	keys := func(list any) {
		l, _ := list.([]any)
		for _, el := range l {
			if m, ok := el.(map[string]any); ok {
				for k := range m {
					out = append(out, k)
				}
			}
		}
	}
	strs := func(list any) {
		l, _ := list.([]any)
		for _, el := range l {
			if s, ok := el.(string); ok {
				out = append(out, s)
			}
		}
	}
	switch op.name {
	case "initCart":
		keys(ctGet(body, "items"))
	case "modify":
		keys(ctGet(body, "modifyBox", "items"))
	case "cartStatus":
		strs(ctGet(body, "itemIds"))
	default:
		strs(ctGet(body, "filterBox", "itemIds"))
	}
	return out
}

// ctTags lists the tags a request names (that a set-up cart must carry).
func ctTags(op ctOp, body any) []string {
	var out []string
	add := func(s any) {
		if t, ok := s.(string); ok && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	switch op.name {
	case "modify":
		l, _ := ctGet(body, "modifyBox", "scope", "tags").([]any)
		for _, el := range l {
			if m, ok := el.(map[string]any); ok {
				for k := range m {
					add(k)
				}
			}
		}
	case "cartStatus":
		l, _ := ctGet(body, "tags").([]any)
		for _, el := range l {
			add(el)
		}
	case "capture", "cancel", "refund":
		l, _ := ctGet(body, "filterBox", "tags").([]any)
		for _, el := range l {
			add(el)
		}
	}
	return out
}

type ctRunner struct {
	env   *ctEnv
	api   *ownAPI
	t     *testing.T
	op    ctOp
	key   string
	fails int
	stats map[string]int
}

func (r *ctRunner) failf(format string, args ...any) {
	r.t.Helper()
	r.fails++
	if r.fails <= 60 {
		r.t.Errorf(format, args...)
	} else if r.fails == 61 {
		r.t.Errorf("… more failures not shown")
	}
}

func (r *ctRunner) run(cases []ctCase) {
	r.stats = map[string]int{}
	for _, c := range cases {
		r.one(c)
	}
	r.t.Logf("%s: %d requests: %v", r.op.name, len(cases), r.stats)
}

// send sends a request and validates the response against the document.
func (r *ctRunner) send(method, target string, body []byte, hdr ...string) ownRes {
	r.t.Helper()
	res := ownDo(r.t, r.env.srv.URL, method, target, r.key, string(body), hdr...)
	r.api.validate(r.t, method, target, res)
	return res
}

type ctEnvelope struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Debug   []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"debug"`
	Data struct {
		PaymentURL string `json:"paymentUrl"`
	} `json:"data"`
}

func (r *ctRunner) one(c ctCase) {
	r.t.Helper()
	if r.op.method == http.MethodGet && ctGet(c.body, "cartId") == "" {
		// "/status/" is the path /status (121101), another operation.
		r.stats["skipped: empty path parameter"]++
		return
	}
	var hdr []string
	for _, k := range ctSortedKeys(c.header) {
		hv := fmt.Sprint(c.header[k])
		if hv == "" || hv != strings.TrimSpace(hv) {
			// HTTP drops white space around a header value, and an empty
			// header is no header: not a value a client can send.
			r.stats["skipped: header value with outer white space"]++
			return
		}
		if k == "Idempotency-Key" && !c.targets(k) {
			// A key is one request: the cases that do not vary it each get
			// their own.
			hv = fmt.Sprintf("%s-%d", hv, r.env.next())
		}
		hdr = append(hdr, k, hv)
	}
	body := r.prepare(c)
	target, raw := ctRequest(r.op, body)
	res := r.send(r.op.method, target, raw, hdr...)
	var env ctEnvelope
	if err := json.Unmarshal(res.raw, &env); err != nil {
		r.failf("%s: answer is not JSON: %v\n%s", c.label, err, res.raw)
		return
	}
	show := func() string {
		if raw == nil {
			return target
		}
		return string(raw)
	}
	ok2xx := res.status >= 200 && res.status < 300
	switch {
	case c.probe:
		r.stats["probes"]++
	case c.docErr == nil && !c.intent:
		r.failf("%s: meant to break a rule, but the document allows it", c.label)
	case c.docErr != nil && c.intent:
		r.stats["allowed by the schema, refused by the document"]++
	}
	if c.docErr != nil {
		r.stats["forbidden"]++
		switch {
		case res.status != http.StatusBadRequest || !slices.Contains(ctFormatCodes, env.Code):
			r.failf("%s: the document forbids it (%v), the server answered HTTP %d %s %q\n%s",
				c.label, ctFirstLine(c.docErr), res.status, env.Code, env.Message, show())
		case !c.intent && !c.probe && slices.Contains(ctNamedCodes, env.Code) && c.field != "" && !strings.Contains(env.Message, c.field):
			r.failf("%s: refused with %s %q, which does not name %q\n%s", c.label, env.Code, env.Message, c.field, show())
		}
		return
	}
	r.stats["allowed"]++
	if r.op.name == "initCart" {
		if code, why := ctInitRules(body); code != "" {
			r.stats["cross-property rule"]++
			if env.Code != code {
				r.failf("%s: breaks %q, want %s; the server answered HTTP %d %s %q\n%s", c.label, why, code, res.status, env.Code, env.Message, show())
			}
			return
		}
	}
	switch {
	case ok2xx:
		r.stats["accepted"]++
	case slices.Contains(r.op.business, env.Code):
		r.stats["business "+env.Code]++
	default:
		r.failf("%s: the document allows it, the server answered HTTP %d %s %q\n%s", c.label, res.status, env.Code, env.Message, show())
	}
	if c.label == "parameter examples" || strings.HasPrefix(c.label, "example ") {
		if !ok2xx {
			r.failf("%s: a documented example must succeed; HTTP %d %s %q", c.label, res.status, env.Code, env.Message)
		}
	}
}

func ctFirstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// prepare makes a case's request fit the server's state: fresh cartIds
// and customerIds (each /init opens a new cart), and for the other
// operations a cart that holds what the request names, paid when the
// operation needs authorized or completed items.
func (r *ctRunner) prepare(c ctCase) any {
	r.t.Helper()
	body := ctCopy(c.body)
	m, isObj := body.(map[string]any)
	if !isObj {
		return body
	}
	n := r.env.next()
	fresh := fmt.Sprintf("ct-%s-%06d", r.op.name[:3], n)
	if _, ok := m["cartId"]; ok && !c.targets("cartId") {
		m["cartId"] = fresh
	}
	cartID, _ := m["cartId"].(string)
	if _, ok := m["customerId"]; ok && !c.targets("customerId") {
		m["customerId"] = fmt.Sprintf("cust-ct-%06d", n)
	}
	if box, ok := m["modifyBox"].(map[string]any); ok && !c.targets("modifyBox", "customerId") {
		if _, has := box["customerId"]; has {
			box["customerId"] = fmt.Sprintf("cust-ct-m-%06d", n)
		}
	}
	if r.op.name == "initCart" {
		return m
	}
	// A cart for the request: with the id it names when that id is valid,
	// else a fresh one (a malformed cartId is refused before any look-up).
	setupID := strings.TrimPrefix(cartID, ":")
	if !regexp.MustCompile(r.env.doc.Components.Schemas["CartId"].Value.Pattern).MatchString(setupID) {
		setupID = fresh
	}
	r.setup(setupID, c, body, n)
	return m
}

// setup opens (and pays) the cart a request acts on.
func (r *ctRunner) setup(id string, c ctCase, body any, n int) {
	r.t.Helper()
	itemIDRe := regexp.MustCompile(r.env.doc.Components.Schemas["ItemId"].Value.Pattern)
	tagRe := regexp.MustCompile(r.env.doc.Components.Schemas["Tag"].Value.Pattern)
	timer := map[string]any{"triggerEvent": "manual", "value": 3600.0}
	items := []any{
		map[string]any{"pegasus": map[string]any{"amount": 1000.0, "quantity": 2.0, "tag": "rampart", "enableTimer": true, "timer": timer}},
		map[string]any{"naga": map[string]any{"amount": 700.0}},
	}
	have := map[string]bool{"pegasus": true, "naga": true}
	for _, id := range ctItemIDs(r.op, body) {
		if itemIDRe.MatchString(id) && !have[id] {
			have[id] = true
			items = append(items, map[string]any{id: map[string]any{"amount": 500.0, "quantity": 2.0, "enableTimer": true, "timer": timer}})
		}
	}
	k := 0
	for _, tag := range ctTags(r.op, body) {
		if tag == "rampart" || !tagRe.MatchString(tag) || k >= 4 {
			continue
		}
		items = append(items, map[string]any{fmt.Sprintf("ct-tag-%d", k): map[string]any{"amount": 300.0, "tag": tag, "enableTimer": true, "timer": timer}})
		k++
	}
	initBody := map[string]any{"cartId": id, "customerId": fmt.Sprintf("cust-ct-s-%06d", n), "currency": "EUR", "items": items}
	if r.op.name == "refund" {
		initBody["scope"] = map[string]any{"cart": map[string]any{"capture": false}}
	}
	raw, _ := json.Marshal(initBody)
	res := r.send(http.MethodPost, "/init", raw)
	if res.status != http.StatusCreated {
		r.t.Fatalf("set-up cart for %s: HTTP %d\n%s\n%s", c.label, res.status, raw, res.raw)
	}
	pay := r.op.name == "capture" || r.op.name == "cancel" || r.op.name == "refund"
	if !pay || c.docErr != nil {
		return
	}
	var env ctEnvelope
	_ = json.Unmarshal(res.raw, &env)
	u, err := url.Parse(env.Data.PaymentURL)
	if err != nil {
		r.t.Fatal(err)
	}
	pr := ownDo(r.t, r.env.srv.URL, http.MethodPost, u.Path, "", ownCard)
	if pr.status != http.StatusOK {
		r.t.Fatalf("set-up payment for %s: HTTP %d\n%s", c.label, pr.status, pr.raw)
	}
}
