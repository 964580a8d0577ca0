package omnicart

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
