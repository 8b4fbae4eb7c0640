package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testToken = "tok-3f9c1e-SECRET"

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "banwatch.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestDefaultPaths(t *testing.T) {
	for _, tc := range []struct{ goos, config, state string }{
		{"linux", "/etc/banwatch/banwatch.yaml", "/var/lib/banwatch"},
		{"windows", `C:\ProgramData\banwatch\banwatch.yaml`, `C:\ProgramData\banwatch`},
		{"darwin", "/Library/Application Support/banwatch/banwatch.yaml", "/Library/Application Support/banwatch"},
	} {
		if got := DefaultConfigPath(tc.goos); got != tc.config {
			t.Errorf("DefaultConfigPath(%s) = %q, want %q", tc.goos, got, tc.config)
		}
		if got := DefaultStateDir(tc.goos); got != tc.state {
			t.Errorf("DefaultStateDir(%s) = %q, want %q", tc.goos, got, tc.state)
		}
	}
}

func TestConfigValid(t *testing.T) {
	file := writeConfig(t, `# banwatch agent
interval: 30m
jitter: 0.2
jurisdiction: us
state_dir: state
log:
  max_backups: 3
notice:
  enabled: true
fleet:
  url: https://fleet.example.com/v1/reports
  token: `+testToken+`
syslog:
  address: tcp://127.0.0.1:6514
`)
	c, err := LoadConfigFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(file)
	if c.Interval != 30*time.Minute || c.Jitter != 0.2 || c.Jurisdiction != "US" || !c.Notice.Enabled {
		t.Errorf("parsed: %+v", c)
	}
	if c.StateDir != filepath.Join(dir, "state") || c.Log.File != filepath.Join(dir, "state", "banwatch.log") {
		t.Errorf("relative paths: state %q, log %q", c.StateDir, c.Log.File)
	}
	if c.Log.MaxBackups != 3 || c.Log.MaxSizeMB != defaultLogMaxSizeMB || c.Syslog.Format != "rfc5424" || c.Fleet.SpoolMaxMB != defaultSpoolMaxMB {
		t.Errorf("defaults: %+v %+v %+v", c.Log, c.Syslog, c.Fleet)
	}
	if c.Fleet.Token.Reveal() != testToken {
		t.Errorf("token not kept")
	}

	empty, err := ParseConfig([]byte("# nothing yet\n"), "empty.yaml", "linux")
	if err != nil || empty.Interval != DefaultInterval || empty.Jitter != DefaultJitter || empty.StateDir != "/var/lib/banwatch" {
		t.Errorf("empty file: %+v, %v", empty, err)
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // "line: field: message part"
	}{
		{"interval not a duration", "interval: soon\n", []string{`1: interval: not a duration`}},
		{"interval a bare number", "jitter: 0.1\ninterval: 60\n", []string{`2: interval: not a duration`}},
		{"interval too short", "interval: 500ms\n", []string{`1: interval: must be at least 1s`}},
		{"jitter too big", "interval: 1h\njitter: 0.6\n", []string{`2: jitter: must be a fraction from 0 to 0.5`}},
		{"jitter negative", "jitter: -0.1\n", []string{`1: jitter: must be a fraction`}},
		{"jitter a string", "jitter: lots\n", []string{`1: jitter: expected a number, got a string`}},
		{"jurisdiction", "jurisdiction: USA\n", []string{`1: jurisdiction: must be an ISO 3166`}},
		{"policy missing", "policy: nope.yaml\n", []string{`1: policy: open`}},
		{"root missing", "root: no-such-dir\n", []string{`1: root: not a directory`}},
		{"log size negative", "log:\n  file: x.log\n  max_size_mb: -1\n", []string{`3: log.max_size_mb: must not be negative`}},
		{"notice not bool", "notice:\n  enabled: maybe\n", []string{`2: notice.enabled: expected true or false`}},
		{"fleet url http", "fleet:\n  url: http://fleet.example.com/\n", []string{`2: fleet.url: must be https`}},
		{"fleet url scheme", "fleet:\n  url: ftp://fleet.example.com/\n", []string{`2: fleet.url: must be an https URL`}},
		{"fleet token without url", "fleet:\n  token: " + testToken + "\n", []string{`2: fleet.token: is set but fleet.url is not`}},
		{"fleet token and file", "fleet:\n  url: https://f.example/\n  token: " + testToken + "\n  token_file: tok\n",
			[]string{`4: fleet.token_file: set token or token_file, not both`, `4: fleet.token_file: cannot read`}},
		{"fleet cert without key", "fleet:\n  url: https://f.example/\n  client_cert: c.pem\n",
			[]string{`3: fleet.client_cert: client_cert and client_key go together`, `3: fleet.client_cert: cannot read`}},
		{"fleet format", "fleet:\n  url: https://f.example/\n  format: cef\n", []string{`3: fleet.format: must be banwatch or ocsf, got "cef"`}},
		{"fleet format without url", "fleet:\n  format: ocsf\n", []string{`2: fleet.format: is set but fleet.url is not`}},
		{"file format", "file:\n  path: events.jsonl\n  format: OCSF\n", []string{`3: file.format: must be banwatch or ocsf, got "OCSF"`}},
		{"file without path", "interval: 1h\nfile:\n  format: ocsf\n", []string{`3: file.path: must be set`}},
		{"file empty path", "file:\n  path: ''\n", []string{`2: file.path: must be set`}},
		{"file key empty", "interval: 1h\nfile:\n", []string{`2: file.path: must be set`}},
		{"file not a mapping", "file: events.jsonl\n", []string{`1: file: expected a mapping, got a string`}},
		{"file is the log", "state_dir: s\nfile:\n  path: s/banwatch.log\n", []string{`3: file.path: must not be the log file`}},
		{"file is a directory", "file:\n  path: .\n", []string{`2: file.path: is a directory`}},
		{"file unknown key", "file:\n  path: e.jsonl\n  max_size_mb: 5\n", []string{`3: file.max_size_mb: unknown key`}},
		{"syslog scheme", "syslog:\n  address: host:514\n", []string{`2: syslog.address: must be udp://host:port`}},
		{"syslog no port", "syslog:\n  address: udp://host\n", []string{`2: syslog.address: must be udp://host:port`}},
		{"syslog format", "syslog:\n  address: udp://127.0.0.1:514\n  format: json\n", []string{`3: syslog.format: must be rfc5424 or cef`}},
		{"unknown key", "interval: 1h\nintervall: 2h\n", []string{`2: intervall: unknown key`}},
		{"unknown nested key", "log:\n  file: a.log\n  rotate: true\nfleet:\n  url: https://f.example/\n  tokn: x\n",
			[]string{`3: log.rotate: unknown key`, `6: fleet.tokn: unknown key`}},
		{"unknown key and invalid value", "jitter: 2\nbogus: 1\n", []string{`1: jitter: must be`, `2: bogus: unknown key`}},
		{"not a mapping", "- interval: 1h\n", []string{`1: a config is a mapping`}},
		{"syntax error", "interval: 1h\nlog:\n  file: a\n   max_size_mb: 1\n", []string{`4: mapping values are not allowed`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeConfig(t, tc.text)
			_, err := LoadConfigFile(file)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want a *ConfigError, got %v", err)
			}
			if len(ce.Problems) != len(tc.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(ce.Problems), len(tc.want), err)
			}
			for i, w := range tc.want {
				if got := ce.Problems[i].String(); !strings.HasPrefix(got, file+":"+w) {
					t.Errorf("problem %d: %q, want it to start with %q", i, got, file+":"+w)
				}
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
}

func TestConfigUnreadable(t *testing.T) {
	_, err := LoadConfigFile(filepath.Join(t.TempDir(), "missing.yaml"))
	var ce *ConfigError
	if err == nil || errors.As(err, &ce) {
		t.Errorf("a missing file must be a plain error, got %v", err)
	}
}

func TestConfigRedaction(t *testing.T) {
	file := writeConfig(t, "fleet:\n  url: https://fleet.example.com/\n  token: "+testToken+"\n")
	c, err := LoadConfigFile(file)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(c)
	for name, s := range map[string]string{
		"String": c.String(), "%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", *c), "%#v": fmt.Sprintf("%#v", *c),
		"%s token": fmt.Sprintf("%s", c.Fleet.Token), "json": string(js),
	} {
		if strings.Contains(s, testToken) {
			t.Errorf("%s shows the token: %s", name, s)
		}
	}
	if !strings.Contains(c.String(), "token: '[redacted]'") || !strings.Contains(c.String(), "interval: 1h0m0s") {
		t.Errorf("String() is not the redacted effective config:\n%s", c.String())
	}
}

func TestConfigSinkFormats(t *testing.T) {
	file := writeConfig(t, `fleet:
  url: https://fleet.example.com/v1/reports
  format: ocsf
file:
  path: out/events.jsonl
`)
	c, err := LoadConfigFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Fleet.Format != FormatOCSF || c.FileSink.Format != FormatBanwatch ||
		c.FileSink.Path != filepath.Join(filepath.Dir(file), "out", "events.jsonl") {
		t.Errorf("fleet %+v file %+v", c.Fleet, c.FileSink)
	}
	if !strings.Contains(c.String(), "format: ocsf") || !strings.Contains(c.String(), "path: "+c.FileSink.Path) {
		t.Errorf("String():\n%s", c.String())
	}
	d := DefaultConfig("linux")
	if d.FileSink.Path != "" || d.Fleet.Format != "" {
		t.Errorf("defaults turn sinks on: %+v %+v", d.FileSink, d.Fleet)
	}
	plain, err := ParseConfig([]byte("fleet:\n  url: https://f.example/\n"), "p.yaml", "linux")
	if err != nil || plain.Fleet.Format != FormatBanwatch {
		t.Errorf("fleet format default: %+v, %v", plain, err)
	}
}
