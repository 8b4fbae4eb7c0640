package winreg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// access opens every key read-only in the 64-bit view: a 32-bit build of
// banwatch then sees what a 64-bit one sees, and the 32-bit view appears
// under WOW6432Node, as it does in the SOFTWARE hive file.
const access = registry.READ | registry.WOW64_64KEY

// Live returns the running machine's registry. root is the system drive
// (C:\) as an fs.FS: the NTUSER.DAT of users who are not logged on is read
// from it.
func Live(root fs.FS) (Machine, error) {
	if root == nil {
		return nil, errors.New("live registry: no root for the user profiles")
	}
	return &live{root: root}, nil
}

type live struct{ root fs.FS }

func (m *live) Close() error { return nil }

// Hive opens HKLM\SOFTWARE or HKLM\SYSTEM.
func (m *live) Hive(ctx context.Context, name string) (Key, error) {
	name = strings.ToUpper(name)
	if name != "SOFTWARE" && name != "SYSTEM" {
		return nil, fmt.Errorf("live registry: no machine hive %q (want SOFTWARE or SYSTEM)", name)
	}
	return asKey(openKey(registry.LOCAL_MACHINE, "HKLM", name))
}

// asKey keeps a failed open from returning a non-nil Key holding a nil
// *liveKey.
func asKey(k *liveKey, err error) (Key, error) {
	if err != nil {
		return nil, err
	}
	return k, nil
}

// liveKey is a key opened through the Windows API.
type liveKey struct {
	k    registry.Key
	path string
}

// openKey opens parent\rel; parentPath names parent in messages.
func openKey(parent registry.Key, parentPath, rel string) (*liveKey, error) {
	full := parentPath + `\` + rel
	k, err := registry.OpenKey(parent, rel, access)
	if err != nil {
		return nil, keyError("open", full, err)
	}
	return &liveKey{k: k, path: full}, nil
}

// keyError wraps err with the key's path, and with ErrNotExist when the
// key is absent, so callers test one error whatever the source.
func keyError(op, path string, err error) error {
	if errors.Is(err, registry.ErrNotExist) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
		return fmt.Errorf("%s registry key %s: %w (%w)", op, path, ErrNotExist, err)
	}
	return fmt.Errorf("%s registry key %s: %w", op, path, err)
}

func (k *liveKey) Path() string { return k.path }

func (k *liveKey) Close() error { return k.k.Close() }

func (k *liveKey) Open(rel string) (Key, error) {
	rel = Join(rel)
	if rel == "" {
		return nil, fmt.Errorf("open registry key %s: empty subkey path", k.path)
	}
	return asKey(openKey(k.k, k.path, rel))
}

func (k *liveKey) Subkeys() ([]string, error) {
	names, err := k.k.ReadSubKeyNames(-1)
	if err != nil {
		return names, keyError("list subkeys of", k.path, err)
	}
	return names, nil
}

// Values reads every value. A value deleted between listing and reading
// is left out: it is no longer there.
func (k *liveKey) Values() ([]Value, error) {
	names, err := k.k.ReadValueNames(-1)
	if err != nil {
		return nil, keyError("list values of", k.path, err)
	}
	out := make([]Value, 0, len(names))
	buf := make([]byte, 256)
	var errs []error
	for _, name := range names {
		var v Value
		v, buf, err = readValue(k.k, name, buf)
		switch {
		case errors.Is(err, registry.ErrNotExist):
		case err != nil:
			errs = append(errs, fmt.Errorf("read value %q of %s: %w", name, k.path, err))
		default:
			out = append(out, v)
		}
	}
	return out, errors.Join(errs...)
}

// readValue reads one value's raw data and type, growing buf as needed;
// it returns the buffer for the next value. The data is copied out, since
// buf is reused.
func readValue(k registry.Key, name string, buf []byte) (Value, []byte, error) {
	for {
		n, typ, err := k.GetValue(name, buf)
		if errors.Is(err, windows.ERROR_MORE_DATA) && n > len(buf) {
			// The value grew, or buf was too small: retry with its size.
			buf = make([]byte, n)
			continue
		}
		if err != nil {
			return Value{}, buf, err
		}
		return Value{Name: name, Type: typ, Data: bytes.Clone(buf[:n])}, buf, nil
	}
}

// Users opens each logged-on user's loaded hive under HKEY_USERS, then
// the NTUSER.DAT of every other local profile in ProfileList.
func (m *live) Users(ctx context.Context) ([]User, error) {
	profiles, perr := m.profiles()
	loaded, lerr := loadedSIDs()
	var users []User
	errs := []error{perr, lerr}
	seen := map[string]bool{}
	for _, sid := range loaded {
		k, err := openKey(registry.USERS, "HKU", sid)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seen[strings.ToUpper(sid)] = true
		users = append(users, User{SID: sid, Profile: profiles[strings.ToUpper(sid)].dir, Key: k})
	}
	for _, p := range sortedProfiles(profiles) {
		if err := ctx.Err(); err != nil {
			return users, errors.Join(append(errs, err)...)
		}
		if seen[strings.ToUpper(p.sid)] {
			continue
		}
		u, err := m.offlineUser(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if u.Key != nil {
			users = append(users, u)
		}
	}
	return users, errors.Join(errs...)
}

// loadedSIDs lists the users whose hives are loaded under HKEY_USERS.
func loadedSIDs() ([]string, error) {
	names, err := registry.USERS.ReadSubKeyNames(-1)
	if err != nil {
		return nil, keyError("list subkeys of", "HKU", err)
	}
	var sids []string
	for _, n := range names {
		if isUserSID(n) {
			sids = append(sids, n)
		}
	}
	return sids, nil
}

// profile is one ProfileList entry.
type profile struct {
	sid string
	// dir is the profile folder relative to the root; empty with err set
	// when the folder is not on the scanned drive.
	dir string
	err error
}

// profiles reads ProfileList, keyed by upper-case SID.
func (m *live) profiles() (map[string]profile, error) {
	list, err := openKey(registry.LOCAL_MACHINE, "HKLM", `SOFTWARE\`+profileListPath)
	if err != nil {
		return nil, err
	}
	defer list.Close()
	names, err := list.Subkeys()
	drive := systemDrive()
	out := map[string]profile{}
	for _, sid := range names {
		if !isUserSID(sid) {
			continue
		}
		p := profile{sid: sid}
		p.dir, p.err = profileDir(list, sid, drive)
		out[strings.ToUpper(sid)] = p
	}
	return out, err
}

// profileDir reads one profile's folder from its ProfileImagePath.
func profileDir(list *liveKey, sid, drive string) (string, error) {
	k, err := openKey(list.k, list.path, sid)
	if err != nil {
		return "", err
	}
	defer k.Close()
	v, err := readOne(k, "ProfileImagePath")
	if err != nil {
		return "", err
	}
	s, _ := v.String()
	if v.Type == TypeExpandSZ {
		if x, err := registry.ExpandString(s); err == nil {
			s = x
		}
	}
	return profileRelPath(s, drive)
}

func readOne(k *liveKey, name string) (Value, error) {
	v, _, err := readValue(k.k, name, make([]byte, 256))
	if errors.Is(err, registry.ErrNotExist) {
		return v, fmt.Errorf("value %s of %s: %w", name, k.path, ErrNotExist)
	}
	if err != nil {
		return v, fmt.Errorf("value %s of %s: %w", name, k.path, err)
	}
	return v, nil
}

// systemDrive is the drive Windows boots from, which the root passed to
// Live is.
func systemDrive() string {
	if d := os.Getenv("SystemDrive"); len(d) == 2 && d[1] == ':' {
		return d
	}
	return "C:"
}

func sortedProfiles(m map[string]profile) []profile {
	out := make([]profile, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].sid < out[j].sid })
	return out
}

// offlineUser opens a logged-off user's NTUSER.DAT. A profile whose
// folder or hive file is gone (a deleted account's leftover ProfileList
// entry) has no registry to read and yields a User with a nil Key and no
// error.
func (m *live) offlineUser(p profile) (User, error) {
	if p.err != nil {
		return User{}, fmt.Errorf("user %s: %w", p.sid, p.err)
	}
	hive := path.Join(p.dir, "NTUSER.DAT")
	k, err := openHiveFile(m.root, hive, `HKU\`+p.sid)
	if errors.Is(err, fs.ErrNotExist) {
		return User{}, nil
	}
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", p.sid, err)
	}
	return User{SID: p.sid, Profile: p.dir, Hive: hive, Key: k}, nil
}
