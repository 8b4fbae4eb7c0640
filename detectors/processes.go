package detectors

import (
	"context"
	"errors"
	"fmt"
	"time"
)

func init() {
	register(Spec{Name: "processes", Live: true, Detector: DetectorFunc(detectProcesses)})
}

// ProcessInfo is one process in a snapshot.
type ProcessInfo struct {
	PID     int32
	PPID    int32
	Name    string
	Exe     string // absolute image path; empty when the OS would not say
	Cmdline string
	User    string
	Started time.Time
}

// ProcessLister takes one snapshot of the running processes.
// process_gopsutil.go is the real one.
type ProcessLister interface {
	Processes(ctx context.Context) ([]ProcessInfo, error)
}

// detectProcesses reports every running process; the policy decides which
// matter. The command line stays in the item but evidence shows only the
// pid, user and start, as command lines can carry secrets.
func detectProcesses(ctx context.Context, env *Env) ([]Item, error) {
	if env.Processes == nil {
		return nil, errors.New("no process source")
	}
	procs, err := env.Processes.Processes(ctx)
	items := make([]Item, 0, len(procs))
	for _, p := range procs {
		items = append(items, Item{
			Kind:  KindProcess,
			Name:  p.Name,
			Path:  p.Exe,
			Exec:  p.Exe,
			State: StateRunning,
			Detail: fmt.Sprintf("pid %d, ppid %d, user %s, started %s",
				p.PID, p.PPID, orUnknown(p.User), startedString(p.Started)),
			Process: &Process{PID: p.PID, PPID: p.PPID, User: p.User, Cmdline: p.Cmdline, Started: p.Started},
		})
	}
	return items, err
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func startedString(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}
