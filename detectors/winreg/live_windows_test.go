package winreg

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
)

// The Wine keys below are written by wine_test.sh before it runs this
// test under Wine; on a real Windows machine they do not exist.
const (
	wineAVState   = `WOW6432Node\KasperskyLab\Components\34\1103\1.0.0.0\Statistics\AVState`
	wineUninstall = `Microsoft\Windows\CurrentVersion\Uninstall\{BANWATCH-WINE-KES}`
	wineGhostSID  = "S-1-5-21-1-2-3-1001"
)

func wineOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("BANWATCH_WINE") != "1" {
		t.Skip("BANWATCH_WINE=1 not set: this test reads keys that detectors/winreg/wine_test.sh writes into a Wine prefix")
	}
}

func liveSoftware(t *testing.T) (Machine, Key) {
	t.Helper()
	m, err := Live(os.DirFS(`C:\`))
	if err != nil {
		t.Fatal(err)
	}
	sw, err := m.Hive(context.Background(), "software")
	if err != nil {
		t.Fatal(err)
	}
	if sw.Path() != `HKLM\SOFTWARE` {
		t.Errorf("Path() = %q", sw.Path())
	}
	return m, sw
}

// TestLive runs on any Windows: keys every installation has.
func TestLive(t *testing.T) {
	m, sw := liveSoftware(t)
	defer m.Close()
	defer sw.Close()
	k, err := sw.Open(`Microsoft\Windows NT\CurrentVersion`)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	vs, err := ReadValues(k)
	if err != nil {
		t.Fatal(err)
	}
	if vs.String("SystemRoot") == "" {
		t.Errorf("%s: no SystemRoot in %v", k.Path(), vs)
	}
	if _, err := sw.Open(`BanwatchNoSuchKey\Sub`); !IsNotExist(err) {
		t.Errorf("missing key: err = %v, want one wrapping ErrNotExist", err)
	}
	if _, err := m.Hive(context.Background(), "SAM"); err == nil {
		t.Error("Hive(SAM): no error")
	}
}

func TestLiveWine(t *testing.T) {
	wineOnly(t)
	m, sw := liveSoftware(t)
	defer m.Close()
	defer sw.Close()

	// Case differs from how the script wrote it: Windows ignores case.
	av, err := sw.Open(strings.ToLower(wineAVState))
	if err != nil {
		t.Fatal(err)
	}
	defer av.Close()
	if want := `HKLM\SOFTWARE\` + strings.ToLower(wineAVState); av.Path() != want {
		t.Errorf("Path() = %q, want %q", av.Path(), want)
	}
	vs, err := ReadValues(av)
	if err != nil {
		t.Fatal(err)
	}
	if got := vs.String("protection_basesdate"); got != "27-09-2024 10-11-12" {
		t.Errorf("Protection_BasesDate = %q", got)
	}
	if v := vs["protection_basesdate"]; v.Type != TypeSZ || len(v.Data)%2 != 0 {
		t.Errorf("raw value = %+v, want REG_SZ in UTF-16LE", v)
	}

	un, err := sw.Open(wineUninstall)
	if err != nil {
		t.Fatal(err)
	}
	defer un.Close()
	vs, err = ReadValues(un)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"DisplayName":     "Kaspersky Endpoint Security for Windows",
		"Publisher":       "AO Kaspersky Lab",
		"EstimatedSize":   "123456",
		"InstallLocation": `%ProgramFiles%\Kaspersky Lab`,
		"Langs":           "en; ru",
	} {
		if got := vs.String(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	long := vs.String("Long")
	if len(long) != 3000 || strings.Trim(long, "x") != "" {
		t.Errorf("Long: %d characters, want 3000 x's (a value larger than the first buffer)", len(long))
	}

	parent, err := sw.Open(`Microsoft\Windows\CurrentVersion\Uninstall`)
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	subs, err := parent.Subkeys()
	if err != nil || !slices.Contains(subs, "{BANWATCH-WINE-KES}") {
		t.Errorf("Subkeys() = %v, %v; want {BANWATCH-WINE-KES} among them", subs, err)
	}
	testWineUsers(t, m)
}

// testWineUsers expects Wine's logged-on user, and the ghost profile the
// script adds (a ProfileList entry whose NTUSER.DAT is not a hive) in the
// error, not among the users.
func testWineUsers(t *testing.T, m Machine) {
	users, err := m.Users(context.Background())
	for _, u := range users {
		t.Logf("user %s profile %q hive %q key %s", u.SID, u.Profile, u.Hive, u.Key.Path())
		defer u.Key.Close()
	}
	if err == nil || !strings.Contains(err.Error(), wineGhostSID) || !strings.Contains(err.Error(), "users/ghost/NTUSER.DAT") {
		t.Errorf("Users error = %v; want one naming %s and users/ghost/NTUSER.DAT", err, wineGhostSID)
	}
	i := slices.IndexFunc(users, func(u User) bool { return u.Hive == "" && strings.HasPrefix(u.SID, "S-1-5-21-") })
	if i < 0 {
		t.Fatalf("no loaded user among %+v", users)
	}
	u := users[i]
	if u.Key.Path() != `HKU\`+u.SID || !strings.HasPrefix(strings.ToLower(u.Profile), "users/") {
		t.Errorf("loaded user = %+v (key %s)", u, u.Key.Path())
	}
	env, err := u.Key.Open(`Environment`)
	if err != nil {
		t.Fatal(err)
	}
	env.Close()
	if slices.ContainsFunc(users, func(u User) bool { return u.SID == wineGhostSID }) {
		t.Errorf("ghost profile listed as a user")
	}
}
