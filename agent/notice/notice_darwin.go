//go:build darwin

package notice

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Darwin shows notices as a notification of the console user: the owner
// of /dev/console, root while the login window shows (nobody to tell).
type Darwin struct {
	Console string // "/dev/console"
	Timeout time.Duration
}

// Default is the platform's shower.
func Default() Shower { return &Darwin{Console: "/dev/console", Timeout: 15 * time.Second} }

// Show runs launchctl asuser UID osascript -e 'display notification ...'.
func (d *Darwin) Show(ctx context.Context, m Message) (int, error) {
	fi, err := os.Stat(d.Console)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("%s: no owner", d.Console)
	}
	if st.Uid == 0 {
		return 0, nil // the login window: nobody logged in
	}
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	argv := DarwinArgv(st.Uid, m)
	cmd := exec.CommandContext(ctx, argv[0])
	cmd.Args = argv
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}
	cmd.Dir = "/"
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("osascript as uid %d: %w: %s", st.Uid, err, Clean(truncate(string(out), 200)))
	}
	return 1, nil
}
