package scan

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkOfflineWindowsScan scans an offline Windows image the size of
// a busy workstation: 1,500 installed programs in each registry view,
// 800 services and drivers, and 20 user profiles with 50 per-user
// programs each, with KES and the Network Agent among them. The hives are built with
// hivexregedit (Debian libwin-hivex-perl), which CI installs.
func BenchmarkOfflineWindowsScan(b *testing.B) {
	root := bigWindowsImage(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Run(ctx, Options{Root: root, AsOf: asOf})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Findings) != 5 || len(r.Errors) != 0 { // KES (product, cut-off, stale signatures) and the Network Agent
			b.Fatalf("unexpected report: %d findings, errors %v", len(r.Findings), r.Errors)
		}
	}
}

func bigWindowsImage(b *testing.B) string {
	if _, err := exec.LookPath("hivexregedit"); err != nil {
		b.Skip("hivexregedit not installed (Debian libwin-hivex-perl); .ci/run installs it")
	}
	root := copyTree(b, filepath.Join(windowsImages, "win11-kes"))
	const uninstall = `Microsoft\Windows\CurrentVersion\Uninstall`
	var sw, sys strings.Builder
	for _, view := range []string{"", `WOW6432Node\`} {
		fmt.Fprintf(&sw, "[HKEY_LOCAL_MACHINE\\SOFTWARE\\%s%s]\n\n", view, uninstall)
		for i := range 1500 {
			fmt.Fprintf(&sw, "[HKEY_LOCAL_MACHINE\\SOFTWARE\\%s%s\\{BENCH-%05d}]\n\"DisplayName\"=\"Bench App %d\"\n"+
				"\"Publisher\"=\"Bench Corp\"\n\"DisplayVersion\"=\"1.0.%d\"\n\"InstallLocation\"=\"C:\\\\Program Files\\\\Bench %d\\\\\"\n\n",
				view, uninstall, i, i, i, i)
		}
	}
	for i := range 800 {
		fmt.Fprintf(&sys, "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\bench%d]\n\"Type\"=dword:%08x\n\"Start\"=dword:00000003\n"+
			"\"ImagePath\"=\"system32\\\\drivers\\\\bench%d.sys\"\n\n", i, 1+(i%2)*0xf, i)
	}
	cfg := filepath.Join(root, "Windows", "System32", "config")
	merge(b, filepath.Join(cfg, "SOFTWARE"), `HKEY_LOCAL_MACHINE\SOFTWARE`, sw.String())
	merge(b, filepath.Join(cfg, "SYSTEM"), `HKEY_LOCAL_MACHINE\SYSTEM`, sys.String())
	empty := filepath.Join("..", "detectors", "testdata", "windows", "empty.hive")
	for u := range 20 {
		var user strings.Builder
		fmt.Fprintf(&user, "[HKEY_CURRENT_USER\\Software]\n\n[HKEY_CURRENT_USER\\Software\\Microsoft]\n\n"+
			"[HKEY_CURRENT_USER\\Software\\Microsoft\\Windows]\n\n[HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion]\n\n"+
			"[HKEY_CURRENT_USER\\Software\\%s]\n\n", uninstall)
		for i := range 50 {
			fmt.Fprintf(&user, "[HKEY_CURRENT_USER\\Software\\%s\\UserApp%d]\n\"DisplayName\"=\"User App %d\"\n\n", uninstall, i, i)
		}
		hive := filepath.Join(root, "Users", fmt.Sprintf("user%02d", u), "NTUSER.DAT")
		if err := os.MkdirAll(filepath.Dir(hive), 0o755); err != nil {
			b.Fatal(err)
		}
		data, err := os.ReadFile(empty)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(hive, data, 0o644); err != nil {
			b.Fatal(err)
		}
		merge(b, hive, "HKEY_CURRENT_USER", user.String())
	}
	return root
}

func merge(b *testing.B, hive, prefix, reg string) {
	file := filepath.Join(b.TempDir(), "x.reg")
	if err := os.WriteFile(file, []byte("Windows Registry Editor Version 5.00\n\n"+reg), 0o644); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("hivexregedit", "--merge", "--prefix", prefix, hive, file).CombinedOutput(); err != nil {
		b.Fatalf("hivexregedit: %v\n%s", err, out)
	}
}
