package detectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// The signatures detector reports what each source on the machine says
// about the date of the installed anti-virus databases: the Network
// Agent's AVState block and the products' own registry keys on Windows,
// kesl-control and the bases folders on Linux, and, live, the products'
// command-line tools. Each source gives at most one item (KindSignatures,
// Name = the source's id), so the policy can weigh them; a source that
// says nothing gives none, and one it cannot read gives an error naming
// the file or key and the value. macOS is not registered: no source there
// is known to give the date.
func init() {
	register(Spec{Name: "signatures", OS: []string{"linux", "windows"},
		Detector: signaturesDetector{timeout: 20 * time.Second}})
}

// Confidence levels, as Attrs["confidence"] carries them.
const (
	confHigh   = "high"   // the bases' release date, as the product states it
	confMedium = "medium" // a date the product states, but not (or not surely) the release date
	confLow    = "low"    // inferred: file times
)

// maxToolOutput bounds what is kept of a tool's output: the answers are a
// few kilobytes.
const maxToolOutput = 1 << 20

// signaturesDetector holds the time a command-line tool may take, so that
// tests can shorten it.
type signaturesDetector struct {
	timeout time.Duration
}

// Detect reads the sources of the target's OS.
func (d signaturesDetector) Detect(ctx context.Context, env *Env) ([]Item, error) {
	switch env.Host.OS {
	case "windows":
		return d.windows(ctx, env)
	case "linux":
		return d.linux(ctx, env)
	}
	return nil, nil
}

// sigReading is one date a source gave, before it becomes an item.
type sigReading struct {
	when       time.Time
	confidence string
	// label and value are what was read ("Last release date of
	// databases", "2024-09-27 04:11:00"), for the item's detail.
	label, value string
	version      string // the product version, when the source gives it
}

// signatureItem builds the item every source reports.
func signatureItem(id, where, source string, r sigReading) Item {
	detail := r.label + ": " + r.value
	if r.label == "" {
		detail = r.value
	}
	it := Item{
		Kind: KindSignatures, Name: id, Path: where, State: StatePresent, Detail: detail,
		Version: r.version,
		Attrs: map[string]string{
			"last_update": r.when.UTC().Format(time.RFC3339),
			"confidence":  r.confidence,
			"source":      source,
		},
	}
	if r.version != "" {
		it.Attrs["product_version"] = r.version
	}
	return it
}

// Dates outside these bounds are not a database date but a damaged or
// placeholder value; Kaspersky's bases of the 1990s run on nothing a
// scan meets.
var (
	minSigDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxSigDate = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// plausible checks a parsed date. The Unix epoch is how kesl-control
// shows that no databases are loaded (Checkmk's test of its KESL check
// feeds "1970-01-01 00:00:00" with "Anti-virus databases loaded: No"),
// so it means "unknown", not an error.
func plausible(t time.Time) (ok bool, err error) {
	switch {
	case t.Equal(time.Unix(0, 0)):
		return false, nil
	case t.Before(minSigDate) || !t.Before(maxSigDate):
		return false, fmt.Errorf("date %s is out of range", t.Format(time.DateTime))
	}
	return true, nil
}

// parseDateLayouts parses s with the first layout that fits, in UTC
// unless s carries its own offset.
func parseDateLayouts(s string, layouts ...string) (time.Time, bool) {
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// errToolTimeout is returned for a tool that did not finish in time.
var errToolTimeout = errors.New("no answer within the timeout")

// toolRun is one run of a product's command-line tool.
type toolRun struct {
	exe     string // absolute host path
	args    []string
	timeout time.Duration
}

func (r toolRun) String() string { return strings.Join(append([]string{r.exe}, r.args...), " ") }

// run runs the tool directly (never through a shell: the path comes from
// the scanned machine and may hold any character) with a time limit, and
// returns its standard output. The environment is inherited: the output
// is localised whatever it says, and the parsers read both languages.
func (r toolRun) run(ctx context.Context) ([]byte, error) {
	if !filepath.IsAbs(r.exe) {
		return nil, fmt.Errorf("%s: not an absolute path", r.exe)
	}
	tctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, r.exe, r.args...)
	// A child the tool started may hold the output open after the tool
	// is killed; stop waiting for it shortly after.
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", r, ctx.Err())
	case errors.Is(tctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("%s: %w of %s", r, errToolTimeout, r.timeout)
	case err != nil:
		return stdout.Bytes(), fmt.Errorf("%s: %w%s", r, err, firstLineOf(stderr.Bytes(), stdout.Bytes()))
	}
	return stdout.Bytes(), nil
}

// firstLineOf returns ": " and the first non-empty line of the first
// output that has one, to say why a tool failed.
func firstLineOf(outs ...[]byte) string {
	for _, b := range outs {
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				return ": " + truncate(line, 200)
			}
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// limitedBuffer keeps the first maxToolOutput bytes written to it and
// drops the rest, so a runaway tool cannot fill memory.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxToolOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// toolPath checks that a tool exists under the root as a regular file
// that only its owner may change (running a file any user can replace
// would hand them the scanner's rights), and returns its host path.
func toolPath(env *Env, rel string) (string, bool, error) {
	fi, err := fs.Stat(env.Root, rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", false, nil
	case err != nil:
		return "", false, err
	case !fi.Mode().IsRegular():
		return "", false, fmt.Errorf("%s: not a regular file", rel)
	case fi.Mode().Perm()&0o022 != 0 && runtime.GOOS != "windows":
		return "", false, fmt.Errorf("%s: writable by other users (%s); not run", rel, fi.Mode().Perm())
	}
	dir := env.RootDir
	if r, ok := env.Root.(interface{ Dir() string }); ok {
		dir = r.Dir()
	}
	abs, err := filepath.Abs(filepath.Join(dir, filepath.FromSlash(rel)))
	return abs, err == nil, err
}
