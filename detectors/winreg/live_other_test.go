//go:build !windows

package winreg

import (
	"strings"
	"testing"
)

func TestLiveOnlyOnWindows(t *testing.T) {
	m, err := Live(nil)
	if m != nil || err == nil || !strings.Contains(err.Error(), "only on Windows") {
		t.Errorf("Live = %v, %v; want an error saying the live registry is Windows-only", m, err)
	}
}
