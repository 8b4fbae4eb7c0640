// Package notice is the agent's sink for the person at the machine: when
// a finding appears (or its severity goes up) it shows a notice on the
// desktop of whoever is logged in, at most once a day per finding.
//
//   - Linux: notify-send, run as each user with a session bus
//     (/run/user/UID/bus), and a terminal message (like wall) to the
//     users it could not reach that way.
//   - Windows: WTSSendMessageW to the active console session (a service
//     in session 0 cannot show windows itself).
//   - macOS: launchctl asuser UID osascript -e 'display notification ...'
//     for the console user.
//
// No text ever goes through a shell: commands are run from argument
// vectors, AppleScript strings are escaped, and control characters are
// stripped from what is written to terminals.
package notice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/banwatch/banwatch/agent"
)

// ShownFile is the file in the state directory with the last time each
// finding's notice was shown.
const ShownFile = "notice.json"

// Every is how long a finding's notice stays quiet after it was shown.
const Every = 24 * time.Hour

// Message is one notice.
type Message struct {
	// FindingID is the finding the notice is about.
	FindingID string
	// Title is one line: "banwatch: <product>".
	Title string
	// Body is what was found, why it matters and what to do, one
	// paragraph a line.
	Body string
}

// Shower shows a message to the people at the machine. It returns how
// many sessions (users, terminals, consoles) it reached; zero with a nil
// error means nobody was there to see it.
type Shower interface {
	Show(ctx context.Context, m Message) (reached int, err error)
}

// Options are the sink's optional parts.
type Options struct {
	// Shower defaults to the platform's (Default()).
	Shower Shower
	// Now defaults to time.Now.
	Now func() time.Time
	// Log defaults to a no-op logger.
	Log *zap.Logger
}

// Sink is the notice sink.
type Sink struct {
	file   string
	shower Shower
	now    func() time.Time
	log    *zap.Logger
	mu     sync.Mutex
}

// New makes the sink; stateDir holds its ShownFile.
func New(stateDir string, opts Options) (*Sink, error) {
	if stateDir == "" {
		return nil, errors.New("notice: no state directory")
	}
	s := &Sink{file: filepath.Join(stateDir, ShownFile), shower: opts.Shower, now: opts.Now, log: opts.Log}
	if s.shower == nil {
		s.shower = Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	return s, nil
}

// Name is "notice".
func (s *Sink) Name() string { return "notice" }

// Wants says whether an event calls for a notice: a new finding, or a
// changed one whose severity went up.
func Wants(e agent.Event) bool {
	switch {
	case e.Finding == nil:
		return false
	case e.Type == agent.EventNew:
		return true
	case e.Type == agent.EventChanged:
		return e.Previous == nil || e.Finding.Severity.Rank() > e.Previous.Severity.Rank()
	}
	return false
}

// Send shows a notice for each event that wants one and was not shown in
// the last day. A notice is best effort: nobody logged in, or a notifier
// that fails, is logged and is not an error, since the delivery would
// otherwise be retried (and the fleet and log sinks see it again) for
// something a retry cannot fix. Only a cancelled ctx is an error.
func (s *Sink) Send(ctx context.Context, d *agent.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	shown, err := s.load()
	if err != nil {
		s.log.Warn("notice: the record of shown notices is unreadable; starting afresh", zap.String("file", s.file), zap.Error(err))
	}
	dirty := false
	for _, e := range d.Events {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !Wants(e) {
			continue
		}
		now := s.now()
		if last, ok := shown[e.Finding.ID]; ok && now.Sub(last) < Every && !now.Before(last) {
			continue
		}
		m := Build(e.Finding)
		n, err := s.shower.Show(ctx, m)
		if err != nil {
			s.log.Warn("notice not shown", zap.String("finding", e.Finding.ID), zap.Int("reached", n), zap.Error(err))
		}
		if n == 0 {
			if err == nil {
				s.log.Info("notice: nobody logged in to show it to", zap.String("finding", e.Finding.ID))
			}
			continue
		}
		s.log.Info("notice shown", zap.String("finding", e.Finding.ID), zap.Int("reached", n))
		shown[e.Finding.ID] = now
		dirty = true
	}
	if dirty {
		s.prune(shown)
		if err := s.save(shown); err != nil {
			s.log.Warn("notice: cannot record shown notices", zap.String("file", s.file), zap.Error(err))
		}
	}
	return nil
}

// prune forgets notices shown more than a day ago: they no longer hold
// anything back, and the file stays small.
func (s *Sink) prune(shown map[string]time.Time) {
	now := s.now()
	for id, t := range shown {
		if now.Sub(t) >= Every {
			delete(shown, id)
		}
	}
}

type shownFile struct {
	Shown map[string]time.Time `json:"shown"`
}

func (s *Sink) load() (map[string]time.Time, error) {
	data, err := os.ReadFile(s.file)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]time.Time{}, nil
	}
	if err != nil {
		return map[string]time.Time{}, err
	}
	var f shownFile
	if err := json.Unmarshal(data, &f); err != nil {
		return map[string]time.Time{}, fmt.Errorf("%s: %w", s.file, err)
	}
	if f.Shown == nil {
		f.Shown = map[string]time.Time{}
	}
	return f.Shown, nil
}

func (s *Sink) save(shown map[string]time.Time) error {
	data, err := json.MarshalIndent(shownFile{Shown: shown}, "", "  ")
	if err != nil {
		return err
	}
	return agent.WriteFileAtomic(s.file, append(data, '\n'), 0o644)
}

var _ agent.Sink = (*Sink)(nil)
