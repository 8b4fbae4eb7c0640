package syslog

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/octetcounting"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

var at = time.Date(2026, 11, 25, 3, 57, 14, 293456000, time.UTC)

// odd summaries: quotes, ], backslash, newline, Cyrillic, invalid UTF-8.
var oddFindings = []policy.Finding{
	{ID: "f1", Rule: "kaspersky.product", Kind: policy.KindProduct, Severity: policy.SeverityHigh, Vendor: "Kaspersky",
		Product: `Kaspersky "Endpoint" [Security] \ for Linux`, ProductID: "kesl",
		Summary: `Kaspersky "Endpoint" ] is installed: C:\Program Files\x`},
	{ID: "f2", Rule: "kaspersky.updates-cut-off", Kind: policy.KindUpdatesCutOff, Severity: policy.SeverityCritical, Vendor: "Kaspersky",
		Product: "Антивирус Касперского", ProductID: "kav",
		Summary: "Антивирус Касперского больше не обновляется\nвторая строка"},
	{ID: "f3", Rule: "kaspersky.remnant", Kind: policy.KindRemnant, Severity: policy.SeverityLow, Vendor: "Kaspersky",
		Product: "KSC", Summary: "bad \xff byte = | ok"},
	{ID: "f4", Rule: "kaspersky.tool", Kind: policy.KindTool, Severity: policy.SeverityMedium, Vendor: "Kaspersky",
		Product: "kvrt", Summary: "plain ascii"},
}

func delivery() *agent.Delivery {
	r := &scan.Report{Schema: scan.SchemaV1, Host: scan.Host{Hostname: "deb-kesl-01", OS: "linux"}, Findings: oddFindings[:2]}
	return &agent.Delivery{Key: "k1", Report: r, Events: []agent.Event{
		{Type: agent.EventNew, At: at, Finding: &oddFindings[0]},
		{Type: agent.EventNew, At: at, Finding: &oddFindings[1]},
		{Type: agent.EventChanged, At: at, Finding: &oddFindings[2], Previous: &oddFindings[3]},
		{Type: agent.EventResolved, At: at, Finding: &oddFindings[3]},
		{Type: agent.EventHeartbeat, At: at},
	}}
}

// check compares parsed messages with the delivery's events.
func check(t *testing.T, d *agent.Delivery, raws [][]byte, msgs []*rfc5424.SyslogMessage, host string) {
	t.Helper()
	if len(msgs) != len(d.Events) {
		t.Fatalf("%d messages, want %d", len(msgs), len(d.Events))
	}
	for i, e := range d.Events {
		m := msgs[i]
		wantSev := map[agent.EventType]uint8{agent.EventNew: 0, agent.EventChanged: 0, agent.EventResolved: 6, agent.EventHeartbeat: 6}[e.Type]
		if wantSev == 0 {
			wantSev = map[policy.Severity]uint8{"critical": 2, "high": 3, "medium": 4, "low": 5}[e.Finding.Severity]
		}
		if m.Facility == nil || *m.Facility != 16 || *m.Severity != wantSev || *m.Priority != 16*8+wantSev {
			t.Errorf("%d: facility %v severity %v, want 16 %d", i, deref(m.Facility), deref(m.Severity), wantSev)
		}
		if m.Version != 1 || m.Timestamp == nil || !m.Timestamp.Equal(at) {
			t.Errorf("%d: version %d timestamp %v", i, m.Version, m.Timestamp)
		}
		if str(m.Hostname) != host || str(m.Appname) != "banwatch" || str(m.MsgID) != string(e.Type) || str(m.ProcID) == "" {
			t.Errorf("%d: header %q %q %q %q", i, str(m.Hostname), str(m.Appname), str(m.ProcID), str(m.MsgID))
		}
		if m.StructuredData == nil {
			t.Fatalf("%d: no structured data", i)
		}
		sd := (*m.StructuredData)[SDID]
		if sd == nil {
			t.Fatalf("%d: no %s element: %v", i, SDID, *m.StructuredData)
		}
		want := map[string]string{"event": string(e.Type)}
		if f := e.Finding; f != nil {
			want["kind"], want["severity"], want["product"], want["product_id"] = string(f.Kind), string(f.Severity), f.Product, f.ProductID
			want["vendor"], want["finding"], want["rule"] = f.Vendor, f.ID, f.Rule
		} else {
			want["findings"] = "2"
		}
		for k, v := range want {
			if v == "" {
				delete(want, k) // empty parameters are left out
				continue
			}
			if sd[k] != v {
				t.Errorf("%d: SD %s = %q, want %q", i, k, sd[k], v)
			}
		}
		if len(sd) != len(want) {
			t.Errorf("%d: SD %v, want %v", i, sd, want)
		}
		wantMsg := Summary(e, 2)
		got := str(m.Message)
		hasBOM := strings.HasPrefix(got, "\uFEFF")
		if ascii(wantMsg) == hasBOM {
			t.Errorf("%d: BOM %v for %q", i, hasBOM, wantMsg)
		}
		if got = strings.TrimPrefix(got, "\uFEFF"); got != wantMsg {
			t.Errorf("%d: MSG %q, want %q", i, got, wantMsg)
		}
		if raws != nil && !strings.Contains(string(raws[i]), wantMsg) {
			t.Errorf("%d: raw frame lacks the summary: %q", i, raws[i])
		}
	}
}

func deref(p *uint8) any {
	if p == nil {
		return nil
	}
	return *p
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := New(Config{Address: "udp://" + pc.LocalAddr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := delivery()
	if err := s.Send(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	var msgs []*rfc5424.SyslogMessage
	p := rfc5424.NewParser()
	buf := make([]byte, 65536)
	for range d.Events {
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		raw := append([]byte(nil), buf[:n]...)
		m, err := p.Parse(raw)
		if err != nil {
			t.Fatalf("parse %q: %v", raw, err)
		}
		raws = append(raws, raw)
		msgs = append(msgs, m.(*rfc5424.SyslogMessage))
	}
	check(t, d, raws, msgs, "deb-kesl-01")
}

// streamServer accepts connections and parses octet-counted frames with
// go-syslog's parser. closeAfter > 0 closes each connection after that
// many messages.
type streamServer struct {
	ln    net.Listener
	msgs  chan *rfc5424.SyslogMessage
	errs  chan error
	conns chan net.Conn
}

func newStreamServer(t *testing.T, cfg *tls.Config, closeAfter int) *streamServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	srv := &streamServer{ln: ln, msgs: make(chan *rfc5424.SyslogMessage, 100), errs: make(chan error, 100), conns: make(chan net.Conn, 10)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			srv.conns <- c
			go func() {
				defer c.Close()
				n := 0
				done := make(chan struct{})
				listener := func(res *gosyslog.Result) {
					if res.Error != nil {
						srv.errs <- res.Error
						return
					}
					srv.msgs <- res.Message.(*rfc5424.SyslogMessage)
					n++
					if closeAfter > 0 && n == closeAfter {
						close(done)
					}
				}
				if closeAfter == 0 {
					octetcounting.NewParser(gosyslog.WithListener(listener)).Parse(c)
					return
				}
				go octetcounting.NewParser(gosyslog.WithListener(listener)).Parse(c)
				<-done
			}()
		}
	}()
	return srv
}

func (srv *streamServer) collect(t *testing.T, n int) []*rfc5424.SyslogMessage {
	t.Helper()
	var out []*rfc5424.SyslogMessage
	for len(out) < n {
		select {
		case m := <-srv.msgs:
			out = append(out, m)
		case err := <-srv.errs:
			t.Fatalf("parse: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d messages after 5 s, want %d", len(out), n)
		}
	}
	return out
}

func TestTCP(t *testing.T) {
	srv := newStreamServer(t, nil, 0)
	s, err := New(Config{Address: "tcp://" + srv.ln.Addr().String(), Hostname: "my host"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := delivery()
	if err := s.Send(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	check(t, d, nil, srv.collect(t, len(d.Events)), "my_host")
}

func TestTCPReconnectsWhenTheCollectorCloses(t *testing.T) {
	srv := newStreamServer(t, nil, 1)
	s, err := New(Config{Address: "tcp://" + srv.ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := delivery()
	d.Events = d.Events[:3]
	for i := range d.Events {
		one := &agent.Delivery{Key: d.Key, Report: d.Report, Events: d.Events[i : i+1]}
		if err := s.Send(t.Context(), one); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		srv.collect(t, 1)
		// let the collector's close reach us
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(srv.conns); n != 3 {
		t.Errorf("%d connections, want 3 (one per message, each closed by the collector)", n)
	}
}

func TestSendFailureReturnsError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := New(Config{Address: "tcp://" + addr, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), delivery())
	if err == nil || !strings.Contains(err.Error(), "syslog tcp://"+addr) {
		t.Errorf("send to a closed port: %v", err)
	}
	// A canceled context stops at once.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Send(ctx, delivery()); err == nil {
		t.Error("send with a canceled context succeeded")
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, serverCfg := testPKI(t, dir, "ca.pem")
	srv := newStreamServer(t, serverCfg, 0)
	s, err := New(Config{Address: "tls://" + srv.ln.Addr().String(), CAFile: caFile, Format: FormatRFC5424})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := delivery()
	if err := s.Send(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	check(t, d, nil, srv.collect(t, len(d.Events)), "deb-kesl-01")

	// A collector whose certificate another CA signed is refused.
	otherCA, _ := testPKI(t, t.TempDir(), "other.pem")
	s2, err := New(Config{Address: "tls://" + srv.ln.Addr().String(), CAFile: otherCA, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Send(t.Context(), d); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("wrong CA: %v", err)
	}
}

func TestCEFOverTCP(t *testing.T) {
	srv := newStreamServer(t, nil, 0)
	s, err := New(Config{Address: "tcp://" + srv.ln.Addr().String(), Format: FormatCEF, Version: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := delivery()
	if err := s.Send(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	msgs := srv.collect(t, len(d.Events))
	for i, m := range msgs {
		got := str(m.Message)
		if want := CEF(d.Events[i], "deb-kesl-01", "v1.2.3", 2); got != want {
			t.Errorf("%d: MSG %q, want %q", i, got, want)
		}
		if !strings.HasPrefix(got, "CEF:0|banwatch|banwatch|v1.2.3|") {
			t.Errorf("%d: %q", i, got)
		}
		if (*m.StructuredData)[SDID]["event"] != string(d.Events[i].Type) {
			t.Errorf("%d: SD %v", i, *m.StructuredData)
		}
	}
	if !strings.HasPrefix(str(msgs[0].Message), `CEF:0|banwatch|banwatch|v1.2.3|kaspersky.product|product: Kaspersky "Endpoint" [Security] \\ for Linux|8|rt=`) {
		t.Errorf("first record %q", str(msgs[0].Message))
	}
}

func TestCEFEscaping(t *testing.T) {
	header := []struct{ in, want string }{
		{"plain", "plain"},
		{`a|b`, `a\|b`},
		{`a\b`, `a\\b`},
		{`a=b`, `a=b`},
		{"a\nb\r\nc\rd", "a b c d"},
		{`\|`, `\\\|`},
		{"Касперский", "Касперский"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
	}
	for _, tt := range header {
		if got := EscapeCEFHeader(tt.in); got != tt.want {
			t.Errorf("header %q: %q, want %q", tt.in, got, tt.want)
		}
	}
	value := []struct{ in, want string }{
		{"plain", "plain"},
		{`a|b`, `a|b`},
		{`a\b`, `a\\b`},
		{`a=b`, `a\=b`},
		{"a\nb", `a\nb`},
		{"a\r\nb", `a\r\nb`},
		{"a\rb", `a\rb`},
		{`\=`, `\\\=`},
		{"Касперский = плохо", `Касперский \= плохо`},
	}
	for _, tt := range value {
		if got := EscapeCEFValue(tt.in); got != tt.want {
			t.Errorf("value %q: %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCEFRecord(t *testing.T) {
	f := oddFindings[1]
	got := CEF(agent.Event{Type: agent.EventNew, At: at, Finding: &f}, "h", "v1", 1)
	want := "CEF:0|banwatch|banwatch|v1|kaspersky.updates-cut-off|updates-cut-off: Антивирус Касперского|10|" +
		"rt=1795579034293 dvchost=h act=new externalId=f2 cat=updates-cut-off cs1Label=product cs1=Антивирус Касперского " +
		"cs2Label=productId cs2=kav cs3Label=vendor cs3=Kaspersky cs4Label=severity cs4=critical " +
		`msg=Антивирус Касперского больше не обновляется\nвторая строка`
	if got != want {
		t.Errorf("CEF\n got %s\nwant %s", got, want)
	}
	res := CEF(agent.Event{Type: agent.EventResolved, At: at, Finding: &f}, "h", "v1", 1)
	if !strings.Contains(res, "|updates-cut-off resolved: Антивирус Касперского|1|") || !strings.Contains(res, "msg=resolved: ") {
		t.Errorf("resolved %s", res)
	}
	hb := CEF(agent.Event{Type: agent.EventHeartbeat, At: at}, "h", "v|1", 3)
	if hb != `CEF:0|banwatch|banwatch|v\|1|heartbeat|banwatch heartbeat|1|rt=1795579034293 dvchost=h act=heartbeat msg=banwatch heartbeat: 3 findings open` {
		t.Errorf("heartbeat %s", hb)
	}
}

func TestEscapeParam(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{`say "hi"`, `say \"hi\"`},
		{`a]b`, `a\]b`},
		{`C:\x`, `C:\\x`},
		{`[x=y]`, `[x=y\]`},
		{"Касперский", "Касперский"},
		{"bad\xff", "bad\uFFFD"},
	} {
		if got := EscapeParam(tt.in); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatHeader(t *testing.T) {
	s, err := New(Config{Address: "udp://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	f := oddFindings[3]
	msg := string(s.Format(agent.Event{Type: agent.EventNew, At: at, Finding: &f}, "", 0))
	want := "<132>1 2026-11-25T03:57:14.293456Z - banwatch "
	if !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, `] plain ascii`) {
		t.Errorf("message %q, want prefix %q", msg, want)
	}
	long := strings.Repeat("h", 300)
	msg = string(s.Format(agent.Event{Type: agent.EventHeartbeat}, long, 0))
	if !strings.HasPrefix(msg, "<134>1 - "+strings.Repeat("h", 255)+" banwatch ") {
		t.Errorf("heartbeat %q", msg)
	}
}

func TestNewChecksConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	if err := os.WriteFile(notPEM, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		cfg  Config
		want string // "" for ok
	}{
		{Config{Address: "udp://127.0.0.1:514"}, ""},
		{Config{Address: "tcp://collector.example"}, ""},
		{Config{Address: "tls://[::1]:6514", Format: "cef"}, ""},
		{Config{Address: "127.0.0.1:514"}, "want udp://"},
		{Config{Address: "http://x:1"}, "want udp://"},
		{Config{Address: "tcp://x:99999"}, "bad port"},
		{Config{Address: "udp://x/path"}, "want udp://"},
		{Config{Address: "udp://x", Format: "json"}, "syslog format"},
		{Config{Address: "tcp://x", CAFile: notPEM}, "needs tls://"},
		{Config{Address: "tls://x", CAFile: notPEM}, "no PEM certificate"},
		{Config{Address: "tls://x", CAFile: filepath.Join(dir, "missing.pem")}, "no such file"},
	} {
		_, err := New(tt.cfg)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// testPKI writes a fresh CA to dir/name and returns it with a server TLS
// config whose certificate (for 127.0.0.1) that CA signed.
func testPKI(t *testing.T, dir, name string) (string, *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "banwatch test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "collector"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return p, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}
