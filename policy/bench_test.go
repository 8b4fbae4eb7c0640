package policy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banwatch/banwatch/detectors"
)

// benchPolicy generates a valid policy of n products, ten per vendor.
// Every product has its own packages, services, process path and
// folder; every vendor a publisher, a package pattern, vendor-wide
// matchers and a US cut-off.
func benchPolicy(n int) []byte {
	var b strings.Builder
	b.WriteString("schema: banwatch.policy/v1\nname: bench\nversion: \"1\"\ndefault_jurisdiction: US\nvendors:\n")
	for v := 0; v*10 < n; v++ {
		fmt.Fprintf(&b, `  - id: v%03d
    name: Vendor %d
    publishers: ["Vendor %d Ltd"]
    jurisdictions:
      - code: US
        name: United States
        updates_cut_off: 2024-09-29
    match:
      packages: ["v%03d-plugin-*"]
      folders: ["opt/v%03d/*"]
      processes:
        - path: "**/opt/v%03d/**"
    products:
`, v, v, v, v, v, v)
		for p := v * 10; p < min(n, v*10+10); p++ {
			fmt.Fprintf(&b, `      - id: p%04d
        name: Product %d
        match:
          packages: [p%04d-agent, p%04d-gui]
          services: [p%04d-agentd, p%04d-updater]
          processes:
            - path: "**/opt/v%03d/product-%04d/**"
          folders: [opt/v%03d/product-%04d]
`, p, p, p, p, p, p, v, p, v, p)
		}
	}
	return []byte(b.String())
}

// benchInventory is a machine of 5,000 items: mostly unrelated packages,
// services, processes and modules, plus three products of the first
// vendor (so present in every generated policy), one installed, one
// running only, one left over, and a vendor-wide folder.
func benchInventory() []detectors.Item {
	var items []detectors.Item
	for i := range 3000 {
		items = append(items, detectors.Item{Detector: "dpkg", Kind: detectors.KindPackage,
			Name: fmt.Sprintf("lib%s%d", []string{"ssl", "gtk", "xml", "python3-", "perl-", "fonts-"}[i%6], i), Version: "1.2.3-4",
			Publisher: fmt.Sprintf("Debian Maintainers Group %d", i%40), Path: "var/lib/dpkg/status", State: detectors.StateInstalled,
			Detail: "Status: install ok installed"})
	}
	for i := range 800 {
		items = append(items, detectors.Item{Detector: "systemd", Kind: detectors.KindService, Name: fmt.Sprintf("svc-%d.service", i),
			Path: fmt.Sprintf("lib/systemd/system/svc-%d.service", i), Exec: fmt.Sprintf("/usr/sbin/svc-%d", i), State: detectors.StateEnabled})
	}
	for i := range 1000 {
		items = append(items, detectors.Item{Detector: "processes", Kind: detectors.KindProcess, Name: fmt.Sprintf("app%d", i),
			Exec: fmt.Sprintf("/usr/lib/app%d/libexec/bin/app%d", i%97, i), Path: fmt.Sprintf("/proc/%d", 1000+i),
			State: detectors.StateRunning, Process: &detectors.Process{PID: int32(1000 + i)}})
	}
	for i := range 180 {
		items = append(items, detectors.Item{Detector: "modules", Kind: detectors.KindKernelModule, Name: fmt.Sprintf("mod_%d", i), State: detectors.StateLoaded})
	}
	items = append(items,
		// p0000: installed and running
		detectors.Item{Kind: detectors.KindPackage, Name: "p0000-agent", Version: "5.0", State: detectors.StateInstalled},
		detectors.Item{Kind: detectors.KindPackage, Name: "p0000-gui", Version: "5.0", State: detectors.StateInstalled},
		detectors.Item{Kind: detectors.KindService, Name: "p0000-agentd.service", Exec: "/opt/v000/product-0000/bin/agentd", State: detectors.StateEnabled},
		detectors.Item{Kind: detectors.KindProcess, Name: "agentd", Exec: "/opt/v000/product-0000/bin/agentd", State: detectors.StateRunning},
		detectors.Item{Kind: detectors.KindFolder, Name: "opt/v000/product-0000", State: detectors.StatePresent},
		// p0001: running from its folder only
		detectors.Item{Kind: detectors.KindProcess, Name: "tool", Exec: "/opt/v000/product-0001/tool", State: detectors.StateRunning},
		// p0002: left over
		detectors.Item{Kind: detectors.KindPackage, Name: "p0002-agent", Version: "1.0", State: detectors.StateLeftover},
		detectors.Item{Kind: detectors.KindFolder, Name: "opt/v000/product-0002", State: detectors.StatePresent},
		// vendor-wide, joins p0000
		detectors.Item{Kind: detectors.KindFolder, Name: "opt/v000/cache", State: detectors.StatePresent},
	)
	for i := 0; len(items) < 5000; i++ {
		items = append(items, detectors.Item{Detector: "files", Kind: detectors.KindFolder, Name: fmt.Sprintf("opt/other%d", i), State: detectors.StatePresent})
	}
	return items
}

// benchWant is what benchInventory yields with every generated policy.
var benchWant = []string{
	"updates-cut-off Product 0", "updates-cut-off Product 1",
	"product Product 0", "product Product 1",
	"remnant Product 2",
}

func benchFindings(c *Compiled, items []detectors.Item) []string {
	var out []string
	for _, f := range c.Evaluate(items, Options{AsOf: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), HostID: "bench"}) {
		out = append(out, string(f.Kind)+" "+f.Product)
	}
	return out
}

// TestBenchPolicy: the generated policies are valid, of the size asked
// for, and find the same things in the benchmark's inventory.
func TestBenchPolicy(t *testing.T) {
	items := benchInventory()
	if len(items) != 5000 {
		t.Fatalf("inventory of %d items, want 5000", len(items))
	}
	for _, n := range []int{10, 1000} {
		c, err := Load(benchPolicy(n), "bench.yaml")
		if err != nil {
			t.Fatalf("policy of %d products: %v", n, err)
		}
		products := 0
		for _, v := range c.Policy().Vendors {
			products += len(v.Products)
		}
		if products != n || len(c.Policy().Vendors) != (n+9)/10 {
			t.Errorf("policy of %d products has %d, in %d vendors", n, products, len(c.Policy().Vendors))
		}
		if got := benchFindings(c, items); !slices.Equal(got, benchWant) {
			t.Errorf("policy of %d products finds %q, want %q", n, got, benchWant)
		}
		// The last product is matched too: nothing is lost in a big index.
		last := fmt.Sprintf("p%04d-gui", n-1)
		if got := benchFindings(c, []detectors.Item{{Kind: detectors.KindPackage, Name: last, State: detectors.StateLeftover}}); len(got) != 1 {
			t.Errorf("package %s finds %q", last, got)
		}
	}
}

// BenchmarkEvaluate measures evaluation of a 5,000-item inventory. The
// matching cost of an item must not grow with the number of rules: 1,000
// products must cost at most 1.2 times what 10 do.
func BenchmarkEvaluate(b *testing.B) {
	items := benchInventory()
	opts := Options{AsOf: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), HostID: "bench"}
	for _, n := range []int{10, 1000} {
		c, err := Load(benchPolicy(n), "bench.yaml")
		if err != nil {
			b.Fatal(err)
		}
		if got := benchFindings(c, items); !slices.Equal(got, benchWant) {
			b.Fatalf("policy of %d products finds %q, want %q", n, got, benchWant)
		}
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Evaluate(items, opts)
			}
		})
	}
}

// BenchmarkLoad measures loading and compiling a policy, which a scan
// does once.
func BenchmarkLoad(b *testing.B) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"builtin", BuiltinSource()},
		{"rules=1000", benchPolicy(1000)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.data)))
			for b.Loop() {
				if _, err := Load(tc.data, "bench.yaml"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
