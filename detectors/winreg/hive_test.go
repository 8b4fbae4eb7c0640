package winreg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

const images = "../testdata/windows/images"

func openFixture(t *testing.T, rel, prefix string) Key {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(images, rel))
	if err != nil {
		t.Fatal(err)
	}
	k, err := OpenHive(bytes.NewReader(b), int64(len(b)), prefix)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return k
}

func TestHiveValues(t *testing.T) {
	tests := []struct {
		hive, key, value string
		want             string
	}{
		{"win10-kts-ru/Windows/System32/config/SOFTWARE",
			`wow6432node\Microsoft\Windows\CurrentVersion\Uninstall\InstallWIX_{4A0E0F4C-E3E7-4C7A-9C8E-5A1F0B2C3D21}`,
			"Publisher", "АО «Лаборатория Касперского»"},
		{"win10-kts-ru/Windows/System32/config/SYSTEM", `ControlSet001\Control\ComputerName\ComputerName`,
			"ComputerName", "ДОМАШНИЙ-ПК"},
		{"win11-kes/Windows/System32/config/SYSTEM", `Select`, "Current", "1"},
		{"win11-kes/Windows/System32/config/SYSTEM", `ControlSet001\Services\klif`,
			"ImagePath", `\SystemRoot\System32\DRIVERS\klif.KES-12-6.sys`},
		{"win11-kes/Windows/System32/config/SOFTWARE",
			`WOW6432Node\KasperskyLab\Components\34\1103\1.0.0.0\Statistics\AVState`,
			"Protection_BasesDate", "27-09-2024 04-11-00"},
		{"win11-kes/Windows/System32/config/SOFTWARE",
			`WOW6432Node\KasperskyLab\protected\KES.12.6.0\Data`, "LastSuccessfulUpdate", "1727410260"},
		{"win11-kes/Users/alice/NTUSER.DAT", `Software\Microsoft\Windows\CurrentVersion\Uninstall\ZoomUMX`,
			"DisplayName", "Zoom Workplace"},
	}
	for _, tt := range tests {
		t.Run(tt.hive+"/"+tt.value, func(t *testing.T) {
			root := openFixture(t, tt.hive, "HKLM")
			k, err := root.Open(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			vals, err := ReadValues(k)
			if err != nil {
				t.Fatal(err)
			}
			if got := vals.String(tt.value); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.value, got, tt.want)
			}
			if want := "HKLM\\" + tt.key; !strings.EqualFold(k.Path(), want) {
				t.Errorf("Path = %q, want %q", k.Path(), want)
			}
		})
	}
}

func TestHiveMissingKey(t *testing.T) {
	root := openFixture(t, "win11-clean/Windows/System32/config/SOFTWARE", `HKLM\SOFTWARE`)
	_, err := root.Open(`WOW6432Node\KasperskyLab`)
	if !IsNotExist(err) {
		t.Fatalf("err = %v, want not-exist", err)
	}
	if !strings.Contains(err.Error(), `HKLM\SOFTWARE\WOW6432Node\KasperskyLab`) &&
		!strings.Contains(err.Error(), `HKLM\SOFTWARE\WOW6432Node`) {
		t.Errorf("error %q does not name the key", err)
	}
}

// dump renders every key and value below k as sorted lines, the way
// hivexregedit --export does, for comparison with it.
func dump(t *testing.T, k Key, rel string, out *[]string) {
	*out = append(*out, "["+rel+"]")
	vals, err := k.Values()
	if err != nil {
		t.Fatalf("%s: %v", k.Path(), err)
	}
	for _, v := range vals {
		*out = append(*out, fmt.Sprintf("[%s] %q type %d % x", rel, v.Name, v.Type, v.Data))
	}
	subs, err := k.Subkeys()
	if err != nil {
		t.Fatalf("%s: %v", k.Path(), err)
	}
	for _, s := range subs {
		c, err := k.Open(s)
		if err != nil {
			t.Fatalf("%s: %v", k.Path(), err)
		}
		dump(t, c, rel+`\`+s, out)
	}
}

// TestHiveAgreesWithHivex reads every fixture hive with this package and
// with hivex, an independent implementation, and compares all keys and
// values.
func TestHiveAgreesWithHivex(t *testing.T) {
	if _, err := exec.LookPath("hivexregedit"); err != nil {
		t.Skip("hivexregedit not installed (Debian libwin-hivex-perl); .ci/run installs it")
	}
	hives, _ := filepath.Glob(filepath.Join(images, "*", "Windows", "System32", "config", "*"))
	users, _ := filepath.Glob(filepath.Join(images, "*", "Users", "*", "NTUSER.DAT"))
	hives = append(hives, users...)
	if len(hives) < 10 {
		t.Fatalf("found %d fixture hives", len(hives))
	}
	for _, h := range hives {
		rel, _ := filepath.Rel(images, h)
		t.Run(rel, func(t *testing.T) {
			var ours []string
			dump(t, openFixture(t, rel, ""), "", &ours)
			out, err := exec.Command("hivexregedit", "--export", h, `\`).Output()
			if err != nil {
				t.Fatal(err)
			}
			theirs := parseExport(t, string(out))
			slices.Sort(ours)
			slices.Sort(theirs)
			if !slices.Equal(ours, theirs) {
				t.Errorf("differs from hivex:\nours:   %q\nhivex:  %q", ours, theirs)
			}
		})
	}
}

// parseExport turns hivexregedit --export text into dump's lines.
func parseExport(t *testing.T, text string) []string {
	var out []string
	var key string
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			key = strings.TrimSuffix(strings.TrimPrefix(line[1:len(line)-1], `\`), `\`)
			if key != "" {
				key = `\` + key
			}
			out = append(out, "["+key+"]")
		case strings.HasPrefix(line, `"`) || strings.HasPrefix(line, "@"):
			out = append(out, exportValue(t, key, line))
		}
	}
	return out
}

func exportValue(t *testing.T, key, line string) string {
	var name, rest string
	if strings.HasPrefix(line, "@=") {
		rest = line[2:]
	} else {
		end := strings.Index(line, `"=`)
		name, rest = strings.ReplaceAll(line[1:end], `\\`, `\`), line[end+2:]
	}
	var typ uint32
	var data []byte
	switch {
	case strings.HasPrefix(rest, "dword:"):
		var n uint32
		fmt.Sscanf(rest, "dword:%x", &n)
		typ, data = TypeDWORD, binary.LittleEndian.AppendUint32(nil, n)
	case strings.HasPrefix(rest, "hex("):
		close := strings.Index(rest, "):")
		fmt.Sscanf(rest[4:close], "%x", &typ)
		data = parseHex(rest[close+2:])
	case strings.HasPrefix(rest, "hex:"):
		typ, data = TypeBinary, parseHex(rest[4:])
	case strings.HasPrefix(rest, `"`):
		s := strings.ReplaceAll(strings.Trim(rest, `"`), `\\`, `\`)
		typ = TypeSZ
		for _, u := range utf16.Encode([]rune(s + "\x00")) {
			data = binary.LittleEndian.AppendUint16(data, u)
		}
	default:
		t.Fatalf("cannot parse hivex line %q", line)
	}
	return fmt.Sprintf("[%s] %q type %d % x", key, name, typ, data)
}

func parseHex(s string) []byte {
	var b []byte
	for _, h := range strings.Split(s, ",") {
		var n byte
		if _, err := fmt.Sscanf(strings.TrimSpace(h), "%x", &n); err == nil {
			b = append(b, n)
		}
	}
	return b
}

// hiveBuilder writes small hives cell by cell, to make corruptions that
// a tool would refuse to write.
type hiveBuilder struct{ bins []byte }

// add appends a cell and returns its offset.
func (b *hiveBuilder) add(payload []byte) uint32 {
	off := uint32(len(b.bins))
	size := (len(payload) + 4 + 7) &^ 7
	b.bins = binary.LittleEndian.AppendUint32(b.bins, uint32(-int32(size)))
	b.bins = append(b.bins, payload...)
	b.bins = append(b.bins, make([]byte, size-4-len(payload))...)
	return off
}

func nk(name string, subCount, subList, valCount, valList uint32) []byte {
	p := make([]byte, 76)
	copy(p, "nk")
	binary.LittleEndian.PutUint16(p[2:], flagCompName)
	binary.LittleEndian.PutUint32(p[20:], subCount)
	binary.LittleEndian.PutUint32(p[28:], subList)
	binary.LittleEndian.PutUint32(p[36:], valCount)
	binary.LittleEndian.PutUint32(p[40:], valList)
	binary.LittleEndian.PutUint16(p[72:], uint16(len(name)))
	return append(p, name...)
}

func list(sig string, offs ...uint32) []byte {
	p := append([]byte(sig), 0, 0)
	binary.LittleEndian.PutUint16(p[2:], uint16(len(offs)))
	for _, o := range offs {
		p = binary.LittleEndian.AppendUint32(p, o)
	}
	return p
}

func vk(name string, typ, size, dataOff uint32) []byte {
	p := make([]byte, 20)
	copy(p, "vk")
	binary.LittleEndian.PutUint16(p[2:], uint16(len(name)))
	binary.LittleEndian.PutUint32(p[4:], size)
	binary.LittleEndian.PutUint32(p[8:], dataOff)
	binary.LittleEndian.PutUint32(p[12:], typ)
	binary.LittleEndian.PutUint16(p[16:], flagValueCompName)
	return append(p, name...)
}

// file returns the hive with root at the given cell.
func (b *hiveBuilder) file(root uint32) []byte {
	bins := append([]byte("hbin\x00\x00\x00\x00"), make([]byte, 24)...)
	// Cells start after the bin header; offsets given by add are
	// relative to it, so shift them by rebuilding with a 32-byte header.
	bins = append(bins, b.bins...)
	for len(bins)%4096 != 0 {
		bins = append(bins, 0)
	}
	binary.LittleEndian.PutUint32(bins[8:], uint32(len(bins)))
	hdr := make([]byte, baseBlockSize)
	copy(hdr, "regf")
	binary.LittleEndian.PutUint32(hdr[4:], 1)
	binary.LittleEndian.PutUint32(hdr[8:], 1)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	binary.LittleEndian.PutUint32(hdr[24:], 5)
	binary.LittleEndian.PutUint32(hdr[36:], root+32)
	binary.LittleEndian.PutUint32(hdr[40:], uint32(len(bins)))
	return append(hdr, bins...)
}

// at converts a builder offset to a hive offset (past the bin header).
func at(off uint32) uint32 { return off + 32 }

func TestHiveCorrupt(t *testing.T) {
	tests := []struct {
		name    string
		build   func(b *hiveBuilder) uint32
		key     string // key to open below the root
		wantErr string
	}{
		{"ri list that names itself", func(b *hiveBuilder) uint32 {
			ri := uint32(len(b.bins))
			b.add(list("ri", at(ri)))
			return b.add(nk("ROOT", 1, at(ri), 0, 0xFFFFFFFF))
		}, "A", "not a subkey index"},
		{"subkey offset outside the file", func(b *hiveBuilder) uint32 {
			li := b.add(list("li", 0x7FFFFFF8))
			return b.add(nk("ROOT", 1, at(li), 0, 0xFFFFFFFF))
		}, "A", "outside the hive"},
		{"index count beyond its cell", func(b *hiveBuilder) uint32 {
			p := list("lh", 0)
			binary.LittleEndian.PutUint16(p[2:], 60000)
			li := b.add(p)
			return b.add(nk("ROOT", 60000, at(li), 0, 0xFFFFFFFF))
		}, "A", "run past its cell"},
		{"key name longer than its cell", func(b *hiveBuilder) uint32 {
			p := nk("A", 0, 0xFFFFFFFF, 0, 0xFFFFFFFF)
			binary.LittleEndian.PutUint16(p[72:], 5000)
			child := b.add(p)
			li := b.add(list("li", at(child)))
			return b.add(nk("ROOT", 1, at(li), 0, 0xFFFFFFFF))
		}, "A", "name runs past its cell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b hiveBuilder
			file := b.file(tt.build(&b))
			k, err := OpenHive(bytes.NewReader(file), int64(len(file)), `HKLM\TEST`)
			if err != nil {
				t.Fatal(err)
			}
			_, err = k.Open(tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `HKLM\TEST`) {
				t.Fatalf("err = %v, want one naming HKLM\\TEST and saying %q", err, tt.wantErr)
			}
			if IsNotExist(err) {
				t.Errorf("corruption reported as a missing key: %v", err)
			}
		})
	}
}

func TestHiveValueCorrupt(t *testing.T) {
	tests := []struct {
		name    string
		value   func(b *hiveBuilder) []byte
		wantErr string
	}{
		{"data size beyond the limit", func(b *hiveBuilder) []byte {
			return vk("V", TypeBinary, 0x7FFFFFF0, 0)
		}, "more than the"},
		{"data larger than its cell", func(b *hiveBuilder) []byte {
			d := b.add([]byte("abcd"))
			return vk("V", TypeBinary, 4000, at(d))
		}, "runs past its cell"},
		{"big data with missing segments", func(b *hiveBuilder) []byte {
			seg := b.add(make([]byte, 100))
			segs := b.add(binary.LittleEndian.AppendUint32(nil, at(seg)))
			db := b.add([]byte{'d', 'b', 2, 0, 0, 0, 0, 0})
			binary.LittleEndian.PutUint32(b.bins[db+4+4:], at(segs))
			return vk("V", TypeBinary, 40000, at(db))
		}, "runs past its cell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b hiveBuilder
			v := b.add(tt.value(&b))
			vl := b.add(binary.LittleEndian.AppendUint32(nil, at(v)))
			file := b.file(b.add(nk("ROOT", 0, 0xFFFFFFFF, 1, at(vl))))
			k, err := OpenHive(bytes.NewReader(file), int64(len(file)), `HKLM\TEST`)
			if err != nil {
				t.Fatal(err)
			}
			_, err = k.Values()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestHiveBigData(t *testing.T) {
	var b hiveBuilder
	want := bytes.Repeat([]byte("0123456789abcdef"), 2000) // 32000 bytes: two segments
	s1 := b.add(want[:bigDataSegment])
	s2 := b.add(want[bigDataSegment:])
	segs := b.add(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, at(s1)), at(s2)))
	db := b.add(binary.LittleEndian.AppendUint32([]byte{'d', 'b', 2, 0}, at(segs)))
	v := b.add(vk("Big", TypeBinary, uint32(len(want)), at(db)))
	inline := b.add(vk("Small", TypeDWORD, 0x80000004, 0x2A))
	vl := b.add(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, at(v)), at(inline)))
	file := b.file(b.add(nk("ROOT", 0, 0xFFFFFFFF, 2, at(vl))))
	k, err := OpenHive(bytes.NewReader(file), int64(len(file)), `HKLM\TEST`)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := ReadValues(k)
	if err != nil {
		t.Fatal(err)
	}
	if got := vals["big"].Data; !bytes.Equal(got, want) {
		t.Errorf("big value: %d bytes, want %d", len(got), len(want))
	}
	if n, ok := vals.Uint("small"); !ok || n != 42 {
		t.Errorf("inline DWORD = %d, %v; want 42", n, ok)
	}
}

func TestOpenHiveRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(images, "win11-clean/Windows/System32/config/SYSTEM"))
	if err != nil {
		t.Fatal(err)
	}
	badVersion := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(badVersion[20:], 7)
	badRoot := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(badRoot[36:], 0x100000)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a registry hive"},
		{"text", []byte("Windows Registry Editor Version 5.00\r\n"), "not a registry hive"},
		{"header only", good[:baseBlockSize], "root key"},
		{"version 7", badVersion, "unsupported hive format version 7"},
		{"root outside", badRoot, "root key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenHive(bytes.NewReader(tt.data), int64(len(tt.data)), "X")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if tt.want == "not a registry hive" && !errors.Is(err, ErrNotHive) {
				t.Errorf("err = %v, want ErrNotHive", err)
			}
		})
	}
}
