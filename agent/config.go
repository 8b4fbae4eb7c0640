package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/banwatch/banwatch/policy"
)

// Defaults and bounds of the configuration.
const (
	DefaultInterval = time.Hour
	MinInterval     = time.Second
	DefaultJitter   = 0.1
	MaxJitter       = 0.5

	defaultLogMaxSizeMB  = 10
	defaultLogMaxBackups = 5
	defaultLogMaxAgeDays = 30
	defaultSpoolMaxMB    = 64

	// maxConfigSize bounds a config file; a real one is a few hundred bytes.
	maxConfigSize = 64 << 10
)

// DefaultConfigPath is where the agent looks for its config on goos
// (runtime.GOOS).
func DefaultConfigPath(goos string) string {
	switch goos {
	case "windows":
		return `C:\ProgramData\banwatch\banwatch.yaml`
	case "darwin":
		return "/Library/Application Support/banwatch/banwatch.yaml"
	}
	return "/etc/banwatch/banwatch.yaml"
}

// DefaultStateDir is where the agent keeps its state, status, log and
// spool on goos.
func DefaultStateDir(goos string) string {
	switch goos {
	case "windows":
		return `C:\ProgramData\banwatch`
	case "darwin":
		return "/Library/Application Support/banwatch"
	}
	return "/var/lib/banwatch"
}

// Secret is a value that must never be printed or logged: it formats as
// "[redacted]" (or "" when empty) and marshals the same way. Reveal
// returns the value for the one place that needs it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalText keeps JSON and YAML encodings redacted.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Config is the agent's configuration. Relative paths in the file are
// taken relative to the file's directory.
type Config struct {
	// File is where the config was read from ("" for the defaults).
	File string `yaml:"-"`
	// Interval between scheduled scans; each wait is Interval*(1±Jitter).
	Interval time.Duration `yaml:"-"`
	Jitter   float64       `yaml:"-"`
	// Policy is a policy file; empty means the built-in policy.
	Policy string `yaml:"policy"`
	// Jurisdiction is an ISO 3166 code; empty means the policy's default.
	Jurisdiction string `yaml:"jurisdiction"`
	StateDir     string `yaml:"state_dir"`
	// Root scans a directory (an offline image) instead of the running
	// system. Advanced: for tests and offline use.
	Root   string       `yaml:"root"`
	Log    LogConfig    `yaml:"log"`
	Notice NoticeConfig `yaml:"notice"`
	Fleet  FleetConfig  `yaml:"fleet"`
	Syslog SyslogConfig `yaml:"syslog"`
	// FileSink appends events to a file of JSON lines.
	FileSink FileSinkConfig `yaml:"file"`
}

// LogConfig is the log file and its rotation.
type LogConfig struct {
	// File defaults to banwatch.log in the state directory.
	File       string `yaml:"file"`
	MaxSizeMB  int    `yaml:"max_size_mb"`
	MaxBackups int    `yaml:"max_backups"`
	MaxAgeDays int    `yaml:"max_age_days"`
}

// NoticeConfig turns the notice to the person at the machine on or off.
type NoticeConfig struct {
	Enabled bool `yaml:"enabled"`
}

// FleetConfig is the fleet HTTP endpoint; an empty URL turns it off.
type FleetConfig struct {
	URL        string `yaml:"url"`
	Token      Secret `yaml:"token"`
	TokenFile  string `yaml:"token_file"`
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
	CAFile     string `yaml:"ca_file"`
	SpoolMaxMB int    `yaml:"spool_max_mb"`
	// Format of the body: banwatch (the delivery, the default) or ocsf
	// (an array of OCSF Detection Findings).
	Format string `yaml:"format"`
}

// FileSinkConfig is the file sink; an empty path turns it off. The file
// is rotated with the log's settings (log.max_size_mb, max_backups,
// max_age_days).
type FileSinkConfig struct {
	Path string `yaml:"path"`
	// Format is banwatch (one event per line, the default) or ocsf (one
	// OCSF Detection Finding per line).
	Format string `yaml:"format"`
}

// SyslogConfig is the syslog destination; an empty address turns it off.
type SyslogConfig struct {
	// Address is udp://host:port, tcp://host:port or tls://host:port.
	Address string `yaml:"address"`
	// Format is rfc5424 (the default) or cef.
	Format string `yaml:"format"`
}

// fileConfig is the file's shape: what Config holds as parsed values is
// held here as written, so the validator can tell "absent" from "zero".
type fileConfig struct {
	Interval     *string        `yaml:"interval"`
	Jitter       *float64       `yaml:"jitter"`
	Policy       string         `yaml:"policy"`
	Jurisdiction string         `yaml:"jurisdiction"`
	StateDir     string         `yaml:"state_dir"`
	Root         string         `yaml:"root"`
	Log          LogConfig      `yaml:"log"`
	Notice       NoticeConfig   `yaml:"notice"`
	Fleet        FleetConfig    `yaml:"fleet"`
	Syslog       SyslogConfig   `yaml:"syslog"`
	FileSink     FileSinkConfig `yaml:"file"`
}

// DefaultConfig is the configuration when there is no file, for goos.
func DefaultConfig(goos string) *Config {
	c := &Config{Interval: DefaultInterval, Jitter: DefaultJitter, StateDir: DefaultStateDir(goos)}
	c.fillDefaults()
	return c
}

func (c *Config) fillDefaults() {
	if c.Log.File == "" {
		c.Log.File = filepath.Join(c.StateDir, "banwatch.log")
	}
	if c.Log.MaxSizeMB == 0 {
		c.Log.MaxSizeMB = defaultLogMaxSizeMB
	}
	if c.Log.MaxBackups == 0 {
		c.Log.MaxBackups = defaultLogMaxBackups
	}
	if c.Log.MaxAgeDays == 0 {
		c.Log.MaxAgeDays = defaultLogMaxAgeDays
	}
	if c.Fleet.SpoolMaxMB == 0 {
		c.Fleet.SpoolMaxMB = defaultSpoolMaxMB
	}
	if c.Syslog.Address != "" && c.Syslog.Format == "" {
		c.Syslog.Format = "rfc5424"
	}
	if c.Fleet.URL != "" && c.Fleet.Format == "" {
		c.Fleet.Format = FormatBanwatch
	}
	if c.FileSink.Path != "" && c.FileSink.Format == "" {
		c.FileSink.Format = FormatBanwatch
	}
}

// String renders the effective configuration as YAML with secrets
// redacted; it is safe to log.
func (c *Config) String() string {
	type shown struct {
		Interval string  `yaml:"interval"`
		Jitter   float64 `yaml:"jitter"`
		Config   `yaml:",inline"`
	}
	out, err := yaml.Marshal(shown{Interval: c.Interval.String(), Jitter: c.Jitter, Config: *c})
	if err != nil {
		return "config: " + err.Error()
	}
	return string(out)
}

// Problem is one thing wrong in a config file, reported as the policy
// checker reports its problems: file:line: field: message.
type Problem = policy.Problem

// ConfigError is an invalid config: every problem, in file order.
type ConfigError struct{ Problems []Problem }

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// LoadConfigFile reads and validates a config file. An unreadable file
// is a plain error; an invalid one a *ConfigError.
func LoadConfigFile(file string) (*Config, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(data) > maxConfigSize {
		return nil, &ConfigError{[]Problem{{File: file, Line: 1, Msg: fmt.Sprintf("larger than %d bytes", maxConfigSize)}}}
	}
	return ParseConfig(data, file, runtime.GOOS)
}

// ParseConfig decodes strictly (unknown keys and wrong types are
// problems), fills in the defaults for goos and validates. file names
// the config in problems and anchors relative paths.
func ParseConfig(data []byte, file, goos string) (*Config, error) {
	var root *yaml.Node
	var fc fileConfig
	var problems []Problem
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		ps := yamlProblems(file, nil, err)
		for i := range ps {
			ps[i].Line = syntaxLine(data, ps[i].Msg, ps[i].Line)
		}
		return nil, &ConfigError{ps}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root != nil && root.Kind != yaml.MappingNode {
		return nil, &ConfigError{[]Problem{{File: file, Line: root.Line, Msg: "a config is a mapping of keys (interval, state_dir, log, fleet, ...)"}}}
	}
	if root == nil {
		root = &yaml.Node{Kind: yaml.MappingNode, Line: 1} // empty file: all defaults
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&fc); err != nil {
			problems = yamlProblems(file, root, err)
		}
	}
	v := &configValidator{file: file, root: root, problems: problems, dir: filepath.Dir(file)}
	c := v.config(&fc, goos)
	if len(v.problems) > 0 {
		sortProblems(v.problems)
		return nil, &ConfigError{v.problems}
	}
	c.File = file
	return c, nil
}

func sortProblems(ps []Problem) {
	for i := 1; i < len(ps); i++ { // insertion sort: stable, and lists are short
		for j := i; j > 0 && ps[j].Line < ps[j-1].Line; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

type configValidator struct {
	file, dir string
	root      *yaml.Node
	problems  []Problem
}

// line is the line of the node at the dotted path, or of its closest
// ancestor that is written (a missing key is reported where its mapping
// starts).
func (v *configValidator) line(path string) int {
	n := v.root
	for _, k := range strings.Split(path, ".") {
		next := mappingValue(n, k)
		if next == nil {
			break
		}
		n = next
	}
	return n.Line
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func (v *configValidator) errorf(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.file, Line: v.line(path), Field: path, Msg: fmt.Sprintf(format, args...)})
}

// path resolves p against the config file's directory.
func (v *configValidator) path(p string) string {
	if p == "" || filepath.IsAbs(p) || v.file == "" {
		return p
	}
	return filepath.Join(v.dir, p)
}

var jurisdictionPattern = regexp.MustCompile(`^[A-Za-z]{2}$`)

func (v *configValidator) config(fc *fileConfig, goos string) *Config {
	c := &Config{
		Interval: DefaultInterval, Jitter: DefaultJitter,
		Policy: v.path(fc.Policy), Jurisdiction: strings.ToUpper(fc.Jurisdiction),
		StateDir: v.path(fc.StateDir), Root: v.path(fc.Root),
		Log: fc.Log, Notice: fc.Notice, Fleet: fc.Fleet, Syslog: fc.Syslog, FileSink: fc.FileSink,
	}
	if fc.Interval != nil {
		d, err := time.ParseDuration(*fc.Interval)
		switch {
		case err != nil:
			v.errorf("interval", "not a duration (write it like 30m or 1h): %q", *fc.Interval)
		case d < MinInterval:
			v.errorf("interval", "must be at least %s, got %s", MinInterval, d)
		default:
			c.Interval = d
		}
	}
	if fc.Jitter != nil {
		if j := *fc.Jitter; j < 0 || j > MaxJitter || j != j {
			v.errorf("jitter", "must be a fraction from 0 to %g, got %g", MaxJitter, j)
		} else {
			c.Jitter = j
		}
	}
	if c.Policy != "" {
		if _, err := policy.LoadFile(c.Policy); err != nil {
			var pe *policy.Error
			if errors.As(err, &pe) {
				v.errorf("policy", "invalid policy %s, %d problems (run \"banwatch policy check %s\")", c.Policy, len(pe.Problems), c.Policy)
			} else {
				v.errorf("policy", "%v", err)
			}
		}
	}
	if c.Jurisdiction != "" && !jurisdictionPattern.MatchString(c.Jurisdiction) {
		v.errorf("jurisdiction", "must be an ISO 3166 alpha-2 code such as US, got %q", fc.Jurisdiction)
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir(goos)
	}
	if c.Root != "" {
		if fi, err := os.Stat(c.Root); err != nil || !fi.IsDir() {
			v.errorf("root", "not a directory: %s", c.Root)
		}
	}
	c.Log.File = v.path(c.Log.File)
	v.nonNegative("log.max_size_mb", c.Log.MaxSizeMB)
	v.nonNegative("log.max_backups", c.Log.MaxBackups)
	v.nonNegative("log.max_age_days", c.Log.MaxAgeDays)
	v.fleet(&c.Fleet)
	v.syslog(&c.Syslog)
	v.fileSink(&c.FileSink, c)
	c.fillDefaults()
	return c
}

func (v *configValidator) nonNegative(path string, n int) {
	if n < 0 {
		v.errorf(path, "must not be negative, got %d", n)
	}
}

func (v *configValidator) fleet(f *FleetConfig) {
	f.TokenFile, f.ClientCert, f.ClientKey, f.CAFile = v.path(f.TokenFile), v.path(f.ClientCert), v.path(f.ClientKey), v.path(f.CAFile)
	v.nonNegative("fleet.spool_max_mb", f.SpoolMaxMB)
	if f.URL == "" {
		for path, set := range map[string]bool{"fleet.token": f.Token != "", "fleet.token_file": f.TokenFile != "",
			"fleet.client_cert": f.ClientCert != "", "fleet.client_key": f.ClientKey != "", "fleet.ca_file": f.CAFile != "",
			"fleet.format": f.Format != ""} {
			if set {
				v.errorf(path, "is set but fleet.url is not")
			}
		}
		return
	}
	u, err := url.Parse(f.URL)
	switch {
	case err != nil || u.Host == "":
		v.errorf("fleet.url", "not an absolute URL: %q", f.URL)
	case u.User != nil:
		v.errorf("fleet.url", "must not carry credentials; use token or token_file")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		v.errorf("fleet.url", "must be https (plain http only to loopback), got %q", f.URL)
	default:
		v.errorf("fleet.url", "must be an https URL, got scheme %q", u.Scheme)
	}
	if !ValidFormat(f.Format) {
		v.errorf("fleet.format", "must be %s or %s, got %q", FormatBanwatch, FormatOCSF, f.Format)
	}
	if f.Token != "" && f.TokenFile != "" {
		v.errorf("fleet.token_file", "set token or token_file, not both")
	}
	if (f.ClientCert == "") != (f.ClientKey == "") {
		v.errorf("fleet.client_cert", "client_cert and client_key go together")
	}
	for path, file := range map[string]string{"fleet.token_file": f.TokenFile, "fleet.client_cert": f.ClientCert,
		"fleet.client_key": f.ClientKey, "fleet.ca_file": f.CAFile} {
		if file == "" {
			continue
		}
		if _, err := os.Stat(file); err != nil {
			v.errorf(path, "cannot read %s: %v", file, errors.Unwrap(err))
		}
	}
}

// fileSink checks the file sink, which is on when the config has a file
// key. c is the config with its state directory set.
func (v *configValidator) fileSink(f *FileSinkConfig, c *Config) {
	n := mappingValue(v.root, "file")
	if n == nil || (n.Kind != yaml.MappingNode && n.Tag != "!!null") {
		return // absent, or a wrong type the decoder reported
	}
	if !ValidFormat(f.Format) {
		v.errorf("file.format", "must be %s or %s, got %q", FormatBanwatch, FormatOCSF, f.Format)
	}
	if f.Path == "" {
		v.errorf("file.path", "must be set: the file the events are appended to")
		return
	}
	f.Path = v.path(f.Path)
	logFile := c.Log.File
	if logFile == "" {
		logFile = filepath.Join(c.StateDir, "banwatch.log")
	}
	if filepath.Clean(f.Path) == filepath.Clean(logFile) {
		v.errorf("file.path", "must not be the log file %s", logFile)
	} else if fi, err := os.Stat(f.Path); err == nil && fi.IsDir() {
		v.errorf("file.path", "is a directory: %s", f.Path)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *configValidator) syslog(s *SyslogConfig) {
	if s.Address == "" {
		if s.Format != "" {
			v.errorf("syslog.format", "is set but syslog.address is not")
		}
		return
	}
	u, err := url.Parse(s.Address)
	switch {
	case err != nil || (u.Scheme != "udp" && u.Scheme != "tcp" && u.Scheme != "tls"):
		v.errorf("syslog.address", "must be udp://host:port, tcp://host:port or tls://host:port, got %q", s.Address)
	case u.Hostname() == "" || u.Port() == "" || u.Path != "":
		v.errorf("syslog.address", "must be %s://host:port, got %q", u.Scheme, s.Address)
	default:
		if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
			v.errorf("syslog.address", "port must be 1 to 65535, got %q", u.Port())
		}
	}
	if s.Format != "" && s.Format != "rfc5424" && s.Format != "cef" {
		v.errorf("syslog.format", "must be rfc5424 or cef, got %q", s.Format)
	}
}

var (
	yamlUnknownRe = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	yamlTypeRe    = regexp.MustCompile(`^cannot unmarshal !!(\w+) .*into (\S+)$`)
)

// yamlProblems turns a yaml error, which may hold many, into problems,
// with the field found from the line where root is known. Values are not
// quoted back: a mistyped secret must not show up in the output.
func yamlProblems(file string, root *yaml.Node, err error) []Problem {
	out := policy.SplitYAMLError(file, err)
	for i := range out {
		p := &out[i]
		if g := yamlUnknownRe.FindStringSubmatch(p.Msg); g != nil {
			p.Field = keyPath(root, p.Line, g[1], "")
			p.Msg = "unknown key"
			if p.Field == "" {
				p.Msg = fmt.Sprintf("unknown key %q", g[1])
			}
		} else if g := yamlTypeRe.FindStringSubmatch(p.Msg); g != nil {
			p.Field = keyPath(root, p.Line, "", "")
			p.Msg = fmt.Sprintf("expected %s, got a %s", typeWord(g[2]), tagWord(g[1]))
		}
	}
	return out
}

// keyPath finds the dotted path of the key written on line (named name,
// if given), or of the key whose value starts on that line.
func keyPath(n *yaml.Node, line int, name, prefix string) string {
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		if deeper := keyPath(val, line, name, path); deeper != "" {
			return deeper
		}
		if (k.Line == line || val.Line == line) && (name == "" || k.Value == name) {
			return path
		}
	}
	return ""
}

func tagWord(tag string) string {
	switch tag {
	case "map":
		return "mapping"
	case "seq":
		return "list"
	case "str":
		return "string"
	}
	return tag
}

func typeWord(t string) string {
	switch {
	case t == "float64" || t == "int":
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string" || t == "*string" || t == "agent.Secret":
		return "a string"
	}
	return "a mapping"
}

// syntaxLine finds the line of a YAML syntax error, which yaml.v3
// reports where the enclosing block starts: the first prefix of whole
// lines that fails with the same message ends on the problem's line. A
// config is small (maxConfigSize), so a linear search will do.
func syntaxLine(data []byte, msg string, reported int) int {
	line := 0
	for off := 0; off < len(data); {
		if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
			off += i + 1
		} else {
			off = len(data)
		}
		line++
		if line < reported {
			continue
		}
		var n yaml.Node
		if err := yaml.Unmarshal(data[:off], &n); err != nil {
			if ps := yamlProblems("", nil, err); len(ps) == 1 && ps[0].Msg == msg {
				return line
			}
		}
	}
	return reported
}
