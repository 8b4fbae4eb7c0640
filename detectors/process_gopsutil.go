package detectors

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v3/process"
)

// This file is the only place that calls gopsutil's process package.

type gopsutilProcesses struct{}

// NewProcessLister returns the live process source.
func NewProcessLister() ProcessLister {
	// Without the cache, v3.24.5 re-reads boot time for every process
	// (shirou/gopsutil#1850) and start times jitter by a second.
	process.EnableBootTimeCache(true)
	return gopsutilProcesses{}
}

// Processes takes one snapshot. Fields a process will not reveal (another
// user's image when not root, a process that just exited) stay empty; only
// failing to list processes at all is an error.
func (gopsutilProcesses) Processes(ctx context.Context) ([]ProcessInfo, error) {
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	parents, perr := parentPIDs(ctx)
	out := make([]ProcessInfo, 0, len(procs))
	for _, p := range procs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		out = append(out, readProcess(ctx, p, parents))
	}
	return out, perr
}

func readProcess(ctx context.Context, p *process.Process, parents map[int32]int32) ProcessInfo {
	info := ProcessInfo{PID: p.Pid}
	info.Name, _ = p.NameWithContext(ctx)
	exe, _ := p.ExeWithContext(ctx)
	// The kernel marks an image replaced on disk (a package upgrade under
	// a running daemon) with this suffix; the path is still the product's.
	info.Exe = strings.TrimSuffix(exe, " (deleted)")
	info.Cmdline, _ = p.CmdlineWithContext(ctx)
	info.User, _ = p.UsernameWithContext(ctx)
	if ms, err := p.CreateTimeWithContext(ctx); err == nil && ms > 0 {
		info.Started = time.UnixMilli(ms)
	}
	if parents != nil {
		info.PPID = parents[p.Pid]
	} else if ppid, err := p.PpidWithContext(ctx); err == nil {
		info.PPID = ppid
	}
	return info
}
