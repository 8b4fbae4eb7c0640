package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/scan"
)

// cmdRun runs "run": the agent in the foreground until SIGINT or SIGTERM
// (ctx), scanning at start, every interval, on SIGHUP and on a scan-now
// request file. svcLog, when the agent runs under a service manager, also
// gets its errors and alerts (the Windows Event Log, syslog). Exit 0
// after a graceful stop, 2 for a usage or configuration error.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, svcLog agent.ServiceLogger) int {
	fs := flag.NewFlagSet("banwatch run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configFile := fs.String("config", "", "agent config `FILE` (default: "+agent.DefaultConfigPath(runtime.GOOS)+", else built-in defaults)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "Usage: banwatch run [--config FILE]")
			fs.PrintDefaults()
			return exitOK
		}
		return usageError(stderr, "run", "%v (run \"banwatch run -h\")", err)
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "run", "unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadAgentConfig(*configFile)
	if err != nil {
		return configProblem(stderr, "run", err)
	}
	pol, err := loadPolicy(cfg.Policy)
	if err != nil {
		return usageError(stderr, "run", "%s", oneLine(err, cfg.Policy))
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return usageError(stderr, "run", "state directory: %v", err)
	}
	logFile := agent.OpenLogFile(cfg.Log)
	defer logFile.Close()
	// The agent's own messages go to the log file (JSON) and to stderr,
	// which the service manager keeps. The config is logged redacted.
	console := zapcore.NewCore(zapcore.NewConsoleEncoder(agent.LogEncoderConfig()), zapcore.AddSync(stderr), zapcore.InfoLevel)
	cores := []zapcore.Core{agent.NewFileLogger(logFile, zapcore.InfoLevel).Core(), console}
	if svcLog != nil {
		cores = append(cores, agent.NewServiceLogCore(svcLog))
	}
	log := zap.New(zapcore.NewTee(cores...)).Named("agent")
	defer func() { _ = log.Sync() }()
	log.Info("config", zap.String("file", cfg.File), zap.String("effective", cfg.String()))

	// The fleet sender drains its spool until the agent stops.
	sinkCtx, stopSinks := context.WithCancel(ctx)
	more, depth, closeSinks, err := networkSinks(sinkCtx, cfg, log)
	if err != nil {
		stopSinks()
		return usageError(stderr, "run", "%v", err)
	}
	defer func() { stopSinks(); closeSinks() }()
	sinks := append([]agent.Sink{agent.NewLogSink(logFile)}, more...)
	if svcLog != nil {
		// Alerts go to the service log only: the log sink has them in the file.
		sinks = append(sinks, &agent.AlertSink{Log: zap.New(agent.NewServiceLogCore(svcLog)).Named("agent")})
	}

	a := &agent.Agent{
		Scan: func(ctx context.Context) (*scan.Report, error) {
			return scan.Run(ctx, scan.Options{Root: cfg.Root, Policy: pol, Jurisdiction: cfg.Jurisdiction, Log: log.Named("scan")})
		},
		Sinks: sinks, StateDir: cfg.StateDir, Interval: cfg.Interval, Jitter: cfg.Jitter, Log: log,
		SpoolDepth: depth, RequestPoll: agent.RequestPollInterval,
	}
	stopTrigger := notifyTrigger(a.Trigger)
	defer stopTrigger()
	if err := a.Run(ctx); err != nil {
		log.Error("agent failed", zap.Error(err))
		return usageError(stderr, "run", "%v", err)
	}
	return exitOK
}
