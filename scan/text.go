package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/banwatch/banwatch/policy"
)

// WriteJSON writes the report as banwatch.scan/v1 JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people: a header, a table of findings,
// what each means and what to do, the errors, and one summary line.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "banwatch scan of %s (%s, %s)\n", orDash(r.Host.Hostname), orDash(r.Host.Platform), osArch(r.Host))
	fmt.Fprintf(&b, "root %s (%s), as of %s, jurisdiction %s, policy %s %s\n\n",
		r.Scan.Root, r.Scan.Mode, r.Scan.AsOf, r.Scan.Jurisdiction, r.Policy.Name, r.Policy.Version)
	if len(r.Findings) == 0 {
		b.WriteString("No banned software found.\n\n")
	} else {
		writeTable(&b, r.Findings)
		writeDetails(&b, r.Findings)
	}
	if len(r.Errors) > 0 {
		b.WriteString("Errors (the other detectors still ran):\n")
		for _, e := range r.Errors {
			for _, line := range strings.Split(e.Message, "\n") {
				fmt.Fprintf(&b, "  %s: %s\n", e.Detector, line)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(SummaryLine(r) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTable(b *strings.Builder, findings []policy.Finding) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSEVERITY\tKIND\tPRODUCT\tVERSION\tEVIDENCE")
	for i, f := range findings {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i+1, f.Severity, f.Kind, f.Product, orDash(f.Version), policy.Brief(f.Evidence, 3))
	}
	tw.Flush()
	b.WriteString("\n")
}

func writeDetails(b *strings.Builder, findings []policy.Finding) {
	for i, f := range findings {
		fmt.Fprintf(b, "%d. %s\n", i+1, f.Summary)
		if f.Remediation != "" {
			fmt.Fprintf(b, "   What to do: %s\n", f.Remediation)
		}
	}
	b.WriteString("\n")
}

// SummaryLine is the report in one line.
func SummaryLine(r *Report) string {
	counts := map[policy.Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	var sev []string
	for _, s := range []policy.Severity{policy.SeverityCritical, policy.SeverityHigh, policy.SeverityMedium, policy.SeverityLow} {
		if counts[s] > 0 {
			sev = append(sev, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	ran, failed, skipped := 0, 0, 0
	for _, d := range r.Scan.Detectors {
		switch {
		case d.Skipped != "":
			skipped++
		case d.Error != "":
			ran++
			failed++
		default:
			ran++
		}
	}
	line := fmt.Sprintf("%d %s", len(r.Findings), plural(len(r.Findings), "finding", "findings"))
	if len(sev) > 0 {
		line += " (" + strings.Join(sev, ", ") + ")"
	}
	line += fmt.Sprintf("; %d %s ran", ran, plural(ran, "detector", "detectors"))
	if failed > 0 {
		line += fmt.Sprintf(", %d failed", failed)
	}
	if skipped > 0 {
		line += fmt.Sprintf(", %d skipped", skipped)
	}
	return line + fmt.Sprintf("; %d ms", r.Scan.DurationMS)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func osArch(h Host) string {
	if h.Arch == "" {
		return h.OS
	}
	return h.OS + "/" + h.Arch
}
