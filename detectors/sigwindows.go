package detectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/banwatch/banwatch/detectors/winreg"
)

// Windows sources of the signatures detector. Kaspersky's products are
// mostly 32-bit, so their keys usually sit in the 32-bit view; both views
// are read.
var kasperskyLabViews = []string{`KasperskyLab`, `WOW6432Node\KasperskyLab`}

// avStateKey is the Network Agent's status block (Checkmk's
// kaspersky_av_client.vbs reads the same values): present on every host
// managed by Kaspersky Security Center.
const avStateKey = `Components\34\1103\1.0.0.0\Statistics\AVState`

// avStateLayout is the format of AVState's dates (dd-MM-yyyy HH-mm-ss),
// which are in UTC.
const avStateLayout = "02-01-2006 15-04-05"

const (
	sourceAVState = `Kaspersky Security Center Network Agent status (AVState\Protection_BasesDate: ` +
		`the release date of the anti-virus databases, UTC)`
	sourceProtectedData = `the product's record of its last successful update ` +
		`(protected\<product>\Data\LastSuccessfulUpdate, Unix time): when the databases were last ` +
		`updated, not their release date`
	sourceKescli = `kescli --opswat GetDefinitionState (Kaspersky Endpoint Security for Windows; ` +
		`its output format is not documented: the date is read from the line that names the ` +
		`definitions or databases, without a time zone read as UTC)`
)

func (d signaturesDetector) windows(ctx context.Context, env *Env) ([]Item, error) {
	if env.Registry == nil {
		return nil, errors.New("no Windows registry to read")
	}
	sw, err := env.Registry.Hive(ctx, "SOFTWARE")
	if err != nil {
		return nil, err
	}
	var items []Item
	var errs []error
	for _, view := range kasperskyLabViews {
		lab, err := sw.Open(view)
		if err != nil {
			if !winreg.IsNotExist(err) {
				errs = append(errs, err)
			}
			continue
		}
		it, ok, err := avStateItem(lab)
		items, errs = collect(items, errs, it, ok, err)
		more, err := protectedDataItems(ctx, lab)
		items, errs = append(items, more...), append(errs, err)
		lab.Close()
	}
	// kescli is run only on the machine scanned: an offline image's
	// program must not run on the scanner, nor a Windows program on Linux.
	if env.Live && runtime.GOOS == "windows" {
		it, ok, err := d.kescli(ctx, env, sw)
		items, errs = collect(items, errs, it, ok, err)
	}
	return items, errors.Join(errs...)
}

// collect adds what one source gave.
func collect(items []Item, errs []error, it Item, ok bool, err error) ([]Item, []error) {
	if ok {
		items = append(items, it)
	}
	return items, append(errs, err)
}

// avStateItem reads the Network Agent's Protection_BasesDate. The server
// the agent reports to (Protection_AdmServer) is where managed hosts take
// their updates from, so it is the update source.
func avStateItem(lab winreg.Key) (Item, bool, error) {
	k, err := lab.Open(avStateKey)
	if err != nil {
		if winreg.IsNotExist(err) {
			err = nil
		}
		return Item{}, false, err
	}
	defer k.Close()
	v, err := winreg.ReadValues(k)
	raw := strings.TrimSpace(v.String("Protection_BasesDate"))
	when, ok, perr := parseAVStateDate(raw)
	if perr != nil || !ok {
		return Item{}, false, errors.Join(err, valueError(k, "Protection_BasesDate", raw, perr))
	}
	it := signatureItem("avstate", k.Path(), sourceAVState,
		sigReading{when: when, confidence: confHigh, label: "Protection_BasesDate", value: raw})
	if srv := strings.TrimSpace(v.String("Protection_AdmServer")); srv != "" {
		it.Attrs["update_source"] = "Kaspersky Security Center server " + srv
	}
	rawLC := strings.TrimSpace(v.String("Protection_LastConnected"))
	lc, ok, lerr := parseAVStateDate(rawLC)
	if ok {
		it.Attrs["last_connected"] = lc.Format(time.RFC3339)
	}
	return it, true, errors.Join(err, valueError(k, "Protection_LastConnected", rawLC, lerr))
}

// valueError names the key and value a parse error is about; nil stays nil.
func valueError(k winreg.Key, name, raw string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(`%s\%s = %q: %w`, k.Path(), name, raw, err)
}

// parseAVStateDate parses an AVState date. Empty and "0" mean the agent
// does not know (no anti-virus, or never updated).
func parseAVStateDate(s string) (time.Time, bool, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return time.Time{}, false, nil
	}
	t, err := time.ParseInLocation(avStateLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, false, errors.New("not a date in the form dd-MM-yyyy HH-mm-ss")
	}
	ok, err := plausible(t)
	return t, ok, err
}

// protectedDataItems reads LastSuccessfulUpdate of each product under
// KasperskyLab\protected (AVP21.3, KES.12.6.0, ...).
func protectedDataItems(ctx context.Context, lab winreg.Key) ([]Item, error) {
	prot, err := lab.Open("protected")
	if err != nil {
		if winreg.IsNotExist(err) {
			err = nil
		}
		return nil, err
	}
	defer prot.Close()
	names, err := prot.Subkeys()
	errs := []error{err}
	if len(names) > maxKeyMatches {
		errs = append(errs, fmt.Errorf(`%s: %d products, read the first %d`, prot.Path(), len(names), maxKeyMatches))
		names = names[:maxKeyMatches]
	}
	var items []Item
	for _, product := range names {
		if ctx.Err() != nil {
			return items, ctx.Err()
		}
		it, ok, err := protectedDataItem(prot, product)
		items, errs = collect(items, errs, it, ok, err)
	}
	return items, errors.Join(errs...)
}

func protectedDataItem(prot winreg.Key, product string) (Item, bool, error) {
	k, err := prot.Open(product + `\Data`)
	if err != nil {
		if winreg.IsNotExist(err) {
			err = nil
		}
		return Item{}, false, err
	}
	defer k.Close()
	v, err := winreg.ReadValues(k)
	if !v.Has("LastSuccessfulUpdate") {
		return Item{}, false, err
	}
	when, ok, perr := unixValue(v["lastsuccessfulupdate"])
	if perr != nil || !ok {
		raw, _ := v["lastsuccessfulupdate"].String()
		return Item{}, false, errors.Join(err, valueError(k, "LastSuccessfulUpdate", raw, perr))
	}
	n, _ := v.Uint("LastSuccessfulUpdate")
	it := signatureItem("protected-data", k.Path(), sourceProtectedData, sigReading{
		when: when, confidence: confMedium, label: "LastSuccessfulUpdate",
		value: fmt.Sprintf("%d (%s UTC)", n, when.Format(time.DateTime)),
	})
	it.Attrs["product_key"] = product
	return it, true, err
}

// unixValue reads a DWORD or QWORD of Unix time; 0 means never.
func unixValue(val winreg.Value) (time.Time, bool, error) {
	n, ok := val.Uint()
	switch {
	case !ok:
		return time.Time{}, false, fmt.Errorf("not a number (registry type %d)", val.Type)
	case n == 0:
		return time.Time{}, false, nil
	case n > uint64(maxSigDate.Unix()):
		return time.Time{}, false, errors.New("out of range")
	}
	t := time.Unix(int64(n), 0).UTC()
	ok, err := plausible(t)
	return t, ok, err
}

// kescli runs KES's command-line tool, which states the databases' date.
func (d signaturesDetector) kescli(ctx context.Context, env *Env, sw winreg.Key) (Item, bool, error) {
	rel := findKescli(env, sw)
	if rel == "" {
		return Item{}, false, nil
	}
	exe, ok, err := toolPath(env, rel)
	if !ok {
		return Item{}, false, err
	}
	out, err := toolRun{exe: exe, args: []string{"--opswat", "GetDefinitionState"}, timeout: d.timeout}.run(ctx)
	if err != nil {
		return Item{}, false, err
	}
	r, ok, err := parseKescli(out)
	if err != nil || !ok {
		return Item{}, false, wrapErr(rel+" --opswat GetDefinitionState", err)
	}
	it := signatureItem("kescli", rel, sourceKescli, r)
	it.Exec = exe
	return it, true, nil
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// findKescli looks for kescli.exe in the install folder of Kaspersky
// Endpoint Security, as its Uninstall entry gives it, then in the
// Kaspersky Lab folders. It returns the path relative to the root.
func findKescli(env *Env, sw winreg.Key) string {
	fold := &winreg.FoldLookup{Root: env.Root}
	for _, loc := range kesInstallLocations(sw) {
		if rel := winreg.RootPath(loc, env.Host.SystemDrive); rel != "" {
			if f := fold.Find(path.Join(rel, "kescli.exe")); f != "" {
				return f
			}
		}
	}
	for _, pattern := range []string{
		"Program Files (x86)/Kaspersky Lab/*/kescli.exe",
		"Program Files/Kaspersky Lab/*/kescli.exe",
	} {
		if m, _ := fs.Glob(env.Root, pattern); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}

// kesInstallLocations returns the install folders of the programs named
// "Kaspersky Endpoint Security...". Errors are left to the
// windows-programs detector, which reads the same keys; the glob in
// findKescli still applies.
func kesInstallLocations(sw winreg.Key) []string {
	var locs []string
	for _, v := range uninstallViews {
		k, err := sw.Open(v.path)
		if err != nil {
			continue
		}
		names, _ := k.Subkeys()
		for _, name := range names {
			sub, err := k.Open(name)
			if err != nil {
				continue
			}
			vals, _ := winreg.ReadValues(sub)
			sub.Close()
			if strings.HasPrefix(vals.String("DisplayName"), "Kaspersky Endpoint Security") && vals.String("InstallLocation") != "" {
				locs = append(locs, vals.String("InstallLocation"))
			}
		}
		k.Close()
	}
	return locs
}

// kescli's output is not documented (Kaspersky's help only says the
// command gives "the release date and time of the anti-virus databases
// in use"), and no sample was found, so the parser accepts the two
// unambiguous date forms a Windows tool prints, ISO (2024-09-27
// 04:11:00) and dd.MM.yyyy (27.09.2024 04:11:00), and refuses forms
// whose day and month cannot be told apart (09/10/2024).
var (
	kescliISODate = regexp.MustCompile(`\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?`)
	kescliDotDate = regexp.MustCompile(`\b(\d{2})\.(\d{2})\.(\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?`)
	kescliTopic   = regexp.MustCompile(`(?i)definition|bases|database|signature|баз`)
)

// parseKescli finds the date in kescli's answer: on a line naming the
// definitions or databases (medium confidence: the format is a guess);
// failing that, the only date in the output (low).
func parseKescli(out []byte) (sigReading, bool, error) {
	var lone []sigReading
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		t, found, err := findDate(line)
		switch {
		case err != nil:
			return sigReading{}, false, fmt.Errorf("%q: %w", truncate(line, 200), err)
		case !found:
			continue
		case kescliTopic.MatchString(line):
			return sigReading{when: t, confidence: confMedium, value: line}, true, nil
		}
		lone = append(lone, sigReading{when: t, confidence: confLow, value: line})
	}
	if len(lone) == 1 {
		return lone[0], true, nil
	}
	return sigReading{}, false, fmt.Errorf("no date of the databases in the output%s", firstLineOf(out))
}

// findDate finds an ISO or dd.MM.yyyy date (with an optional time) in s.
func findDate(s string) (time.Time, bool, error) {
	var y, mo, d, h, mi, sec string
	if m := kescliISODate.FindStringSubmatch(s); m != nil {
		y, mo, d, h, mi, sec = m[1], m[2], m[3], m[4], m[5], m[6]
	} else if m := kescliDotDate.FindStringSubmatch(s); m != nil {
		d, mo, y, h, mi, sec = m[1], m[2], m[3], m[4], m[5], m[6]
	} else {
		return time.Time{}, false, nil
	}
	canon := fmt.Sprintf("%s-%s-%s %s:%s:%s", y, mo, d, pad2(h), pad2(mi), pad2(sec))
	t, err := time.ParseInLocation("2006-01-02 15:04:05", canon, time.UTC)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("not a valid date (%s)", canon)
	}
	ok, err := plausible(t)
	return t, ok, err
}

// pad2 pads a time part to two digits; an absent one is 00.
func pad2(s string) string {
	return strings.Repeat("0", max(0, 2-len(s))) + s
}
