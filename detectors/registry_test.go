package detectors

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestPlanUnknownDetector(t *testing.T) {
	env := &Env{Host: Host{OS: "linux"}}
	run, skipped, err := Plan([]string{"dpkg", "kaspersky"}, env)
	if err == nil {
		t.Fatalf("Plan with an unknown name: no error (run %d, skipped %d)", len(run), len(skipped))
	}
	want := `unknown detector "kaspersky" (known: ` + strings.Join(Names(), ", ") + ")"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	for _, n := range []string{"dpkg", "rpm", "files", "processes", "systemd", "sysvinit"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
	}
	if run != nil || skipped != nil {
		t.Errorf("Plan returned %v, %v with its error", run, skipped)
	}
}

func TestNamesSorted(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) || len(names) != len(specs) {
		t.Errorf("Names() = %v", names)
	}
	for _, n := range []string{"dpkg", "files", "processes", "rpm", "systemd", "sysvinit"} {
		if !slices.Contains(names, n) {
			t.Errorf("%s not registered: %v", n, names)
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	saved := specs["dpkg"]
	defer func() {
		specs["dpkg"] = saved // in case register overwrote it
		if p := recover(); p != "detectors: dpkg registered twice" {
			t.Errorf("recover() = %v", p)
		}
	}()
	register(Spec{Name: "dpkg"})
}

func TestPlanSkips(t *testing.T) {
	const (
		offline = "live only: the root is an offline image"
	)
	tests := []struct {
		name    string
		names   []string
		env     Env
		run     []string
		skipped map[string]string
	}{
		{
			name:  "offline linux image",
			names: []string{"dpkg", "processes", "rpm", "files"},
			env:   Env{Live: false, Host: Host{OS: "linux"}},
			run:   []string{"dpkg", "rpm", "files"},
			skipped: map[string]string{
				"processes": offline,
			},
		},
		{
			name:  "offline windows image",
			names: []string{"dpkg", "rpm", "systemd", "sysvinit", "files", "processes"},
			env:   Env{Live: false, Host: Host{OS: "windows"}},
			run:   []string{"files"},
			skipped: map[string]string{
				"dpkg":      "does not apply to windows",
				"rpm":       "does not apply to windows",
				"systemd":   "does not apply to windows",
				"sysvinit":  "does not apply to windows",
				"processes": offline,
			},
		},
		{
			name:  "live windows",
			names: []string{"processes", "dpkg", "files"},
			env:   Env{Live: true, Host: Host{OS: "windows"}},
			run:   []string{"processes", "files"},
			skipped: map[string]string{
				"dpkg": "does not apply to windows",
			},
		},
		{
			name:  "live linux: order kept",
			names: []string{"rpm", "processes", "dpkg"},
			env:   Env{Live: true, Host: Host{OS: "linux"}},
			run:   []string{"rpm", "processes", "dpkg"},
		},
		{
			name:  "offline darwin image",
			names: []string{"files", "dpkg"},
			env:   Env{Host: Host{OS: "darwin"}},
			run:   []string{"files"},
			skipped: map[string]string{
				"dpkg": "does not apply to darwin",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run, skipped, err := Plan(tc.names, &tc.env)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range run {
				names = append(names, s.Name)
				if s.Detector == nil {
					t.Errorf("%s has no Detector", s.Name)
				}
			}
			if !slices.Equal(names, tc.run) {
				t.Errorf("run = %v, want %v", names, tc.run)
			}
			got := map[string]string{}
			for _, r := range skipped {
				got[r.Name] = r.Skipped
				if r.Items != nil || r.Err != nil {
					t.Errorf("skipped %s has items or an error", r.Name)
				}
			}
			if len(got) != len(tc.skipped) || len(skipped) != len(tc.skipped) {
				t.Errorf("skipped = %v, want %v", got, tc.skipped)
			}
			for n, why := range tc.skipped {
				if got[n] != why {
					t.Errorf("%s skipped %q, want %q", n, got[n], why)
				}
			}
		})
	}
}

// TestPlanAll checks that with no names every registered detector is
// either run or skipped, by its Spec.
func TestPlanAll(t *testing.T) {
	env := &Env{Live: false, Host: Host{OS: "linux"}}
	run, skipped, err := Plan(nil, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(run)+len(skipped) != len(Names()) {
		t.Fatalf("%d run + %d skipped, %d registered", len(run), len(skipped), len(Names()))
	}
	for _, s := range run {
		if s.Live {
			t.Errorf("live detector %s planned offline", s.Name)
		}
	}
	for _, r := range skipped {
		s := specs[r.Name]
		if !s.Live && (len(s.OS) == 0 || slices.Contains(s.OS, "linux")) {
			t.Errorf("%s skipped offline on linux: %q", r.Name, r.Skipped)
		}
	}
	if !slices.ContainsFunc(run, func(s Spec) bool { return s.Name == "dpkg" }) {
		t.Error("dpkg not planned for an offline linux image")
	}
	if !slices.ContainsFunc(skipped, func(r Result) bool { return r.Name == "processes" }) {
		t.Error("processes not skipped for an offline image")
	}
}

func TestRunOnePanic(t *testing.T) {
	tests := []struct {
		name    string
		panicV  any
		wantErr string
	}{
		{"string", "index out of range", "detector boom panicked: index out of range"},
		{"error", errors.New("nil map"), "detector boom panicked: nil map"},
		{"runtime error", nil, "detector boom panicked: runtime error: index out of range [3] with length 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zap.ErrorLevel)
			env := &Env{Log: zap.New(core)}
			spec := Spec{Name: "boom", Detector: DetectorFunc(func(context.Context, *Env) ([]Item, error) {
				if tc.panicV == nil {
					var s []int
					_ = s[3]
				}
				panic(tc.panicV)
			})}
			res := runOne(context.Background(), env, spec)
			if res.Name != "boom" || res.Items != nil {
				t.Errorf("result %+v", res)
			}
			if res.Err == nil || res.Err.Error() != tc.wantErr {
				t.Errorf("Err = %v, want %q", res.Err, tc.wantErr)
			}
			entries := logs.FilterMessage("detector panicked").All()
			if len(entries) != 1 {
				t.Fatalf("logged %d panics, want 1", len(entries))
			}
			fields := entries[0].ContextMap()
			if fields["detector"] != "boom" || !strings.Contains(fields["stack"].(string), "runtime/debug.Stack") {
				t.Errorf("log fields %v", fields)
			}
		})
	}

	t.Run("no logger", func(t *testing.T) {
		res := runOne(context.Background(), &Env{}, Spec{Name: "boom",
			Detector: DetectorFunc(func(context.Context, *Env) ([]Item, error) { panic("x") })})
		if res.Err == nil || res.Err.Error() != "detector boom panicked: x" {
			t.Errorf("Err = %v", res.Err)
		}
	})
}

func TestRun(t *testing.T) {
	errDB := errors.New("var/lib/dpkg/status: line 7: damaged")
	specs := []Spec{
		{Name: "first", Detector: DetectorFunc(func(context.Context, *Env) ([]Item, error) {
			return []Item{
				{Kind: KindPackage, Name: "kesl", Version: "12.1.0-1297", State: StateInstalled},
				{Kind: KindPackage, Name: "klnagent64", State: StateLeftover, Detector: "wrong"},
			}, nil
		})},
		{Name: "boom", Detector: DetectorFunc(func(context.Context, *Env) ([]Item, error) {
			panic("boom")
		})},
		{Name: "partial", Detector: DetectorFunc(func(context.Context, *Env) ([]Item, error) {
			return []Item{{Kind: KindService, Name: "kesl.service", State: StateEnabled}}, errDB
		})},
		{Name: "empty", Detector: DetectorFunc(func(context.Context, *Env) ([]Item, error) {
			return nil, nil
		})},
		{Name: "env", Detector: DetectorFunc(func(_ context.Context, env *Env) ([]Item, error) {
			return []Item{{Kind: KindFile, Name: env.RootDir, State: StatePresent}}, nil
		})},
	}
	res := Run(context.Background(), &Env{RootDir: "/mnt/image"}, specs)
	if len(res) != len(specs) {
		t.Fatalf("%d results for %d specs", len(res), len(specs))
	}
	want := []struct {
		name  string
		items []string
		err   string
	}{
		{"first", []string{"kesl", "klnagent64"}, ""},
		{"boom", nil, "detector boom panicked: boom"},
		{"partial", []string{"kesl.service"}, errDB.Error()},
		{"empty", nil, ""},
		{"env", []string{"/mnt/image"}, ""},
	}
	for i, w := range want {
		r := res[i]
		if r.Name != w.name {
			t.Errorf("result %d is %s, want %s (order given)", i, r.Name, w.name)
			continue
		}
		var names []string
		for _, it := range r.Items {
			names = append(names, it.Name)
			if it.Detector != w.name {
				t.Errorf("%s: item %s has Detector %q", w.name, it.Name, it.Detector)
			}
		}
		if !slices.Equal(names, w.items) {
			t.Errorf("%s: items %v, want %v", w.name, names, w.items)
		}
		gotErr := ""
		if r.Err != nil {
			gotErr = r.Err.Error()
		}
		if gotErr != w.err {
			t.Errorf("%s: err %q, want %q", w.name, gotErr, w.err)
		}
		if r.Skipped != "" {
			t.Errorf("%s: Skipped %q", w.name, r.Skipped)
		}
	}
	if !errors.Is(res[2].Err, errDB) {
		t.Errorf("partial: error not kept as is: %v", res[2].Err)
	}
	if it := res[0].Items[0]; it.Version != "12.1.0-1297" || it.State != StateInstalled {
		t.Errorf("item changed by Run: %+v", it)
	}
}

// TestRunRealDetector runs the registered dpkg detector through Plan and
// Run on the Kaspersky fixture.
func TestRunRealDetector(t *testing.T) {
	env := &Env{
		Root: dpkgMapFS(t, map[string]string{dpkgStatusFile: string(dpkgReadFixture(t, dpkgFixtureKaspersky))}),
		Host: Host{OS: "linux"},
	}
	run, _, err := Plan([]string{"dpkg"}, env)
	if err != nil || len(run) != 1 {
		t.Fatalf("Plan: %v, %v", run, err)
	}
	res := Run(context.Background(), env, run)
	if res[0].Err != nil || len(res[0].Items) != 55 {
		t.Fatalf("dpkg: %d items, %v", len(res[0].Items), res[0].Err)
	}
	for _, it := range res[0].Items {
		if it.Detector != "dpkg" {
			t.Fatalf("item %s has Detector %q", it.Name, it.Detector)
		}
	}
}
