//go:build linux

package notice

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// Linux shows notices with notify-send as each user that has a session
// bus, and on the terminals of the logged-in users it could not reach
// that way. The paths are fields so that tests can point them at
// temporary files.
type Linux struct {
	// RunUserDir holds the users' runtime directories, RunUserDir/UID/bus
	// being a session bus socket: "/run/user".
	RunUserDir string
	// UtmpFile lists the logins: "/var/run/utmp".
	UtmpFile string
	// DevDir holds the terminals named in utmp: "/dev".
	DevDir string
	// NotifySend is notify-send's fixed path: "/usr/bin/notify-send". It
	// is never looked up in PATH.
	NotifySend string
	// Timeout bounds each notify-send run and each terminal write.
	Timeout time.Duration

	// run runs a prepared command; tests replace it to see the command.
	run func(cmd *exec.Cmd) error
	// lookupID finds a user by uid; tests replace it.
	lookupID func(uid string) (*user.User, error)
}

// Default is the platform's shower.
func Default() Shower { return NewLinux() }

// NewLinux is the shower with the system's paths.
func NewLinux() *Linux {
	return &Linux{RunUserDir: "/run/user", UtmpFile: "/var/run/utmp", DevDir: "/dev",
		NotifySend: "/usr/bin/notify-send", Timeout: 10 * time.Second}
}

// Show sends m to every user with a session bus, then writes it to the
// terminals of the logged-in users who did not get it on their desktop.
//
// Root (uid 0) is treated like any other user: the agent already runs as
// root, and a machine whose only desktop is root's must see the notice.
// A bus does not prove a desktop (systemd starts one for SSH logins too):
// notify-send then fails or finds no notification server, and that user
// gets the terminal message instead. When the agent does not run as
// root, it can only reach its own uid's bus (tests).
func (l *Linux) Show(ctx context.Context, m Message) (int, error) {
	var errs []error
	reached := 0
	desktop := map[string]bool{} // user names that got the desktop notice
	uids, err := l.busUsers()
	if err != nil {
		errs = append(errs, err)
	}
	for _, uid := range uids {
		u, err := l.lookup(uid)
		if err != nil {
			errs = append(errs, fmt.Errorf("uid %d: %w", uid, err))
			continue
		}
		if err := l.notifySend(ctx, uid, u, m); err != nil {
			errs = append(errs, fmt.Errorf("notify-send for %s: %w", u.Username, err))
			continue
		}
		desktop[u.Username] = true
		reached++
	}
	n, err := l.wall(ctx, m, desktop)
	reached += n
	if err != nil {
		errs = append(errs, err)
	}
	return reached, errors.Join(errs...)
}

func (l *Linux) lookup(uid uint32) (*user.User, error) {
	if l.lookupID != nil {
		return l.lookupID(strconv.FormatUint(uint64(uid), 10))
	}
	return user.LookupId(strconv.FormatUint(uint64(uid), 10))
}

// busUsers lists the uids with a session bus socket, in order.
func (l *Linux) busUsers() ([]uint32, error) {
	entries, err := os.ReadDir(l.RunUserDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	self := uint32(os.Geteuid())
	var uids []uint32
	for _, e := range entries {
		uid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil || strconv.FormatUint(uid, 10) != e.Name() {
			continue // not a uid ("0001", names)
		}
		if self != 0 && uint32(uid) != self {
			continue // only root can act as another user
		}
		fi, err := os.Stat(filepath.Join(l.RunUserDir, e.Name(), "bus"))
		if err != nil || fi.Mode().Type() != os.ModeSocket {
			continue
		}
		uids = append(uids, uint32(uid))
	}
	slices.Sort(uids)
	return uids, nil
}

// NotifySendCommand prepares notify-send for m as the user u (uid) on
// that user's session bus: the user's uid and primary gid, a minimal
// environment, no shell. ctx bounds the run.
func (l *Linux) NotifySendCommand(ctx context.Context, uid uint32, u *user.User, m Message) (*exec.Cmd, error) {
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("gid %q of %s: %w", u.Gid, u.Username, err)
	}
	argv := NotifySendArgv(l.NotifySend, m)
	cmd := exec.CommandContext(ctx, argv[0])
	cmd.Args = argv
	home := u.HomeDir
	if home == "" {
		home = "/"
	}
	cmd.Env = []string{
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(l.RunUserDir, strconv.FormatUint(uint64(uid), 10), "bus"),
		"HOME=" + home,
		"PATH=/usr/bin:/bin",
	}
	cmd.Dir = "/"
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uint32(gid)}}
	}
	cmd.WaitDelay = time.Second
	return cmd, nil
}

func (l *Linux) notifySend(ctx context.Context, uid uint32, u *user.User, m Message) error {
	fi, err := os.Stat(l.NotifySend)
	if err != nil {
		return err // not installed (Debian: libnotify-bin)
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", l.NotifySend)
	}
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	cmd, err := l.NotifySendCommand(ctx, uid, u, m)
	if err != nil {
		return err
	}
	if l.run != nil {
		return l.run(cmd)
	}
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) > 0 {
		return fmt.Errorf("%w: %s", err, Clean(truncate(string(out), 200)))
	}
	return err
}

// wall writes m to the terminal of each logged-in user not in skip (by
// name), like wall(1), and returns how many terminals it reached.
func (l *Linux) wall(ctx context.Context, m Message, skip map[string]bool) (int, error) {
	data, err := os.ReadFile(l.UtmpFile)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	logins, err := ParseUtmp(data)
	text := TerminalText(m)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	reached := 0
	seen := map[string]bool{}
	for _, li := range logins {
		line, ok := TerminalLine(li.Line)
		if !ok || skip[li.User] || seen[line] {
			continue
		}
		seen[line] = true
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := l.writeTerminal(filepath.Join(l.DevDir, line), text); err != nil {
			errs = append(errs, fmt.Errorf("terminal %s of %s: %w", line, Clean(li.User), err))
			continue
		}
		reached++
	}
	return reached, errors.Join(errs...)
}

// writeTerminal writes to a terminal without making it the agent's
// controlling terminal, without following a symlink, and without
// blocking on a terminal that does not drain (a stopped output): the
// write gives up after the timeout.
func (l *Linux) writeTerminal(name string, text []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if t := fi.Mode().Type(); t != os.ModeDevice|os.ModeCharDevice && t != 0 {
		return fmt.Errorf("not a terminal (%v)", t)
	}
	_ = f.SetWriteDeadline(time.Now().Add(l.Timeout)) // regular files (tests) cannot block
	_, err = f.Write(text)
	return err
}
