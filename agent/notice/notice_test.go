package notice

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/policy"
)

// oddNames are product names that would do harm if any command line went
// through a shell or a script were not escaped.
var oddNames = []string{
	`Kaspersky "Endpoint" Security`,
	`C:\Program Files\Kaspersky\`,
	"two\nlines\r\nand\ttab",
	`$(touch /tmp/pwned)`,
	"`id`; rm -rf / #",
	`--help`,
	`" & do shell script "id" & "`,
	"Антивирус Касперского",
	"esc\x1b[31mred\x1b[0m nul\x00 bidi\u202e",
}

func cutOffFinding(product string) *policy.Finding {
	return &policy.Finding{
		ID: "f1", Kind: policy.KindUpdatesCutOff, Severity: policy.SeverityCritical, Vendor: "Kaspersky",
		Product: product, Version: "12.0", Jurisdiction: "US", CutOff: "2024-09-29",
		Summary:     product + " 12.0 can no longer receive signature or software updates: since 2024-09-29 they are prohibited in US. More text.",
		Remediation: "Uninstall " + product + " and move this machine to a supported security product. Debian and Ubuntu: `sudo apt purge kesl`. US federal systems must remove Kaspersky products.",
	}
}

func TestBuild(t *testing.T) {
	m := Build(cutOffFinding("Kaspersky Endpoint Security for Linux"))
	if m.Title != "banwatch: Kaspersky Endpoint Security for Linux" || m.FindingID != "f1" {
		t.Errorf("title %q id %q", m.Title, m.FindingID)
	}
	want := "Found: Kaspersky Endpoint Security for Linux 12.0 can no longer receive signature or software updates: since 2024-09-29 they are prohibited in US.\n" +
		"Why it matters: it gets no updates since the cut-off on 2024-09-29 in US, so its protection is frozen and new threats go undetected.\n" +
		"What to do: Uninstall Kaspersky Endpoint Security for Linux and move this machine to a supported security product. Debian and Ubuntu: `sudo apt purge kesl`."
	if m.Body != want {
		t.Errorf("body\n%s\nwant\n%s", m.Body, want)
	}
	// A product finding without a cut-off, nor summary or remediation.
	m = Build(&policy.Finding{ID: "f2", Kind: policy.KindProduct, Vendor: "Kaspersky"})
	if m.Title != "banwatch: Kaspersky software" || m.Body != "Found: Kaspersky software is on this machine.\nWhat to do: Tell your IT administrator." {
		t.Errorf("bare finding: %q %q", m.Title, m.Body)
	}
	// Long text is cut at a word, with an ellipsis.
	long := strings.Repeat("word ", 200)
	m = Build(&policy.Finding{Product: long, Summary: long, Remediation: long})
	for _, s := range strings.Split(m.Title+"\n"+m.Body, "\n") {
		if n := len([]rune(s)); n > maxRemediation+20 || !strings.HasSuffix(s, "…") {
			t.Errorf("not cut: %d %q", n, s)
		}
	}
}

func TestBuildOddNames(t *testing.T) {
	for _, name := range oddNames {
		m := Build(cutOffFinding(name))
		for _, s := range []string{m.Title, m.Body} {
			for _, r := range s {
				if r < 0x20 && r != '\n' || r == 0x7f || r == '\u202e' {
					t.Errorf("%q: control character %U in %q", name, r, s)
				}
			}
		}
		if strings.Count(m.Body, "\n") != 2 || strings.Contains(m.Title, "\n") {
			t.Errorf("%q: lines: %q / %q", name, m.Title, m.Body)
		}
	}
	if got := Clean("two\nlines\r\nand\ttab"); got != "two lines and tab" {
		t.Errorf("Clean: %q", got)
	}
}

func TestFirstSentences(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"One. Two. Three.", 2, "One. Two."},
		{"One. Two", 2, "One. Two"},
		{"One.", 1, "One."},
		{"No end", 1, "No end"},
		{"Use v1.2 now. Then reboot. Done.", 2, "Use v1.2 now. Then reboot."},
		{"Short. " + strings.Repeat("x", 400) + ".", 2, "Short."},
	} {
		if got := firstSentences(c.s, c.n, maxRemediation); got != c.want {
			t.Errorf("firstSentences(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

type fakeShower struct {
	shown   []Message
	reached int
	err     error
}

func (f *fakeShower) Show(_ context.Context, m Message) (int, error) {
	f.shown = append(f.shown, m)
	return f.reached, f.err
}

func TestOnceADay(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	sh := &fakeShower{reached: 1}
	s, err := New(dir, Options{Shower: sh, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "notice" {
		t.Fatal(s.Name())
	}
	f := cutOffFinding("KES")
	high, crit := *f, *f
	high.Severity = policy.SeverityHigh
	send := func(events ...agent.Event) {
		t.Helper()
		if err := s.Send(context.Background(), &agent.Delivery{Key: "k", Events: events}); err != nil {
			t.Fatal(err)
		}
	}
	send(agent.Event{Type: agent.EventNew, Finding: f})
	send(agent.Event{Type: agent.EventNew, Finding: f}) // again at once: quiet
	now = now.Add(23 * time.Hour)
	send(agent.Event{Type: agent.EventChanged, Finding: &crit, Previous: &high}) // severity up, but within the day
	if len(sh.shown) != 1 {
		t.Fatalf("shown %d times within a day", len(sh.shown))
	}
	// A new sink (a restart) reads the record.
	s, _ = New(dir, Options{Shower: sh, Now: func() time.Time { return now }})
	send(agent.Event{Type: agent.EventNew, Finding: f})
	if len(sh.shown) != 1 {
		t.Fatal("shown again after a restart")
	}
	now = now.Add(time.Hour)
	send(agent.Event{Type: agent.EventChanged, Finding: &crit, Previous: &high})
	if len(sh.shown) != 2 {
		t.Fatal("not shown again after a day")
	}
	// Severity down, the same, resolved and heartbeats are no notice.
	now = now.Add(48 * time.Hour)
	send(agent.Event{Type: agent.EventChanged, Finding: &high, Previous: &crit},
		agent.Event{Type: agent.EventChanged, Finding: &crit, Previous: &crit},
		agent.Event{Type: agent.EventResolved, Finding: f},
		agent.Event{Type: agent.EventHeartbeat})
	if len(sh.shown) != 2 {
		t.Fatal("shown for an event that wants no notice")
	}
	// Nobody reached: not an error, not recorded, so shown when someone is.
	g := *f
	g.ID = "f2"
	sh.reached, sh.err = 0, errors.New("no session")
	send(agent.Event{Type: agent.EventNew, Finding: &g})
	sh.reached, sh.err = 1, nil
	send(agent.Event{Type: agent.EventNew, Finding: &g})
	if len(sh.shown) != 4 {
		t.Fatalf("shown %d, want 4", len(sh.shown))
	}
	data, err := os.ReadFile(filepath.Join(dir, ShownFile))
	if err != nil || !bytes.Contains(data, []byte(`"f2": "2026-03-04T09:00:00Z"`)) || bytes.Contains(data, []byte(`"f1"`)) {
		t.Errorf("record (old entries pruned): %s %v", data, err)
	}
	// A damaged record is started afresh.
	os.WriteFile(filepath.Join(dir, ShownFile), []byte("{"), 0o644)
	send(agent.Event{Type: agent.EventNew, Finding: &g})
	if len(sh.shown) != 5 {
		t.Fatal("damaged record not started afresh")
	}
	// A cancelled context is the one error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, &agent.Delivery{Events: []agent.Event{{Type: agent.EventNew, Finding: f}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestNotifySendArgv(t *testing.T) {
	for _, name := range oddNames {
		m := Build(cutOffFinding(name))
		got := NotifySendArgv("/usr/bin/notify-send", m)
		want := []string{"/usr/bin/notify-send", "--app-name=banwatch", "--urgency=critical", "--", Clean(m.Title), notifySendBody(m.Body)}
		if !slices.Equal(got, want) {
			t.Errorf("%q: %q", name, got)
		}
	}
	m := Message{Title: `banwatch: a&b\n`, Body: `<b>x</b> & y\n`}
	if got := NotifySendArgv("/n", m); got[4] != `banwatch: a&b\n` || got[5] != `&lt;b&gt;x&lt;/b&gt; &amp; y\\n` {
		t.Errorf("markup: %q", got)
	}
}

func TestAppleScript(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:                    `"plain"`,
		`say "hi"`:                 `"say \"hi\""`,
		`C:\dir\`:                  `"C:\\dir\\"`,
		"a\nb\tc\r\x1bd":           `"a\nb\tcd"`,
		`" & do shell script "id"`: `"\" & do shell script \"id\""`,
		"Касперский $(x) `y`":      "\"Касперский $(x) `y`\"",
	} {
		if got := AppleScriptString(in); got != want {
			t.Errorf("AppleScriptString(%q) = %s, want %s", in, got, want)
		}
	}
	m := Message{Title: "banwatch: K \"Q\"", Body: "Found: x\\y\nWhat to do: z"}
	got := DarwinArgv(501, m)
	want := []string{"/bin/launchctl", "asuser", "501", "/usr/bin/osascript", "-e",
		`display notification "Found: x\\y\nWhat to do: z" with title "banwatch: K \"Q\""`}
	if !slices.Equal(got, want) {
		t.Errorf("DarwinArgv:\n%q\nwant\n%q", got, want)
	}
	for _, name := range oddNames {
		argv := DarwinArgv(501, Build(cutOffFinding(name)))
		if len(argv) != 6 {
			t.Fatalf("%q: %q", name, argv)
		}
		assertAppleScriptStrings(t, argv[5])
	}
}

// assertAppleScriptStrings checks that script is `display notification
// "..." with title "..."` with nothing outside the two literals: every
// quote inside them is escaped.
func assertAppleScriptStrings(t *testing.T, script string) {
	t.Helper()
	var outside strings.Builder
	in, esc := false, false
	for _, r := range script {
		switch {
		case esc:
			if !strings.ContainsRune(`"\nt`, r) {
				t.Errorf("unknown escape \\%c in %q", r, script)
			}
			esc = false
		case in && r == '\\':
			esc = true
		case r == '"':
			in = !in
			outside.WriteRune('"')
		case in:
			if r < 0x20 || r == 0x7f {
				t.Errorf("raw control %U in %q", r, script)
			}
		default:
			outside.WriteRune(r)
		}
	}
	if outside.String() != `display notification "" with title ""` || in {
		t.Errorf("script structure %q from %q", outside.String(), script)
	}
}

func TestWindowsText(t *testing.T) {
	units, n := UTF16("Kä\x00𝄞")
	if !slices.Equal(units, []uint16{'K', 0xe4, 0xd834, 0xdd1e, 0}) || n != 8 {
		t.Errorf("UTF16: %x %d", units, n)
	}
	if units, n := UTF16(""); !slices.Equal(units, []uint16{0}) || n != 0 {
		t.Errorf("empty: %v %d", units, n)
	}
	for _, name := range oddNames {
		title, body := WindowsText(Build(cutOffFinding(name)))
		u, n := UTF16(body)
		if string(utf16.Decode(u[:n/2])) != body || strings.Contains(title, "\n") || strings.Count(body, "\r\n") != 2 {
			t.Errorf("%q: %q %q", name, title, body)
		}
	}
	if wtsStyle != 0x10030 {
		t.Errorf("style %#x", wtsStyle)
	}
}

// utmpRec builds a glibc struct utmp record.
func utmpRec(typ int16, pid int32, line, user, host string) []byte {
	var r utmpRecord
	r.Type, r.PID = typ, pid
	copy(r.Line[:], line)
	copy(r.User[:], user)
	copy(r.Host[:], host)
	copy(r.ID[:], "ts/1")
	r.TvSec = 1700000000
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, &r); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func TestParseUtmp(t *testing.T) {
	rec := utmpRec(7, 1234, "pts/3", "alice", "192.0.2.1")
	if len(rec) != 384 {
		t.Fatalf("record is %d bytes", len(rec))
	}
	// The offsets of glibc's struct utmp on x86_64 and arm64.
	if rec[0] != 7 || binary.LittleEndian.Uint32(rec[4:]) != 1234 || string(rec[8:13]) != "pts/3" ||
		string(rec[40:44]) != "ts/1" || string(rec[44:49]) != "alice" || string(rec[76:85]) != "192.0.2.1" ||
		binary.LittleEndian.Uint32(rec[340:]) != 1700000000 {
		t.Fatalf("layout: %x", rec[:96])
	}
	full := make([]byte, 32)
	copy(full, strings.Repeat("u", 32)) // a 32-byte name has no NUL
	var data []byte
	data = append(data, utmpRec(2, 0, "~", "reboot", "6.1")...) // BOOT_TIME
	data = append(data, rec...)
	data = append(data, utmpRec(8, 99, "pts/4", "", "")...)     // DEAD_PROCESS
	data = append(data, utmpRec(6, 98, "tty2", "LOGIN", "")...) // LOGIN_PROCESS
	data = append(data, utmpRec(7, 5, "tty1", string(full), "")...)
	data = append(data, utmpRec(7, 6, "", "bob", "")...) // no line
	data = append(data, 1, 2, 3)                         // a partial record
	got, err := ParseUtmp(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Utmp{{Type: 7, PID: 1234, Line: "pts/3", User: "alice", Host: "192.0.2.1"}, {Type: 7, PID: 5, Line: "tty1", User: strings.Repeat("u", 32)}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v", got)
	}
}

func TestTerminalLine(t *testing.T) {
	for line, ok := range map[string]bool{
		"pts/3": true, "tty1": true, "ttyS0": true, "pts/../../etc/passwd": false, "../etc/x": false,
		"/etc/passwd": false, ":0": false, "": false, "pts//3": false, "pts/3/": false, "./tty1": false, "a b": false,
	} {
		if _, got := TerminalLine(line); got != ok {
			t.Errorf("TerminalLine(%q) = %v", line, got)
		}
	}
}

func TestTerminalText(t *testing.T) {
	m := Build(cutOffFinding("esc\x1b]0;title\x07 K\x1b[2J"))
	got := TerminalText(m)
	for _, b := range got {
		if b < 0x20 && b != '\r' && b != '\n' && b != '\a' {
			t.Fatalf("control byte %#x in %q", b, got)
		}
	}
	if !bytes.HasPrefix(got, []byte("\r\n\a*** banwatch: esc ]0;title K [2J ***\r\nFound: ")) || !bytes.HasSuffix(got, []byte(".\r\n\r\n")) {
		t.Errorf("%q", got)
	}
}
