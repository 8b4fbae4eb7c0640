package syslog

import (
	"strconv"
	"strings"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/policy"
)

// CEF formats an event as a CEF:0 record:
//
//	CEF:0|banwatch|banwatch|VERSION|SIGNATURE ID|NAME|SEVERITY|EXTENSIONS
//
// The signature id is the policy rule ("kaspersky.product"; "heartbeat"
// for the heartbeat), the name says what happened and to which product,
// the severity is CEF's 0-10 (low 3, medium 5, high 8, critical 10; a
// resolved finding and the heartbeat 1). Extensions: rt (the event time,
// ms since the epoch), dvchost, externalId (the finding id), cat (the
// kind), act (the event type), msg (the summary), and cs1-cs4 with their
// labels for the product, the product id, the vendor and the event type.
func CEF(e agent.Event, host, version string, open int) string {
	f := e.Finding
	sig, name, sev := "heartbeat", "banwatch heartbeat", 1
	if f != nil {
		sig = f.Rule
		name = cefName(e)
		sev = cefSeverity(f.Severity)
		if e.Type == agent.EventResolved {
			sev = 1
		}
	}
	var b strings.Builder
	b.WriteString("CEF:0|banwatch|banwatch|")
	for _, h := range []string{version, sig, name, strconv.Itoa(sev)} {
		b.WriteString(EscapeCEFHeader(h) + "|")
	}
	ext := [][2]string{}
	if !e.At.IsZero() {
		ext = append(ext, [2]string{"rt", strconv.FormatInt(e.At.UnixMilli(), 10)})
	}
	ext = append(ext, [2]string{"dvchost", host}, [2]string{"act", string(e.Type)})
	if f != nil {
		ext = append(ext,
			[2]string{"externalId", f.ID}, [2]string{"cat", string(f.Kind)},
			[2]string{"cs1Label", "product"}, [2]string{"cs1", f.Product},
			[2]string{"cs2Label", "productId"}, [2]string{"cs2", f.ProductID},
			[2]string{"cs3Label", "vendor"}, [2]string{"cs3", f.Vendor},
			[2]string{"cs4Label", "severity"}, [2]string{"cs4", string(f.Severity)},
		)
	}
	ext = append(ext, [2]string{"msg", Summary(e, open)})
	first := true
	for _, kv := range ext {
		if kv[1] == "" {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(kv[0] + "=" + EscapeCEFValue(kv[1]))
	}
	return b.String()
}

func cefName(e agent.Event) string {
	f := e.Finding
	what := string(f.Kind)
	switch e.Type {
	case agent.EventResolved:
		what += " resolved"
	case agent.EventChanged:
		what += " changed"
	}
	if f.Product != "" {
		what += ": " + f.Product
	}
	return what
}

func cefSeverity(s policy.Severity) int {
	switch s {
	case policy.SeverityLow:
		return 3
	case policy.SeverityMedium:
		return 5
	case policy.SeverityHigh:
		return 8
	case policy.SeverityCritical:
		return 10
	}
	return 0
}

// EscapeCEFHeader escapes a CEF header field: '\' and '|' take a
// backslash; a header cannot span lines, so CR and LF become spaces.
func EscapeCEFHeader(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `|`, `\|`, "\r\n", " ", "\r", " ", "\n", " ")
	return r.Replace(strings.ToValidUTF8(v, "\uFFFD"))
}

// EscapeCEFValue escapes a CEF extension value: '\' and '=' take a
// backslash, LF is \n and CR is \r ('|' needs no escape there).
func EscapeCEFValue(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\r\n", `\r\n`, "\r", `\r`, "\n", `\n`)
	return r.Replace(strings.ToValidUTF8(v, "\uFFFD"))
}
