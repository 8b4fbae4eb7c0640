package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/policy"
)

// scanNowPoll is how often scan-now rereads status.json while it waits.
const scanNowPoll = 200 * time.Millisecond

// cmdScanNow runs "scan-now": it asks the running agent for a scan and
// waits for its result. The request is a file, state_dir/scan-now.request,
// which the agent looks for every 2 s between scans; on Unix a SIGHUP to
// the agent's pid (from status.json) makes it start at once. On Windows
// it first sends the service its user-defined control scanControl (128),
// and writes the file only when that fails (the service not running, or
// not an elevated prompt); it says on stderr which it did. Exit 0 clean, 1 findings, 3 the agent did not answer within
// --wait (not running) or its scan failed, 2 usage or configuration
// error, or the request cannot be written (writing the state directory
// takes root or Administrator).
func cmdScanNow(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("banwatch scan-now", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	configFile := flags.String("config", "", "agent config `FILE` (default: the platform's)")
	stateDir := flags.String("state-dir", "", "the agent's state `DIR`, instead of the config's state_dir")
	wait := flags.Duration("wait", 2*time.Minute, "how long to wait for the scan's result; 0 asks and returns")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			flags.SetOutput(stdout)
			fmt.Fprintln(stdout, "Usage: banwatch scan-now [--config FILE | --state-dir DIR] [--wait DURATION]")
			flags.PrintDefaults()
			return exitOK
		}
		return usageError(stderr, "scan-now", "%v (run \"banwatch scan-now -h\")", err)
	}
	if flags.NArg() > 0 {
		return usageError(stderr, "scan-now", "unexpected argument %q", flags.Arg(0))
	}
	if *wait < 0 {
		return usageError(stderr, "scan-now", "--wait must not be negative")
	}
	dir := *stateDir
	if dir == "" {
		c, err := loadAgentConfig(*configFile)
		if err != nil {
			return configProblem(stderr, "scan-now", err)
		}
		dir = c.StateDir
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stdout, "banwatch agent: NOT RUNNING: no state directory %s\n", dir)
		return exitNotRunning
	}

	req := agent.ScanRequest{PID: os.Getpid(), RequestedAt: time.Now()}
	// On Windows the service control comes first; the request file is the
	// fallback (no service, not running, not elevated).
	signalled := runtime.GOOS == "windows" && askService() == nil
	if !signalled {
		if err := agent.WriteScanRequest(dir, req); err != nil {
			hint := ""
			if errors.Is(err, fs.ErrPermission) {
				hint = " (writing the agent's state directory needs root or Administrator)"
			}
			return usageError(stderr, "scan-now", "cannot write the scan request: %v%s", err, hint)
		}
		signalled = signalAgent(dir)
	}
	if runtime.GOOS == "windows" {
		if signalled {
			fmt.Fprintln(stderr, "banwatch scan-now: asked the service")
		} else {
			fmt.Fprintln(stderr, "banwatch scan-now: left a request in "+filepath.Join(dir, agent.RequestFile))
		}
	}
	if *wait == 0 {
		how := "the agent takes it within a few seconds"
		if signalled {
			how = "the agent was signalled"
		}
		fmt.Fprintf(stdout, "banwatch scan-now: scan requested (%s); \"banwatch status\" shows the result\n", how)
		return exitOK
	}

	deadline := time.Now().Add(*wait)
	for {
		st, err := agent.ReadStatus(dir)
		if err == nil && st.LastScan.After(req.RequestedAt) {
			return scanNowResult(st, stdout)
		}
		if !time.Now().Before(deadline) {
			why := "its status shows no scan since the request"
			switch {
			case errors.Is(err, fs.ErrNotExist):
				why = "no status file " + filepath.Join(dir, agent.StatusFile)
			case err != nil:
				why = err.Error()
			case !st.Running:
				why = "it stopped " + st.UpdatedAt.Local().Format(time.DateTime)
			}
			fmt.Fprintf(stdout, "banwatch agent: NOT RUNNING: no answer within %s: %s\n", *wait, why)
			return exitNotRunning
		}
		time.Sleep(min(scanNowPoll, time.Until(deadline)))
	}
}

// scanNowResult prints the one-line result of the requested scan and
// returns its exit code.
func scanNowResult(st *agent.Status, stdout io.Writer) int {
	when := st.LastScan.Local().Format(time.DateTime)
	took := (time.Duration(st.LastScanDurationMS) * time.Millisecond).String()
	if strings.HasPrefix(st.LastError, "scan: ") {
		fmt.Fprintf(stdout, "banwatch scan-now: the scan at %s failed: %s\n", when, strings.TrimPrefix(st.LastError, "scan: "))
		return exitNotRunning
	}
	line := fmt.Sprintf("banwatch scan-now: scan at %s (%s): ", when, took)
	if st.Findings == 0 {
		fmt.Fprintln(stdout, line+"no findings")
		return exitOK
	}
	var parts []string
	for _, sev := range []policy.Severity{policy.SeverityCritical, policy.SeverityHigh, policy.SeverityMedium, policy.SeverityLow} {
		if n := st.BySeverity[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	noun := "findings"
	if st.Findings == 1 {
		noun = "finding"
	}
	line += fmt.Sprintf("%d %s", st.Findings, noun)
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	fmt.Fprintln(stdout, line)
	return exitFindings
}

// signalAgent sends SIGHUP to the agent whose pid status.json holds, on
// Unix, and says whether it did. It signals only a process that the
// status says is running, that exists (signal 0), and, on Linux, whose
// command line is "banwatch ... run": after a kill -9 the pid may belong
// to another program, for which SIGHUP's default is to end. Whatever
// happens, the request file still reaches the agent.
func signalAgent(dir string) bool {
	if runtime.GOOS == "windows" {
		return false
	}
	st, err := agent.ReadStatus(dir)
	if err != nil || !st.Running || st.PID <= 1 || st.PID == os.Getpid() {
		return false
	}
	p, err := os.FindProcess(st.PID)
	if err != nil || p.Signal(syscall.Signal(0)) != nil {
		return false
	}
	if !looksLikeAgent(st.PID) {
		return false
	}
	return p.Signal(syscall.SIGHUP) == nil
}

// looksLikeAgent says whether pid runs "banwatch ... run", where
// /proc shows it; elsewhere it cannot tell and says yes.
func looksLikeAgent(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return runtime.GOOS != "linux"
	}
	argv := strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00")
	if len(argv) < 2 || !strings.Contains(filepath.Base(argv[0]), "banwatch") {
		return false
	}
	for _, a := range argv[1:] {
		if a == "run" {
			return true
		}
	}
	return false
}
