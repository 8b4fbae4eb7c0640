package notice

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/banwatch/banwatch/policy"
)

// Bounds of the text, in characters: notification popups and message
// boxes are small, and the full finding is in the log and the report.
const (
	maxTitle       = 100
	maxWhat        = 300
	maxRemediation = 320
)

// Build makes the notice for a finding: the title names the product, the
// body says what was found, why it matters and what to do, a paragraph a
// line. Control characters in the finding's fields are taken out.
func Build(f *policy.Finding) Message {
	product := Clean(f.Product)
	if product == "" {
		product = Clean(f.Vendor + " software")
	}
	var b strings.Builder
	what := firstSentences(Clean(f.Summary), 1, maxWhat)
	if what == "" {
		what = product + " is on this machine."
	}
	b.WriteString("Found: " + what)
	if why := whyItMatters(f); why != "" {
		b.WriteString("\nWhy it matters: " + why)
	}
	todo := firstSentences(Clean(f.Remediation), 2, maxRemediation)
	if todo == "" {
		todo = "Tell your IT administrator."
	}
	b.WriteString("\nWhat to do: " + todo)
	return Message{FindingID: f.ID, Title: truncate("banwatch: "+product, maxTitle), Body: b.String()}
}

func whyItMatters(f *policy.Finding) string {
	cutOff := Clean(f.CutOff)
	where := ""
	if j := Clean(f.Jurisdiction); j != "" {
		where = " in " + j
	}
	switch {
	case f.Kind == policy.KindUpdatesAfterCutOff && cutOff != "":
		return "updates are prohibited" + where + " since " + cutOff + ", yet this install still receives them from somewhere."
	case cutOff != "" || f.Kind == policy.KindUpdatesCutOff:
		since := ""
		if cutOff != "" {
			since = " since the cut-off on " + cutOff
		}
		return "it gets no updates" + since + where + ", so its protection is frozen and new threats go undetected."
	case f.Kind == policy.KindStaleSignatures:
		return "its signatures are out of date, so new threats go undetected."
	case f.Kind == policy.KindUpdateTraffic:
		return "the machine talks to the vendor's update or management servers."
	case f.Kind == policy.KindRemnant:
		return "leftovers can keep parts of the product (drivers, services) on the machine."
	}
	return ""
}

// Clean makes one line of s: control characters (newlines, escape
// sequences, NUL, bidirectional overrides) become spaces, runs of spaces
// become one, and invalid UTF-8 is dropped.
func Clean(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "") {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// firstSentences keeps the first n sentences of s (a sentence ends in
// ". ", "! " or "? "), the first alone if n would pass max characters,
// and truncates what is still longer.
func firstSentences(s string, n, max int) string {
	var ends []int
	for i := 0; i+1 < len(s) && len(ends) < n; i++ {
		if (s[i] == '.' || s[i] == '!' || s[i] == '?') && s[i+1] == ' ' {
			ends = append(ends, i+1)
		}
	}
	ends = append(ends, len(s)) // the rest is the last sentence
	cut := ends[0]
	for k := 1; k < n && k < len(ends); k++ {
		if utf8.RuneCountInString(s[:ends[k]]) > max {
			break
		}
		cut = ends[k]
	}
	return truncate(s[:cut], max)
}

// truncate cuts s to max characters at a word boundary, with "…".
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)[:max-1]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:") + "…"
}
