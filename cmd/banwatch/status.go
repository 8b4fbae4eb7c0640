package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/banwatch/banwatch/agent"
)

// exitNotRunning is status's exit code for an agent that is not running,
// has not scanned, or whose status is older than two intervals.
const exitNotRunning = agent.StatusStale

// cmdStatus runs "status": the running agent's last scan, for people or
// (--json) for RMM and Intune scripts. Exit 0 clean, 1 findings, 3 the
// agent is not running or its status is stale or missing, 2 usage or
// configuration error.
func cmdStatus(args []string, now time.Time, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("banwatch status", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	configFile := flags.String("config", "", "agent config `FILE` (default: the platform's)")
	stateDir := flags.String("state-dir", "", "read the status from this `DIR` instead of the config's state_dir")
	asJSON := flags.Bool("json", false, "print the status as JSON, with the exit code and its reason")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			flags.SetOutput(stdout)
			fmt.Fprintln(stdout, "Usage: banwatch status [--config FILE | --state-dir DIR] [--json]")
			flags.PrintDefaults()
			return exitOK
		}
		return usageError(stderr, "status", "%v (run \"banwatch status -h\")", err)
	}
	if flags.NArg() > 0 {
		return usageError(stderr, "status", "unexpected argument %q", flags.Arg(0))
	}
	dir := *stateDir
	if dir == "" {
		c, err := loadAgentConfig(*configFile)
		if err != nil {
			return configProblem(stderr, "status", err)
		}
		dir = c.StateDir
	}
	st, err := agent.ReadStatus(dir)
	var code int
	var why string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		code, why = exitNotRunning, fmt.Sprintf("the agent is not running: no status file %s", filepath.Join(dir, agent.StatusFile))
	case err != nil:
		code, why = exitNotRunning, fmt.Sprintf("the agent's status cannot be read: %v", err)
	default:
		code, why = st.Check(now)
	}
	if *asJSON {
		out, err := json.MarshalIndent(struct {
			Code   int    `json:"code"`
			Reason string `json:"reason"`
			*agent.Status
		}{code, why, st}, "", "  ")
		if err != nil {
			return usageError(stderr, "status", "%v", err)
		}
		fmt.Fprintf(stdout, "%s\n", out)
		return code
	}
	if st == nil {
		fmt.Fprintf(stdout, "banwatch agent: NOT RUNNING: %s\n", why)
		if note := noServiceManagerNote(); note != "" {
			fmt.Fprintln(stdout, note)
		}
		return code
	}
	if err := st.WriteText(stdout, now); err != nil {
		return usageError(stderr, "status", "%v", err)
	}
	return code
}
