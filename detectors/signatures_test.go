package detectors

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/banwatch/banwatch/detectors/winreg"
)

const keslFixtures = "testdata/kesl-control"

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sigKey summarises an item as the tests compare it.
func sigKey(it Item) string {
	return strings.Join([]string{it.Name, it.Path, it.Attrs["last_update"], it.Attrs["confidence"]}, "|")
}

func TestSignaturesRegistered(t *testing.T) {
	s, ok := specs["signatures"]
	if !ok || s.Live || !slices.Equal(s.OS, []string{"linux", "windows"}) {
		t.Errorf("signatures spec = %+v", s)
	}
}

func TestParseAVStateDate(t *testing.T) {
	tests := []struct {
		in      string
		want    string // RFC 3339; "" for no date
		wantErr bool
	}{
		{"27-09-2024 04-11-00", "2024-09-27T04:11:00Z", false},
		{"29-09-2024 00-00-00", "2024-09-29T00:00:00Z", false}, // the US cut-off day
		{"28-09-2024 23-59-59", "2024-09-28T23:59:59Z", false},
		{"03-01-2031 12-00-00", "2031-01-03T12:00:00Z", false}, // in the future: evaluation's business
		{" 27-09-2024 04-11-00 ", "2024-09-27T04:11:00Z", false},
		{"", "", false},
		{"0", "", false},
		{"01-01-1970 00-00-00", "", false}, // the epoch: unknown
		{"31-02-2024 10-00-00", "", true},
		{"2024-09-27", "", true},
		{"27-09-2024", "", true},
		{"27.09.2024 04:11:00", "", true},
		{"01-01-1999 00-00-00", "", true},
		{"01-01-2100 00-00-00", "", true},
		{"garbage", "", true},
	}
	for _, tt := range tests {
		got, ok, err := parseAVStateDate(tt.in)
		if (err != nil) != tt.wantErr || ok != (tt.want != "") || (ok && !got.Equal(utc(tt.want))) {
			t.Errorf("parseAVStateDate(%q) = %v, %v, %v; want %q (error %v)", tt.in, got, ok, err, tt.want, tt.wantErr)
		}
		if ok && got.Location() != time.UTC {
			t.Errorf("parseAVStateDate(%q) in %v, want UTC", tt.in, got.Location())
		}
	}
}

func TestSignaturesWindowsImages(t *testing.T) {
	const lab = `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\`
	tests := []struct {
		image string
		want  []string
	}{
		{"win11-kes", []string{
			"avstate|" + lab + `Components\34\1103\1.0.0.0\Statistics\AVState|2024-09-27T04:11:00Z|high`,
			"protected-data|" + lab + `protected\KES.12.6.0\Data|2024-09-27T04:11:00Z|medium`,
		}},
		// An AVState without Protection_BasesDate (no anti-virus): the
		// agent says nothing of signatures.
		{"winsrv-nagent", nil},
		{"win10-kts-ru", nil},
		{"win7-x86-kav", nil},
		{"win11-ultraav", nil},
		{"win11-clean", nil},
	}
	d := signaturesDetector{timeout: time.Second}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			items, err := d.Detect(context.Background(), windowsEnv(t, tt.image))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items {
				got = append(got, sigKey(it))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("items:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestSignaturesAVStateAttrs(t *testing.T) {
	items, err := signaturesDetector{}.Detect(context.Background(), windowsEnv(t, "win11-kes"))
	if err != nil || len(items) != 2 {
		t.Fatalf("%d items, %v", len(items), err)
	}
	av, pd := items[0], items[1]
	want := map[string]string{
		"last_update":    "2024-09-27T04:11:00Z",
		"confidence":     "high",
		"source":         sourceAVState,
		"update_source":  "Kaspersky Security Center server ksc.corp.example.com",
		"last_connected": "2026-11-24T22:15:03Z",
	}
	if !mapsEqual(av.Attrs, want) || av.Kind != KindSignatures || av.State != StatePresent ||
		av.Detail != "Protection_BasesDate: 27-09-2024 04-11-00" {
		t.Errorf("avstate item = %+v", av)
	}
	want = map[string]string{
		"last_update": "2024-09-27T04:11:00Z",
		"confidence":  "medium",
		"source":      sourceProtectedData,
		"product_key": "KES.12.6.0",
	}
	if !mapsEqual(pd.Attrs, want) || pd.Detail != "LastSuccessfulUpdate: 1727410260 (2024-09-27 04:11:00 UTC)" {
		t.Errorf("protected-data item = %+v", pd)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// memKey is an in-memory registry key, for values no fixture image
// should carry (damaged ones).
type memKey struct {
	path string
	subs map[string]*memKey // by lower-case name
	vals []winreg.Value
}

func (k *memKey) Path() string { return k.path }
func (k *memKey) Close() error { return nil }
func (k *memKey) Values() ([]winreg.Value, error) {
	return k.vals, nil
}

func (k *memKey) Subkeys() ([]string, error) {
	var names []string
	for _, s := range k.subs {
		names = append(names, s.path[strings.LastIndex(s.path, `\`)+1:])
	}
	slices.Sort(names)
	return names, nil
}

func (k *memKey) Open(p string) (winreg.Key, error) {
	cur := k
	for _, e := range strings.Split(p, `\`) {
		next, ok := cur.subs[strings.ToLower(e)]
		if !ok {
			return nil, fmt.Errorf(`%s\%s: %w`, k.path, p, winreg.ErrNotExist)
		}
		cur = next
	}
	return cur, nil
}

// add creates the key at p (and its parents) with vals.
func (k *memKey) add(p string, vals ...winreg.Value) {
	cur := k
	for _, e := range strings.Split(p, `\`) {
		next, ok := cur.subs[strings.ToLower(e)]
		if !ok {
			next = &memKey{path: cur.path + `\` + e, subs: map[string]*memKey{}}
			cur.subs[strings.ToLower(e)] = next
		}
		cur = next
	}
	cur.vals = append(cur.vals, vals...)
}

type memMachine struct{ software *memKey }

func (m memMachine) Hive(_ context.Context, name string) (winreg.Key, error) {
	if name != "SOFTWARE" {
		return nil, fmt.Errorf("%s: %w", name, winreg.ErrNotExist)
	}
	return m.software, nil
}
func (m memMachine) Users(context.Context) ([]winreg.User, error) { return nil, nil }
func (m memMachine) Close() error                                 { return nil }

func named(name string, v winreg.Value) winreg.Value { v.Name = name; return v }

// TestSignaturesWindowsDamaged: a garbled value is an error naming the key
// and the value; the other sources and views still give their items.
func TestSignaturesWindowsDamaged(t *testing.T) {
	sw := &memKey{path: `HKLM\SOFTWARE`, subs: map[string]*memKey{}}
	sw.add(`KasperskyLab\`+avStateKey,
		named("Protection_BasesDate", str("31-02-2024 10-00-00")),
		named("Protection_AdmServer", str("ksc1")))
	sw.add(`KasperskyLab\protected\AVP21.3\Data`, named("LastSuccessfulUpdate", str("yesterday")))
	sw.add(`KasperskyLab\protected\AVP21.2\Data`, named("LastSuccessfulUpdate", dword(0)))
	sw.add(`KasperskyLab\protected\AVP21.1\Data`, named("LastSuccessfulFullScan", dword(1727410260)))
	sw.add(`WOW6432Node\KasperskyLab\`+avStateKey,
		named("Protection_BasesDate", str("01-10-2024 06-30-00")),
		named("Protection_LastConnected", str("soon")))
	sw.add(`WOW6432Node\KasperskyLab\protected\KES.12.6.0\Data`, named("LastSuccessfulUpdate", dword(1727769000)))
	env := &Env{Registry: memMachine{sw}, Host: Host{OS: "windows"}, Root: fstest.MapFS{}}
	items, err := signaturesDetector{}.Detect(context.Background(), env)
	var got []string
	for _, it := range items {
		got = append(got, sigKey(it))
	}
	want := []string{
		`avstate|HKLM\SOFTWARE\WOW6432Node\KasperskyLab\` + avStateKey + `|2024-10-01T06:30:00Z|high`,
		`protected-data|HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES.12.6.0\Data|2024-10-01T07:50:00Z|medium`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("items:\n got  %q\n want %q", got, want)
	}
	for _, s := range []string{
		`HKLM\SOFTWARE\KasperskyLab\Components\34\1103\1.0.0.0\Statistics\AVState\Protection_BasesDate = "31-02-2024 10-00-00"`,
		`HKLM\SOFTWARE\KasperskyLab\protected\AVP21.3\Data\LastSuccessfulUpdate = "yesterday": not a number`,
		`Protection_LastConnected = "soon"`,
	} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not say %q", err, s)
		}
	}
	if _, ok := items[0].Attrs["last_connected"]; ok {
		t.Error("a garbled Protection_LastConnected was reported")
	}
}

func TestSignaturesNeedRegistry(t *testing.T) {
	_, err := signaturesDetector{}.Detect(context.Background(), &Env{Host: Host{OS: "windows"}, Root: fstest.MapFS{}})
	if err == nil {
		t.Error("no error without a registry")
	}
}

// TestFindKescli: kescli.exe is found in KES's install folder, as its
// Uninstall entry gives it, whatever the case of the path on disk, and
// else in the Kaspersky Lab folders.
func TestFindKescli(t *testing.T) {
	env := windowsEnv(t, "win11-kes")
	sw, err := env.Registry.Hive(context.Background(), "SOFTWARE")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		root fstest.MapFS
		want string
	}{
		{"install location", fstest.MapFS{
			"Program Files (x86)/Kaspersky Lab/KES.12.6.0/kescli.exe": {},
			"Program Files (x86)/Kaspersky Lab/Other/kescli.exe":      {},
		}, "Program Files (x86)/Kaspersky Lab/KES.12.6.0/kescli.exe"},
		{"install location, other case", fstest.MapFS{
			"program files (x86)/kaspersky lab/kes.12.6.0/KESCLI.EXE": {},
		}, "program files (x86)/kaspersky lab/kes.12.6.0/KESCLI.EXE"},
		{"glob", fstest.MapFS{
			"Program Files/Kaspersky Lab/KES.11.1.0/kescli.exe": {},
		}, "Program Files/Kaspersky Lab/KES.11.1.0/kescli.exe"},
		{"none", fstest.MapFS{"Program Files (x86)/Kaspersky Lab/KES.12.6.0/avp.exe": {}}, ""},
	}
	for _, tt := range tests {
		env.Root = tt.root
		if got := findKescli(env, sw); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseKescli(t *testing.T) {
	tests := []struct {
		name, out string
		want      string // RFC 3339, "" for none
		conf      string
		wantErr   bool
	}{
		{"ISO on a definitions line", "Definition state:\r\nDefinitions release date: 2024-09-27 04:11:00\r\n", "2024-09-27T04:11:00Z", confMedium, false},
		{"ISO with T", "AV bases: 2024-09-27T04:11:00Z\n", "2024-09-27T04:11:00Z", confMedium, false},
		{"dotted", "Дата выпуска баз: 27.09.2024 4:11\n", "2024-09-27T04:11:00Z", confMedium, false},
		{"dotted date only", "Databases: 28.09.2024\n", "2024-09-28T00:00:00Z", confMedium, false},
		{"keyword line wins", "Now: 2024-11-25 10:00:00\nDatabase date: 2024-09-27 04:11:00\n", "2024-09-27T04:11:00Z", confMedium, false},
		{"lone date", "2024-09-27 04:11:00\n", "2024-09-27T04:11:00Z", confLow, false},
		{"two dates, no keyword", "2024-09-27 04:11:00\n2024-11-25 10:00:00\n", "", "", true},
		{"no date", "Error: the application is not running\n", "", "", true},
		{"empty", "", "", "", true},
		{"impossible date", "Definitions: 31.02.2024 10:00\n", "", "", true},
		{"ambiguous US form", "Definitions: 09/10/2024 10:00 AM\n", "", "", true},
	}
	for _, tt := range tests {
		r, ok, err := parseKescli([]byte(tt.out))
		if (err != nil) != tt.wantErr || ok != (tt.want != "") || (ok && (!r.when.Equal(utc(tt.want)) || r.confidence != tt.conf)) {
			t.Errorf("%s: %v %s %v %v; want %q %s (error %v)", tt.name, r.when, r.confidence, ok, err, tt.want, tt.conf, tt.wantErr)
		}
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(keslFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseKeslFixtures(t *testing.T) {
	tests := []struct {
		file, want, label, version string
	}{
		{"en.txt", "2024-09-27T04:11:00Z", "Last release date of databases", "12.1.0.1297"},
		{"kesl10-en.txt", "2018-08-23T04:11:00Z", "Last release date of databases", "10.1.0.5960"},
		{"ru.txt", "2024-10-14T21:37:00Z", "Дата последнего выпуска баз приложения", "12.1.0.1297"},
		{"app-info.json", "2024-09-27T04:11:00Z", "Last release date of databases", "12.1.0.1297"},
		{"ru-app-info.json", "2024-09-28T19:02:00Z", "Дата последнего выпуска баз программы", "11.4.0.5047"},
	}
	for _, tt := range tests {
		parse := parseKeslText
		if strings.HasSuffix(tt.file, ".json") {
			parse = parseKeslJSON
		}
		r, ok, err := parse(readFixture(t, tt.file))
		if err != nil || !ok || !r.when.Equal(utc(tt.want)) || r.label != tt.label || r.version != tt.version || r.confidence != confHigh {
			t.Errorf("%s: %+v %v %v", tt.file, r, ok, err)
		}
	}
	if _, _, err := parseKeslJSON(readFixture(t, "en.txt")); !errors.Is(err, errNotJSON) {
		t.Errorf("text parsed as JSON: %v", err)
	}
}

func TestParseKeslText(t *testing.T) {
	tests := []struct {
		name, out string
		want      string
		conf      string
		wantErr   bool
	}{
		{"english", "Version: 11.1.0.3013\nLast release date of databases: 2024-09-27 04:11:00\n", "2024-09-27T04:11:00Z", confHigh, false},
		{"CRLF and spacing", "Last  release date of databases :   2024-09-27 04:11:00\r\n", "2024-09-27T04:11:00Z", confHigh, false},
		{"russian 11", "Дата последнего выпуска баз программы: 2024-09-27 04:11:00\n", "2024-09-27T04:11:00Z", confHigh, false},
		{"look-alike label", "Release date of the application databases: 2024-09-27 04:11:00\n", "2024-09-27T04:11:00Z", confMedium, false},
		{"russian look-alike", "Дата выпуска баз: 27.09.2024 04:11:00\n", "2024-09-27T04:11:00Z", confMedium, false},
		{"known label wins", "Release of databases: 2020-01-01 00:00:00\nLast release date of databases: 2024-09-27 04:11:00\n", "2024-09-27T04:11:00Z", confHigh, false},
		{"date only", "Last release date of databases: 2024-09-27\n", "2024-09-27T00:00:00Z", confHigh, false},
		{"cut-off day", "Last release date of databases: 2024-09-29 00:00:00\n", "2024-09-29T00:00:00Z", confHigh, false},
		{"no bases loaded", "Anti-virus databases loaded: No\nLast release date of databases: 1970-01-01 00:00:00\n", "", "", false},
		{"not available", "Last release date of databases: N/A\n", "", "", false},
		{"russian unknown", "Дата последнего выпуска баз приложения: Нет данных\n", "", "", false},
		{"no such line", "Version: 11.1.0.3013\nLicense expiration date: 2025-01-01\n", "", "", false},
		{"garbage", "Last release date of databases: 2024-13-45 99:00:00\n", "", "", true},
		{"ancient", "Last release date of databases: 1998-01-01 00:00:00\n", "", "", true},
		{"empty", "", "", "", false},
	}
	for _, tt := range tests {
		r, ok, err := parseKeslText([]byte(tt.out))
		if (err != nil) != tt.wantErr || ok != (tt.want != "") || (ok && (!r.when.Equal(utc(tt.want)) || r.confidence != tt.conf)) {
			t.Errorf("%s: %v %s %v %v; want %q %s (error %v)", tt.name, r.when, r.confidence, ok, err, tt.want, tt.conf, tt.wantErr)
		}
	}
}

func TestParseKeslJSON(t *testing.T) {
	tests := []struct {
		name, out string
		want      string
		wantErr   error // nil, errNotJSON, or errAny
	}{
		{"flat", `{"Last release date of databases": "2024-09-27 04:11:00"}`, "2024-09-27T04:11:00Z", nil},
		{"nested", `{"Application": {"Databases": [{"LastReleaseDateOfDatabases": "2024-09-27T04:11:00Z"}]}}`, "2024-09-27T04:11:00Z", nil},
		{"no date field", `{"Version": "12.1.0.1297"}`, "", nil},
		{"null date", `{"Last release date of databases": null}`, "", nil},
		{"number date", `{"Last release date of databases": 1727410260}`, "", errAny},
		{"garbage date", `{"Last release date of databases": "tomorrow 25:00"}`, "", errAny},
		{"not JSON", `Name: KESL`, "", errNotJSON},
		{"two values", `{} {}`, "", errNotJSON},
		{"truncated", `{"Last release date of databases": "2024-`, "", errNotJSON},
		{"array", `["Last release date of databases", "2024-09-27"]`, "", nil},
	}
	for _, tt := range tests {
		r, ok, err := parseKeslJSON([]byte(tt.out))
		errOK := (err == nil) == (tt.wantErr == nil) && (tt.wantErr != errNotJSON || errors.Is(err, errNotJSON))
		if !errOK || ok != (tt.want != "") || (ok && !r.when.Equal(utc(tt.want))) {
			t.Errorf("%s: %v %v %v; want %q (error %v)", tt.name, r.when, ok, err, tt.want, tt.wantErr)
		}
	}
}

var errAny = errors.New("any error")

// fakeKeslControl is a stand-in for kesl-control: it logs how it was
// called and prints the fixture for its arguments. Without a JSON
// fixture it fails on --json as KESL 10 does.
const fakeKeslControl = `#!/bin/sh
d=$(dirname "$0")
printf '%s\n' "$0" "$#" "$@" >>"$d/argv.log"
if [ "$#" = 2 ] && [ "$1" = --app-info ] && [ "$2" = --json ]; then
	[ -f "$d/out.json" ] || { echo "Unknown option --json" >&2; exit 1; }
	cat "$d/out.json"
	exit 0
fi
if [ "$#" = 1 ] && [ "$1" = --app-info ]; then
	cat "$d/out.txt"
	exit 0
fi
echo "unexpected arguments" >&2
exit 64
`

// keslRoot makes a live-looking root with a fake kesl-control. Its path
// holds shell metacharacters, which a shell would act on.
func keslRoot(t *testing.T, script string, fixtures map[string]string) (*Env, string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in kesl-control is a shell script")
	}
	dir := filepath.Join(t.TempDir(), "root $(touch pwned); `touch pwned2` 'q' *")
	bin := filepath.Join(dir, filepath.FromSlash(keslControlPath))
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	for name, fixture := range fixtures {
		if err := os.WriteFile(filepath.Join(filepath.Dir(bin), name), readFixture(t, fixture), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Root: root, RootDir: dir, Live: true, Host: Host{OS: "linux"}}, bin
}

func TestSignaturesKeslControlLive(t *testing.T) {
	tests := []struct {
		name     string
		fixtures map[string]string
		want     string
		label    string
		calls    [][]string
	}{
		{"json", map[string]string{"out.json": "app-info.json", "out.txt": "en.txt"},
			"2024-09-27T04:11:00Z", "Last release date of databases", [][]string{{"--app-info", "--json"}}},
		{"russian json", map[string]string{"out.json": "ru-app-info.json"},
			"2024-09-28T19:02:00Z", "Дата последнего выпуска баз программы", [][]string{{"--app-info", "--json"}}},
		{"no --json: text", map[string]string{"out.txt": "kesl10-en.txt"},
			"2018-08-23T04:11:00Z", "Last release date of databases", [][]string{{"--app-info", "--json"}, {"--app-info"}}},
		{"json is text: text", map[string]string{"out.json": "ru.txt", "out.txt": "ru.txt"},
			"2024-10-14T21:37:00Z", "Дата последнего выпуска баз приложения", [][]string{{"--app-info", "--json"}, {"--app-info"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, bin := keslRoot(t, fakeKeslControl, tt.fixtures)
			items, err := signaturesDetector{timeout: time.Minute}.Detect(context.Background(), env)
			if err != nil || len(items) != 1 {
				t.Fatalf("%d items, %v", len(items), err)
			}
			it := items[0]
			if it.Name != "kesl-control" || it.Path != keslControlPath || it.Exec != bin ||
				it.Attrs["last_update"] != tt.want || it.Attrs["confidence"] != "high" ||
				!strings.Contains(it.Attrs["source"], tt.label) || !strings.HasPrefix(it.Detail, tt.label+": ") {
				t.Errorf("item = %+v", it)
			}
			checkCalls(t, bin, tt.calls)
		})
	}
}

// checkCalls compares the fake's log with the expected argument lists:
// each call logged its path, its argument count and its arguments.
func checkCalls(t *testing.T, bin string, calls [][]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(bin), "argv.log"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, args := range calls {
		want = append(append(want, bin, fmt.Sprint(len(args))), args...)
	}
	if got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("calls:\n got  %q\n want %q", got, want)
	}
	for _, f := range []string{"pwned", "pwned2"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(bin), f)); err == nil {
			t.Errorf("a shell ran the root's path (%s exists)", f)
		}
	}
}

func TestSignaturesKeslControlFails(t *testing.T) {
	tests := []struct {
		name, script string
		timeout      time.Duration
		want         []string
	}{
		{"hangs", "#!/bin/sh\nexec sleep 60\n", 300 * time.Millisecond,
			[]string{"--app-info --json", "timeout"}},
		{"fails", "#!/bin/sh\necho 'Error: the service is not running' >&2\nexit 2\n", time.Minute,
			[]string{"--app-info: exit status 2: Error: the service is not running", "and --json"}},
		{"garbage date", "#!/bin/sh\necho '{\"Last release date of databases\": \"31.02.2024\"}'\n", time.Minute,
			[]string{`"Last release date of databases" = "31.02.2024": not a date`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := keslRoot(t, tt.script, nil)
			items, err := signaturesDetector{timeout: tt.timeout}.Detect(context.Background(), env)
			if len(items) != 0 || err == nil {
				t.Fatalf("%d items, %v", len(items), err)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// TestSignaturesKeslControlNotRun: offline, or with a kesl-control anyone
// may rewrite, the tool is not run.
func TestSignaturesKeslControlNotRun(t *testing.T) {
	env, bin := keslRoot(t, fakeKeslControl, map[string]string{"out.txt": "en.txt"})
	env.Live = false
	if items, err := (signaturesDetector{timeout: time.Minute}).Detect(context.Background(), env); err != nil || len(items) != 0 {
		t.Errorf("offline: %d items, %v", len(items), err)
	}
	env.Live = true
	if err := os.Chmod(bin, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := signaturesDetector{timeout: time.Minute}.Detect(context.Background(), env)
	if err == nil || !strings.Contains(err.Error(), "writable by other users") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(bin), "argv.log")); err == nil {
		t.Error("kesl-control was run")
	}
}

func TestSignaturesKeslBases(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"var/opt/kaspersky/kesl/common/updates/u1313g.xml":                "2024-09-20T10:00:00Z",
		"var/opt/kaspersky/kesl/private/updates/bases/av/kdb/base001.kdc": "2024-09-27T04:30:00Z", // two levels down: not read
		"var/opt/kaspersky/kesl/private/updates/bases/kdb.xml":            "2024-09-26T08:00:00Z",
		"var/opt/kaspersky/kesl/private/updates/u1313g.xml":               "2024-09-25T00:00:00Z",
		"var/opt/kaspersky/kesl/private/updates/unpacked.tmp":             "1970-01-01T00:00:00Z",
		"var/opt/kaspersky/kesl/private/updates/clock-skew.tmp":           "2150-01-01T00:00:00Z",
	}
	for name, mt := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, utc(mt), utc(mt)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	items, err := signaturesDetector{}.Detect(context.Background(), &Env{Root: root, RootDir: dir, Host: Host{OS: "linux"}})
	if err != nil || len(items) != 1 {
		t.Fatalf("%d items, %v", len(items), err)
	}
	it := items[0]
	if sigKey(it) != "kesl-bases|var/opt/kaspersky/kesl/private/updates|2024-09-26T08:00:00Z|low" ||
		it.Attrs["newest_file"] != "var/opt/kaspersky/kesl/private/updates/bases/kdb.xml" ||
		it.Attrs["source"] != sourceKeslBases {
		t.Errorf("item = %+v", it)
	}
}

func TestSignaturesKeslBasesBounded(t *testing.T) {
	root := fstest.MapFS{}
	base := utc("2024-09-01T00:00:00Z")
	for i := range maxBasesEntries + 10 {
		root[fmt.Sprintf("var/opt/kaspersky/kesl/common/updates/f%05d", i)] = &fstest.MapFile{ModTime: base.Add(time.Duration(i) * time.Minute)}
	}
	bf, ok, err := newestBasesFile(context.Background(), root, keslBasesDirs)
	if err != nil || !ok || !bf.truncated || bf.file != fmt.Sprintf("var/opt/kaspersky/kesl/common/updates/f%05d", maxBasesEntries-1) {
		t.Errorf("%+v %v %v", bf, ok, err)
	}
	if it := bf.item("kesl-bases"); !strings.Contains(it.Detail, "first 10000 entries") {
		t.Errorf("detail %q", it.Detail)
	}
	if _, ok, err := newestBasesFile(context.Background(), fstest.MapFS{}, keslBasesDirs); ok || err != nil {
		t.Errorf("empty root: %v %v", ok, err)
	}
}

func TestSignaturesOtherOS(t *testing.T) {
	items, err := signaturesDetector{}.Detect(context.Background(), &Env{Root: fstest.MapFS{}, Host: Host{OS: "darwin"}})
	if err != nil || len(items) != 0 {
		t.Errorf("darwin: %v %v", items, err)
	}
}
