//go:build unix

package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/banwatch/banwatch/agent"
)

// waitFor polls until ok or the guard runs out; it asserts no timing.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("gave up waiting for %s", what)
}

func logLines(t *testing.T, file string) []map[string]any {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func countMsg(lines []map[string]any, msg string) int {
	n := 0
	for _, l := range lines {
		if l["msg"] == msg {
			n++
		}
	}
	return n
}

// TestRunEndToEnd runs the real binary against an offline fixture root:
// it scans, takes SIGHUP as a request to scan, logs new findings, writes
// its status and stops on SIGTERM with exit 0.
func TestRunEndToEnd(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "banwatch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fixture, err := filepath.Abs(root("debian12-kesl"))
	if err != nil {
		t.Fatal(err)
	}
	const token = "e2e-s3cr3t-token"
	fleetSrv := newFleetCollector(t, token)
	config := writeFile(t, "banwatch.yaml", "interval: 1s\nroot: "+fixture+"\nstate_dir: "+filepath.Join(dir, "state")+
		"\nfleet:\n  url: "+fleetSrv.URL+"/v1/reports\n  token: "+token+"\n")
	stateDir, logFile := filepath.Join(dir, "state"), filepath.Join(dir, "state", "banwatch.log")

	cmd := exec.Command(bin, "run", "--config", config)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()

	waitFor(t, "a scan in status.json", func() bool {
		st, err := agent.ReadStatus(stateDir)
		return err == nil && !st.LastScan.IsZero() && st.Running
	})
	if code, stdout, _ := runCLI("status", "--state-dir", stateDir); code != exitFindings {
		t.Errorf("status of the running agent: exit %d, want 1\n%s", code, stdout)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the SIGHUP scan", func() bool { return countMsg(logLines(t, logFile), "scan requested") > 0 })
	waitFor(t, "a delivery at the fleet collector", func() bool { return fleetSrv.events("new") == 4 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("banwatch run exited with %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("banwatch run did not exit after SIGTERM")
	}

	lines := logLines(t, logFile)
	if n := countMsg(lines, "new finding"); n != 4 {
		t.Errorf("%d new-finding events in the log, want 4 (the fixture's findings, once)", n)
	}
	if countMsg(lines, "heartbeat") != 1 || countMsg(lines, "agent stopped") != 1 {
		t.Errorf("want one heartbeat and a stop in the log")
	}
	data, _ := os.ReadFile(logFile)
	if strings.Contains(string(data)+stderr.String(), token) {
		t.Error("the fleet token is in the log")
	}
	if code, stdout, _ := runCLI("status", "--state-dir", stateDir); code != exitNotRunning {
		t.Errorf("status of the stopped agent: exit %d, want 3\n%s", code, stdout)
	}
	st, err := agent.LoadState(stateDir)
	if err != nil || len(st.Findings) != 4 {
		t.Errorf("state: %d findings, %v", len(st.Findings), err)
	}
}

// fleetCollector is a real HTTP endpoint that takes the agent's
// deliveries: gzip JSON with the bearer token.
type fleetCollector struct {
	*httptest.Server
	mu     sync.Mutex
	counts map[string]int
}

func newFleetCollector(t *testing.T, token string) *fleetCollector {
	c := &fleetCollector{counts: map[string]int{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("Content-Encoding") != "gzip" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var d agent.Delivery
		if err := json.NewDecoder(zr).Decode(&d); err != nil || d.Key == "" || r.Header.Get("Idempotency-Key") != d.Key {
			http.Error(w, "bad delivery", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, e := range d.Events {
			c.counts[string(e.Type)]++
		}
		c.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *fleetCollector) events(typ string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[typ]
}
