package winreg

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
)

// The image whose state wine_test.sh recreates in the Wine prefix: it
// imports the .reg sources of the image's hives (UTF-16LE, so the
// Cyrillic strings and REG_EXPAND_SZ data arrive intact), and copies the
// image's files, ivan's NTUSER.DAT among them, into drive_c.
const (
	wineImageEnv = "BANWATCH_WINE_IMAGE" // the image folder, set by wine_test.sh
	wineIvanSID  = "S-1-5-21-3623811015-3361044348-30300820-1001"
)

// wineManaged are the image's values Wine rewrites on its own: it sets
// the computer name from the Unix host name at every start.
var wineManaged = map[string]bool{
	`HKLM\SYSTEM\ControlSet001\Control\ComputerName\ComputerName\ComputerName`: true,
}

// TestLiveMatchesImage reads every key and value of the image's hives,
// and the per-user install in the NTUSER.DAT of ivan (not logged on),
// through the live registry, and wants what the offline hive reader reads:
// the same types and bytes.
func TestLiveMatchesImage(t *testing.T) {
	wineOnly(t)
	dir := os.Getenv(wineImageEnv)
	if dir == "" {
		t.Skip(wineImageEnv + " not set: wine_test.sh sets it to the image it recreated in the prefix")
	}
	ctx := context.Background()
	img := OpenImage(os.DirFS(dir))
	defer img.Close()
	live, err := Live(os.DirFS(`C:\`))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	for _, name := range []string{"SOFTWARE", "SYSTEM"} {
		ik, err := img.Hive(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		lk, err := live.Hive(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		n := compareKeys(t, ik, lk)
		t.Logf("HKLM\\%s: %d keys of the image read the same live", name, n)
		ik.Close()
		lk.Close()
	}

	users, err := live.Users(ctx)
	// The ghost profile's error is TestLive's business; ivan must not add one.
	if err != nil && strings.Contains(err.Error(), wineIvanSID) {
		t.Errorf("Users error names ivan: %v", err)
	}
	i := slices.IndexFunc(users, func(u User) bool { return u.SID == wineIvanSID })
	if i < 0 {
		t.Fatalf("ivan (%s) not among the live users %+v", wineIvanSID, users)
	}
	ivan := users[i]
	for _, u := range users {
		defer u.Key.Close()
	}
	// ProfileImagePath is C:\Users\ivan; Wine's folder is users/ivan and
	// its file system ignores case, as Windows does.
	if ivan.Profile != "Users/ivan" || ivan.Hive != "Users/ivan/NTUSER.DAT" || ivan.Key.Path() != `HKU\`+wineIvanSID {
		t.Errorf("ivan = profile %q hive %q key %s; want Users/ivan, Users/ivan/NTUSER.DAT, HKU\\%s",
			ivan.Profile, ivan.Hive, ivan.Key.Path(), wineIvanSID)
	}
	imgUsers, err := img.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range imgUsers {
		defer u.Key.Close()
		if u.SID == wineIvanSID {
			t.Logf("%s: %d keys of the image read the same live", u.Key.Path(), compareKeys(t, u.Key, ivan.Key))
		}
	}
	kpm, err := ivan.Key.Open(`Software\Microsoft\Windows\CurrentVersion\Uninstall\Kaspersky Password Manager`)
	if err != nil {
		t.Fatal(err)
	}
	defer kpm.Close()
	vs, err := ReadValues(kpm)
	if err != nil || vs.String("Publisher") != "Лаборатория Касперского" {
		t.Errorf("KPM Publisher = %q, %v; want Лаборатория Касперского", vs.String("Publisher"), err)
	}
}

// compareKeys wants every value and subkey of the image key img in the
// live key, recursively; the live key may hold more (Wine's own). It
// returns how many keys it compared.
func compareKeys(t *testing.T, img, live Key) int {
	t.Helper()
	ivs, err := ReadValues(img)
	if err != nil {
		t.Errorf("%s (image): %v", img.Path(), err)
	}
	lvs, err := ReadValues(live)
	if err != nil {
		t.Errorf("%s (live): %v", live.Path(), err)
	}
	for name, iv := range ivs {
		path := img.Path() + `\` + iv.Name
		lv, ok := lvs[name]
		switch {
		case wineManaged[path]:
		case !ok:
			t.Errorf("%s: in the image, not live", path)
		case lv.Type != iv.Type || !bytes.Equal(lv.Data, iv.Data):
			ls, _ := lv.String()
			is, _ := iv.String()
			t.Errorf("%s: live type %d %q (% x), image type %d %q (% x)", path, lv.Type, ls, lv.Data, iv.Type, is, iv.Data)
		}
	}
	subs, err := img.Subkeys()
	if err != nil {
		t.Errorf("%s (image): %v", img.Path(), err)
	}
	n := 1
	for _, name := range subs {
		is, err := img.Open(name)
		if err != nil {
			t.Errorf("%s\\%s (image): %v", img.Path(), name, err)
			continue
		}
		ls, err := live.Open(name)
		if err != nil {
			t.Errorf("%s\\%s: in the image, not live: %v", img.Path(), name, err)
			is.Close()
			continue
		}
		n += compareKeys(t, is, ls)
		is.Close()
		ls.Close()
	}
	return n
}
