package agent

import (
	"context"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// ServiceLogger is where the service manager keeps a service's messages:
// kardianos/service's Logger (the Windows Event Log, syslog) has these
// methods.
type ServiceLogger interface {
	Error(v ...any) error
	Warning(v ...any) error
	Info(v ...any) error
}

// alertKey is the field that tags a log entry as an alert.
const alertKey = "alert"

// Alert tags a log entry (Warn or above) as an alert, which the service
// log core forwards like an error.
func Alert() zap.Field { return zap.Bool(alertKey, true) }

// serviceCore forwards the agent's errors and its alerts to a
// ServiceLogger, one line each: the message, then the fields as JSON.
// Everything else stays in the log file. The fields are what the agent
// logs, which never carries a secret (config.Secret formats redacted).
type serviceCore struct {
	l     ServiceLogger
	enc   zapcore.Encoder // the fields only: no time, level or message
	alert bool            // With added the alert tag
}

// NewServiceLogCore is a zapcore.Core that writes Error and above, and
// Warn entries tagged with Alert, to l.
func NewServiceLogCore(l ServiceLogger) zapcore.Core {
	return &serviceCore{l: l, enc: zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		EncodeDuration: zapcore.StringDurationEncoder, EncodeTime: zapcore.RFC3339TimeEncoder,
	})}
}

func (c *serviceCore) Enabled(l zapcore.Level) bool { return l >= zapcore.WarnLevel }

func (c *serviceCore) With(fields []zapcore.Field) zapcore.Core {
	clone := &serviceCore{l: c.l, enc: c.enc.Clone(), alert: c.alert}
	for _, f := range fields {
		if isAlert(f) {
			clone.alert = true
			continue
		}
		f.AddTo(clone.enc)
	}
	return clone
}

func (c *serviceCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *serviceCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	alert := c.alert
	rest := fields[:0:0]
	for _, f := range fields {
		if isAlert(f) {
			alert = true
			continue
		}
		rest = append(rest, f)
	}
	if e.Level < zapcore.ErrorLevel && !alert {
		return nil
	}
	buf, err := c.enc.EncodeEntry(zapcore.Entry{}, rest)
	if err != nil {
		return err
	}
	defer buf.Free()
	line := e.Message
	if e.LoggerName != "" {
		line = e.LoggerName + ": " + line
	}
	if f := strings.TrimSpace(buf.String()); f != "{}" && f != "" {
		line += " " + f
	}
	if e.Level >= zapcore.ErrorLevel {
		return c.l.Error(line)
	}
	return c.l.Warning(line)
}

func (c *serviceCore) Sync() error { return nil }

func isAlert(f zapcore.Field) bool {
	return f.Key == alertKey && f.Type == zapcore.BoolType && f.Integer == 1
}

// AlertSink logs each new or changed finding as an alert, one line:
// product, kind and severity. Give it a logger over NewServiceLogCore,
// so the alerts reach the service manager's log and the log file keeps
// only the log sink's lines. It never fails a delivery.
type AlertSink struct {
	Log *zap.Logger
}

// Name implements Sink.
func (s *AlertSink) Name() string { return "service log" }

// Send implements Sink.
func (s *AlertSink) Send(_ context.Context, d *Delivery) error {
	for _, e := range d.Events {
		f := e.Finding
		if f == nil || (e.Type != EventNew && e.Type != EventChanged) {
			continue
		}
		msg := "new finding"
		if e.Type == EventChanged {
			msg = "finding changed"
		}
		product := f.Product
		if f.Version != "" {
			product += " " + f.Version
		}
		s.Log.Warn(msg+": "+product+" ("+string(f.Kind)+", "+string(f.Severity)+")", Alert())
	}
	return nil
}
