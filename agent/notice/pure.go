package notice

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// This file holds the platforms' pure parts, untagged so that they are
// tested on any machine.

// --- macOS ---

// Fixed paths of the macOS commands: never looked up in PATH.
const (
	launchctlPath = "/bin/launchctl"
	osascriptPath = "/usr/bin/osascript"
)

// AppleScriptString quotes s as an AppleScript string literal: a
// backslash and a double quote are escaped with a backslash, a line
// break becomes \n, a tab \t, and other control characters are dropped
// (AppleScript knows no other escapes).
func AppleScriptString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "") {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// DarwinScript is the AppleScript that shows m as a notification.
func DarwinScript(m Message) string {
	return "display notification " + AppleScriptString(m.Body) + " with title " + AppleScriptString(Clean(m.Title))
}

// DarwinArgv is the command that shows m to the user uid, run as root:
// launchctl asuser puts osascript in the user's GUI bootstrap namespace.
// It is an argument vector: the script is one argument, never parsed by
// a shell.
func DarwinArgv(uid uint32, m Message) []string {
	return []string{launchctlPath, "asuser", strconv.FormatUint(uint64(uid), 10), osascriptPath, "-e", DarwinScript(m)}
}

// --- Windows ---

// Message box style of the Windows notice: MB_OK | MB_ICONWARNING |
// MB_SETFOREGROUND.
const (
	mbOK            = 0x00000000
	mbIconWarning   = 0x00000030
	mbSetForeground = 0x00010000
	wtsStyle        = mbOK | mbIconWarning | mbSetForeground
)

// UTF16 converts s for a Windows API that takes a string and its length
// in bytes (WTSSendMessageW): the UTF-16 code units with a terminating
// NUL (NULs inside s are dropped, so the string is not cut short), and
// the length in bytes without the terminator.
func UTF16(s string) (units []uint16, byteLen uint32) {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	units = append(utf16.Encode([]rune(s)), 0)
	return units, uint32(2 * (len(units) - 1))
}

// WindowsText is the title and body of the Windows message box; a
// message box breaks lines at CR LF.
func WindowsText(m Message) (title, body string) {
	return Clean(m.Title), strings.ReplaceAll(m.Body, "\n", "\r\n")
}

// --- Linux ---

// NotifySendArgv is the notify-send command line for m: the program's
// fixed path, the options, "--" (a title starting with "-" is not an
// option), the title and the body. The body is escaped twice: for the
// notification spec's markup (&, <, >), which most notification servers
// interpret, and for notify-send itself, which undoes C escapes in the
// body (g_strcompress: "\\" is one backslash), not in the title.
func NotifySendArgv(path string, m Message) []string {
	return []string{path, "--app-name=banwatch", "--urgency=critical", "--", Clean(m.Title), notifySendBody(m.Body)}
}

func notifySendBody(s string) string {
	return strings.ReplaceAll(markupEscape(s), `\`, `\\`)
}

func markupEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// TerminalText is the message written to a terminal: a banner line, the
// title and the body, CR LF line ends (a terminal in raw mode does not
// add the CR), and no control characters from the message itself, so a
// product name cannot carry escape sequences to the terminal.
func TerminalText(m Message) []byte {
	var b bytes.Buffer
	b.WriteString("\r\n\a*** " + Clean(m.Title) + " ***\r\n")
	for _, line := range strings.Split(m.Body, "\n") {
		b.WriteString(Clean(line) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// Utmp is one login record of /var/run/utmp.
type Utmp struct {
	Type int16
	PID  int32
	Line string // the terminal, relative to /dev: "pts/3", "tty1"
	User string
	Host string
}

// utmpUserProcess is ut_type USER_PROCESS: a logged-in user.
const utmpUserProcess = 7

// UtmpSize is sizeof(struct utmp) in glibc on 64-bit Linux (x86_64,
// arm64 and the others with __WORDSIZE_TIME64_COMPAT32: ut_tv and
// ut_session are 32-bit there too).
const UtmpSize = 384

// utmpRecord is struct utmp's layout (bits/utmp.h), little-endian.
type utmpRecord struct {
	Type    int16
	_       int16
	PID     int32
	Line    [32]byte
	ID      [4]byte
	User    [32]byte
	Host    [256]byte
	Exit    [2]int16
	Session int32
	TvSec   int32
	TvUsec  int32
	AddrV6  [4]int32
	_       [20]byte
}

// ParseUtmp reads the records of a utmp file and returns the logged-in
// users' (USER_PROCESS) with a terminal line. A trailing partial record
// is ignored.
func ParseUtmp(data []byte) ([]Utmp, error) {
	if binary.Size(utmpRecord{}) != UtmpSize {
		return nil, errors.New("utmp: record layout is wrong") // cannot happen
	}
	var out []Utmp
	for off := 0; off+UtmpSize <= len(data); off += UtmpSize {
		var r utmpRecord
		if _, err := binary.Decode(data[off:off+UtmpSize], binary.LittleEndian, &r); err != nil {
			return out, fmt.Errorf("utmp: %w", err)
		}
		if r.Type != utmpUserProcess || r.Line[0] == 0 {
			continue
		}
		out = append(out, Utmp{Type: r.Type, PID: r.PID, Line: cString(r.Line[:]), User: cString(r.User[:]), Host: cString(r.Host[:])})
	}
	return out, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// TerminalLine checks a utmp line before it is opened under /dev: a
// relative path of letters, digits, '/', '_', '-' and '.', with no ".."
// and nothing that leaves the directory. ":0" (an X display, not a
// terminal) is refused.
func TerminalLine(line string) (string, bool) {
	if line == "" || strings.HasPrefix(line, "/") || path.Clean(line) != line || strings.HasPrefix(line, "..") {
		return "", false
	}
	for _, r := range line {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '_' || r == '-' || r == '.') {
			return "", false
		}
	}
	for _, part := range strings.Split(line, "/") {
		if part == ".." || part == "." {
			return "", false
		}
	}
	return line, true
}
