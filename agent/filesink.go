package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/banwatch/banwatch/agent/ocsf"
	"github.com/banwatch/banwatch/scan"
)

// Output formats of the fleet and file sinks.
const (
	// FormatBanwatch is banwatch's own JSON: for the fleet sink the
	// delivery ({key, report, events}), for the file sink a FileEvent per
	// line.
	FormatBanwatch = "banwatch"
	// FormatOCSF is OCSF Detection Findings (class 2004): for the fleet
	// sink a JSON array per delivery, for the file sink one per line.
	FormatOCSF = "ocsf"
)

// ValidFormat says whether f names a sink format; "" is the default,
// FormatBanwatch.
func ValidFormat(f string) bool {
	return f == "" || f == FormatBanwatch || f == FormatOCSF
}

// OCSFFindings maps a delivery to OCSF Detection Findings, the same way
// for every sink: each new, changed or resolved event is one finding
// (Create, Update, Close; ocsf.FromEvent). A delivery that is only a
// heartbeat restates the report's current findings (ocsf.FromReport,
// activity Create at the scan's start, unmapped.banwatch.event
// "heartbeat"), so a consumer that keeps data for less than a day still
// sees what is open; with no finding open, or no report, it is empty.
// The result is never nil.
func OCSFFindings(d *Delivery) []ocsf.DetectionFinding {
	if d.Heartbeat() {
		if d.Report == nil {
			return []ocsf.DetectionFinding{}
		}
		out := ocsf.FromReport(d.Report)
		for i := range out {
			if out[i].Unmapped != nil {
				out[i].Unmapped.Banwatch.Event = string(EventHeartbeat)
			}
		}
		return out
	}
	out := make([]ocsf.DetectionFinding, 0, len(d.Events))
	for _, e := range d.Events {
		df, ok := ocsf.FromEvent(ocsf.Event{Type: string(e.Type), At: e.At, Finding: e.Finding, Previous: e.Previous}, d.Report)
		if ok {
			out = append(out, df)
		}
	}
	return out
}

// FileEventSchema names the file sink's banwatch line format.
const FileEventSchema = "banwatch.event/v1"

// FileEvent is one line of the file sink in the banwatch format: the
// event, the delivery it came in, and the host and scan it is about
// (without the scan's detector list; the fleet sink has the whole
// report).
type FileEvent struct {
	Schema   string `json:"schema"`
	Delivery string `json:"delivery"`
	Event
	Host   *scan.Host       `json:"host,omitempty"`
	Scan   *FileScan        `json:"scan,omitempty"`
	Policy *scan.PolicyInfo `json:"policy,omitempty"`
	// Findings is the number of findings open, on heartbeats.
	Findings *int `json:"findings,omitempty"`
}

// FileScan is the scan a FileEvent comes from.
type FileScan struct {
	Root         string    `json:"root,omitempty"`
	Mode         string    `json:"mode"`
	AsOf         string    `json:"as_of"`
	Jurisdiction string    `json:"jurisdiction"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   int64     `json:"duration_ms"`
}

// FileEvents maps a delivery to the file sink's banwatch lines, one per
// event.
func FileEvents(d *Delivery) []FileEvent {
	out := make([]FileEvent, 0, len(d.Events))
	for _, e := range d.Events {
		fe := FileEvent{Schema: FileEventSchema, Delivery: d.Key, Event: e}
		if r := d.Report; r != nil {
			h, p := r.Host, r.Policy
			fe.Host, fe.Policy = &h, &p
			fe.Scan = &FileScan{
				Root: r.Scan.Root, Mode: r.Scan.Mode, AsOf: r.Scan.AsOf, Jurisdiction: r.Scan.Jurisdiction,
				StartedAt: r.Scan.StartedAt, DurationMS: r.Scan.DurationMS,
			}
			if e.Type == EventHeartbeat {
				n := len(r.Findings)
				fe.Findings = &n
			}
		}
		out = append(out, fe)
	}
	return out
}

// FileSink appends each delivery to a file as JSON lines: in the
// banwatch format one FileEvent per event, in the OCSF format one
// Detection Finding per line (OCSFFindings). A delivery is written with
// one Write, so a rotation never splits it; lines are not synced one by
// one.
type FileSink struct {
	mu     sync.Mutex
	w      io.Writer
	format string
}

// OpenFileSink returns a file sink appending to path in format, rotated
// like the log (rot's size, backups and age; its file is not used). Close
// it when the agent stops.
func OpenFileSink(path, format string, rot LogConfig) (*FileSink, io.Closer, error) {
	if path == "" {
		return nil, nil, fmt.Errorf("file sink: no path")
	}
	rot.File = path
	lj := OpenLogFile(rot)
	s, err := NewFileSink(lj, format)
	if err != nil {
		return nil, nil, err
	}
	return s, lj, nil
}

// NewFileSink writes to w (a rotating file, or any writer in tests) in
// format: FormatBanwatch (or "") or FormatOCSF.
func NewFileSink(w io.Writer, format string) (*FileSink, error) {
	if !ValidFormat(format) {
		return nil, fmt.Errorf("file sink: format must be %s or %s, got %q", FormatBanwatch, FormatOCSF, format)
	}
	if format == "" {
		format = FormatBanwatch
	}
	return &FileSink{w: w, format: format}, nil
}

// Name implements Sink.
func (s *FileSink) Name() string { return "file" }

// Send implements Sink.
func (s *FileSink) Send(ctx context.Context, d *Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one line per value
	if s.format == FormatOCSF {
		for _, df := range OCSFFindings(d) {
			if err := enc.Encode(df); err != nil {
				return fmt.Errorf("file sink: %w", err)
			}
		}
	} else {
		for _, fe := range FileEvents(d) {
			if err := enc.Encode(fe); err != nil {
				return fmt.Errorf("file sink: %w", err)
			}
		}
	}
	if buf.Len() == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	return nil
}
