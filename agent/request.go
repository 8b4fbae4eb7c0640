package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// RequestFile, in the state directory, asks the running agent for a scan
// now: "banwatch scan-now" writes it, and the agent removes it when it
// starts a scan. It is the on-demand path on every OS; on Unix a SIGHUP
// comes with it so the scan starts at once rather than at the next poll.
// On Windows "banwatch scan-now" first sends the service its user-defined
// control 128, which calls Agent.Trigger, and writes the file only when
// that fails.
const RequestFile = "scan-now.request"

// RequestPollInterval is how often "banwatch run" looks for the request
// file between scans: one os.Stat each time.
const RequestPollInterval = 2 * time.Second

// ScanRequest is the content of the request file.
type ScanRequest struct {
	PID         int       `json:"pid"`
	RequestedAt time.Time `json:"requested_at"`
}

// WriteScanRequest writes dir/scan-now.request atomically (a temporary
// file renamed over it), so the agent never reads a part.
func WriteScanRequest(dir string, r ScanRequest) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, RequestFile), append(data, '\n'), 0o644)
}

// takeRequest removes the request file if there is one and says whether
// there was, with the request when it could be read. A stat comes first,
// so the usual case (no request) costs one system call.
func (a *Agent) takeRequest() (ScanRequest, bool) {
	name := filepath.Join(a.StateDir, RequestFile)
	if _, err := os.Stat(name); err != nil {
		return ScanRequest{}, false
	}
	var r ScanRequest
	if data, err := os.ReadFile(name); err == nil {
		_ = json.Unmarshal(data, &r) // the content is only logged
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A request that cannot be removed is not taken, or it would
		// start a scan at every poll; it is logged once.
		if !a.requestStuck {
			a.requestStuck = true
			a.Log.Error("cannot remove the scan request file; the request is ignored", zap.Error(err))
		}
		return ScanRequest{}, false
	}
	a.requestStuck = false
	return r, true
}
