package detectors

import (
	"context"
	"fmt"
	"runtime"

	psnet "github.com/shirou/gopsutil/v3/net"
)

// This file is the only place that calls gopsutil's net package.

type gopsutilConnections struct{}

// NewConnectionLister returns the live TCP connection source (IPv4 and
// IPv6, with the owning pids).
func NewConnectionLister() ConnectionLister { return gopsutilConnections{} }

// Connections takes one snapshot. A socket whose owner the OS would not
// say (another user's, when not root; TIME_WAIT) has PID 0.
func (gopsutilConnections) Connections(ctx context.Context) ([]Connection, error) {
	stats, err := tcpConnections(ctx)
	if err != nil {
		return nil, fmt.Errorf("list TCP connections: %w", err)
	}
	out := make([]Connection, 0, len(stats))
	for _, s := range stats {
		out = append(out, Connection{
			PID: s.Pid, Status: s.Status,
			LocalIP: s.Laddr.IP, LocalPort: s.Laddr.Port,
			RemoteIP: s.Raddr.IP, RemotePort: s.Raddr.Port,
		})
	}
	return out, nil
}

// tcpConnections picks the cheapest v3.24.5 call that still gives pids.
// On Linux every variant walks /proc/*/fd once to map sockets to pids;
// the WithoutUids one skips reading /proc/<pid>/status for every
// connection (shirou/gopsutil#771). Elsewhere WithoutUids is not
// implemented in v3.24.5, and the plain call is what there is: one
// GetExtendedTcpTable per family on Windows, lsof on macOS.
func tcpConnections(ctx context.Context) ([]psnet.ConnectionStat, error) {
	if runtime.GOOS == "linux" {
		return psnet.ConnectionsWithoutUidsWithContext(ctx, "tcp")
	}
	return psnet.ConnectionsWithContext(ctx, "tcp")
}
