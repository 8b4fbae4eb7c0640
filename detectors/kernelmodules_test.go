//go:build linux

package detectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// kmodProcModules is /proc/modules as a Debian 12 host with Kaspersky's
// on-access module shows it: "name size refcount deps state address", with
// taint flags after the address for out-of-tree modules (proc(5)).
const kmodProcModules = `kav4fs_oas 53248 0 - Live 0xffffffffc0b3e000 (OE)
ext4 1015808 1 - Live 0xffffffffc0a12000
crc16 12288 1 ext4, Live 0xffffffffc09f8000
mbcache 16384 1 ext4, Live 0xffffffffc09ee000
jbd2 196608 1 ext4, Live 0xffffffffc09b8000
nf_conntrack 176128 3 nf_nat,xt_conntrack,xt_MASQUERADE, Live 0xffffffffc0968000
klif 12288 0 - Loading 0x0000000000000000 (OE)
floppy 139264 0 - Unloading 0x0000000000000000
`

func kmodItem(name, state, usedBy string) Item {
	return Item{Kind: KindKernelModule, Name: name, Path: "/proc/modules", State: StateLoaded,
		Detail: fmt.Sprintf("loaded, state %s, used by %s", state, usedBy)}
}

var kmodProcModulesItems = []Item{
	kmodItem("kav4fs_oas", "Live", "-"),
	kmodItem("ext4", "Live", "-"),
	kmodItem("crc16", "Live", "ext4"),
	kmodItem("mbcache", "Live", "ext4"),
	kmodItem("jbd2", "Live", "ext4"),
	kmodItem("nf_conntrack", "Live", "nf_nat,xt_conntrack,xt_MASQUERADE"),
	kmodItem("klif", "Loading", "-"),
	kmodItem("floppy", "Unloading", "-"),
}

func TestParseProcModules(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		want      []Item
		wantLines []int // lines the *ParseError names; nil for no error
		wantMore  int
	}{
		{name: "a Debian host", text: kmodProcModules, want: kmodProcModulesItems},
		{name: "empty", text: "", want: nil},
		{name: "blank lines", text: "\n\next4 1015808 1 - Live 0xffffffffc0a12000\n\n", want: []Item{kmodItem("ext4", "Live", "-")}},
		{name: "no trailing newline", text: "ext4 1015808 1 - Live 0xffffffffc0a12000", want: []Item{kmodItem("ext4", "Live", "-")}},
		{name: "tabs and extra spaces", text: "ext4\t1015808  1 -   Live\t0xffffffffc0a12000\n", want: []Item{kmodItem("ext4", "Live", "-")}},
		{
			// The address is not needed: a line without it still names
			// a loaded module.
			name: "five fields",
			text: "ext4 1015808 1 - Live\n",
			want: []Item{kmodItem("ext4", "Live", "-")},
		},
		{
			name:      "malformed lines are reported, good lines kept",
			text:      "ext4 1015808 1 - Live 0xffffffffc0a12000\nkav4fs_oas 53248\n\njbd2 196608 1 ext4, Live 0xffffffffc09b8000\nLive\n",
			want:      []Item{kmodItem("ext4", "Live", "-"), kmodItem("jbd2", "Live", "ext4")},
			wantLines: []int{2, 5},
		},
		{
			name:      "a garbage file keeps a short list of problems",
			text:      strings.Repeat("garbage\n", 25),
			want:      nil,
			wantLines: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
			wantMore:  15,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := parseProcModules([]byte(tt.text))
			compareItems(t, items, tt.want)
			if tt.wantLines == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("err = %v (%T), want *ParseError", err, err)
			}
			if perr.File != "/proc/modules" {
				t.Errorf("File = %q, want /proc/modules", perr.File)
			}
			var lines []int
			for _, p := range perr.Problems {
				lines = append(lines, p.Line)
			}
			if fmt.Sprint(lines) != fmt.Sprint(tt.wantLines) || perr.More != tt.wantMore {
				t.Errorf("problems at lines %v (+%d more), want %v (+%d more): %v", lines, perr.More, tt.wantLines, tt.wantMore, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("/proc/modules: line %d: ", tt.wantLines[0])) {
				t.Errorf("error %q does not name the file and line", err)
			}
		})
	}
}

func TestDetectKernelModules(t *testing.T) {
	tests := []struct {
		name    string
		proc    fs.FS
		want    []Item
		wantErr string // substring; "" for no error
	}{
		{name: "modules", proc: fstest.MapFS{"modules": {Data: []byte(kmodProcModules)}}, want: kmodProcModulesItems},
		// A kernel without module support (this project's CI sandbox) or
		// gVisor has no /proc/modules: nothing can be loaded.
		{name: "no modules file", proc: fstest.MapFS{"cpuinfo": {Data: []byte("processor : 0\n")}}, want: nil},
		{name: "empty modules file", proc: fstest.MapFS{"modules": {Data: nil}}, want: nil},
		{
			name:    "malformed line",
			proc:    fstest.MapFS{"modules": {Data: []byte("ext4 1015808 1 - Live 0xffffffffc0a12000\nbroken\n")}},
			want:    []Item{kmodItem("ext4", "Live", "-")},
			wantErr: "/proc/modules: line 2: expected at least 5 fields, got 1",
		},
		{name: "unreadable", proc: fstest.MapFS{"modules/x": {Data: []byte("a directory")}}, want: nil, wantErr: "/proc/modules: "},
		{name: "no /proc", proc: nil, want: nil, wantErr: "no /proc to read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := detectKernelModules(context.Background(), &Env{Proc: tt.proc, Live: true})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			compareItems(t, items, tt.want)
		})
	}
}

// The running kernel's /proc/modules, when it has one.
func TestDetectKernelModulesLive(t *testing.T) {
	b, err := os.ReadFile("/proc/modules")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("/proc/modules does not exist: this kernel has no loadable module support (or a sandbox hides it)")
	}
	if err != nil {
		t.Skipf("cannot read /proc/modules here: %v", err)
	}
	items, err := detectKernelModules(context.Background(), &Env{Proc: os.DirFS("/proc"), Live: true})
	if err != nil {
		t.Fatalf("detectKernelModules: %v", err)
	}
	lines := 0
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines++
		}
	}
	// Modules may load or unload between the two reads; the counts only
	// have to be close, and every item must be well formed.
	if d := len(items) - lines; d < -5 || d > 5 {
		t.Errorf("%d items for %d lines", len(items), lines)
	}
	for _, it := range items {
		if it.Name == "" || it.Kind != KindKernelModule || it.State != StateLoaded || !strings.HasPrefix(it.Detail, "loaded, state ") {
			t.Errorf("malformed item %+v", it)
		}
	}
}
