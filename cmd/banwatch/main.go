// Command banwatch finds banned security software (Kaspersky, by its
// built-in policy) on a machine or a mounted disk image and reports it.
//
// This file only dispatches; each command lives in its own file.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit codes, as DESIGN.md and the README state them.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "scan":
		return cmdScan(ctx, args[1:], stdout, stderr)
	case "policy":
		return cmdPolicy(args[1:], stdout, stderr)
	case "version":
		return cmdVersion(args[1:], stdout, stderr)
	case "run":
		return cmdRunService(ctx, args[1:], stdout, stderr)
	case "scan-now":
		return cmdScanNow(args[1:], stdout, stderr)
	case "status":
		return cmdStatus(args[1:], time.Now(), stdout, stderr)
	case "config":
		return cmdConfig(args[1:], stdout, stderr)
	case "install":
		return cmdInstall(args[1:], stdout, stderr)
	case "uninstall":
		return cmdUninstall(args[1:], stdout, stderr)
	case "start", "stop", "restart":
		return cmdControl(args[0], args[1:], stdout, stderr)
	case "service-status":
		return cmdServiceStatus(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "banwatch: unknown command %q (run \"banwatch help\")\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `banwatch finds banned security software (Kaspersky) and says why it matters.

Usage:
  banwatch scan [--root DIR] [--policy FILE] [--format text|json|ocsf] [--as-of YYYY-MM-DD]
                [--jurisdiction CODE] [--fail-on low|medium|high|critical] [--detectors a,b,...]
                [--probe-updates]
  banwatch policy show|check [FILE]
  banwatch run [--config FILE]           run the agent in the foreground (SIGHUP: scan now)
  banwatch scan-now [--config FILE | --state-dir DIR] [--wait 2m]
                                         ask the running agent for a scan now and print
                                         its result (exit 0 clean, 1 findings, 3 no answer)
  banwatch status [--json] [--config FILE | --state-dir DIR]
  banwatch config check|show [FILE]
  banwatch install [--config FILE] [--no-start]
                                         copy the binary, write a default config if none,
                                         register and start the service (root/Administrator)
  banwatch uninstall [--config FILE] [--purge]
                                         remove the service and binary; --purge also the
                                         config and the state directory
  banwatch start|stop|restart            control the service through the service manager
  banwatch service-status                what the service manager says: running, stopped,
                                         not installed, or that none runs (a container)
  banwatch version

Run "banwatch scan -h" for the scan flags. Exit codes of scan: 0 no finding at or
above --fail-on, 1 findings, 2 usage or configuration error. Exit codes of
status: 0 the agent runs and found nothing, 1 it found something, 3 it is not
running or its status is older than two intervals. Exit codes of install,
uninstall, start, stop and restart: 0 done, 1 failed; of service-status: 0
running, 3 stopped, not installed or no service manager.
`)
}

// usageError prints a one-line error for a command and returns exitUsage.
func usageError(stderr io.Writer, cmd string, format string, args ...any) int {
	fmt.Fprintf(stderr, "banwatch %s: %s\n", cmd, fmt.Sprintf(format, args...))
	return exitUsage
}
