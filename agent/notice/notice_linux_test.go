//go:build linux

package notice

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// fakeLinux is a Linux shower over temporary files: run/<uid>/bus
// sockets, a utmp file and a dev directory with regular files standing
// for terminals.
func fakeLinux(t *testing.T, uids ...int) (*Linux, string) {
	t.Helper()
	root := t.TempDir()
	l := &Linux{RunUserDir: filepath.Join(root, "run"), UtmpFile: filepath.Join(root, "utmp"), DevDir: filepath.Join(root, "dev"),
		NotifySend: filepath.Join(root, "notify-send"), Timeout: 5 * time.Second}
	for _, d := range []string{l.RunUserDir, filepath.Join(l.DevDir, "pts")} {
		os.MkdirAll(d, 0o755)
	}
	for _, uid := range uids {
		dir := filepath.Join(l.RunUserDir, strconv.Itoa(uid))
		os.MkdirAll(dir, 0o700)
		ln, err := net.Listen("unix", filepath.Join(dir, "bus"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
	}
	os.MkdirAll(filepath.Join(l.RunUserDir, "notauid"), 0o700)
	os.WriteFile(l.NotifySend, []byte("#!/bin/sh\n"), 0o755)
	l.lookupID = func(uid string) (*user.User, error) {
		if uid == "666" {
			return nil, user.UnknownUserIdError(666)
		}
		return &user.User{Uid: uid, Gid: "100" + uid, Username: "user" + uid, HomeDir: "/home/user" + uid}, nil
	}
	return l, root
}

func TestLinuxNotifySendCommand(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("acting as other users (Credential) needs root")
	}
	l, _ := fakeLinux(t, 0, 1000, 1001)
	var cmds []*exec.Cmd
	l.run = func(cmd *exec.Cmd) error {
		cmds = append(cmds, cmd)
		if cmd.SysProcAttr.Credential.Uid == 1001 {
			return errors.New("no notification server")
		}
		return nil
	}
	os.WriteFile(l.UtmpFile, append(utmpRec(7, 1, "pts/1", "user1000", ""), utmpRec(7, 2, "pts/2", "user1001", "")...), 0o644)
	os.WriteFile(filepath.Join(l.DevDir, "pts", "1"), nil, 0o620)
	os.WriteFile(filepath.Join(l.DevDir, "pts", "2"), nil, 0o620)
	for _, name := range oddNames {
		cmds = nil
		m := Build(cutOffFinding(name))
		n, err := l.Show(context.Background(), m)
		// uid 0 and 1000 on the desktop, 1001 on its terminal.
		if n != 3 || err == nil {
			t.Fatalf("%q: reached %d, %v", name, n, err)
		}
		if len(cmds) != 3 {
			t.Fatalf("%d commands", len(cmds))
		}
		for i, uid := range []uint32{0, 1000, 1001} {
			c := cmds[i]
			if c.Path != l.NotifySend || !slices.Equal(c.Args, NotifySendArgv(l.NotifySend, m)) {
				t.Errorf("%q: argv %q", name, c.Args)
			}
			wantEnv := []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(l.RunUserDir, strconv.Itoa(int(uid)), "bus"),
				"HOME=/home/user" + strconv.Itoa(int(uid)), "PATH=/usr/bin:/bin"}
			if !slices.Equal(c.Env, wantEnv) {
				t.Errorf("env %q", c.Env)
			}
			if cr := c.SysProcAttr.Credential; cr.Uid != uid || strconv.Itoa(int(cr.Gid)) != "100"+strconv.Itoa(int(uid)) {
				t.Errorf("credential %+v", cr)
			}
		}
		// Only the user notify-send failed for gets the terminal message.
		if b, _ := os.ReadFile(filepath.Join(l.DevDir, "pts", "1")); len(b) != 0 {
			t.Errorf("pts/1 written: %q", b)
		}
		if b, _ := os.ReadFile(filepath.Join(l.DevDir, "pts", "2")); len(b) == 0 {
			t.Error("pts/2 not written")
		}
		os.WriteFile(filepath.Join(l.DevDir, "pts", "2"), nil, 0o620)
	}
}

func TestLinuxTerminalFallback(t *testing.T) {
	l, root := fakeLinux(t, os.Geteuid())
	os.Remove(l.NotifySend) // not installed
	l.run = func(*exec.Cmd) error { t.Fatal("ran a missing notify-send"); return nil }
	var utmp []byte
	for _, r := range [][2]string{{"pts/7", "alice"}, {"pts/7", "alice"}, {"tty1", "bob"}, {"pts/../../secret", "eve"}, {"pts/9", "gone"}} {
		utmp = append(utmp, utmpRec(7, 1, r[0], r[1], "")...)
	}
	os.WriteFile(l.UtmpFile, utmp, 0o644)
	os.WriteFile(filepath.Join(l.DevDir, "pts", "7"), nil, 0o620)
	os.WriteFile(filepath.Join(l.DevDir, "tty1"), nil, 0o620)
	os.WriteFile(filepath.Join(root, "secret"), nil, 0o600)
	os.Symlink(filepath.Join(root, "secret"), filepath.Join(l.DevDir, "pts", "9")) // a symlink is not followed
	m := Build(cutOffFinding("Kaspersky \x1b[31mEndpoint\x1b[0m Security"))
	n, err := l.Show(context.Background(), m)
	if n != 2 || err == nil {
		t.Errorf("reached %d (want pts/7 once and tty1), err %v", n, err)
	}
	want := string(TerminalText(m))
	for _, tty := range []string{"pts/7", "tty1"} {
		if b, _ := os.ReadFile(filepath.Join(l.DevDir, tty)); string(b) != want {
			t.Errorf("%s: %q", tty, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "secret")); len(b) != 0 {
		t.Error("wrote outside the dev directory")
	}
	// Nobody logged in at all: zero reached, no error.
	l2, _ := fakeLinux(t)
	if n, err := l2.Show(context.Background(), m); n != 0 || err != nil {
		t.Errorf("nobody: %d %v", n, err)
	}
}
