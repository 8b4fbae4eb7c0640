// Package syslog is the agent's syslog sink: each event of a delivery
// goes out as one RFC 5424 message over UDP (RFC 5426), TCP (RFC 6587
// octet counting) or TLS (RFC 5425, octet counting as well):
//
//	<PRI>1 TIMESTAMP HOSTNAME banwatch PROCID MSGID [banwatch@32473 ...] MSG
//
// PRI: the facility is local0 (16), the one syslog leaves to local
// applications, so that a collector can route banwatch on it without
// mixing it with the user-level (1) messages of desktop programs. The
// severity comes from the finding: critical is 2 (Critical), high 3
// (Error), medium 4 (Warning), low 5 (Notice); a resolved finding and the
// heartbeat are 6 (Informational).
//
// MSGID is the event type: new, changed, resolved, heartbeat.
//
// The structured data element has the SD-ID banwatch@32473. 32473 is the
// private enterprise number RFC 5612 reserves for documentation and
// examples: banwatch has no IANA number of its own, so the SD-ID only marks
// the element as banwatch's private one; a deployment that owns a number
// can rewrite it at the collector. Parameters: event, kind, severity,
// product, product_id, vendor, finding (the finding id), rule; a heartbeat
// carries findings (how many are open).
//
// MSG is the finding's summary, with the UTF-8 BOM RFC 5424 asks for when
// it is not plain ASCII; or, in the CEF format, a CEF:0 record, without a
// BOM, as CEF receivers match the record from "CEF:".
//
// The sender is small and hand-written: it dials lazily, reconnects after
// an error (and before writing to a stream the collector has closed), and
// returns an error when a message could not be sent after one reconnect,
// which the agent logs. Delivery is at least once: a retried delivery
// sends its events again.
package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/policy"
)

// Facility is the syslog facility of every message: local0.
const Facility = 16

// SDID is the SD-ID of banwatch's structured data element. 32473 is the
// example enterprise number of RFC 5612 (see the package comment).
const SDID = "banwatch@32473"

// AppName is the APP-NAME of every message.
const AppName = "banwatch"

// Formats of the MSG part.
const (
	FormatRFC5424 = "rfc5424"
	FormatCEF     = "cef"
)

// Config configures the sink.
type Config struct {
	// Address is udp://host:port, tcp://host:port or tls://host:port. The
	// port defaults to 514 for UDP and TCP and 6514 for TLS.
	Address string `yaml:"address"`
	// Format is rfc5424 (the default: the summary as MSG) or cef.
	Format string `yaml:"format"`
	// CAFile is a PEM file of the CAs that may sign the collector's
	// certificate, for tls://; the system's roots otherwise.
	CAFile string `yaml:"ca_file"`
	// Hostname is the HOSTNAME of each message; by default the scanned
	// host's name from the report, or the machine's.
	Hostname string `yaml:"hostname"`
	// Timeout bounds a dial and a write; 10 s by default.
	Timeout time.Duration `yaml:"timeout"`
	// Version is banwatch's version for CEF headers; the build's by default.
	Version string `yaml:"-"`
}

// Sink sends deliveries to a syslog collector. It is safe for concurrent use.
type Sink struct {
	cfg     Config
	network string // udp, tcp or tls
	addr    string
	tls     *tls.Config
	dial    func(ctx context.Context) (net.Conn, error)

	mu   sync.Mutex
	conn net.Conn
}

var _ agent.Sink = (*Sink)(nil)

// New checks the configuration and makes a sink. It does not connect: the
// first Send does.
func New(cfg Config) (*Sink, error) {
	u, err := url.Parse(cfg.Address)
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("syslog address %q: want udp://, tcp:// or tls:// and host:port", cfg.Address)
	}
	s := &Sink{cfg: cfg, network: u.Scheme}
	port := u.Port()
	switch u.Scheme {
	case "udp", "tcp":
		if port == "" {
			port = "514"
		}
	case "tls":
		if port == "" {
			port = "6514"
		}
		s.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("syslog CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("syslog CA file %s: no PEM certificate in it", cfg.CAFile)
			}
			s.tls.RootCAs = pool
		}
	default:
		return nil, fmt.Errorf("syslog address %q: want udp://, tcp:// or tls://", cfg.Address)
	}
	if cfg.CAFile != "" && u.Scheme != "tls" {
		return nil, fmt.Errorf("syslog address %q: a CA file needs tls://", cfg.Address)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("syslog address %q: bad port %q", cfg.Address, port)
	}
	s.addr = net.JoinHostPort(u.Hostname(), port)
	switch cfg.Format {
	case "":
		s.cfg.Format = FormatRFC5424
	case FormatRFC5424, FormatCEF:
	default:
		return nil, fmt.Errorf("syslog format %q: want rfc5424 or cef", cfg.Format)
	}
	if s.cfg.Timeout <= 0 {
		s.cfg.Timeout = 10 * time.Second
	}
	if s.cfg.Version == "" {
		s.cfg.Version = buildVersion()
	}
	s.dial = s.dialConn
	return s, nil
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// Name says which sink this is.
func (s *Sink) Name() string { return "syslog" }

// Send sends each event of the delivery as one message, in order. It
// stops at the first message it cannot send, after one reconnect.
func (s *Sink) Send(ctx context.Context, d *agent.Delivery) error {
	host := s.cfg.Hostname
	if host == "" && d.Report != nil {
		host = d.Report.Host.Hostname
	}
	if host == "" {
		host, _ = os.Hostname()
	}
	open := 0
	if d.Report != nil {
		open = len(d.Report.Findings)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range d.Events {
		msg := s.Format(e, host, open)
		if err := s.write(ctx, msg); err != nil {
			return fmt.Errorf("syslog %s: %w", s.cfg.Address, err)
		}
	}
	return nil
}

// Close closes the connection, if any.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

func (s *Sink) write(ctx context.Context, msg []byte) error {
	frame := msg
	if s.network != "udp" {
		frame = append([]byte(strconv.Itoa(len(msg))+" "), msg...)
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if err = ctx.Err(); err != nil {
			return err
		}
		if s.conn != nil && s.network != "udp" && closedByPeer(s.conn) {
			s.drop()
		}
		if s.conn == nil {
			if s.conn, err = s.dial(ctx); err != nil {
				s.conn = nil
				continue
			}
		}
		deadline := time.Now().Add(s.cfg.Timeout)
		if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
			deadline = dl
		}
		_ = s.conn.SetWriteDeadline(deadline)
		if _, err = s.conn.Write(frame); err == nil {
			return nil
		}
		s.drop()
	}
	return err
}

func (s *Sink) drop() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

func (s *Sink) dialConn(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if s.tls != nil {
		d := &tls.Dialer{Config: s.tls}
		return d.DialContext(ctx, "tcp", s.addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, s.network, s.addr)
}

// closedByPeer tells whether the collector has closed a stream: a
// collector sends nothing, so a read that does not time out at once is
// the end of the stream or an error. Writes to such a socket succeed
// until the peer's reset arrives, and the message would be lost.
func closedByPeer(c net.Conn) bool {
	if err := c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return true
	}
	var b [1]byte
	_, err := c.Read(b[:])
	_ = c.SetReadDeadline(time.Time{})
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true // io.EOF, a reset, a TLS alert
}

// Format builds the RFC 5424 message (without framing) for one event.
// host is the HOSTNAME; open is how many findings the report has, for the
// heartbeat.
func (s *Sink) Format(e agent.Event, host string, open int) []byte {
	f := e.Finding
	sev := Severity(e)
	var b strings.Builder
	b.WriteString("<" + strconv.Itoa(Facility*8+sev) + ">1 ")
	if e.At.IsZero() {
		b.WriteString("-")
	} else {
		b.WriteString(e.At.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
	}
	b.WriteString(" " + header(host, 255) + " " + AppName + " " + strconv.Itoa(os.Getpid()) + " " + header(string(e.Type), 32) + " ")
	params := [][2]string{{"event", string(e.Type)}}
	if f != nil {
		params = append(params,
			[2]string{"kind", string(f.Kind)}, [2]string{"severity", string(f.Severity)},
			[2]string{"product", f.Product}, [2]string{"product_id", f.ProductID},
			[2]string{"vendor", f.Vendor}, [2]string{"finding", f.ID}, [2]string{"rule", f.Rule})
	} else {
		params = append(params, [2]string{"findings", strconv.Itoa(open)})
	}
	b.WriteString("[" + SDID)
	for _, p := range params {
		if p[1] == "" {
			continue
		}
		b.WriteString(" " + p[0] + `="` + EscapeParam(p[1]) + `"`)
	}
	b.WriteString("]")
	var msg string
	if s.cfg.Format == FormatCEF {
		msg = CEF(e, host, s.cfg.Version, open)
	} else {
		msg = Summary(e, open)
		if !ascii(msg) {
			msg = "\uFEFF" + msg
		}
	}
	if msg != "" {
		b.WriteString(" " + msg)
	}
	return []byte(b.String())
}

// Summary is the plain MSG of an event: the finding's summary, marked
// when it is resolved, or a line for the heartbeat.
func Summary(e agent.Event, open int) string {
	if e.Finding == nil {
		return fmt.Sprintf("banwatch heartbeat: %d findings open", open)
	}
	s := strings.ToValidUTF8(e.Finding.Summary, "\uFFFD")
	if e.Type == agent.EventResolved {
		s = "resolved: " + s
	}
	return s
}

// Severity maps an event to a syslog severity: the finding's (critical 2,
// high 3, medium 4, low 5), or 6 (Informational) for a resolved finding,
// the heartbeat and anything unknown.
func Severity(e agent.Event) int {
	if e.Finding == nil || e.Type == agent.EventResolved {
		return 6
	}
	switch e.Finding.Severity {
	case policy.SeverityCritical:
		return 2
	case policy.SeverityHigh:
		return 3
	case policy.SeverityMedium:
		return 4
	case policy.SeverityLow:
		return 5
	}
	return 6
}

// EscapeParam escapes an SD-PARAM value (RFC 5424, 6.3.3): '"', '\' and
// ']' take a backslash. Invalid UTF-8 becomes U+FFFD, as PARAM-VALUE is
// UTF-8.
func EscapeParam(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	var b strings.Builder
	for _, r := range v {
		if r == '"' || r == '\\' || r == ']' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// header makes a header field PRINTUSASCII (33-126) of at most max
// octets, or the NILVALUE "-" when empty.
func header(v string, max int) string {
	var b strings.Builder
	for i := 0; i < len(v) && b.Len() < max; i++ {
		c := v[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
