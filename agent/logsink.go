package agent

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"
)

// OpenLogFile returns the rotating log file of c. Write it through
// NewLogSink and, for the agent's own messages, NewFileLogger; close it
// when the agent stops.
func OpenLogFile(c LogConfig) *lumberjack.Logger {
	return &lumberjack.Logger{
		Filename: c.File, MaxSize: c.MaxSizeMB, MaxBackups: c.MaxBackups, MaxAge: c.MaxAgeDays, LocalTime: false,
	}
}

// LogEncoderConfig is the JSON layout of the log file: ts (RFC 3339),
// level, logger, msg, then the fields.
func LogEncoderConfig() zapcore.EncoderConfig {
	c := zap.NewProductionEncoderConfig()
	c.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	c.EncodeDuration = zapcore.StringDurationEncoder
	return c
}

// NewFileLogger is a zap JSON logger to w for the agent's own messages.
func NewFileLogger(w io.Writer, level zapcore.Level) *zap.Logger {
	core := zapcore.NewCore(zapcore.NewJSONEncoder(LogEncoderConfig()), zapcore.AddSync(w), level)
	return zap.New(core).Named("agent")
}

// LogSink writes each event as one zap JSON line. Unlike a zap.Logger,
// it returns write errors, so a full disk is a failed delivery.
// The lines carry the finding and the delivery key, never configuration,
// so no secret can reach the log through it.
type LogSink struct {
	mu  sync.Mutex
	w   io.Writer
	enc zapcore.Encoder
	now func() time.Time
}

// NewLogSink writes to w (an OpenLogFile, or any writer in tests).
func NewLogSink(w io.Writer) *LogSink {
	return &LogSink{w: w, enc: zapcore.NewJSONEncoder(LogEncoderConfig()), now: time.Now}
}

// Name implements Sink.
func (s *LogSink) Name() string { return "log" }

// Send implements Sink.
func (s *LogSink) Send(ctx context.Context, d *Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, e := range d.Events {
		if err := ctx.Err(); err != nil {
			return err
		}
		level, msg := zapcore.InfoLevel, "heartbeat"
		fields := []zap.Field{zap.String("event", string(e.Type)), zap.Time("at", e.At), zap.String("delivery", d.Key)}
		if d.Report != nil {
			fields = append(fields, zap.String("host", d.Report.Host.Hostname))
		}
		if f := e.Finding; f != nil {
			switch e.Type {
			case EventNew:
				level, msg = zapcore.WarnLevel, "new finding"
			case EventChanged:
				level, msg = zapcore.WarnLevel, "finding changed"
			case EventResolved:
				msg = "finding resolved"
			}
			fields = append(fields, zap.String("finding_id", f.ID), zap.String("kind", string(f.Kind)),
				zap.String("severity", string(f.Severity)), zap.String("product", f.Product),
				zap.String("version", f.Version), zap.String("summary", f.Summary))
			if p := e.Previous; p != nil {
				fields = append(fields, zap.String("previous_severity", string(p.Severity)), zap.String("previous_version", p.Version),
					zap.String("previous_summary", p.Summary))
			}
		} else if d.Report != nil {
			fields = append(fields, zap.Int("findings", len(d.Report.Findings)))
		}
		buf, err := s.enc.EncodeEntry(zapcore.Entry{Level: level, Time: s.now(), LoggerName: "events", Message: msg}, fields)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, err = s.w.Write(buf.Bytes())
		buf.Free()
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
