// Package fleet is the agent's HTTP sink: deliveries are stored in the
// on-disk spool when the loop hands them over, and a sender drains the
// spool in order, POSTing each delivery to the fleet collector as gzipped
// JSON with an idempotency key, and retrying with exponential backoff and
// full jitter until the collector takes it.
//
// Nothing is ever dropped here: a delivery the collector refuses (a 4xx
// other than 408 and 429, or a TLS failure) stays at the head of the
// spool, retried with backoff, and Status says it is refused, because it
// takes a configuration change (token, CA, URL) to get past it.
//
// The body is the delivery itself (Format banwatch, the default) or, with
// Format ocsf, a JSON array of OCSF Detection Findings made from it when
// it is sent (agent.OCSFFindings: one per new, changed or resolved event;
// a heartbeat restates the open findings). The spool always holds the
// delivery, so the format can change while deliveries wait.
package fleet

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/agent/spool"
)

// Defaults.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
)

// Config is the fleet sink's configuration.
type Config struct {
	// URL the deliveries are POSTed to (https, or http for a collector on
	// a trusted network).
	URL string
	// Token, when set, is sent as "Authorization: Bearer <token>". It is
	// never logged.
	Token string
	// ClientCert and ClientKey are PEM files of a client certificate for
	// mutual TLS; both or neither.
	ClientCert string
	ClientKey  string
	// CAFile is a PEM file of CAs trusted besides the system roots.
	CAFile string
	// Timeout of one request (DefaultTimeout when zero).
	Timeout time.Duration
	// Format of the body: agent.FormatBanwatch ("" too) or
	// agent.FormatOCSF.
	Format string
}

// String describes the configuration with the token redacted.
func (c Config) String() string {
	tok := ""
	if c.Token != "" {
		tok = "[redacted]"
	}
	return fmt.Sprintf("fleet{url=%s token=%s client_cert=%s client_key=%s ca_file=%s timeout=%s format=%s}",
		c.URL, tok, c.ClientCert, c.ClientKey, c.CAFile, c.Timeout, c.Format)
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// Options are the sender's collaborators; the zero value is the real
// thing. Tests inject a clock, a sleeper and a source of randomness.
type Options struct {
	Logger *zap.Logger
	// Now tells the time (time.Now).
	Now func() time.Time
	// Sleep waits d or until ctx is done (a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for the jitter (math/rand/v2).
	Rand func() float64
	// InitialBackoff and MaxBackoff bound the delay between attempts
	// (DefaultInitialBackoff, DefaultMaxBackoff when zero).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Client replaces the HTTP client built from the Config.
	Client *http.Client
}

// Status is what the sender tells `banwatch status`.
type Status struct {
	// Depth is the number of deliveries waiting in the spool.
	Depth int
	// LastDelivery is when the collector last took a delivery.
	LastDelivery time.Time
	// LastError is why the last attempt failed; empty after a success.
	LastError string
	// Refused says the collector (or TLS) refuses the delivery at the
	// head of the spool: it takes a configuration change to get past it.
	Refused bool
	// Failures is the number of failed attempts on the head delivery.
	Failures int
	// NextAttempt is when the head delivery is tried again after a failure.
	NextAttempt time.Time
}

// Sender is the fleet sink (agent.Sink) and the loop that drains the
// spool to the collector.
type Sender struct {
	cfg    Config
	spool  *spool.Spool
	client *http.Client
	log    *zap.Logger
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	rand   func() float64
	init   time.Duration
	max    time.Duration
	wake   chan struct{}

	mu     sync.Mutex
	status Status
}

var _ agent.Sink = (*Sender)(nil)

// New makes a sender that stores deliveries in sp and sends them as cfg
// says. It checks the configuration and loads the certificates.
func New(cfg Config, sp *spool.Spool, o Options) (*Sender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("fleet: url %q: want an http or https URL", cfg.URL)
	}
	if sp == nil {
		return nil, errors.New("fleet: no spool")
	}
	if !agent.ValidFormat(cfg.Format) {
		return nil, fmt.Errorf("fleet: format must be %s or %s, got %q", agent.FormatBanwatch, agent.FormatOCSF, cfg.Format)
	}
	s := &Sender{
		cfg: cfg, spool: sp, client: o.Client, log: o.Logger,
		now: o.Now, sleep: o.Sleep, rand: o.Rand,
		init: o.InitialBackoff, max: o.MaxBackoff,
		wake: make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.log = s.log.With(zap.String("sink", "fleet"))
	if s.now == nil {
		s.now = time.Now
	}
	if s.sleep == nil {
		s.sleep = sleepCtx
	}
	if s.rand == nil {
		s.rand = rand.Float64
	}
	if s.init <= 0 {
		s.init = DefaultInitialBackoff
	}
	if s.max <= 0 {
		s.max = DefaultMaxBackoff
	}
	if s.max < s.init {
		s.max = s.init
	}
	if s.client == nil {
		s.client, err = newClient(cfg)
		if err != nil {
			return nil, err
		}
	}
	if u.Scheme == "http" && cfg.Token != "" {
		s.log.Warn("the fleet token is sent over plain http", zap.String("url", cfg.URL))
	}
	return s, nil
}

func newClient(cfg Config) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("fleet: ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("fleet: ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	switch {
	case cfg.ClientCert != "" && cfg.ClientKey != "":
		cert, err := tls.LoadX509KeyPair(cfg.ClientCert, cfg.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("fleet: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case cfg.ClientCert != "" || cfg.ClientKey != "":
		return nil, errors.New("fleet: client_cert and client_key go together")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Name is the sink's name.
func (s *Sender) Name() string { return "fleet" }

// Send stores d in the spool and returns once it is on disk; Run sends
// it. A delivery already queued (same key) is stored once. When the
// spool is full, older heartbeats are dropped (and logged); if findings
// fill it, Send fails with spool.ErrFull and nothing is dropped.
func (s *Sender) Send(ctx context.Context, d *agent.Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dropped, err := s.spool.Put(d)
	if len(dropped.Keys) > 0 {
		s.log.Warn(dropped.String(), zap.Strings("dropped", dropped.Keys), zap.Int64("bytes", dropped.Bytes))
	}
	if err != nil {
		s.log.Error("delivery not queued", zap.String("key", d.Key), zap.Error(err))
		return fmt.Errorf("fleet: %w", err)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Status reports the spool depth and the last attempts.
func (s *Sender) Status() Status {
	s.mu.Lock()
	st := s.status
	s.mu.Unlock()
	st.Depth = s.spool.Len()
	return st
}

// Run drains the spool until ctx is done: the oldest delivery first, and
// the next only once the collector took it. It returns nil when ctx is
// done.
func (s *Sender) Run(ctx context.Context) error {
	failures := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		seq, d, ok, err := s.spool.Peek()
		if err == nil && !ok {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		var retryAfter time.Duration
		refused := false
		if err == nil {
			retryAfter, refused, err = s.post(ctx, d)
			if err == nil {
				if err = s.spool.Ack(seq); err == nil {
					failures = 0
					s.mu.Lock()
					s.status = Status{LastDelivery: s.now()}
					s.mu.Unlock()
					s.log.Debug("delivered", zap.String("key", d.Key), zap.Uint64("seq", seq))
					continue
				}
				// The collector has it but the spool could not forget it:
				// it is sent again (same idempotency key) after the backoff.
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		failures++
		delay := s.backoff(failures)
		if retryAfter > delay {
			delay = min(retryAfter, s.max)
		}
		msg := err.Error()
		s.mu.Lock()
		s.status.LastError = msg
		s.status.Refused = refused
		s.status.Failures = failures
		s.status.NextAttempt = s.now().Add(delay)
		s.mu.Unlock()
		fields := []zap.Field{zap.Int("failures", failures), zap.Duration("retry_in", delay), zap.String("error", msg)}
		if d != nil {
			fields = append(fields, zap.String("key", d.Key), zap.Uint64("seq", seq))
		}
		if refused {
			s.log.Error("the collector refuses the delivery; it stays queued", fields...)
		} else {
			s.log.Warn("delivery failed; retrying", fields...)
		}
		if err := s.sleep(ctx, delay); err != nil {
			return nil
		}
	}
}

// backoff is the delay before attempt failures+1: exponential from the
// initial backoff, capped, with full jitter (a uniform draw below it).
func (s *Sender) backoff(failures int) time.Duration {
	ceil := s.init
	for i := 1; i < failures && ceil < s.max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, s.max)
	return time.Duration(s.rand() * float64(ceil))
}

// post sends one delivery. It returns nil when the collector took it
// (2xx); otherwise how long the collector asked to wait (Retry-After),
// and whether it refused the delivery (a 4xx other than 408 and 429, or
// TLS) rather than failed for now.
func (s *Sender) post(ctx context.Context, d *agent.Delivery) (retryAfter time.Duration, refused bool, err error) {
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	var payload any = d
	if s.cfg.Format == agent.FormatOCSF {
		payload = agent.OCSFFindings(d)
	}
	if err := json.NewEncoder(zw).Encode(payload); err != nil {
		return 0, true, fmt.Errorf("encode delivery %s: %w", d.Key, err)
	}
	if err := zw.Close(); err != nil {
		return 0, false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, &body)
	if err != nil {
		return 0, true, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Idempotency-Key", d.Key)
	req.Header.Set("User-Agent", "banwatch-agent")
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, tlsRefusal(err), s.redact(err.Error())
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, false, nil
	}
	text := strings.Join(strings.Fields(string(snippet)), " ")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	msg := "HTTP " + resp.Status
	if text != "" {
		msg += ": " + text
	}
	retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	switch c := resp.StatusCode; {
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return retryAfter, false, s.redact(msg)
	case c >= 400:
		return retryAfter, true, s.redact("refused: " + msg)
	default: // 1xx, 3xx the client did not follow
		return retryAfter, true, s.redact("unexpected " + msg)
	}
}

// redact makes an error of msg with the token removed, in case a
// collector echoes it.
func (s *Sender) redact(msg string) error {
	if s.cfg.Token != "" {
		msg = strings.ReplaceAll(msg, s.cfg.Token, "[redacted]")
	}
	return errors.New(msg)
}

// tlsRefusal says whether err is a TLS failure that retrying will not
// cure: an unverifiable server certificate or a handshake the server
// rejected (our client certificate).
func tlsRefusal(err error) bool {
	var (
		verr  *tls.CertificateVerificationError
		unk   x509.UnknownAuthorityError
		host  x509.HostnameError
		inval x509.CertificateInvalidError
		rec   tls.RecordHeaderError
	)
	return errors.As(err, &verr) || errors.As(err, &unk) || errors.As(err, &host) ||
		errors.As(err, &inval) || errors.As(err, &rec) ||
		// the server's alert (its own type is not exported)
		strings.Contains(err.Error(), "remote error: tls:")
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
