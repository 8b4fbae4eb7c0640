package winreg

import (
	"errors"
	"io"
)

// OpenHive parses a registry hive file (regf). prefix is how Path shows
// the hive's root key ("HKLM\SOFTWARE").
func OpenHive(r io.ReaderAt, size int64, prefix string) (Key, error) {
	return nil, errors.New("not yet")
}
