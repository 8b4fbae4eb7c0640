package winreg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
)

// Where an offline image keeps its machine hives and its profile list.
const (
	configDir = "Windows/System32/config"
)

// OpenImage returns the registry of the offline Windows image under root:
// the hive files in Windows/System32/config and each profile's
// NTUSER.DAT. It is safe for concurrent use: each machine hive is opened
// once and every caller gets its own root key.
func OpenImage(root fs.FS) Machine { return &image{root: root, hives: map[string]*openedHive{}} }

type image struct {
	root fs.FS

	mu       sync.Mutex
	hives    map[string]*openedHive
	files    []io.Closer
	warnings []string
	notes    []string // what was recovered, for tests and debugging
}

type openedHive struct {
	h    *hive
	root uint32
	err  error
}

// Hive opens Windows/System32/config/<name>; the machine hives are named
// in capitals, but an image copied by hand may differ in case.
func (m *image) Hive(ctx context.Context, name string) (Key, error) {
	name = strings.ToUpper(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.hives[name]
	if o == nil {
		o = &openedHive{}
		file := LookupFold(m.root, configDir+"/"+name)
		if file == "" {
			o.err = fmt.Errorf("%s/%s: %w", configDir, name, ErrNotExist)
		} else {
			o.h, o.root, o.err = m.open(file)
		}
		m.hives[name] = o
	}
	if o.err != nil {
		return nil, o.err
	}
	return &hiveKey{h: o.h, off: o.root, path: `HKLM\` + name}, nil
}

// open parses a hive file of the image; the file stays open until Close.
// A dirty hive is brought up to date from its transaction logs first.
// The caller holds m.mu.
func (m *image) open(file string) (*hive, uint32, error) {
	f, err := m.root.Open(file)
	if err != nil {
		return nil, 0, err
	}
	r, size, err := readerAt(f)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	m.files = append(m.files, f)
	h, root, err := openHive(r, size)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	if !h.dirty {
		return h, root, nil
	}
	recovered, err := m.recover(file, r, size)
	if err != nil {
		m.warnings = append(m.warnings, err.Error())
		return h, root, nil
	}
	if recovered == nil {
		return h, root, nil
	}
	h, root, err = openHive(bytes.NewReader(recovered), int64(len(recovered)))
	if err != nil {
		return nil, 0, fmt.Errorf("%s after applying its transaction logs: %w", file, err)
	}
	return h, root, nil
}

// maxRecoveredHive bounds a hive read into memory to apply its logs.
const maxRecoveredHive = 1 << 30

// recover applies the hive's .LOG1 and .LOG2 to a copy of it in memory.
// It returns nil when there is nothing to apply, and an error that says
// the hive may be behind when the logs cannot be applied.
func (m *image) recover(file string, r io.ReaderAt, size int64) ([]byte, error) {
	var logs [][]byte
	var names []string
	for _, ext := range []string{".LOG1", ".LOG2"} {
		name := LookupFold(m.root, file+ext)
		if name == "" {
			continue
		}
		b, err := fs.ReadFile(m.root, name)
		if err != nil || len(b) == 0 {
			continue
		}
		logs, names = append(logs, b), append(names, name)
	}
	if len(logs) == 0 {
		return nil, nil
	}
	behind := func(why error) error {
		return fmt.Errorf("%s was not written back cleanly (an image of a running system, or an unclean "+
			"shutdown) and its transaction logs (%s) could not be applied (%v): this hive may be behind",
			file, strings.Join(names, ", "), why)
	}
	if size > maxRecoveredHive {
		return nil, behind(fmt.Errorf("the hive is larger than %d bytes", maxRecoveredHive))
	}
	hive := make([]byte, size)
	if _, err := r.ReadAt(hive, 0); err != nil {
		return nil, behind(err)
	}
	out, n, err := applyLogs(hive, logs, maxRecoveredHive)
	if err != nil {
		return nil, behind(err)
	}
	if n == 0 {
		return nil, nil
	}
	m.notes = append(m.notes, fmt.Sprintf("%s: applied %d transaction log entries from %s", file, n, strings.Join(names, ", ")))
	return out, nil
}

// Warnings says what may make the image's registry incomplete.
func (m *image) Warnings() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.warnings...)
}

// Warner is a Machine that can say why what it read may be incomplete.
type Warner interface{ Warnings() []string }

// Users opens the NTUSER.DAT of every profile the SOFTWARE hive lists,
// and of every folder under Users that has one, so a profile missing from
// the list (a copied or half-deleted one) is still read.
func (m *image) Users(ctx context.Context) ([]User, error) {
	var errs []error
	users := m.listedProfiles(ctx, &errs)
	seen := map[string]bool{}
	for _, u := range users {
		seen[strings.ToLower(u.Profile)] = true
	}
	if dir := LookupFold(m.root, "Users"); dir != "" {
		entries, err := fs.ReadDir(m.root, dir)
		errs = append(errs, err)
		for _, e := range entries {
			p := path.Join(dir, e.Name())
			if e.IsDir() && !seen[strings.ToLower(p)] {
				users = append(users, User{Profile: p})
			}
		}
	}
	var out []User
	for _, u := range users {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		hive := LookupFold(m.root, u.Profile+"/NTUSER.DAT")
		if hive == "" {
			continue // a profile never logged on to, or a plain folder
		}
		u.Hive = hive
		name := u.SID
		if name == "" {
			name = hive
		}
		m.mu.Lock()
		h, root, err := m.open(hive)
		m.mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		u.Key = &hiveKey{h: h, off: root, path: `HKU\` + name}
		out = append(out, u)
	}
	return out, errors.Join(errs...)
}

// listedProfiles reads ProfileList: SID -> profile folder. The service
// accounts (S-1-5-18, -19, -20) are left out, as on a live machine.
func (m *image) listedProfiles(ctx context.Context, errs *[]error) []User {
	sw, err := m.Hive(ctx, "SOFTWARE")
	if err != nil {
		if !IsNotExist(err) {
			*errs = append(*errs, err)
		}
		return nil
	}
	list, err := sw.Open(profileListPath)
	if err != nil {
		if !IsNotExist(err) {
			*errs = append(*errs, err)
		}
		return nil
	}
	sids, err := list.Subkeys()
	*errs = append(*errs, err)
	var out []User
	for _, sid := range sids {
		if !isUserSID(sid) {
			continue
		}
		k, err := list.Open(sid)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		vals, err := ReadValues(k)
		*errs = append(*errs, err)
		if p := RootPath(vals.String("ProfileImagePath"), SystemDrive(sw)); p != "" {
			out = append(out, User{SID: sid, Profile: p})
		}
	}
	return out
}

func (m *image) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, f := range m.files {
		errs = append(errs, f.Close())
	}
	m.files = nil
	return errors.Join(errs...)
}

// SystemDrive is the drive Windows is installed on, from the SOFTWARE
// hive's SystemRoot ("C:\WINDOWS"); "C:" when it does not say.
func SystemDrive(software Key) string {
	k, err := software.Open(`Microsoft\Windows NT\CurrentVersion`)
	if err != nil {
		return "C:"
	}
	v, _ := ReadValues(k)
	if root := v.String("SystemRoot"); len(root) >= 2 && root[1] == ':' {
		return strings.ToUpper(root[:2])
	}
	return "C:"
}

// RootPath turns a Windows path on the system drive (drive, "C:") into a
// path relative to the scanned root: C:\Users\bob and
// %SystemDrive%\Users\bob become Users/bob; \SystemRoot\x and
// %SystemRoot%\x become Windows/x. Paths on other drives or shares give "".
func RootPath(p, drive string) string {
	p = strings.Trim(strings.TrimSpace(p), `"`)
	lower := strings.ToLower(p)
	for _, prefix := range []string{`\systemroot\`, `%systemroot%\`, `%windir%\`} {
		if strings.HasPrefix(lower, prefix) {
			return clean("Windows/" + p[len(prefix):])
		}
	}
	switch {
	case strings.HasPrefix(lower, `\??\`):
		return RootPath(p[4:], drive)
	case strings.HasPrefix(lower, `%systemdrive%\`):
		return clean(p[len(`%systemdrive%\`):])
	case len(p) >= 3 && p[1] == ':' && p[2] == '\\':
		if drive == "" {
			drive = "C:"
		}
		if !strings.EqualFold(p[:2], drive) {
			return ""
		}
		return clean(p[3:])
	case strings.HasPrefix(lower, `system32\`):
		// Driver image paths are often relative to the Windows folder.
		return clean("Windows/" + p)
	}
	return ""
}

func clean(p string) string {
	p = path.Clean(strings.ReplaceAll(p, `\`, "/"))
	if p == "." || strings.HasPrefix(p, "../") || p == ".." {
		return ""
	}
	return p
}

// LookupFold finds name in root, matching each element without regard to
// case when the exact spelling is absent (a Windows volume mounted on a
// case-sensitive system). It returns the spelling found, or "".
func LookupFold(root fs.FS, name string) string {
	if _, err := fs.Stat(root, name); err == nil {
		return name
	}
	return (&FoldLookup{Root: root}).Find(name)
}

// FoldLookup is LookupFold with the folders it lists remembered, for a
// detector that checks many paths under the same folders (every
// program's install location under Program Files). Not safe for
// concurrent use.
type FoldLookup struct {
	Root fs.FS
	dirs map[string][]fs.DirEntry
}

// Find is LookupFold, from the folders' listings alone.
func (l *FoldLookup) Find(name string) string {
	dir := "."
	for _, elem := range strings.Split(name, "/") {
		found := ""
		for _, e := range l.readDir(dir) {
			if strings.EqualFold(e.Name(), elem) {
				found = e.Name()
				break
			}
		}
		if found == "" {
			return ""
		}
		dir = path.Join(dir, found)
	}
	return dir
}

func (l *FoldLookup) readDir(dir string) []fs.DirEntry {
	if l.dirs == nil {
		l.dirs = map[string][]fs.DirEntry{}
	}
	entries, ok := l.dirs[dir]
	if !ok {
		entries, _ = fs.ReadDir(l.Root, dir)
		l.dirs[dir] = entries
	}
	return entries
}
