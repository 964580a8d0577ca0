package httpapi

import (
	"strings"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/jsontree"
)

// idKind says which Merchant API request a body belongs to, for
// explainIDs.
type idKind int

const (
	idsInit idKind = iota
	idsModify
	idsAction // capture, cancel, refund
	idsStatus
)

// explainIDs states, on each problem of sp that reports an identifier
// breaking its rule (cartId, itemId, tag, customerId; SPEC §3.1), the rule
// it broke (omnicart.Problem.Rule). The debug answer shows it next to the
// message, whose text SPEC fixes (docs/API.md). root is the request body
// (nil for status): it tells the itemId and tag keys the merchant wrote
// from other properties.
func explainIDs(sp omnicart.StagedProblems, kind idKind, root *jsontree.Value) {
	for i := range sp {
		if p := &sp[i].Problem; p.Rule == "" {
			p.Rule = idRule(*p, kind, root)
		}
	}
}

// idRule is the rule an identifier broke when p reports one, or "".
func idRule(p omnicart.Problem, kind idKind, root *jsontree.Value) string {
	body := kind == idsInit || kind == idsModify
	if p.Code == omnicart.CodeInvalidItemFormat {
		if body && p.Arg == "tag" {
			return omnicart.RuleTag
		}
		return ""
	}
	if p.Code != omnicart.CodeInvalidFormat {
		return ""
	}
	switch arg := p.Arg; {
	case arg == "cartId":
		return omnicart.RuleCartID
	case kind == idsInit && arg == "customerId", kind == idsModify && arg == "modifyBox.customerId":
		return omnicart.RuleCustomerID
	case kind == idsAction && arg == "filterBox.tags", kind == idsStatus && arg == "tags":
		return omnicart.RuleTagList
	case kind == idsAction && arg == "filterBox.itemIds", kind == idsStatus && arg == "itemIds":
		return omnicart.RuleItemIDList
	case !body || root == nil:
		return ""
	}
	scope, items := root.Get("scope"), root.Get("items")
	tagPrefix := "scope.tags."
	if kind == idsModify {
		box := root.Get("modifyBox")
		if box == nil {
			return ""
		}
		scope, items, tagPrefix = box.Get("scope"), box.Get("items"), "modifyBox.scope.tags."
	}
	if tag, ok := strings.CutPrefix(p.Arg, tagPrefix); ok && !omnicart.ValidTag(tag) && scope != nil && hasKey(scope.Get("tags"), tag) {
		return omnicart.RuleTag
	}
	if !omnicart.ValidItemID(p.Arg) && hasKey(items, p.Arg) {
		return omnicart.RuleItemID
	}
	return ""
}

// hasKey reports whether list is an array one of whose objects has key.
func hasKey(list *jsontree.Value, key string) bool {
	if list == nil || list.Kind != jsontree.Array {
		return false
	}
	for _, el := range list.Items {
		if el.Kind == jsontree.Object && el.Get(key) != nil {
			return true
		}
	}
	return false
}
