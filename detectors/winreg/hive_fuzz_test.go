package winreg

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzHive feeds arbitrary bytes to the hive reader and walks whatever it
// accepts. It must return errors, never panic or run away: every
// offset is checked, so the work is bounded by the input's size.
func FuzzHive(f *testing.F) {
	for _, rel := range []string{
		"win11-kes/Users/alice/NTUSER.DAT",
		"win10-kts-ru/Users/ivan/NTUSER.DAT",
	} {
		b, err := os.ReadFile(filepath.Join(images, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := OpenHive(bytes.NewReader(data), int64(len(data)), "HKU")
		if err != nil {
			return
		}
		budget := 300
		walk(k, 0, &budget)
	})
}

// walk visits keys to a bounded depth and count, as the detectors do; a
// hive whose keys point back at their parents must not loop.
func walk(k Key, depth int, budget *int) {
	if depth > 5 || *budget <= 0 {
		return
	}
	*budget--
	vals, _ := k.Values()
	for _, v := range vals {
		v.String()
		v.Strings()
	}
	names, _ := k.Subkeys()
	for _, n := range names {
		if c, err := k.Open(n); err == nil {
			walk(c, depth+1, budget)
		}
	}
}
