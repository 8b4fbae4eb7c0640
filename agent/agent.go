// Package agent runs banwatch as a service: it scans at start and on an
// interval, compares each scan with the last (new, changed and resolved
// findings, and a daily heartbeat), and hands what changed to its sinks:
// the log, a notice for the person at the machine, a JSON file, and the
// fleet (HTTP, syslog). Reports that cannot be delivered wait in an on-disk
// spool.
package agent

import (
	"context"
	"time"

	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

// EventType says what happened to a finding between two scans.
type EventType string

// Event types.
const (
	EventNew       EventType = "new"
	EventChanged   EventType = "changed"
	EventResolved  EventType = "resolved"
	EventHeartbeat EventType = "heartbeat"
)

// Event is one change the agent reports.
type Event struct {
	Type EventType `json:"type"`
	At   time.Time `json:"at"`
	// Finding is the finding now (for resolved: as it was last seen).
	Finding *policy.Finding `json:"finding,omitempty"`
	// Previous is the finding as it was, for changed events.
	Previous *policy.Finding `json:"previous,omitempty"`
}

// Delivery is what the agent hands its sinks after a scan that changed
// something, or for the daily heartbeat.
type Delivery struct {
	// Key identifies the delivery for idempotent receivers: the same
	// delivery sent twice carries the same key.
	Key    string       `json:"key"`
	Report *scan.Report `json:"report"`
	Events []Event      `json:"events"`
}

// Heartbeat says whether the delivery is only a heartbeat (no finding
// changed), which a full spool drops first.
func (d *Delivery) Heartbeat() bool {
	for _, e := range d.Events {
		if e.Type != EventHeartbeat {
			return false
		}
	}
	return true
}

// Sink receives deliveries. Send must be safe to call again with the same
// delivery after an error; a sink that queues (the fleet sink) returns
// once the delivery is stored durably, not once it is sent.
type Sink interface {
	Name() string
	Send(ctx context.Context, d *Delivery) error
}
