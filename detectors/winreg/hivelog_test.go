package winreg

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf16"
)

func TestMarvin32(t *testing.T) {
	// Vectors of .NET's Marvin tests, and, for the registry's seed, of
	// the 32-bit fold (low ^ high) another implementation publishes.
	const seed1, seed2, seed3 = 0x004FB61A001BDBCC, 0x804FB61A001BDBCC, 0x804FB61A801BDBCC
	tests := []struct {
		seed uint64
		data string
		want uint64
	}{
		{seed1, "e70f", 0xB5F6E1FC485DBFF8},
		{seed1, "37f495", 0xF0B07C789B8CF7E8},
		{seed1, "8642dc59", 0x7008F2E87E9CF556},
		{seed1, "153fb79826", 0xE6C08C6DA2AFA997},
		{seed1, "0932e6246c47", 0x6F04BF1A5EA24060},
		{seed1, "ab427ea8d10fc7", 0xE11847E4F0678C41},
		{seed2, "", 0x10A9D5D3996FD65D},
		{seed3, "00", 0xA37FB0DA2ECAE06C},
		{seed3, "ff00ff00ff00ff", 0xFDFD187B1D3CE784},
	}
	for _, tt := range tests {
		data, _ := hex.DecodeString(tt.data)
		if got := marvin32(tt.seed, data); got != tt.want {
			t.Errorf("marvin32(%#x, %s) = %#x, want %#x", tt.seed, tt.data, got, tt.want)
		}
	}
	for data, want := range map[string]uint32{"": 0xb00892ac, "h": 0xf41a608e, "he": 0x11107c6b} {
		h := marvin32(marvinSeed, []byte(data))
		if got := uint32(h) ^ uint32(h>>32); got != want {
			t.Errorf("folded marvin32(registry seed, %q) = %#x, want %#x", data, got, want)
		}
	}
}

// makeLog writes a new-format transaction log holding the given entries,
// with correct hashes.
func makeLog(entries ...logEntry) []byte {
	log := make([]byte, logEntryAlign)
	copy(log, "regf")
	binary.LittleEndian.PutUint32(log[28:], fileTypeLogNew)
	for _, e := range entries {
		body := []byte{}
		for _, p := range e.pages {
			body = binary.LittleEndian.AppendUint32(body, p.offset)
			body = binary.LittleEndian.AppendUint32(body, uint32(len(p.data)))
		}
		for _, p := range e.pages {
			body = append(body, p.data...)
		}
		size := (logHeaderSize + len(body) + logEntryAlign - 1) / logEntryAlign * logEntryAlign
		entry := make([]byte, size)
		copy(entry, "HvLE")
		binary.LittleEndian.PutUint32(entry[4:], uint32(size))
		binary.LittleEndian.PutUint32(entry[12:], e.seq)
		binary.LittleEndian.PutUint32(entry[16:], e.binsSize)
		binary.LittleEndian.PutUint32(entry[20:], uint32(len(e.pages)))
		copy(entry[logHeaderSize:], body)
		binary.LittleEndian.PutUint64(entry[24:], marvin32(marvinSeed, entry[logHeaderSize:]))
		binary.LittleEndian.PutUint64(entry[32:], marvin32(marvinSeed, entry[:32]))
		log = append(log, entry...)
	}
	return log
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// dirtyFixture returns the Network Agent server's SOFTWARE hive as a
// dirty hive at sequence seq, and log entries that change the agent's
// version from 13.2.0.1511 to newVersion (same length).
func dirtyFixture(t *testing.T, seq uint32, newVersion string) ([]byte, logEntry) {
	t.Helper()
	hive, err := os.ReadFile(filepath.Join(images, "winsrv-nagent/Windows/System32/config/SOFTWARE"))
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(hive, utf16le("13.2.0.1511"), utf16le(newVersion), 1)
	i := bytes.Index(changed, utf16le(newVersion))
	if i < baseBlockSize {
		t.Fatal("version not found in the hive bins")
	}
	page := (i - baseBlockSize) / logEntryAlign * logEntryAlign
	e := logEntry{seq: seq, binsSize: binary.LittleEndian.Uint32(hive[40:]), pages: []logPage{{
		offset: uint32(page), data: changed[baseBlockSize+page : baseBlockSize+page+logEntryAlign],
	}}}
	binary.LittleEndian.PutUint32(hive[4:], seq)   // primary: the write began
	binary.LittleEndian.PutUint32(hive[8:], seq-1) // secondary: never finished
	binary.LittleEndian.PutUint32(hive[508:], headerChecksum(hive))
	return hive, e
}

func nagentVersion(t *testing.T, m Machine) string {
	t.Helper()
	sw, err := m.Hive(context.Background(), "SOFTWARE")
	if err != nil {
		t.Fatal(err)
	}
	k, err := sw.Open(`WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{BCF4CF24-88AB-45E1-A6E6-40C8278A70C5}`)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ReadValues(k)
	if err != nil {
		t.Fatal(err)
	}
	return v.String("DisplayVersion")
}

func TestImageAppliesTransactionLogs(t *testing.T) {
	const cfg = "Windows/System32/config/"
	tests := []struct {
		name        string
		logs        func(e logEntry) map[string][]byte
		wantVersion string
		wantWarning string
	}{
		{"entry in LOG1", func(e logEntry) map[string][]byte {
			return map[string][]byte{"SOFTWARE.LOG1": makeLog(e)}
		}, "13.2.0.9999", ""},
		{"stale entry before the newer one, across both logs", func(e logEntry) map[string][]byte {
			stale := e
			stale.seq = e.seq - 5
			stale.pages = []logPage{{offset: e.pages[0].offset, data: bytes.Repeat([]byte{0xEE}, logEntryAlign)}}
			return map[string][]byte{"SOFTWARE.LOG1": makeLog(e), "SOFTWARE.LOG2": makeLog(stale)}
		}, "13.2.0.9999", ""},
		{"entry whose hash is wrong", func(e logEntry) map[string][]byte {
			log := makeLog(e)
			log[logEntryAlign+logHeaderSize+20] ^= 1
			return map[string][]byte{"SOFTWARE.LOG1": log}
		}, "13.2.0.1511", ""},
		{"old-format log", func(e logEntry) map[string][]byte {
			log := makeLog(e)
			binary.LittleEndian.PutUint32(log[28:], 1)
			return map[string][]byte{"SOFTWARE.LOG1": log}
		}, "13.2.0.1511", "could not be applied (transaction log of type 1"},
		{"entry that would grow the hive past the limit", func(e logEntry) map[string][]byte {
			e.binsSize = maxRecoveredHive
			return map[string][]byte{"SOFTWARE.LOG1": makeLog(e)}
		}, "13.2.0.1511", "more than allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hive, e := dirtyFixture(t, 40, "13.2.0.9999")
			root := fstest.MapFS{cfg + "SOFTWARE": {Data: hive}}
			for name, data := range tt.logs(e) {
				root[cfg+name] = &fstest.MapFile{Data: data}
			}
			m := OpenImage(root)
			defer m.Close()
			if got := nagentVersion(t, m); got != tt.wantVersion {
				t.Errorf("version %q, want %q", got, tt.wantVersion)
			}
			w := strings.Join(m.(Warner).Warnings(), "\n")
			if (tt.wantWarning == "") != (w == "") || !strings.Contains(w, tt.wantWarning) {
				t.Errorf("warnings %q, want %q", w, tt.wantWarning)
			}
		})
	}
}

// FuzzHiveLog: transaction logs are untrusted input too.
func FuzzHiveLog(f *testing.F) {
	page := bytes.Repeat([]byte{'x'}, logEntryAlign)
	f.Add(makeLog(logEntry{seq: 2, binsSize: 4096, pages: []logPage{{offset: 0, data: page}}}))
	f.Add(makeLog())
	hive := make([]byte, baseBlockSize+4096)
	copy(hive, "regf")
	binary.LittleEndian.PutUint32(hive[4:], 2)
	binary.LittleEndian.PutUint32(hive[40:], 4096)
	f.Fuzz(func(t *testing.T, log []byte) {
		out, _, _ := applyLogs(hive, [][]byte{log}, 1<<20)
		if len(out) > 1<<20 {
			t.Fatalf("hive grew to %d bytes", len(out))
		}
	})
}
