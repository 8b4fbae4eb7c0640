package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/banwatch/banwatch/agent/ocsf"
	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

type scanFlags struct {
	root, policyFile, format, asOf, jurisdiction, failOn, detectors string
	probeUpdates                                                    bool
}

func (f *scanFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.root, "root", "", "scan this `DIR` (a mounted disk or image) instead of the running system")
	fs.StringVar(&f.policyFile, "policy", "", "policy `FILE` (default: the built-in policy)")
	fs.StringVar(&f.format, "format", "text", "output format: text, json, or ocsf (a JSON array of OCSF Detection Findings)")
	fs.StringVar(&f.asOf, "as-of", "", "evaluate cut-off rules as of this `YYYY-MM-DD` (default: today)")
	fs.StringVar(&f.jurisdiction, "jurisdiction", "", "ISO 3166 `CODE` whose rules apply (default: the policy's, US)")
	fs.StringVar(&f.failOn, "fail-on", "low", "exit 1 if a finding is at or above this `severity`: low, medium, high, critical")
	fs.StringVar(&f.detectors, "detectors", "", "run only these `detectors`, comma-separated (default: all)")
	fs.BoolVar(&f.probeUpdates, "probe-updates", false, "connect to the vendors' update hosts (TCP and TLS, nothing sent) to tell whether they are reachable")
}

var jurisdictionCode = regexp.MustCompile(`^[A-Za-z]{2}$`)

func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f scanFlags
	fs := flag.NewFlagSet("banwatch scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "Usage: banwatch scan [flags]")
			fs.PrintDefaults()
			return exitOK
		}
		return usageError(stderr, "scan", "%v (run \"banwatch scan -h\")", err)
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "scan", "unexpected argument %q (did you mean --root %s?)", fs.Arg(0), fs.Arg(0))
	}
	opts, failOn, code := f.options(stderr)
	if code != exitOK {
		return code
	}
	report, err := scan.Run(ctx, opts)
	if err != nil {
		var ce *scan.ConfigError
		if errors.As(err, &ce) {
			return usageError(stderr, "scan", "%v", err)
		}
		if report == nil {
			fmt.Fprintf(stderr, "banwatch scan: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "banwatch scan: interrupted: %v\n", err)
	}
	warnJurisdiction(stderr, opts)
	if err := write(stdout, f.format, report); err != nil {
		fmt.Fprintf(stderr, "banwatch scan: write report: %v\n", err)
		return exitUsage
	}
	if scan.FailsOn(report, failOn) {
		return exitFindings
	}
	return exitOK
}

// options checks the flags and turns them into scan options.
func (f *scanFlags) options(stderr io.Writer) (scan.Options, policy.Severity, int) {
	var o scan.Options
	if f.format != "text" && f.format != "json" && f.format != "ocsf" {
		return o, "", usageError(stderr, "scan", "--format %q: want text, json or ocsf", f.format)
	}
	failOn, err := policy.ParseSeverity(f.failOn)
	if err != nil {
		return o, "", usageError(stderr, "scan", "--fail-on: %v", err)
	}
	if f.asOf != "" {
		if o.AsOf, err = time.ParseInLocation(time.DateOnly, f.asOf, time.Local); err != nil {
			return o, "", usageError(stderr, "scan", "--as-of %q: want a date YYYY-MM-DD", f.asOf)
		}
	}
	if f.jurisdiction != "" && !jurisdictionCode.MatchString(f.jurisdiction) {
		return o, "", usageError(stderr, "scan", "--jurisdiction %q: want a two-letter ISO 3166 code such as US", f.jurisdiction)
	}
	o.Jurisdiction = strings.ToUpper(f.jurisdiction)
	if f.detectors != "" {
		o.Detectors = strings.Split(f.detectors, ",")
	}
	o.Root = f.root
	o.ProbeUpdates = f.probeUpdates
	o.Policy, err = loadPolicy(f.policyFile)
	if err != nil {
		return o, "", usageError(stderr, "scan", "%s", oneLine(err, f.policyFile))
	}
	return o, failOn, exitOK
}

// warnJurisdiction tells the user when the policy says nothing about the
// jurisdiction asked for, which is most often a typo ("UK" for "GB").
func warnJurisdiction(stderr io.Writer, o scan.Options) {
	known := o.Policy.Jurisdictions()
	if o.Jurisdiction != "" && !slices.Contains(known, o.Jurisdiction) {
		fmt.Fprintf(stderr, "banwatch scan: warning: policy %s has no rules for jurisdiction %s (it has %s); products are still reported, no cut-off applies\n",
			o.Policy.Policy().Name, o.Jurisdiction, strings.Join(known, ", "))
	}
}

func write(w io.Writer, format string, r *scan.Report) error {
	switch format {
	case "json":
		return scan.WriteJSON(w, r)
	case "ocsf":
		if version != "" {
			ocsf.ProductVersion = version
		}
		return ocsf.WriteJSON(w, ocsf.FromReport(r))
	}
	return scan.WriteText(w, r)
}

// loadPolicy loads the policy file, or the built-in policy.
func loadPolicy(file string) (*policy.Compiled, error) {
	if file == "" {
		return policy.Builtin(), nil
	}
	return policy.LoadFile(file)
}

// oneLine shortens a policy error to one line for the scan command; the
// whole list is what "banwatch policy check" is for.
func oneLine(err error, file string) string {
	var pe *policy.Error
	if !errors.As(err, &pe) {
		return fmt.Sprintf("policy: %v", err)
	}
	msg := fmt.Sprintf("invalid policy: %s", pe.Problems[0])
	if n := len(pe.Problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more; run \"banwatch policy check %s\")", n, file)
	}
	return msg
}
