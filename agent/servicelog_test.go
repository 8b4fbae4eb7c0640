package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/banwatch/banwatch/policy"
)

// fakeServiceLogger records what reaches the service manager's log.
type fakeServiceLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *fakeServiceLogger) add(level string, v []any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+fmt.Sprint(v...))
	return nil
}
func (l *fakeServiceLogger) Error(v ...any) error   { return l.add("E", v) }
func (l *fakeServiceLogger) Warning(v ...any) error { return l.add("W", v) }
func (l *fakeServiceLogger) Info(v ...any) error    { return l.add("I", v) }

func TestServiceLogCore(t *testing.T) {
	fake := &fakeServiceLogger{}
	log := zap.New(NewServiceLogCore(fake)).Named("agent")
	log.Info("scan done", zap.Int("findings", 4))
	log.Warn("scan did not stop in time")
	log.Info("informational alert is below Warn", Alert())
	log.Error("scan failed", zap.Error(errors.New("disk gone")))
	log.Warn("new finding: KESL 12.1 (product, critical)", Alert())
	log.With(Alert(), zap.String("host", "h1")).Warn("finding changed")
	log.With(zap.String("sink", "fleet")).Error("sink did not accept the delivery")
	log.Named("fleet").Warn("retrying") // neither error nor alert

	want := []string{
		`E agent: scan failed {"error":"disk gone"}`,
		`W agent: new finding: KESL 12.1 (product, critical)`,
		`W agent: finding changed {"host":"h1"}`,
		`E agent: sink did not accept the delivery {"sink":"fleet"}`,
	}
	if strings.Join(fake.lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("service log:\n%s\nwant:\n%s", strings.Join(fake.lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestServiceLogNoSecret: a config logged through the core, at error
// level, is redacted.
func TestServiceLogNoSecret(t *testing.T) {
	fake := &fakeServiceLogger{}
	log := zap.New(NewServiceLogCore(fake))
	var c Config
	c.Fleet.Token = "s3cr3t-token"
	log.Error("config", zap.Stringer("effective", &c), zap.Any("token", c.Fleet.Token))
	if len(fake.lines) != 1 || strings.Contains(fake.lines[0], "s3cr3t") {
		t.Errorf("service log: %q", fake.lines)
	}
}

func TestAlertSink(t *testing.T) {
	fake := &fakeServiceLogger{}
	s := &AlertSink{Log: zap.New(NewServiceLogCore(fake))}
	a, b := finding("a", policy.SeverityCritical, "12.1"), finding("b", policy.SeverityHigh, "11")
	a0 := finding("a", policy.SeverityHigh, "12.0")
	d := &Delivery{Key: "k", Events: []Event{
		{Type: EventNew, Finding: &b},
		{Type: EventChanged, Finding: &a, Previous: &a0},
		{Type: EventResolved, Finding: &b},
		{Type: EventHeartbeat},
	}}
	if err := s.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	want := "W new finding: KESL 11 (product, high)\nW finding changed: KESL 12.1 (product, critical)"
	if got := strings.Join(fake.lines, "\n"); got != want {
		t.Errorf("alerts:\n%s\nwant:\n%s", got, want)
	}
	if !zap.New(NewServiceLogCore(fake)).Core().Enabled(zapcore.WarnLevel) {
		t.Error("the core does not take Warn entries, so no alert would reach it")
	}
}
