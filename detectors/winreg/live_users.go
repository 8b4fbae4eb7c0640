package winreg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// This file holds the parts of the live registry's user discovery
// (live_windows.go) that need no Windows API, so they are tested on every
// OS.

// profileListPath is where Windows records every local profile, loaded
// or not, under the user's SID.
const profileListPath = `Microsoft\Windows NT\CurrentVersion\ProfileList`

// isUserSID says whether a key name under HKEY_USERS or ProfileList is a
// person's SID. The well-known service accounts (LocalSystem, LocalService,
// NetworkService) are not people, and ".DEFAULT", "SID_Classes" and the
// "SID.bak" copies Windows leaves after a profile repair are not SIDs.
func isUserSID(name string) bool {
	rest, ok := strings.CutPrefix(strings.ToUpper(name), "S-1-")
	if !ok || rest == "" {
		return false
	}
	switch rest {
	case "5-18", "5-19", "5-20":
		return false
	}
	for _, part := range strings.Split(rest, "-") {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return false
		}
	}
	return true
}

// profileRelPath turns a profile's ProfileImagePath (C:\Users\bob or
// %SystemDrive%\Users\bob) into a path relative to the system drive's root
// ("Users/bob"), which is what the scanned root fs.FS is. systemDrive is
// "C:"; a profile on another drive or a share is not under that root.
func profileRelPath(imagePath, systemDrive string) (string, error) {
	p := imagePath
	if len(p) >= len("%SystemDrive%") && strings.EqualFold(p[:len("%SystemDrive%")], "%SystemDrive%") {
		p = systemDrive + p[len("%SystemDrive%"):]
	}
	if strings.HasPrefix(p, `\\`) {
		return "", fmt.Errorf("profile %s is on a share, not the system drive", imagePath)
	}
	if len(p) >= 2 && p[1] == ':' {
		if !strings.EqualFold(p[:2], systemDrive) {
			return "", fmt.Errorf("profile %s is not on the system drive %s", imagePath, systemDrive)
		}
		p = p[2:]
	}
	p = path.Clean("/" + strings.ReplaceAll(p, `\`, "/"))[1:]
	if p == "" || !fs.ValidPath(p) || strings.Contains(p, "%") {
		return "", fmt.Errorf("profile path %q is not a folder on the system drive", imagePath)
	}
	return p, nil
}

// openHiveFile parses a hive file under root. The file stays open until
// the returned key is closed, since OpenHive reads it lazily.
func openHiveFile(root fs.FS, name, prefix string) (Key, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	r, size, err := readerAt(f)
	if err == nil {
		var k Key
		if k, err = OpenHive(r, size, prefix); err == nil {
			return &fileKey{Key: k, file: f}, nil
		}
	}
	f.Close()
	return nil, fmt.Errorf("hive %s: %w", name, err)
}

// readerAt gives random access to f: *os.File has it; any other fs.File
// is read into memory (an NTUSER.DAT is a few megabytes).
func readerAt(f fs.File) (io.ReaderAt, int64, error) {
	if ra, ok := f.(io.ReaderAt); ok {
		st, err := f.Stat()
		if err != nil {
			return nil, 0, err
		}
		return ra, st.Size(), nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, err
	}
	return bytes.NewReader(b), int64(len(b)), nil
}

// fileKey is a hive's root key that also closes the hive file.
type fileKey struct {
	Key
	file io.Closer
}

func (k *fileKey) Close() error {
	return errors.Join(k.Key.Close(), k.file.Close())
}
