//go:build linux

package detectors

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestSystemdAgreesWithSystemctl checks the detector against the real
// service manager: `systemctl --root DIR is-enabled UNIT` reads the same
// tree offline. Where systemctl is not installed the test skips.
func TestSystemdAgreesWithSystemctl(t *testing.T) {
	systemctl, err := exec.LookPath("systemctl")
	if err != nil {
		t.Skip("systemctl not installed (Debian package systemd):", err)
	}
	tree := diskTree{
		links: map[string]string{
			"lib": "usr/lib",
			"etc/systemd/system/multi-user.target.wants/kesl.service":         "/lib/systemd/system/kesl.service",
			"etc/systemd/system/multi-user.target.wants/e2scrub_reap.service": "/lib/systemd/system/e2scrub_reap.service",
			"etc/systemd/system/getty.target.wants/getty@tty1.service":        "/lib/systemd/system/getty@.service",
			"etc/systemd/system/fstrim.service":                               "/dev/null",
		},
		copies: map[string]string{
			"usr/lib/systemd/system/kesl.service":         "testdata/systemd/kesl.service",
			"usr/lib/systemd/system/e2scrub_reap.service": "testdata/systemd/e2scrub_reap.service",
			"usr/lib/systemd/system/getty@.service":       "testdata/systemd/getty@.service",
			"usr/lib/systemd/system/fstrim.service":       "testdata/systemd/fstrim.service",
			"usr/lib/systemd/system/dbus.service":         "testdata/systemd/dbus.service",
			"usr/lib/systemd/system/man-db.service":       "testdata/systemd/man-db.service",
			"usr/lib/systemd/system/postgresql@.service":  "testdata/systemd/postgresql@.service",
		},
	}
	dir, root := tree.build(t)
	items, err := detectSystemd(context.Background(), &Env{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 7 {
		t.Fatalf("%d units, want 7: %+v", len(items), items)
	}
	for _, it := range items {
		out, _ := exec.Command(systemctl, "--root="+dir, "is-enabled", it.Name).Output()
		verdict := strings.TrimSpace(string(out))
		var want State
		switch verdict {
		case "enabled", "enabled-runtime":
			want = StateEnabled
		case "masked", "masked-runtime":
			want = StateMasked
		case "disabled", "static", "indirect":
			want = StateDisabled
		default:
			t.Errorf("%s: systemctl says %q", it.Name, verdict)
			continue
		}
		if it.State != want {
			t.Errorf("%s: detector says %s, systemctl says %s", it.Name, it.State, verdict)
		}
	}
}
