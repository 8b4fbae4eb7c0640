// Package winreg reads a Windows registry through one small interface:
// the running machine's through the Windows API (live_windows.go), and an
// offline image's from its hive files (image.go, hive.go), so the Windows
// detectors have one logic for both and give the same findings.
//
// Keys are opened by backslash-separated paths, compared without regard
// to case as Windows does. WOW6432Node is an ordinary path element: the
// live implementation opens keys in the 64-bit view, where the 32-bit
// view is visible under that name, exactly as it is stored in the
// SOFTWARE hive file.
package winreg

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"strings"
	"unicode/utf16"
)

// Value types, as winnt.h numbers them.
const (
	TypeNone     uint32 = 0
	TypeSZ       uint32 = 1
	TypeExpandSZ uint32 = 2
	TypeBinary   uint32 = 3
	TypeDWORD    uint32 = 4
	TypeDWORDBE  uint32 = 5
	TypeLink     uint32 = 6
	TypeMultiSZ  uint32 = 7
	TypeQWORD    uint32 = 11
)

// ErrNotExist is returned (wrapped) for a key or value that is absent.
var ErrNotExist = fs.ErrNotExist

// Key is an open registry key. Implementations need not be safe for
// concurrent use.
type Key interface {
	// Path names the key as a person would: HKLM\SOFTWARE\KasperskyLab,
	// HKU\S-1-5-21-…\Software\….
	Path() string
	// Open opens a descendant by a relative path ("A\B\C"). A missing key
	// gives an error wrapping ErrNotExist.
	Open(path string) (Key, error)
	// Subkeys lists the names of the direct subkeys.
	Subkeys() ([]string, error)
	// Values returns the key's values with their raw data.
	Values() ([]Value, error)
	Close() error
}

// Value is one registry value as stored.
type Value struct {
	Name string
	Type uint32
	Data []byte
}

// String decodes a REG_SZ, REG_EXPAND_SZ or REG_MULTI_SZ (its strings
// joined by "; ") value. Numbers are formatted in decimal, so a version
// stored as a DWORD still reads.
func (v Value) String() (string, bool) {
	switch v.Type {
	case TypeSZ, TypeExpandSZ, TypeLink:
		return decodeUTF16(v.Data), true
	case TypeMultiSZ:
		return strings.Join(v.Strings(), "; "), true
	case TypeDWORD, TypeDWORDBE, TypeQWORD:
		if n, ok := v.Uint(); ok {
			return formatUint(n), true
		}
	}
	return "", false
}

// Strings decodes a REG_MULTI_SZ value.
func (v Value) Strings() []string {
	var out []string
	for _, s := range strings.Split(decodeUTF16Raw(v.Data), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Uint decodes a REG_DWORD, REG_DWORD_BIG_ENDIAN or REG_QWORD value.
func (v Value) Uint() (uint64, bool) {
	switch {
	case v.Type == TypeDWORD && len(v.Data) == 4:
		return uint64(binary.LittleEndian.Uint32(v.Data)), true
	case v.Type == TypeDWORDBE && len(v.Data) == 4:
		return uint64(binary.BigEndian.Uint32(v.Data)), true
	case v.Type == TypeQWORD && len(v.Data) == 8:
		return binary.LittleEndian.Uint64(v.Data), true
	}
	return 0, false
}

func formatUint(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// decodeUTF16 decodes UTF-16LE up to the first NUL.
func decodeUTF16(b []byte) string {
	s := decodeUTF16Raw(b)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s
}

func decodeUTF16Raw(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// Values is a key's values by name, looked up without regard to case.
type Values map[string]Value

// ReadValues reads a key's values into a map keyed by lower-case name.
func ReadValues(k Key) (Values, error) {
	vs, err := k.Values()
	m := make(Values, len(vs))
	for _, v := range vs {
		m[strings.ToLower(v.Name)] = v
	}
	return m, err
}

// String returns the named value as a string, "" if absent.
func (m Values) String(name string) string {
	s, _ := m[strings.ToLower(name)].String()
	return s
}

// Uint returns the named value as a number.
func (m Values) Uint(name string) (uint64, bool) {
	return m[strings.ToLower(name)].Uint()
}

// Has says whether the value is present.
func (m Values) Has(name string) bool {
	_, ok := m[strings.ToLower(name)]
	return ok
}

// User is one user's registry (HKEY_USERS\SID), whether the user is
// logged on (live, a loaded hive) or not (the NTUSER.DAT file).
type User struct {
	// SID is the user's security identifier, when known.
	SID string
	// Profile is the profile folder relative to the scanned root
	// ("Users/alice"), when known.
	Profile string
	// Hive is the NTUSER.DAT read, relative to the root; empty for a
	// loaded hive read through the Windows API.
	Hive string
	Key  Key
}

// Machine is one Windows machine's registry.
type Machine interface {
	// Hive opens the root of a machine hive: "SOFTWARE" or "SYSTEM".
	Hive(ctx context.Context, name string) (Key, error)
	// Users opens every user's hive: loaded ones and, for users who are
	// not logged on, their NTUSER.DAT. Hives that cannot be read are
	// reported in the error; the others are still returned. The caller
	// closes each User.Key.
	Users(ctx context.Context) ([]User, error)
	Close() error
}

// IsNotExist says whether err means a key or value is absent.
func IsNotExist(err error) bool { return errors.Is(err, ErrNotExist) }

// Join joins key path elements with backslashes.
func Join(elem ...string) string {
	var parts []string
	for _, e := range elem {
		if e = strings.Trim(e, `\`); e != "" {
			parts = append(parts, e)
		}
	}
	return strings.Join(parts, `\`)
}
