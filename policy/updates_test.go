package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/banwatch/banwatch/detectors"
)

// keslInstall is KESL installed and running as pid 812.
func keslInstall() []detectors.Item {
	return []detectors.Item{
		pkg("kesl", "AO Kaspersky Lab"),
		{Kind: detectors.KindProcess, Name: "kesl", Exec: "/opt/kaspersky/kesl/libexec/kesl",
			State: detectors.StateRunning, Process: &detectors.Process{PID: 812}},
	}
}

func sigItem(source, at, confidence string) detectors.Item {
	return detectors.Item{Kind: detectors.KindSignatures, Name: source, State: detectors.StatePresent,
		Attrs: map[string]string{"last_update": at, "confidence": confidence, "source": source + " says so"}}
}

func conn(pid int32, host, remote, channel string, blocked bool) detectors.Item {
	b := "false"
	reason := ""
	if blocked {
		b, reason = "true", "connection attempt not answered (SYN_SENT)"
	}
	return detectors.Item{Kind: detectors.KindConnection, Name: host, Exec: "/opt/kaspersky/kesl/libexec/kesl",
		State: detectors.StatePresent, Process: &detectors.Process{PID: pid},
		Attrs: map[string]string{"remote": remote, "channel": channel, "blocked": b, "reason": reason}}
}

func program(name string) detectors.Item {
	return detectors.Item{Kind: detectors.KindProgram, Name: name, Publisher: "AO Kaspersky Lab", State: detectors.StateInstalled}
}

func sinkholeConn(pid int32) detectors.Item {
	it := conn(pid, "dnl-07.geo.kaspersky.com", "dnl-07.geo.kaspersky.com:443", "vendor", false)
	it.Attrs["sinkhole"] = "true"
	return it
}

// kinds renders findings as "kind product severity", sorted.
func findingKinds(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Kind)+" "+f.ProductID+" "+string(f.Severity))
	}
	slices.Sort(out)
	return out
}

func TestSignatureVerdicts(t *testing.T) {
	tests := []struct {
		name, asOf, jurisdiction string
		sigs                     []detectors.Item
		want                     []string
		lastUpdate               string // "" when unknown
		age                      int
	}{
		{"day before the cut-off, fresh", "2024-09-28", "US",
			[]detectors.Item{sigItem("kesl-control", "2024-09-27T04:11:00Z", "high")},
			[]string{"product kesl high"}, "2024-09-27", 1},
		{"the cut-off day, signatures from before", "2024-09-29", "US",
			[]detectors.Item{sigItem("kesl-control", "2024-09-27T04:11:00Z", "high")},
			[]string{"product kesl high", "updates-cut-off kesl critical"}, "2024-09-27", 2},
		{"the cut-off day, signatures of that day: updates still arrive", "2024-09-29", "US",
			[]detectors.Item{sigItem("kesl-control", "2024-09-29T03:00:00Z", "high")},
			[]string{"product kesl high", "updates-after-cut-off kesl high", "updates-cut-off kesl critical"}, "2024-09-29", 0},
		{"the day after", "2024-09-30", "US",
			[]detectors.Item{sigItem("kesl-control", "2024-09-28T23:59:59Z", "high")},
			[]string{"product kesl high", "updates-cut-off kesl critical"}, "2024-09-28", 2},
		{"789 days later: stale and cut off", "2026-11-25", "US",
			[]detectors.Item{sigItem("kesl-control", "2024-09-27T04:11:00Z", "high")},
			[]string{"product kesl high", "stale-signatures kesl high", "updates-cut-off kesl critical"}, "2024-09-27", 789},
		{"stale in a jurisdiction without a cut-off", "2026-11-25", "DE",
			[]detectors.Item{sigItem("kesl-control", "2026-11-10T00:00:00Z", "high")},
			[]string{"product kesl high", "stale-signatures kesl high"}, "2026-11-10", 15},
		{"seven days is not stale", "2026-11-25", "DE",
			[]detectors.Item{sigItem("kesl-control", "2026-11-18T00:00:00Z", "high")},
			[]string{"product kesl high"}, "2026-11-18", 7},
		{"the surest source wins over a newer, weaker one", "2026-11-25", "US",
			[]detectors.Item{sigItem("kesl-bases", "2026-11-24T00:00:00Z", "low"), sigItem("kesl-control", "2024-09-27T04:11:00Z", "high")},
			[]string{"product kesl high", "stale-signatures kesl high", "updates-cut-off kesl critical"}, "2024-09-27", 789},
		{"file times alone do not prove updates arrive", "2026-11-25", "US",
			[]detectors.Item{sigItem("kesl-bases", "2026-11-24T00:00:00Z", "low")},
			[]string{"product kesl high", "updates-cut-off kesl critical"}, "2026-11-24", 1},
		{"no source: unknown, and no staleness verdict", "2026-11-25", "US",
			nil, []string{"product kesl high", "updates-cut-off kesl critical"}, "", 0},
		{"a garbled date is no date", "2026-11-25", "US",
			[]detectors.Item{sigItem("kesl-control", "27-09-2024", "high")},
			[]string{"product kesl high", "updates-cut-off kesl critical"}, "", 0},
	}
	c := Builtin()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := append(keslInstall(), tt.sigs...)
			got := c.Evaluate(items, Options{AsOf: day(tt.asOf), Jurisdiction: tt.jurisdiction, HostID: "h", OS: "linux"})
			if k := findingKinds(got); !slices.Equal(k, tt.want) {
				t.Fatalf("findings %q, want %q", k, tt.want)
			}
			s := got[0].Signatures
			if s == nil {
				t.Fatal("no signatures block")
			}
			if tt.lastUpdate == "" {
				if s.Unknown == "" || s.LastUpdate != "" {
					t.Errorf("signatures %+v, want unknown with a reason", s)
				}
				return
			}
			if s.LastUpdate != tt.lastUpdate || s.AgeDays == nil || *s.AgeDays != tt.age || s.Source == "" {
				t.Errorf("signatures %+v, want %s, %d days", s, tt.lastUpdate, tt.age)
			}
		})
	}
}

func TestCutOffSummarySaysSignatureAge(t *testing.T) {
	items := append(keslInstall(), sigItem("kesl-control", "2024-09-27T04:11:00Z", "high"))
	for _, f := range Builtin().Evaluate(items, Options{AsOf: day("2026-11-25"), HostID: "h"}) {
		if f.Kind == KindUpdatesCutOff && !strings.Contains(f.Summary, "its last signatures are of 2024-09-27, 789 days old") {
			t.Errorf("summary %q", f.Summary)
		}
	}
}

func TestUpdatesAfterCutOffSaysFromWhere(t *testing.T) {
	sig := sigItem("avstate", "2026-11-20T00:00:00Z", "high")
	sig.Attrs["update_source"] = "Kaspersky Security Center server ksc.corp.example.com"
	tests := []struct {
		name  string
		extra []detectors.Item
		want  string
	}{
		{"the Network Agent's server", []detectors.Item{sig}, "Kaspersky Security Center server ksc.corp.example.com"},
		{"a connection to a management port",
			[]detectors.Item{sigItem("kesl-control", "2026-11-20T00:00:00Z", "high"), conn(812, "", "10.0.0.9:13000", "managed", false)},
			"a Kaspersky Security Center server or distribution point at 10.0.0.9:13000"},
		{"nothing seen", []detectors.Item{sigItem("kesl-control", "2026-11-20T00:00:00Z", "high")}, "a mirror, a shared folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := append(keslInstall(), tt.extra...)
			got := Builtin().Evaluate(items, Options{AsOf: day("2026-11-25"), HostID: "h"})
			i := slices.IndexFunc(got, func(f Finding) bool { return f.Kind == KindUpdatesAfterCutOff })
			if i < 0 {
				t.Fatalf("no updates-after-cut-off finding in %q", findingKinds(got))
			}
			if !strings.Contains(got[i].Summary, tt.want) || got[i].CutOff != "2024-09-29" {
				t.Errorf("summary %q, want it to name %q", got[i].Summary, tt.want)
			}
		})
	}
}

func TestUpdateTraffic(t *testing.T) {
	tests := []struct {
		name   string
		items  []detectors.Item
		want   []string
		remote string
	}{
		{"the product's process gets through",
			append(keslInstall(), conn(812, "dnl-07.geo.kaspersky.com", "dnl-07.geo.kaspersky.com:443", "vendor", false)),
			[]string{"product kesl high", "update-traffic kesl high", "updates-cut-off kesl critical"},
			"dnl-07.geo.kaspersky.com:443"},
		{"all of it blocked: one step lower",
			append(keslInstall(), conn(812, "dnl-07.geo.kaspersky.com", "dnl-07.geo.kaspersky.com:443", "vendor", true)),
			[]string{"product kesl high", "update-traffic kesl medium", "updates-cut-off kesl critical"},
			"dnl-07.geo.kaspersky.com:443"},
		{"the connection that gets through is the one shown",
			append(keslInstall(), conn(812, "s01.upd.kaspersky.com", "s01.upd.kaspersky.com:443", "vendor", true),
				conn(812, "", "10.0.0.9:13000", "managed", false)),
			[]string{"product kesl high", "update-traffic kesl high", "updates-cut-off kesl critical"},
			"10.0.0.9:13000"},
		{"an unknown process talking to Kaspersky: traffic only",
			[]detectors.Item{conn(4242, "downloads.upd.kaspersky.com", "downloads.upd.kaspersky.com:443", "vendor", false)},
			[]string{"update-traffic  high"}, "downloads.upd.kaspersky.com:443"},
		{"the product reaching a local proxy its update host was mapped to",
			append(keslInstall(), sinkholeConn(812)),
			[]string{"product kesl high", "update-traffic kesl high", "updates-cut-off kesl critical"},
			"dnl-07.geo.kaspersky.com:443"},
		{"any other local traffic to that address is nobody's",
			[]detectors.Item{sinkholeConn(4242)}, nil, ""},
		{"a vendor-wide process (avp.exe) on a management port is its product's",
			[]detectors.Item{program("Kaspersky Endpoint Security for Windows"),
				{Kind: detectors.KindProcess, Name: "avp.exe", Exec: `C:\Program Files (x86)\Kaspersky Lab\KES.12.6.0\avp.exe`,
					State: detectors.StateRunning, Process: &detectors.Process{PID: 900}},
				conn(900, "", "10.0.0.9:13000", "managed", false)},
			[]string{"product kes-windows high", "update-traffic kes-windows high", "updates-cut-off kes-windows critical"},
			"10.0.0.9:13000"},
		{"an unknown process on a management port is nobody's",
			[]detectors.Item{conn(4242, "", "10.0.0.9:13000", "managed", false)}, nil, ""},
		{"a hosts file that blocks Kaspersky on a clean machine says nothing",
			[]detectors.Item{{Kind: detectors.KindHostsEntry, Name: "dnl-01.geo.kaspersky.com",
				Attrs: map[string]string{"address": "0.0.0.0", "sinkhole": "true"}}}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Builtin().Evaluate(tt.items, Options{AsOf: day("2026-11-25"), HostID: "h"})
			if k := findingKinds(got); !slices.Equal(k, tt.want) {
				t.Fatalf("findings %q, want %q", k, tt.want)
			}
			for _, f := range got {
				if f.Kind != KindUpdateTraffic {
					if f.Traffic != nil {
						t.Errorf("%s finding carries traffic", f.Kind)
					}
					continue
				}
				if f.Traffic == nil || f.Traffic.Remote != tt.remote || f.Traffic.Process == "" || f.Traffic.PID == 0 {
					t.Errorf("traffic %+v, want remote %s with its process", f.Traffic, tt.remote)
				}
			}
		})
	}
}

func TestExpandHost(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"downloads.upd.kaspersky.com", []string{"downloads.upd.kaspersky.com"}, ""},
		{"DNL-{08..11}.geo.kaspersky.com", []string{"dnl-08.geo.kaspersky.com", "dnl-09.geo.kaspersky.com",
			"dnl-10.geo.kaspersky.com", "dnl-11.geo.kaspersky.com"}, ""},
		{"s{1..2}.upd.kaspersky.com", []string{"s1.upd.kaspersky.com", "s2.upd.kaspersky.com"}, ""},
		{"*.upd.kaspersky.com", []string{"*.upd.kaspersky.com"}, ""},
		{"s{19..00}.upd.kaspersky.com", nil, "FIRST <= LAST"},
		{"s{00..19.upd.kaspersky.com", nil, "without }"},
		{"s{0..99999}.upd.kaspersky.com", nil, "more than"},
		{"s{0..1}.{0..1}.kaspersky.com", nil, "only one range"},
	}
	for _, tt := range tests {
		got, err := expandHost(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("expandHost(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("expandHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"*", "*.com", "*.*", "localhost", "a b.com"} {
		if checkHost(bad) == nil {
			t.Errorf("checkHost(%q) accepted", bad)
		}
	}
}

func TestBuiltinUpdateHosts(t *testing.T) {
	c := Builtin()
	hosts := c.UpdateHosts()
	for _, want := range []string{"downloads.upd.kaspersky.com", "dnl-00.geo.kaspersky.com", "dnl-19.geo.kaspersky.com",
		"s07.upd.kaspersky.com", "p19.upd.kaspersky.com", "*.geoksn.kaspersky.com"} {
		if !slices.Contains(hosts, want) {
			t.Errorf("UpdateHosts() lacks %s", want)
		}
	}
	if slices.Contains(hosts, "dnl-20.geo.kaspersky.com") || len(hosts) != len(slices.Compact(slices.Sorted(slices.Values(hosts)))) {
		t.Errorf("UpdateHosts() has extra or duplicate names: %d", len(hosts))
	}
	if got := c.ManagedPorts(); !slices.Equal(got, []int{13000, 14000, 13111, 15111}) {
		t.Errorf("ManagedPorts() = %v", got)
	}
	for name, want := range map[string]bool{"S07.UPD.KASPERSKY.COM.": true, "x.geoksn.kaspersky.com": true,
		"ksn-url-geo.kaspersky-labs.com": true, "kaspersky.com": false, "upd.kaspersky.com.evil.example": false} {
		if _, got := c.hosts.vendor(name); got != want {
			t.Errorf("host %s: vendor's = %v, want %v", name, got, want)
		}
	}
}
