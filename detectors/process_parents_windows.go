package detectors

import (
	"context"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// parentPIDs reads every process's parent from one Toolhelp32 snapshot.
// gopsutil's Ppid takes a full snapshot per call, which is quadratic over a
// process list (shirou/gopsutil#1053).
func parentPIDs(context.Context) (map[int32]int32, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("process snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	parents := map[int32]int32{}
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		parents[int32(e.ProcessID)] = int32(e.ParentProcessID)
	}
	return parents, nil
}
