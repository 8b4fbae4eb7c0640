package detectors

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/banwatch/banwatch/detectors/winreg"
)

func init() {
	register(Spec{Name: "certificates", OS: []string{"linux", "windows"}, Detector: DetectorFunc(detectCertificates)})
}

// Anti-virus products that scan encrypted web traffic install their own
// root certificate ("Kaspersky Anti-Virus Personal Root Certificate",
// O=AO Kaspersky Lab), and removal often leaves it trusted: after the
// 2024 move to UltraAV it is among the leftovers. This detector lists
// the trusted roots a machine added itself; the policy knows whose they
// are by their organization.

// Windows certificate stores in the registry, below the hive roots.
var (
	machineStores = []string{
		`Microsoft\SystemCertificates\ROOT\Certificates`,
		`Microsoft\SystemCertificates\AuthRoot\Certificates`,
		`Microsoft\SystemCertificates\CA\Certificates`,
		`Policies\Microsoft\SystemCertificates\Root\Certificates`,
	}
	userStores = []string{`Software\Microsoft\SystemCertificates\Root\Certificates`}
)

// Linux folders where administrators and installers add trust anchors.
var anchorDirs = []string{
	"usr/local/share/ca-certificates",
	"etc/pki/ca-trust/source/anchors",
	"etc/ca-certificates/trust-source/anchors",
	"etc/pki/trust/anchors",
	"usr/share/pki/trust/anchors",
}

const (
	maxCertsPerStore = 4096
	maxCertFile      = 1 << 20
	// certPropCert is CERT_CERT_PROP_ID: the property of a serialized
	// store element that holds the DER certificate.
	certPropCert = 0x20
)

func detectCertificates(ctx context.Context, env *Env) ([]Item, error) {
	if env.Registry != nil {
		return registryCertificates(ctx, env.Registry)
	}
	return anchorCertificates(ctx, env.Root)
}

func registryCertificates(ctx context.Context, reg winreg.Machine) ([]Item, error) {
	var items []Item
	var errs []error
	sw, err := reg.Hive(ctx, "SOFTWARE")
	if err != nil {
		return nil, err
	}
	for _, store := range machineStores {
		items = append(items, storeCertificates(sw, store, "machine", &errs)...)
	}
	users, err := reg.Users(ctx)
	errs = append(errs, err)
	for _, u := range users {
		for _, store := range userStores {
			items = append(items, storeCertificates(u.Key, store, "user "+userName(u), &errs)...)
		}
	}
	return items, errors.Join(errs...)
}

// storeCertificates reads one store: a key per certificate, named by its
// SHA-1 thumbprint, whose Blob value is a serialized store element.
func storeCertificates(hive winreg.Key, store, scope string, errs *[]error) []Item {
	k, err := hive.Open(store)
	if err != nil {
		if !winreg.IsNotExist(err) {
			*errs = append(*errs, err)
		}
		return nil
	}
	names, err := k.Subkeys()
	*errs = append(*errs, err)
	if len(names) > maxCertsPerStore {
		*errs = append(*errs, fmt.Errorf("%s: %d certificates, read the first %d", k.Path(), len(names), maxCertsPerStore))
		names = names[:maxCertsPerStore]
	}
	var items []Item
	for _, name := range names {
		sub, err := k.Open(name)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		vals, err := winreg.ReadValues(sub)
		*errs = append(*errs, err)
		blob, ok := vals["blob"]
		if !ok {
			continue // a certificate kept elsewhere (a CTL entry)
		}
		cert, err := certFromBlob(blob.Data)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", sub.Path(), err))
			continue
		}
		items = append(items, certificateItem(cert, sub.Path(), scope+" store "+storeName(store)))
	}
	return items
}

func storeName(store string) string {
	parts := strings.Split(store, `\`)
	return parts[len(parts)-2]
}

// certFromBlob finds the certificate in a serialized store element: a
// run of properties, each an id, a reserved word, a length and data.
func certFromBlob(b []byte) (*x509.Certificate, error) {
	for len(b) >= 12 {
		id, n := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[8:])
		if uint64(n) > uint64(len(b)-12) {
			return nil, fmt.Errorf("certificate blob: property %#x of %d bytes runs past the end", id, n)
		}
		if id == certPropCert {
			return x509.ParseCertificate(b[12 : 12+n])
		}
		b = b[12+n:]
	}
	return nil, errors.New("certificate blob holds no certificate")
}

// anchorCertificates reads the PEM or DER files in the trust-anchor
// folders of a Linux root.
func anchorCertificates(ctx context.Context, root fs.FS) ([]Item, error) {
	var items []Item
	var errs []error
	for _, dir := range anchorDirs {
		err := fs.WalkDir(root, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				errs = append(errs, err)
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
				items = append(items, fileCertificates(root, p, &errs)...)
			}
			return nil
		})
		if err != nil {
			return items, err
		}
	}
	return items, errors.Join(errs...)
}

func fileCertificates(root fs.FS, name string, errs *[]error) []Item {
	fi, err := fs.Stat(root, name)
	if err != nil || !fi.Mode().IsRegular() {
		return nil // a dangling link
	}
	if fi.Size() > maxCertFile {
		*errs = append(*errs, fmt.Errorf("%s: %d bytes is too large for a certificate file", name, fi.Size()))
		return nil
	}
	b, err := fs.ReadFile(root, name)
	if err != nil {
		*errs = append(*errs, err)
		return nil
	}
	var ders [][]byte
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" || block.Type == "TRUSTED CERTIFICATE" {
			ders = append(ders, block.Bytes)
		}
	}
	if len(ders) == 0 {
		ders = [][]byte{b} // DER
	}
	var items []Item
	for _, der := range ders {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			if path.Ext(name) == ".crt" || path.Ext(name) == ".pem" || path.Ext(name) == ".cer" {
				*errs = append(*errs, fmt.Errorf("%s: %w", name, err))
			}
			continue
		}
		items = append(items, certificateItem(cert, name, "trust anchor"))
	}
	return items
}

func certificateItem(c *x509.Certificate, where, scope string) Item {
	sum := sha1.Sum(c.Raw)
	name := c.Subject.CommonName
	if name == "" {
		name = c.Subject.String()
	}
	it := Item{Kind: KindCertificate, Name: name, Path: where, State: StatePresent,
		Detail: fmt.Sprintf("trusted certificate (%s), subject %s, expires %s", scope, c.Subject, c.NotAfter.Format("2006-01-02")),
		Attrs: map[string]string{
			"subject": c.Subject.String(), "issuer": c.Issuer.String(),
			"sha1": hex.EncodeToString(sum[:]), "not_after": c.NotAfter.UTC().Format("2006-01-02"),
		}}
	if len(c.Subject.Organization) > 0 {
		it.Publisher = c.Subject.Organization[0]
	}
	return it
}
