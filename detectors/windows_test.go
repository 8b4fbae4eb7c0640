package detectors

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/banwatch/banwatch/detectors/winreg"
)

const windowsImages = "testdata/windows/images"

// windowsEnv opens one of the offline Windows images as a scan would.
func windowsEnv(t *testing.T, image string) *Env {
	t.Helper()
	root, err := OpenRoot(filepath.Join(windowsImages, image))
	if err != nil {
		t.Fatal(err)
	}
	reg := winreg.OpenImage(root)
	t.Cleanup(func() { reg.Close() })
	return &Env{Root: root, Registry: reg, Host: Host{OS: "windows"}}
}

func itemKeys(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, strings.Join([]string{string(it.Kind), it.Name, it.Version, it.Publisher, string(it.State)}, "|"))
	}
	slices.Sort(out)
	return out
}

func TestWindowsPrograms(t *testing.T) {
	tests := []struct {
		image string
		want  []string
	}{
		{"win11-kes", []string{
			"program|7-Zip 24.08 (x64)|24.08|Igor Pavlov|installed",
			"program|Kaspersky Endpoint Security for Windows|12.6.0.438|AO Kaspersky Lab|installed",
			"program|Kaspersky Security Center Network Agent|14.2.0.26967|Kaspersky|installed",
			"program|Microsoft Edge|131.0.2903.70|Microsoft Corporation|installed",
			"program|Zoom Workplace|6.2.11|Zoom Communications, Inc.|installed",
		}},
		{"win10-kts-ru", []string{
			"program|7-Zip 24.08 (x64)|24.08|Igor Pavlov|leftover",
			"program|Kaspersky Password Manager|9.2.106|Лаборатория Касперского|installed",
			"program|Kaspersky Total Security|21.3.10.391|АО «Лаборатория Касперского»|installed",
			"program|Microsoft Edge|131.0.2903.70|Microsoft Corporation|installed",
		}},
		{"win11-ultraav", []string{
			"program|7-Zip 24.08 (x64)|24.08|Igor Pavlov|leftover",
			"program|Kaspersky Standard|21.16.6.467|Kaspersky|leftover",
			"program|Microsoft Edge|131.0.2903.70|Microsoft Corporation|installed",
			"program|UltraAV|1.4.0.137|Pango GmbH|installed",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			items, err := detectWindowsPrograms(context.Background(), windowsEnv(t, tt.image))
			if err != nil {
				t.Fatal(err)
			}
			if got := itemKeys(items); !slices.Equal(got, tt.want) {
				t.Errorf("programs:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestWindowsProgramScopes(t *testing.T) {
	items, err := detectWindowsPrograms(context.Background(), windowsEnv(t, "win10-kts-ru"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Kaspersky Total Security":   "machine, 32-bit",
		"Kaspersky Password Manager": "user ivan (S-1-5-21-3623811015-3361044348-30300820-1001)",
		"7-Zip 24.08 (x64)":          "machine, 64-bit",
	}
	for _, it := range items {
		if w, ok := want[it.Name]; ok && it.Attrs["scope"] != w {
			t.Errorf("%s: scope %q, want %q", it.Name, it.Attrs["scope"], w)
		}
	}
	kpm := items[slices.IndexFunc(items, func(it Item) bool { return it.Name == "Kaspersky Password Manager" })]
	if want := `HKU\S-1-5-21-3623811015-3361044348-30300820-1001\Software\Microsoft\Windows\CurrentVersion\Uninstall\Kaspersky Password Manager`; kpm.Path != want {
		t.Errorf("path %q, want %q", kpm.Path, want)
	}
}

func TestProgramItemLeftovers(t *testing.T) {
	root := fstest.MapFS{
		"Program Files/Acme/acme.exe":     {},
		"Program Files/Acme/uninstal.exe": {},
	}
	tests := []struct {
		name, location, uninstall string
		want                      State
	}{
		{"folder present", `C:\Program Files\Acme\`, `"C:\Program Files\Acme\uninstal.exe" /S`, StateInstalled},
		{"folder gone", `C:\Program Files\Gone\`, "", StateLeftover},
		{"folder present, uninstaller gone", `C:\Program Files\Acme`, `C:\Cache\setup.exe /x`, StateInstalled},
		{"no folder, uninstaller gone", "", `C:\Program Files\Gone\unins000.exe`, StateLeftover},
		{"no folder, uninstaller unquoted with spaces", "", `C:\Program Files\Acme\uninstal.exe /S`, StateInstalled},
		{"msi", "", "MsiExec.exe /X{6F2B39D1-8D5E-4C3B-9A2A-0C6F4E7B1A26}", StateInstalled},
		{"other drive", `D:\Apps\Acme`, "", StateInstalled},
		{"no paths", "", "", StateInstalled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := winreg.Values{
				"displayname":     str("Acme"),
				"installlocation": str(tt.location),
				"uninstallstring": str(tt.uninstall),
			}
			it, ok := programItem(&winFiles{fold: &winreg.FoldLookup{Root: root}}, `HKLM\X`, "Acme", "machine, 64-bit", v)
			if !ok || it.State != tt.want {
				t.Errorf("state %q (%v), want %q; detail %q", it.State, ok, tt.want, it.Detail)
			}
		})
	}
	if _, ok := programItem(&winFiles{fold: &winreg.FoldLookup{Root: root}}, `HKLM\X`, "KB123", "machine", winreg.Values{}); ok {
		t.Error("an entry without a display name was reported")
	}
}

func str(s string) winreg.Value {
	var b []byte
	for _, r := range s + "\x00" {
		b = append(b, byte(r), byte(r>>8))
	}
	return winreg.Value{Type: winreg.TypeSZ, Data: b}
}

func dword(n uint32) winreg.Value {
	return winreg.Value{Type: winreg.TypeDWORD, Data: []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}}
}

func TestCommandProgram(t *testing.T) {
	tests := map[string]string{
		`"C:\Program Files\A\a.exe" -r`:              `C:\Program Files\A\a.exe`,
		`C:\Program Files\A\a.exe -r`:                `C:\Program Files\A\a.exe`,
		`C:\Windows\system32\svchost.exe -k netsvcs`: `C:\Windows\system32\svchost.exe`,
		`\SystemRoot\System32\drivers\klif.sys`:      `\SystemRoot\System32\drivers\klif.sys`,
		`"unterminated`:                              "unterminated",
		"":                                           "",
	}
	for in, want := range tests {
		if got := commandProgram(in); got != want {
			t.Errorf("commandProgram(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWindowsServices(t *testing.T) {
	items, err := detectWindowsServices(context.Background(), windowsEnv(t, "win11-ultraav"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Item{}
	for _, it := range items {
		got[it.Name] = it
	}
	tests := []struct {
		name        string
		kind        Kind
		state       State
		exec        string
		execMissing bool
	}{
		{"UltraAVService", KindService, StateEnabled, `C:\Program Files\UltraAV\UltraAVService.exe`, false},
		{"klif", KindDriver, StateDisabled, `system32\DRIVERS\K4W-21-16\klif.sys`, true},
		{"Tcpip", KindDriver, StateEnabled, `System32\drivers\tcpip.sys`, true},
		{"WinDefend", KindService, StateEnabled, `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`, true},
	}
	for _, tt := range tests {
		it, ok := got[tt.name]
		if !ok {
			t.Errorf("%s not found", tt.name)
			continue
		}
		if it.Kind != tt.kind || it.State != tt.state || it.Exec != tt.exec || it.ExecMissing != tt.execMissing {
			t.Errorf("%s = %s %s %q missing=%v, want %s %s %q missing=%v", tt.name,
				it.Kind, it.State, it.Exec, it.ExecMissing, tt.kind, tt.state, tt.exec, tt.execMissing)
		}
	}
	if !strings.HasPrefix(got["klif"].Path, `HKLM\SYSTEM\ControlSet001\Services\`) {
		t.Errorf("klif read from %q, want the current control set 001", got["klif"].Path)
	}
	if len(items) != 4 {
		t.Errorf("%d services, want 4 (ControlSet002 must not be read)", len(items))
	}
}

func TestServiceItem(t *testing.T) {
	tests := []struct {
		name   string
		vals   winreg.Values
		ok     bool
		kind   Kind
		exec   string
		detail string
	}{
		{"fs driver boot", winreg.Values{"type": dword(2), "start": dword(0), "imagepath": str(`\SystemRoot\System32\DRIVERS\klif.KES-12-6.sys`)},
			true, KindDriver, `\SystemRoot\System32\DRIVERS\klif.KES-12-6.sys`, "file system driver, boot start, its file is missing"},
		{"driver default image", winreg.Values{"type": dword(1), "start": dword(3)},
			true, KindDriver, `System32\drivers\klhk.sys`, "driver, manual start, its file is missing"},
		{"shared process", winreg.Values{"type": dword(0x20), "start": dword(2), "imagepath": str(`%SystemRoot%\system32\svchost.exe -k netsvcs`)},
			true, KindService, `%SystemRoot%\system32\svchost.exe`, "service, automatic start, its file is missing"},
		{"no type: not a service", winreg.Values{"start": dword(2)}, false, "", "", ""},
		{"adapter type", winreg.Values{"type": dword(4)}, false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drive := fstest.MapFS{"Windows/System32/config/SYSTEM": {}}
			it, ok := serviceItem(&winFiles{fold: &winreg.FoldLookup{Root: drive}}, `HKLM\S`, "klhk", tt.vals)
			if ok != tt.ok || it.Kind != tt.kind || it.Exec != tt.exec || it.Detail != tt.detail {
				t.Errorf("got %v %s %q %q, want %v %s %q %q", ok, it.Kind, it.Exec, it.Detail, tt.ok, tt.kind, tt.exec, tt.detail)
			}
		})
	}
}

func TestWithLiveState(t *testing.T) {
	states := map[string]ServiceStatus{"klif": {Running: true}, "avp": {Running: true, PID: 812}, "klhk": {}}
	tests := []struct {
		it   Item
		want State
	}{
		{Item{Kind: KindDriver, Name: "KLIF", State: StateEnabled}, StateLoaded},
		{Item{Kind: KindService, Name: "AVP", State: StateEnabled}, StateRunning},
		{Item{Kind: KindDriver, Name: "klhk", State: StateEnabled}, StateEnabled},
		{Item{Kind: KindService, Name: "other", State: StateDisabled}, StateDisabled},
	}
	for _, tt := range tests {
		if got := withLiveState(tt.it, states); got.State != tt.want {
			t.Errorf("%s: %s, want %s", tt.it.Name, got.State, tt.want)
		}
	}
}

func TestRegistryKeys(t *testing.T) {
	env := windowsEnv(t, "win11-kes")
	env.RegistryKeys = []string{
		`HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\*\environment`,
		`HKLM\SOFTWARE\wow6432node\kasperskylab\components\34\1103\1.0.0.0\Statistics\AVState`,
		`HKLM\SOFTWARE\KasperskyLab`, // absent on this machine
		`HKLM\SYSTEM\Select`,
	}
	items, err := detectRegistryKeys(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`registry-key|HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1103\1.0.0.0\Statistics\AVState|||present`,
		`registry-key|HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES.12.6.0\environment|12.6.0.438||present`,
		`registry-key|HKLM\SYSTEM\Select|||present`,
	}
	if got := itemKeys(items); !slices.Equal(got, want) {
		t.Fatalf("items:\n got  %q\n want %q", got, want)
	}
	for _, it := range items {
		if strings.HasSuffix(it.Name, "AVState") {
			if it.Attrs["Protection_BasesDate"] != "27-09-2024 04-11-00" || it.Attrs["Protection_AdmServer"] != "ksc.corp.example.com" {
				t.Errorf("AVState attrs = %v", it.Attrs)
			}
		}
	}
}

func TestWindowsHost(t *testing.T) {
	tests := []struct {
		image, hostname, platform, id string
	}{
		{"win11-kes", "WS-KES-01", "Windows 11 Enterprise 23H2 (build 22631)", "6c0e5b8e-0f6a-4c2f-9a51-3b8f3f0e1a01"},
		{"win7-x86-kav", "OLD-PC", "Windows 7 Professional (build 7601)", "2b0d3c4e-5f60-4a7b-8c9d-0e1f2a3b4c03"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			env := windowsEnv(t, tt.image)
			h, err := IdentifyHost(context.Background(), env.Root, nil)
			if err != nil {
				t.Fatal(err)
			}
			h, err = WindowsHost(context.Background(), env.Registry, h)
			if err != nil {
				t.Fatal(err)
			}
			if h.OS != "windows" || h.Hostname != tt.hostname || h.Platform != tt.platform || h.ID != tt.id {
				t.Errorf("host = %+v", h)
			}
		})
	}
}

// TestWindowsImageCaseFolded: a volume copied to a case-sensitive file
// system with other capitals still reads.
func TestWindowsImageCaseFolded(t *testing.T) {
	src := filepath.Join(windowsImages, "winsrv-nagent", "Windows", "System32", "config")
	dst := filepath.Join(t.TempDir(), "windows", "system32", "CONFIG")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"SOFTWARE", "SYSTEM"} {
		b, err := os.ReadFile(filepath.Join(src, h))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, strings.ToLower(h)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := OpenRoot(filepath.Dir(filepath.Dir(filepath.Dir(dst))))
	if err != nil {
		t.Fatal(err)
	}
	h, err := IdentifyHost(context.Background(), root, nil)
	if err != nil || h.OS != "windows" {
		t.Fatalf("host %+v, %v", h, err)
	}
	env := &Env{Root: root, Registry: winreg.OpenImage(root), Host: h}
	items, err := detectWindowsPrograms(context.Background(), env)
	if err != nil || !slices.ContainsFunc(items, func(it Item) bool { return it.Name == "Kaspersky Security Center Network Agent" }) {
		t.Errorf("programs %v, %v", itemKeys(items), err)
	}
}

func TestWindowsDetectorsNeedRegistry(t *testing.T) {
	for name, fn := range map[string]DetectorFunc{
		"programs": detectWindowsPrograms, "services": detectWindowsServices, "registry": detectRegistryKeys,
	} {
		if _, err := fn(context.Background(), &Env{Root: fstest.MapFS{}}); err == nil {
			t.Errorf("%s: no error without a registry", name)
		}
	}
}

// TestWindowsCorruptHive: a damaged hive is a scan error naming the file;
// the detectors that do not need it still run.
func TestWindowsCorruptHive(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(windowsImages, "win11-kes", "Windows", "System32", "config", "SYSTEM"))
	if err != nil {
		t.Fatal(err)
	}
	root := fstest.MapFS{
		"Windows/System32/config/SOFTWARE": {Data: []byte("regf but not really")},
		"Windows/System32/config/SYSTEM":   {Data: b},
	}
	env := &Env{Root: root, Registry: winreg.OpenImage(root)}
	_, err = detectWindowsPrograms(context.Background(), env)
	if err == nil || !strings.Contains(err.Error(), "Windows/System32/config/SOFTWARE") {
		t.Errorf("programs: err = %v, want one naming the SOFTWARE hive", err)
	}
	items, err := detectWindowsServices(context.Background(), env)
	if err != nil || len(items) == 0 {
		t.Errorf("services: %d items, %v; want them read from the intact SYSTEM hive", len(items), err)
	}
}

// TestWindowsImagesReproducible rebuilds the fixture images with
// make-images.py and hivex and checks that every file comes out the same,
// so the checked-in hives are what the script says they are.
func TestWindowsImagesReproducible(t *testing.T) {
	for _, tool := range []string{"python3", "hivexregedit"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed; .ci/run installs hivex (Debian libwin-hivex-perl) and has python3", tool)
		}
	}
	out, src := t.TempDir(), t.TempDir()
	cmd := exec.Command("python3", "testdata/windows/make-images.py", out, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-images.py: %v\n%s", err, b)
	}
	compareTrees(t, windowsImages, out)
	compareTrees(t, "testdata/windows/src", src)
}

func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(got, rel))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from what the script makes (%v)", rel, err)
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walked %d files of %s: %v", n, want, err)
	}
}

// TestCurrentControlSetFallbacks: a SYSTEM hive assembled by hand may
// lack Select; the services are still found.
func TestCurrentControlSetFallbacks(t *testing.T) {
	if _, err := exec.LookPath("hivexregedit"); err != nil {
		t.Skip("hivexregedit not installed (Debian libwin-hivex-perl); .ci/run installs it")
	}
	tests := []struct {
		name, reg, want string
	}{
		{"Select names set 2", "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000002\n\n" +
			"[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002]\n\n", `HKLM\SYSTEM\ControlSet002`},
		{"no Select, a CurrentControlSet key", "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet]\n\n", `HKLM\SYSTEM\CurrentControlSet`},
		{"no Select, ControlSet001 only", "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]\n\n", `HKLM\SYSTEM\ControlSet001`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			hive := filepath.Join(dir, "Windows", "System32", "config", "SYSTEM")
			if err := os.MkdirAll(filepath.Dir(hive), 0o755); err != nil {
				t.Fatal(err)
			}
			empty, err := os.ReadFile("testdata/windows/empty.hive")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(hive, empty, 0o644); err != nil {
				t.Fatal(err)
			}
			reg := filepath.Join(dir, "x.reg")
			if err := os.WriteFile(reg, []byte("Windows Registry Editor Version 5.00\n\n"+tt.reg), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("hivexregedit", "--merge", "--prefix", `HKEY_LOCAL_MACHINE\SYSTEM`, hive, reg).CombinedOutput(); err != nil {
				t.Fatalf("hivexregedit: %v %s", err, out)
			}
			m := winreg.OpenImage(os.DirFS(dir))
			defer m.Close()
			sys, err := m.Hive(context.Background(), "SYSTEM")
			if err != nil {
				t.Fatal(err)
			}
			cs, err := CurrentControlSet(sys)
			if err != nil || cs.Path() != tt.want {
				t.Errorf("control set %v, %v; want %s", cs, err, tt.want)
			}
		})
	}
}
