package omnicart

// The identifier rules, as a person reads them. They are the rules of SPEC
// §3.1 (the patterns of /openapi.yaml), stated in the "rule" of a debug
// answer when an identifier breaks its rule (docs/API.md).
const (
	RuleCartID     = "cartId: 9 to 36 characters, each a letter, a digit, _ or - ([A-Za-z0-9_-]{9,36})"
	RuleItemID     = "itemId: 1 to 64 characters, each a letter, a digit, _, . or - ([A-Za-z0-9_.-]{1,64})"
	RuleTag        = "tag: 1 to 64 characters, each a letter, a digit, _, . or - ([A-Za-z0-9_.-]{1,64})"
	RuleCustomerID = "customerId: 1 to 64 printable ASCII characters, no spaces ([!-~]{1,64})"
	// RuleItemIDList and RuleTagList are the rules of the filter lists
	// (filterBox.itemIds, filterBox.tags, and status's itemIds and tags).
	RuleItemIDList = "a non-empty list of itemIds; " + RuleItemID
	RuleTagList    = "a non-empty list of tags; " + RuleTag
)

func validChars(s string, min, max int, extra string) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		ok := (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
		for j := 0; !ok && j < len(extra); j++ {
			ok = ch == extra[j]
		}
		if !ok {
			return false
		}
	}
	return true
}

// ValidCartID reports whether s is 9–36 characters of [A-Za-z0-9_-].
func ValidCartID(s string) bool { return validChars(s, 9, 36, "_-") }

// ValidItemID reports whether s is 1–64 characters of [A-Za-z0-9_.-].
func ValidItemID(s string) bool { return validChars(s, 1, 64, "_.-") }

// ValidTag reports whether s is 1–64 characters of [A-Za-z0-9_.-].
func ValidTag(s string) bool { return validChars(s, 1, 64, "_.-") }

// ValidCustomerID reports whether s is 1–64 printable ASCII characters
// without spaces.
func ValidCustomerID(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
