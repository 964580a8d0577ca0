package omnicart

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a six-digit OmniCart response code, such as "124101".
type Code string

// Response codes. Their messages and meanings are in Catalog.
const (
	CodeSuccess            Code = "000000"
	CodeTagsUnused         Code = "001001"
	CodeTagsUndefined      Code = "001002"
	CodeStatusNoTags       Code = "001004"
	CodeStatusNoItemIDs    Code = "001005"
	CodeStatusNoTimer      Code = "001006"
	CodeStatusNoNoTimer    Code = "001007"
	CodeTimerAlreadyStart  Code = "001008"
	CodeTimerAlreadyStop   Code = "001009"
	CodeTimerAlreadyPause  Code = "001010"
	CodeAuth               Code = "111000"
	CodeCartIDEmpty        Code = "121101"
	CodeCustomerIDRequired Code = "121102"
	CodeNoItemsMatch       Code = "121103"
	CodeInvalidFormat      Code = "122001"
	CodeInvalidItemFormat  Code = "122002"
	CodeUnknownCurrency    Code = "123000"
	CodeCartNotFound       Code = "123001"
	CodeInvalidItemValue   Code = "123002"
	CodeInvalidValue       Code = "123003"
	CodeFilterNoTags       Code = "124004"
	CodeFilterNoItemIDs    Code = "124005"
	CodeFilterNoTimer      Code = "124006"
	CodeFilterNoNoTimer    Code = "124007"
	CodeCartExists         Code = "124101"
	CodeActiveTimer        Code = "124102"
	CodeItemNotInCatalog   Code = "124103"
	CodePausePending       Code = "124104"
	CodePauseElapsed       Code = "124105"
	CodePauseStopped       Code = "124106"
	CodeStartStopped       Code = "124107"
	CodeStartElapsed       Code = "124108"
	CodeStopPending        Code = "124109"
	CodeStopElapsed        Code = "124110"
	CodeCartAmountExceeds  Code = "124111"
	CodeItemAmountExceeds  Code = "124112"
	CodeQuantityExceeds    Code = "124113"
	CodeNoneAuthorized     Code = "124114"
	CodeNoneCompleted      Code = "124115"
	CodeIdempotencyReused  Code = "124190"
	CodeIdempotencyRunning Code = "124191"
	CodeMethodNotAllowed   Code = "131000"
	CodeNoPermission       Code = "132000"
	CodeNoAmountPerm       Code = "132001"
	CodeNoTimerPerm        Code = "132002"
	CodeNoModifyPerm       Code = "132003"
	CodeOutOfRange         Code = "133000"
	CodeNoItemAmountPerm   Code = "133004"
	CodeNoItemTimerPerm    Code = "133005"
	CodeSystem             Code = "199000"
	CodeNotFound           Code = "199001"
	CodeTooManyRequests    Code = "199002"
	CodeBodyTooLarge       Code = "199003"
	CodeUnavailable        Code = "199004"
)

// IsInfo reports whether the code is an informational (non-error) code,
// including the 10100x forms of info codes used in failed requests.
func (c Code) IsInfo() bool { return len(c) == 6 && (c[0] == '0' || c[:3] == "101") }

// FailedForm returns the 10100x form of a 00100x info code, the one used in
// the debug list of a failed request. Other codes are returned unchanged.
func (c Code) FailedForm() Code {
	if strings.HasPrefix(string(c), "001") {
		return "101" + c[3:]
	}
	return c
}

// Problem is one finding about a request: an error or an info message, with
// the arguments that fill its message template.
type Problem struct {
	Code Code
	// Arg fills the {0} placeholder: a property name as the merchant wrote it,
	// an itemId, a customerId.
	Arg string
	// Args fill further placeholders ({1}, {2}).
	Args []string
	// Items fills the [...] list placeholder.
	Items []string
	// Rule states the rule an identifier broke (RuleCartID, ...), for the
	// debug answer; empty for other problems. It is not part of the
	// message, whose text SPEC fixes.
	Rule string
}

// Message renders the problem's message from the catalogue.
func (p Problem) Message() string {
	return RenderMessage(p.Code, p.Arg, p.Args, p.Items)
}

// Problems is an ordered list of findings.
type Problems []Problem

// Add appends a problem. A problem with the same code and Arg as an earlier
// one that carries an item list is merged into it, so that one message lists
// every affected item once, in order.
func (ps *Problems) Add(p Problem) {
	if len(p.Items) > 0 {
		for i := range *ps {
			q := &(*ps)[i]
			if q.Code == p.Code && q.Arg == p.Arg && equalStrings(q.Args, p.Args) && len(q.Items) > 0 {
				for _, it := range p.Items {
					if !contains(q.Items, it) {
						q.Items = append(q.Items, it)
					}
				}
				return
			}
		}
	}
	*ps = append(*ps, p)
}

// Errors returns the problems that are errors, in order.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Code.IsInfo() {
			out = append(out, p)
		}
	}
	return out
}

// HasErrors reports whether any problem is an error.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if !p.Code.IsInfo() {
			return true
		}
	}
	return false
}

// Error is the domain error: it carries one or more problems, the first of
// which is the main one. It is returned by the use cases for every refusal
// the merchant can act on.
type Error struct {
	Problems Problems
}

// Error implements error with the main problem's code and message.
func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return "omnicart: empty error"
	}
	p := e.Problems[0]
	return fmt.Sprintf("%s %s", p.Code, p.Message())
}

// Errorf builds an *Error with a single problem.
func Errorf(code Code, arg string, items ...string) *Error {
	return &Error{Problems: Problems{{Code: code, Arg: arg, Items: items}}}
}

// CodeOf returns the main code of err if it is (or wraps) an *Error, and
// CodeSystem otherwise.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) && len(e.Problems) > 0 {
		return e.Problems[0].Code
	}
	return CodeSystem
}

// ErrNotFound is returned by stores when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by stores when a unique record already exists.
var ErrConflict = errors.New("already exists")

// ErrUnavailable marks a storage failure that says nothing about the
// request: the database cannot be reached, is restarting or refuses
// connections. Nothing was changed that the caller does not see after a
// retry (a transaction either committed or did not; a retry with the same
// Idempotency-Key finds out which). The Merchant API answers it with
// 199004 and Retry-After.
var ErrUnavailable = errors.New("storage unavailable")

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Stages of request checking. Problems are reported in stage order (errors
// first, then info messages), so that "the first error" is deterministic:
// body → cartId → cart existence → currency → formats and values → catalog →
// timers need a customer → privileges → active-timer conflicts.
const (
	StageBody = iota
	StageCartID
	StageExists
	StageCurrency
	StageValues
	StageCatalog
	StageTimers
	StagePrivileges
	StageConflicts
)

// Staged is a problem found at a given stage of checking.
type Staged struct {
	Stage int
	Problem
}

// StagedProblems collects problems from several stages.
type StagedProblems []Staged

// Add appends a problem found at stage, merging item lists as Problems.Add.
func (sp *StagedProblems) Add(stage int, p Problem) {
	if len(p.Items) > 0 {
		for i := range *sp {
			q := &(*sp)[i]
			if q.Stage == stage && q.Code == p.Code && q.Arg == p.Arg && equalStrings(q.Args, p.Args) && len(q.Items) > 0 {
				for _, it := range p.Items {
					if !contains(q.Items, it) {
						q.Items = append(q.Items, it)
					}
				}
				return
			}
		}
	}
	*sp = append(*sp, Staged{stage, p})
}

// AddAll appends problems found at stage.
func (sp *StagedProblems) AddAll(stage int, ps Problems) {
	for _, p := range ps {
		sp.Add(stage, p)
	}
}

// HasErrors reports whether any problem is an error.
func (sp StagedProblems) HasErrors() bool {
	for _, p := range sp {
		if !p.Code.IsInfo() {
			return true
		}
	}
	return false
}

// Ordered returns the problems in reporting order: errors by stage, then
// info messages by stage. When there are errors, info codes take their
// 10100x failed-request form.
func (sp StagedProblems) Ordered() Problems {
	failed := sp.HasErrors()
	var out Problems
	for pass := 0; pass < 2; pass++ {
		for stage := StageBody; stage <= StageConflicts; stage++ {
			for _, p := range sp {
				if p.Stage != stage || p.Code.IsInfo() != (pass == 1) {
					continue
				}
				q := p.Problem
				if failed {
					q.Code = q.Code.FailedForm()
				}
				out = append(out, q)
			}
		}
	}
	return out
}
