package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"

	"github.com/banwatch/banwatch/agent"
)

// cmdConfig runs "config check [FILE]" and "config show [FILE]". check
// exits 0 for a valid config, 1 for an invalid one (each problem on its
// own line, with file and line), 2 for a usage error or a file that
// cannot be read. show prints the effective config, secrets redacted.
func cmdConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || len(args) > 2 {
		return usageError(stderr, "config", "usage: banwatch config check|show [FILE]")
	}
	file := agent.DefaultConfigPath(runtime.GOOS)
	if len(args) == 2 {
		file = args[1]
	}
	if args[0] != "check" && args[0] != "show" {
		return usageError(stderr, "config", "unknown subcommand %q: want check or show", args[0])
	}
	c, err := agent.LoadConfigFile(file)
	var ce *agent.ConfigError
	switch {
	case errors.As(err, &ce):
		for _, p := range ce.Problems {
			fmt.Fprintln(stdout, p)
		}
		fmt.Fprintf(stdout, "%s: invalid, %d %s\n", file, len(ce.Problems), plural(len(ce.Problems), "problem", "problems"))
		return exitFindings
	case err != nil:
		return usageError(stderr, "config "+args[0], "%v", err)
	}
	if args[0] == "show" {
		fmt.Fprintf(stdout, "# effective config from %s (defaults filled in, secrets redacted)\n%s", file, c)
		return exitOK
	}
	fmt.Fprintf(stdout, "%s: valid: scan every %s ± %g%%, state in %s, log to %s\n", file, c.Interval, c.Jitter*100, c.StateDir, c.Log.File)
	return exitOK
}

// loadAgentConfig reads the agent's config: file if given, else the
// default file, else the defaults when there is no default file.
func loadAgentConfig(file string) (*agent.Config, error) {
	if file != "" {
		return agent.LoadConfigFile(file)
	}
	c, err := agent.LoadConfigFile(agent.DefaultConfigPath(runtime.GOOS))
	if errors.Is(err, fs.ErrNotExist) {
		return agent.DefaultConfig(runtime.GOOS), nil
	}
	return c, err
}

// configProblem prints a config error for cmd: the first problem and a
// pointer to "banwatch config check".
func configProblem(stderr io.Writer, cmd string, err error) int {
	var ce *agent.ConfigError
	if errors.As(err, &ce) {
		msg := ce.Problems[0].String()
		if n := len(ce.Problems) - 1; n > 0 {
			msg += fmt.Sprintf(" (and %d more; run \"banwatch config check %s\")", n, ce.Problems[0].File)
		}
		return usageError(stderr, cmd, "invalid config: %s", msg)
	}
	return usageError(stderr, cmd, "config: %v", err)
}
