package detectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// Linux sources of the signatures detector: kesl-control, run on the
// live machine, and the bases folders' file times, live or offline.

const keslControlPath = "opt/kaspersky/kesl/bin/kesl-control"

// keslBasesDirs hold KESL's databases: common/updates in KESL 11,
// private/updates in KESL 12 (Kaspersky's help, articles 213865). The
// facts name no bases folder for Kaspersky Anti-Virus for Linux File
// Servers (kav4fs), so it has no such source.
var keslBasesDirs = []string{
	"var/opt/kaspersky/kesl/common/updates",
	"var/opt/kaspersky/kesl/private/updates",
}

// maxBasesEntries bounds the look at a bases folder.
const maxBasesEntries = 10000

const (
	sourceKeslBases = "newest file in the bases folder (the time the files were written, not the bases' release date)"
	// kesl-control prints dates without a time zone; Kaspersky's help
	// gives the licence dates of the same output as UTC.
	keslTimeNote = "printed without a time zone, read as UTC"
)

func (d signaturesDetector) linux(ctx context.Context, env *Env) ([]Item, error) {
	var items []Item
	var errs []error
	if env.Live {
		it, ok, err := d.keslControl(ctx, env)
		items, errs = collect(items, errs, it, ok, err)
	}
	bf, ok, err := newestBasesFile(ctx, env.Root, keslBasesDirs)
	items, errs = collect(items, errs, bf.item("kesl-bases"), ok, err)
	return items, errors.Join(errs...)
}

// keslControl asks KESL for its databases' date: in JSON, which reads
// the same in every language, and, from versions without --json (KESL
// 10) or when the JSON does not parse, as text.
func (d signaturesDetector) keslControl(ctx context.Context, env *Env) (Item, bool, error) {
	exe, ok, err := toolPath(env, keslControlPath)
	if !ok {
		return Item{}, false, err
	}
	run := toolRun{exe: exe, args: []string{"--app-info", "--json"}, timeout: d.timeout}
	out, jerr := run.run(ctx)
	var r sigReading
	if jerr == nil {
		r, ok, jerr = parseKeslJSON(out)
		switch {
		case jerr == nil:
			return keslItem(exe, "kesl-control --app-info --json", r, ok), ok, nil
		case !errors.Is(jerr, errNotJSON):
			// JSON that names a date it cannot give: the text would too.
			return Item{}, false, fmt.Errorf("%s --app-info --json: %w", keslControlPath, jerr)
		}
	}
	if errors.Is(jerr, errToolTimeout) || ctx.Err() != nil {
		// A tool that hung once will hang again: do not wait twice.
		return Item{}, false, jerr
	}
	run.args = []string{"--app-info"}
	out, err = run.run(ctx)
	if err != nil {
		return Item{}, false, fmt.Errorf("%w (and --json: %v)", err, jerr)
	}
	r, ok, err = parseKeslText(out)
	if err != nil {
		return Item{}, false, fmt.Errorf("%s --app-info: %w", keslControlPath, err)
	}
	return keslItem(exe, "kesl-control --app-info", r, ok), ok, nil
}

func keslItem(exe, command string, r sigReading, ok bool) Item {
	if !ok {
		return Item{}
	}
	it := signatureItem("kesl-control", keslControlPath, fmt.Sprintf("%s, %q (the release date of the databases; %s)",
		command, r.label, keslTimeNote), r)
	it.Exec = exe
	return it
}

// Labels of the databases' date, which are also the keys of --json's
// output. English: Checkmk's KESL check and GLPI Agent's KESL module.
// Russian: "Дата последнего выпуска баз программы" in KESL 11-era
// audit scripts, "... баз приложения" in a Russian-aware version of GLPI
// Agent's KESL module (Kaspersky's KESL 12 help says "приложение" where
// 11 said "программа"). See testdata/kesl-control/README.md.
var keslDateLabels = []string{
	"last release date of databases",
	"дата последнего выпуска баз приложения",
	"дата последнего выпуска баз программы",
}

var keslVersionLabels = []string{"version", "версия"}

// keslLabel normalises a label for comparison.
func keslLabel(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// keslDateRank says how surely a label names the databases' release
// date: 2 for a known label, 1 for one that only looks like it (another
// version's or language's wording), 0 for none.
func keslDateRank(label string) int {
	l := keslLabel(label)
	for _, known := range keslDateLabels {
		if l == known {
			return 2
		}
	}
	en := strings.Contains(l, "release") && (strings.Contains(l, "database") || strings.Contains(l, "bases"))
	ru := strings.Contains(l, "выпуск") && strings.Contains(l, "баз")
	if en || ru {
		return 1
	}
	return 0
}

// keslField is one "label: value" of kesl-control's output.
type keslField struct{ label, value string }

// parseKeslText reads the text output, lines of "Label:   value".
func parseKeslText(out []byte) (sigReading, bool, error) {
	var fields []keslField
	for _, line := range strings.Split(string(out), "\n") {
		label, value, ok := strings.Cut(line, ":")
		if ok {
			fields = append(fields, keslField{strings.TrimSpace(label), strings.TrimSpace(value)})
		}
	}
	return keslReading(fields)
}

// errNotJSON is returned for --json output that is not JSON.
var errNotJSON = errors.New("not JSON")

// parseKeslJSON reads --json's output: an object whose keys are the
// labels of the text output (KESL container's status service reads it
// so), searched at any depth in case a version nests them.
func parseKeslJSON(out []byte) (sigReading, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return sigReading{}, false, fmt.Errorf("%w: %v", errNotJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return sigReading{}, false, fmt.Errorf("%w: data after the value", errNotJSON)
	}
	var fields []keslField
	var errs []error
	jsonFields(v, &fields, &errs)
	r, ok, err := keslReading(fields)
	return r, ok, errors.Join(append(errs, err)...)
}

// jsonFields flattens v into fields, keys sorted at each level. A date
// field that is not a string is an error: its meaning is unknown.
func jsonFields(v any, out *[]keslField, errs *[]error) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch val := v[k].(type) {
			case string:
				*out = append(*out, keslField{k, strings.TrimSpace(val)})
			case map[string]any, []any:
				jsonFields(val, out, errs)
			default:
				if keslDateRank(k) > 0 && val != nil {
					*errs = append(*errs, fmt.Errorf("%q = %v: not a date string", k, val))
				}
			}
		}
	case []any:
		for _, e := range v {
			jsonFields(e, out, errs)
		}
	}
}

// keslReading picks the date field (a known label before a look-alike)
// and the version from fields.
func keslReading(fields []keslField) (sigReading, bool, error) {
	var r sigReading
	best := 0
	for _, f := range fields {
		if rank := keslDateRank(f.label); rank > best {
			best, r.label, r.value = rank, f.label, f.value
		}
		if r.version == "" && containsFold(keslVersionLabels, keslLabel(f.label)) {
			r.version = f.value
		}
	}
	if best == 0 {
		return sigReading{}, false, nil
	}
	r.confidence = confMedium
	if best == 2 {
		r.confidence = confHigh
	}
	t, ok, err := parseKeslDate(r.value)
	if err != nil {
		return sigReading{}, false, fmt.Errorf("%q = %q: %w", r.label, truncate(r.value, 100), err)
	}
	r.when = t
	return r, ok, nil
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// parseKeslDate parses kesl-control's date ("2018-08-23 04:11:00"). A
// value without digits ("N/A", "Нет данных") says the date is unknown.
func parseKeslDate(s string) (time.Time, bool, error) {
	if !strings.ContainsAny(s, "0123456789") {
		return time.Time{}, false, nil
	}
	t, ok := parseDateLayouts(s, time.DateTime, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04",
		time.DateOnly, "02.01.2006 15:04:05", "02.01.2006")
	if !ok {
		return time.Time{}, false, errors.New("not a date")
	}
	ok, err := plausible(t)
	return t, ok, err
}

// basesFile is the newest file of a product's bases folders.
type basesFile struct {
	dir, file string // the bases folder, and the file's path, relative to the root
	time      time.Time
	truncated bool // the folders hold more than maxBasesEntries entries
}

func (b basesFile) item(id string) Item {
	value := fmt.Sprintf("%s, written %s UTC", b.file, b.time.UTC().Format(time.DateTime))
	if b.truncated {
		value += fmt.Sprintf(" (newest of the first %d entries)", maxBasesEntries)
	}
	it := signatureItem(id, b.dir, sourceKeslBases,
		sigReading{when: b.time, confidence: confLow, label: "newest file", value: value})
	it.Attrs["newest_file"] = b.file
	return it
}

// newestBasesFile finds the newest regular file in dirs and their
// immediate subfolders. File times before 2000 or after 2100 (an
// unpacked archive, a wrong clock) are passed over: they say nothing.
func newestBasesFile(ctx context.Context, root fs.FS, dirs []string) (basesFile, bool, error) {
	var best basesFile
	var errs []error
	seen := 0
	for _, dir := range dirs {
		if ctx.Err() != nil {
			return basesFile{}, false, ctx.Err()
		}
		walkBases(root, dir, 1, &seen, &errs, func(name string, mt time.Time) {
			if mt.After(best.time) {
				best = basesFile{dir: dir, file: name, time: mt}
			}
		})
	}
	best.truncated = seen >= maxBasesEntries
	return best, best.file != "", errors.Join(errs...)
}

// walkBases calls fn for each regular file in dir, and depth levels of
// subfolders below it, until maxBasesEntries entries have been seen.
func walkBases(root fs.FS, dir string, depth int, seen *int, errs *[]error, fn func(string, time.Time)) {
	entries, err := fs.ReadDir(root, dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		*errs = append(*errs, err)
	}
	for _, e := range entries {
		if *seen >= maxBasesEntries {
			return
		}
		*seen++
		name := path.Join(dir, e.Name())
		switch {
		case e.IsDir() && depth > 0:
			walkBases(root, name, depth-1, seen, errs, fn)
		case e.Type().IsRegular():
			fi, err := e.Info()
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			if ok, _ := plausible(fi.ModTime()); ok {
				fn(name, fi.ModTime())
			}
		}
	}
}
