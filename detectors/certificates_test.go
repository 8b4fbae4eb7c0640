package detectors

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func readCert(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/certs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func certKeys(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, string(it.Kind)+"|"+it.Name+"|"+it.Publisher+"|"+it.Path)
	}
	slices.Sort(out)
	return out
}

func TestRegistryCertificates(t *testing.T) {
	// A store keeps each certificate under its SHA-1 thumbprint.
	key := func(file string) string {
		sum := sha1.Sum(readCert(t, file))
		return `HKLM\SOFTWARE\Microsoft\SystemCertificates\ROOT\Certificates\` + strings.ToUpper(hex.EncodeToString(sum[:]))
	}
	tests := []struct {
		image string
		want  []string
	}{
		{"win11-ultraav", []string{"certificate|Kaspersky Anti-Virus Personal Root Certificate|AO Kaspersky Lab|" + key("kaspersky-personal-root.der")}},
		{"win11-clean", []string{"certificate|Example Corp Root CA|Example Corp|" + key("example-root.der")}},
		{"win11-kes", nil},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			items, err := detectCertificates(context.Background(), windowsEnv(t, tt.image))
			if err != nil {
				t.Fatal(err)
			}
			if got := certKeys(items); !slices.Equal(got, tt.want) {
				t.Errorf("certificates:\n got  %q\n want %q", got, tt.want)
			}
			for _, it := range items {
				if it.Attrs["sha1"] == "" || !strings.Contains(it.Detail, "machine store ROOT") {
					t.Errorf("item %+v", it)
				}
			}
		})
	}
}

func TestCertFromBlob(t *testing.T) {
	der := readCert(t, "kaspersky-personal-root.der")
	prop := func(id uint32, data []byte) []byte {
		b := binary.LittleEndian.AppendUint32(nil, id)
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		return append(b, data...)
	}
	tests := []struct {
		name, wantErr string
		blob          []byte
	}{
		{"hash then certificate", "", append(prop(3, make([]byte, 20)), prop(0x20, der)...)},
		{"no certificate", "holds no certificate", prop(3, make([]byte, 20))},
		{"length past the end", "runs past the end", prop(0x20, der)[:100]},
		{"damaged certificate", "x509", prop(0x20, der[:len(der)-10])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := certFromBlob(tt.blob)
			if tt.wantErr == "" {
				if err != nil || c.Subject.CommonName != "Kaspersky Anti-Virus Personal Root Certificate" {
					t.Fatalf("%v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestAnchorCertificates(t *testing.T) {
	kl, ex := readCert(t, "kaspersky-personal-root.der"), readCert(t, "example-root.der")
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ex}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kl})...)
	root := fstest.MapFS{
		"usr/local/share/ca-certificates/corp/bundle.crt": {Data: bundle},
		"etc/pki/ca-trust/source/anchors/kl.der":          {Data: kl},
		"etc/pki/ca-trust/source/anchors/broken.crt":      {Data: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
		"etc/pki/ca-trust/source/anchors/README":          {Data: []byte("not a certificate")},
	}
	items, err := detectCertificates(context.Background(), &Env{Root: root})
	want := []string{
		"certificate|Example Corp Root CA|Example Corp|usr/local/share/ca-certificates/corp/bundle.crt",
		"certificate|Kaspersky Anti-Virus Personal Root Certificate|AO Kaspersky Lab|etc/pki/ca-trust/source/anchors/kl.der",
		"certificate|Kaspersky Anti-Virus Personal Root Certificate|AO Kaspersky Lab|usr/local/share/ca-certificates/corp/bundle.crt",
	}
	if got := certKeys(items); !slices.Equal(got, want) {
		t.Errorf("certificates:\n got  %q\n want %q", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "broken.crt") || strings.Contains(err.Error(), "README") {
		t.Errorf("err = %v, want one naming broken.crt only", err)
	}
}
