//go:build linux

package notice

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRealNotifySend runs the real notify-send against a private session
// bus (dbus-daemon) on which the test itself serves
// org.freedesktop.Notifications, and checks what arrives.
func TestRealNotifySend(t *testing.T) {
	for _, p := range []string{"/usr/bin/dbus-daemon", "/usr/bin/notify-send"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is not installed (Debian packages dbus and libnotify-bin)", p)
		}
	}
	root := t.TempDir()
	uid := os.Geteuid()
	busDir := filepath.Join(root, "run", strconv.Itoa(uid))
	os.MkdirAll(busDir, 0o700)
	bus := filepath.Join(busDir, "bus")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	daemon := exec.CommandContext(ctx, "/usr/bin/dbus-daemon", "--session", "--nofork", "--print-address", "--address=unix:path="+bus)
	out, _ := daemon.StdoutPipe()
	daemon.Stderr = os.Stderr
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { daemon.Process.Kill(); daemon.Wait() }()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("dbus-daemon did not start: %v", err)
	}
	got := make(chan []string, 1)
	srv, err := serveNotifications(bus, uid, got)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	l := &Linux{RunUserDir: filepath.Join(root, "run"), UtmpFile: filepath.Join(root, "utmp"), DevDir: filepath.Join(root, "dev"),
		NotifySend: "/usr/bin/notify-send", Timeout: 10 * time.Second}
	name := "-K \"Endpoint\" $(touch " + root + "/pwned) `id` \\ <b>&\nАнтивирус Касперского"
	m := Build(cutOffFinding(name))
	n, err := l.Show(ctx, m)
	if n != 1 || err != nil {
		t.Fatalf("reached %d: %v", n, err)
	}
	select {
	case args := <-got:
		want := []string{"banwatch", Clean(m.Title), markupEscape(m.Body)}
		if fmt.Sprint(args) != fmt.Sprint(want) {
			t.Errorf("Notify(%q), want %q", args, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no Notify call arrived")
	}
	if _, err := os.Stat(filepath.Join(root, "pwned")); err == nil {
		t.Error("the product name ran a command")
	}
}

// serveNotifications connects to the bus at path, takes the name
// org.freedesktop.Notifications and answers GetServerInformation,
// GetCapabilities and Notify, sending Notify's app name, summary and body
// to got. It speaks just enough of the D-Bus wire protocol
// (little-endian) for that.
func serveNotifications(path string, uid int, got chan<- []string) (net.Conn, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "\x00AUTH EXTERNAL %s\r\n", hex.EncodeToString([]byte(strconv.Itoa(uid))))
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "OK ") {
		c.Close()
		return nil, fmt.Errorf("auth: %q %v", line, err)
	}
	io.WriteString(c, "BEGIN\r\n")
	serial := uint32(0)
	call := func(member, sig string, body []byte) {
		serial++
		c.Write(dbusMessage(1, serial, []dbusField{{1, "o", "/org/freedesktop/DBus"}, {2, "s", "org.freedesktop.DBus"},
			{3, "s", member}, {6, "s", "org.freedesktop.DBus"}}, sig, body))
	}
	call("Hello", "", nil)
	var e dbusEnc
	e.str("org.freedesktop.Notifications")
	e.u32(4) // DBUS_NAME_FLAG_DO_NOT_QUEUE
	call("RequestName", "su", e.b)
	// Wait for RequestName's reply (serial 2): 1 is the primary owner.
	for {
		typ, _, fields, body, err := readDBus(r)
		if err != nil {
			c.Close()
			return nil, err
		}
		if typ == 2 && fields[5] == "2" {
			if len(body) < 4 || binary.LittleEndian.Uint32(body) != 1 {
				c.Close()
				return nil, fmt.Errorf("RequestName: %x", body)
			}
			break
		}
	}
	go func() {
		for {
			typ, msgSerial, fields, body, err := readDBus(r)
			if err != nil {
				return
			}
			if typ != 1 {
				continue
			}
			var reply dbusEnc
			sig := ""
			switch fields[3] {
			case "GetServerInformation":
				sig = "ssss"
				for _, s := range []string{"banwatch-test", "banwatch", "1", "1.2"} {
					reply.str(s)
				}
			case "GetCapabilities":
				sig = "as"
				var arr dbusEnc
				arr.str("body")
				reply.u32(uint32(len(arr.b)))
				reply.b = append(reply.b, arr.b...)
			case "Notify":
				d := dbusDec{b: body}
				app := d.str()
				d.u32()
				d.str()
				summary, text := d.str(), d.str()
				select {
				case got <- []string{app, summary, text}:
				default:
				}
				sig = "u"
				reply.u32(1)
			default:
				serial++
				var eb dbusEnc
				eb.str("unknown method")
				c.Write(dbusMessage(3, serial, []dbusField{{4, "s", "org.freedesktop.DBus.Error.UnknownMethod"},
					{5, "u", strconv.Itoa(int(msgSerial))}, {6, "s", fields[7]}}, "s", eb.b))
				continue
			}
			serial++
			c.Write(dbusMessage(2, serial, []dbusField{{5, "u", strconv.Itoa(int(msgSerial))}, {6, "s", fields[7]}}, sig, reply.b))
		}
	}()
	return c, nil
}

type dbusField struct {
	code byte
	typ  string // "s", "o", "u", "g"
	val  string
}

type dbusEnc struct{ b []byte }

func (e *dbusEnc) align(n int) {
	for len(e.b)%n != 0 {
		e.b = append(e.b, 0)
	}
}
func (e *dbusEnc) u32(v uint32) { e.align(4); e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *dbusEnc) str(s string) { e.u32(uint32(len(s))); e.b = append(append(e.b, s...), 0) }
func (e *dbusEnc) sig(s string) { e.b = append(append(append(e.b, byte(len(s))), s...), 0) }

func dbusMessage(typ byte, serial uint32, fields []dbusField, sig string, body []byte) []byte {
	if sig != "" {
		fields = append(fields, dbusField{8, "g", sig})
	}
	e := dbusEnc{b: []byte{'l', typ, 0, 1}}
	e.u32(uint32(len(body)))
	e.u32(serial)
	e.u32(0) // the fields' length, set below
	start := len(e.b)
	for _, f := range fields {
		e.align(8)
		e.b = append(e.b, f.code)
		e.sig(f.typ)
		switch f.typ {
		case "s", "o":
			e.str(f.val)
		case "u":
			v, _ := strconv.ParseUint(f.val, 10, 32)
			e.u32(uint32(v))
		case "g":
			e.sig(f.val)
		}
	}
	binary.LittleEndian.PutUint32(e.b[12:], uint32(len(e.b)-start))
	e.align(8)
	return append(e.b, body...)
}

type dbusDec struct {
	b   []byte
	off int
}

func (d *dbusDec) align(n int) { d.off = (d.off + n - 1) / n * n }
func (d *dbusDec) u32() uint32 {
	d.align(4)
	v := binary.LittleEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}
func (d *dbusDec) str() string {
	n := int(d.u32())
	s := string(d.b[d.off : d.off+n])
	d.off += n + 1
	return s
}
func (d *dbusDec) sig() string {
	n := int(d.b[d.off])
	s := string(d.b[d.off+1 : d.off+1+n])
	d.off += n + 2
	return s
}

// readDBus reads one message: its type, serial, header fields (as
// strings, by code) and body.
func readDBus(r io.Reader) (typ byte, serial uint32, fields map[byte]string, body []byte, err error) {
	head := make([]byte, 16)
	if _, err = io.ReadFull(r, head); err != nil {
		return
	}
	if head[0] != 'l' {
		err = fmt.Errorf("big-endian message")
		return
	}
	bodyLen, fieldsLen := binary.LittleEndian.Uint32(head[4:]), binary.LittleEndian.Uint32(head[12:])
	serial = binary.LittleEndian.Uint32(head[8:])
	hdrLen := (16 + int(fieldsLen) + 7) / 8 * 8
	rest := make([]byte, hdrLen-16+int(bodyLen))
	if _, err = io.ReadFull(r, rest); err != nil {
		return
	}
	d := dbusDec{b: append(head, rest...), off: 16}
	fields = map[byte]string{}
	for d.off < 16+int(fieldsLen) {
		d.align(8)
		code := d.b[d.off]
		d.off++
		switch t := d.sig(); t {
		case "s", "o":
			fields[code] = d.str()
		case "u":
			fields[code] = strconv.Itoa(int(d.u32()))
		case "g":
			fields[code] = d.sig()
		default:
			err = fmt.Errorf("header field type %q", t)
			return
		}
	}
	return head[1], serial, fields, d.b[hdrLen:], nil
}
