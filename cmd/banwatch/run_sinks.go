package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/agent/fleet"
	"github.com/banwatch/banwatch/agent/notice"
	"github.com/banwatch/banwatch/agent/spool"
	"github.com/banwatch/banwatch/agent/syslog"
)

// spoolFile is the fleet spool's file in the state directory.
const spoolFile = "spool.db"

// networkSinks opens the sinks the config asks for beyond the log: the
// local notice, the fleet HTTP sink (with its spool and its sender
// running until ctx ends), syslog and the file sink. stop waits for the
// sender and closes what was opened.
func networkSinks(ctx context.Context, cfg *agent.Config, log *zap.Logger) (sinks []agent.Sink, depth func() int, stop func(), err error) {
	var closers []func()
	var wg sync.WaitGroup
	stop = func() {
		wg.Wait()
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	if cfg.Notice.Enabled {
		n, err := notice.New(cfg.StateDir, notice.Options{Log: log.Named("notice")})
		if err != nil {
			return nil, nil, func() {}, err
		}
		sinks = append(sinks, n)
	}
	if cfg.Fleet.URL != "" {
		sender, sp, err := openFleet(cfg, log)
		if err != nil {
			stop()
			return nil, nil, func() {}, err
		}
		closers = append(closers, func() { _ = sp.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = sender.Run(ctx)
		}()
		sinks = append(sinks, sender)
		depth = func() int { return sender.Status().Depth }
	}
	if cfg.Syslog.Address != "" {
		s, err := syslog.New(syslog.Config{Address: cfg.Syslog.Address, Format: cfg.Syslog.Format, Version: version})
		if err != nil {
			stop()
			return nil, nil, func() {}, fmt.Errorf("syslog: %w", err)
		}
		closers = append(closers, func() { _ = s.Close() })
		sinks = append(sinks, s)
	}
	if cfg.FileSink.Path != "" {
		// rotated with the log's size, backups and age
		f, closer, err := agent.OpenFileSink(cfg.FileSink.Path, cfg.FileSink.Format, cfg.Log)
		if err != nil {
			stop()
			return nil, nil, func() {}, err
		}
		closers = append(closers, func() { _ = closer.Close() })
		sinks = append(sinks, f)
	}
	return sinks, depth, stop, nil
}

func openFleet(cfg *agent.Config, log *zap.Logger) (*fleet.Sender, *spool.Spool, error) {
	token := cfg.Fleet.Token.Reveal()
	if cfg.Fleet.TokenFile != "" {
		b, err := os.ReadFile(cfg.Fleet.TokenFile)
		if err != nil {
			return nil, nil, fmt.Errorf("fleet token file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	sp, err := spool.Open(filepath.Join(cfg.StateDir, spoolFile), int64(cfg.Fleet.SpoolMaxMB)<<20)
	if err != nil {
		return nil, nil, fmt.Errorf("fleet spool: %w", err)
	}
	sender, err := fleet.New(fleet.Config{
		URL: cfg.Fleet.URL, Token: token, ClientCert: cfg.Fleet.ClientCert, ClientKey: cfg.Fleet.ClientKey, CAFile: cfg.Fleet.CAFile,
		Format: cfg.Fleet.Format,
	}, sp, fleet.Options{Logger: log.Named("fleet")})
	if err != nil {
		_ = sp.Close()
		return nil, nil, fmt.Errorf("fleet: %w", err)
	}
	return sender, sp, nil
}
