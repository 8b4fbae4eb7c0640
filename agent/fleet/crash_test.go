package fleet

import (
	"bytes"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/agent/spool"
)

// The crash test re-runs this test binary as a small agent: with
// crashAgentEnv set, TestMain runs crashAgent instead of the tests.
const (
	crashAgentEnv = "BANWATCH_FLEET_CRASHAGENT"
	crashSpoolEnv = "BANWATCH_FLEET_CRASH_SPOOL"
	crashURLEnv   = "BANWATCH_FLEET_CRASH_URL"
	crashNEnv     = "BANWATCH_FLEET_CRASH_N"
	crashProgEnv  = "BANWATCH_FLEET_CRASH_PROGRESS"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashAgentEnv) == "1" {
		os.Exit(crashAgent())
	}
	os.Exit(m.Run())
}

func crashKey(i int) string { return fmt.Sprintf("crash-%06d", i) }

// crashAgent is the agent under SIGKILL: it queues deliveries 0..N-1
// (resuming after the last one its progress file says it queued, as the
// real loop resumes from its state file) while a sender drains them, and
// exits 0 once all are queued and delivered.
func crashAgent() int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "crashagent:", err); return 2 }
	n, err := strconv.Atoi(os.Getenv(crashNEnv))
	if err != nil {
		return fail(err)
	}
	progress := os.Getenv(crashProgEnv)
	sp, err := spool.Open(os.Getenv(crashSpoolEnv), 0)
	if err != nil {
		return fail(err)
	}
	s, err := New(Config{URL: os.Getenv(crashURLEnv), Timeout: 10 * time.Second}, sp,
		Options{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		return fail(err)
	}
	ctx := context.Background()
	go s.Run(ctx)
	next := 0
	if b, err := os.ReadFile(progress); err == nil {
		if next, err = strconv.Atoi(string(b)); err != nil {
			return fail(err)
		}
	}
	for i := next; i < n; i++ {
		d := &agent.Delivery{Key: crashKey(i), Report: delivery("", false).Report,
			Events: []agent.Event{{Type: agent.EventNew, At: t0.Add(time.Duration(i) * time.Minute)}}}
		if err := s.Send(ctx, d); err != nil {
			return fail(err)
		}
		// A crash here sends delivery i again after the restart: the
		// spool must store it once (queued) or not at all (sent). The
		// pause (the loop saving its state) makes that a likely kill point.
		time.Sleep(time.Millisecond)
		tmp := progress + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(i+1)), 0o600); err != nil {
			return fail(err)
		}
		if err := os.Rename(tmp, progress); err != nil {
			return fail(err)
		}
	}
	for sp.Len() > 0 {
		time.Sleep(time.Millisecond)
	}
	return 0
}

// A child agent queues and sends to a real HTTP server and is killed with
// SIGKILL at random points, then restarted, round after round. Every key
// arrives; the agent never skips one nor sends out of order (a key is
// followed by itself, resent after a kill, or by the next); a key arrives
// twice only across a kill (sent, then killed before the ack was
// committed), and the collector's de-duplication by Idempotency-Key
// leaves each exactly once.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test runs child processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no test binary to re-run:", err)
	}
	const n = 300
	seed := uint64(20260301)
	if s := os.Getenv("BANWATCH_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rng := mrand.New(mrand.NewPCG(seed, 9))
	col := &collector{}
	col.reply = func(w http.ResponseWriter, d *agent.Delivery) int {
		time.Sleep(time.Duration(rng2(d.Key)) * 100 * time.Microsecond) // spread the kill points
		return http.StatusOK
	}
	var conns atomic.Int64 // open connections
	srv := httptest.NewUnstartedServer(col)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			conns.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	dir := t.TempDir()
	env := append(os.Environ(),
		crashAgentEnv+"=1",
		crashSpoolEnv+"="+filepath.Join(dir, "spool.db"),
		crashURLEnv+"="+srv.URL,
		crashNEnv+"="+strconv.Itoa(n),
		crashProgEnv+"="+filepath.Join(dir, "progress"),
	)
	start := func() (*exec.Cmd, *bytes.Buffer, chan error) {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, &stderr, done
	}

	// After each kill, the spool says whether the last key the collector
	// took was acknowledged: if it is still at the head, the restarted
	// agent sends it again, legitimately. No other key may come twice.
	allowResend := map[string]int{}
	afterKill := func() {
		// A request of the killed agent may still be on its way to the
		// handler: wait until the server has closed its connections.
		waitFor(t, "the collector idle", func() bool { return conns.Load() == 0 })
		got := col.accepted()
		if len(got) == 0 {
			return
		}
		sp, err := spool.Open(filepath.Join(dir, "spool.db"), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer sp.Close()
		_, head, ok, err := sp.Peek()
		if err != nil {
			t.Fatal(err)
		}
		if last := got[len(got)-1]; ok && head.Key == last {
			allowResend[last]++
		}
	}
	kills := 0
	for round := 0; round < 40 && len(col.accepted()) < n*3/4; round++ {
		cmd, stderr, done := start()
		wait := time.Duration(rng.IntN(150)+5) * time.Millisecond
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: the agent failed: %v\n%s", round, err, stderr)
			}
		case <-time.After(wait):
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-done
			kills++
			afterKill()
		}
		if strings.Contains(stderr.String(), "crashagent:") {
			t.Fatalf("round %d: %s", round, stderr)
		}
	}
	// The last run goes to the end.
	_, stderr, done := start()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("last run: %v\n%s", err, stderr)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the last run did not finish")
	}

	got := col.accepted()
	idx := make([]int, len(got))
	for i, k := range got {
		if _, err := fmt.Sscanf(k, "crash-%06d", &idx[i]); err != nil {
			t.Fatalf("key %q", k)
		}
	}
	if len(idx) == 0 || idx[0] != 0 {
		t.Fatalf("first key %v", got[:min(1, len(got))])
	}
	for i := 1; i < len(idx); i++ {
		if idx[i] != idx[i-1] && idx[i] != idx[i-1]+1 {
			t.Fatalf("key %s followed %s: skipped or out of order", got[i], got[i-1])
		}
	}
	seen := map[string]int{}
	for _, k := range got {
		seen[k]++
	}
	for k, c := range seen {
		if c-1 > allowResend[k] {
			t.Errorf("%s arrived %d times, but was resent legitimately only %d times", k, c, allowResend[k])
		}
	}
	if len(seen) != n || idx[len(idx)-1] != n-1 {
		t.Fatalf("%d distinct keys arrived, want %d (last %s)", len(seen), n, got[len(got)-1])
	}
	dups := len(got) - n
	if dups > kills {
		t.Fatalf("%d duplicates with %d kills: the agent resends more than the delivery in flight", dups, kills)
	}
	sp, err := spool.Open(filepath.Join(dir, "spool.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if sp.Len() != 0 {
		t.Fatalf("%d deliveries left in the spool", sp.Len())
	}
	col.mu.Lock()
	attempts, bad := col.attempts, len(col.bad)
	col.mu.Unlock()
	t.Logf("seed %d: %d kills, %d requests, %d duplicates, %d cut-off requests", seed, kills, attempts, dups, bad)
}

// rng2 is a cheap deterministic 0..9 from a key, for the collector's delay.
func rng2(key string) int {
	h := 0
	for _, c := range key {
		h = h*31 + int(c)
	}
	return (h%10 + 10) % 10
}
