package winreg

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

func TestRootPathOtherDrive(t *testing.T) {
	if got := RootPath(`D:\Program Files\A`, "D:"); got != "Program Files/A" {
		t.Errorf("on D: = %q", got)
	}
	if got := RootPath(`C:\Program Files\A`, "D:"); got != "" {
		t.Errorf("C: path on a D: system = %q, want none", got)
	}
}

func TestRootPath(t *testing.T) {
	tests := map[string]string{
		`C:\Program Files (x86)\Kaspersky Lab\KES\`: "Program Files (x86)/Kaspersky Lab/KES",
		`c:\users\bob`:                          "users/bob",
		`"C:\Program Files\A\a.exe"`:            "Program Files/A/a.exe",
		`%SystemDrive%\Users\bob`:               "Users/bob",
		`\SystemRoot\System32\drivers\klif.sys`: "Windows/System32/drivers/klif.sys",
		`%SystemRoot%\system32\svchost.exe`:     "Windows/system32/svchost.exe",
		`%windir%\system32\x.exe`:               "Windows/system32/x.exe",
		`system32\DRIVERS\K4W-21-3\klif.sys`:    "Windows/system32/DRIVERS/K4W-21-3/klif.sys",
		`\??\C:\Windows\System32\drivers\x.sys`: "Windows/System32/drivers/x.sys",
		`D:\Apps\x.exe`:                         "",
		`\\server\share\x.exe`:                  "",
		`C:\..\..\etc\passwd`:                   "",
		`relative\x.exe`:                        "",
		"":                                      "",
	}
	for in, want := range tests {
		if got := RootPath(in, "C:"); got != want {
			t.Errorf("RootPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestImageUsers: profiles come from ProfileList (with their SIDs) and
// from any folder under Users that has an NTUSER.DAT.
func TestImageUsers(t *testing.T) {
	ntuser, err := os.ReadFile(filepath.Join(images, "win10-kts-ru/Users/ivan/NTUSER.DAT"))
	if err != nil {
		t.Fatal(err)
	}
	software, err := os.ReadFile(filepath.Join(images, "win10-kts-ru/Windows/System32/config/SOFTWARE"))
	if err != nil {
		t.Fatal(err)
	}
	root := fstest.MapFS{
		"Windows/System32/config/SOFTWARE": {Data: software},
		"Users/ivan/NTUSER.DAT":            {Data: ntuser},
		"Users/orphan/ntuser.dat":          {Data: ntuser},
		"Users/Public/Desktop/x.lnk":       {},
		"Users/broken/NTUSER.DAT":          {Data: []byte("garbage")},
	}
	m := OpenImage(root)
	defer m.Close()
	users, err := m.Users(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Users/broken/NTUSER.DAT") {
		t.Errorf("err = %v, want one naming the broken hive", err)
	}
	got := map[string]string{}
	for _, u := range users {
		got[u.Profile] = u.SID + " " + u.Hive + " " + u.Key.Path()
		if _, err := u.Key.Open(`Software\Microsoft\Windows\CurrentVersion\Uninstall\Kaspersky Password Manager`); err != nil {
			t.Errorf("%s: %v", u.Profile, err)
		}
	}
	want := map[string]string{
		"Users/ivan":   `S-1-5-21-3623811015-3361044348-30300820-1001 Users/ivan/NTUSER.DAT HKU\S-1-5-21-3623811015-3361044348-30300820-1001`,
		"Users/orphan": ` Users/orphan/ntuser.dat HKU\Users/orphan/ntuser.dat`,
	}
	if len(got) != len(want) {
		t.Errorf("users = %v, want %v", got, want)
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("user %s = %q, want %q", p, got[p], w)
		}
	}
}

// TestImageConcurrent: detectors share the image's hives from several
// goroutines (run with -race).
func TestImageConcurrent(t *testing.T) {
	root := os.DirFS(filepath.Join(images, "win11-kes"))
	m := OpenImage(root)
	defer m.Close()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sw, err := m.Hive(context.Background(), "software")
			if err != nil {
				t.Error(err)
				return
			}
			k, err := sw.Open(`WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall`)
			if err != nil {
				t.Error(err)
				return
			}
			if names, err := k.Subkeys(); err != nil || len(names) != 2 {
				t.Errorf("subkeys %q, %v", names, err)
			}
		}()
	}
	wg.Wait()
	if _, err := m.Hive(context.Background(), "SAM"); !IsNotExist(err) {
		t.Errorf("SAM: %v, want not-exist", err)
	}
}
