package scan

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// BenchmarkOfflineScan5000 scans an offline Debian root whose dpkg
// database holds 5,000 packages (real stanzas, renamed to be distinct),
// KESL among them, with the built-in policy: the whole path from opening
// the root to findings.
func BenchmarkOfflineScan5000(b *testing.B) {
	root := benchRoot(b, 5000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Run(ctx, Options{Root: root, AsOf: asOf})
		if err != nil {
			b.Fatal(err)
		}
		dpkg := r.Scan.Detectors[slices.IndexFunc(r.Scan.Detectors, func(d DetectorRun) bool { return d.Name == "dpkg" })]
		if len(r.Findings) != 4 || dpkg.Items < 5000 {
			b.Fatalf("unexpected report: %d findings, %+v", len(r.Findings), dpkg)
		}
	}
}

var packageLine = regexp.MustCompile(`(?m)^Package: (.+)$`)

// benchRoot copies the debian12-kesl fixture and grows its status file to
// n packages by repeating its stanzas under new names; the Kaspersky
// stanzas keep their names once.
func benchRoot(tb testing.TB, n int) string {
	tb.Helper()
	root := copyTree(tb, filepath.Join("testdata", "roots", "debian12-kesl"))
	status := filepath.Join(root, "var", "lib", "dpkg", "status")
	orig, err := os.ReadFile(status)
	if err != nil {
		tb.Fatal(err)
	}
	stanzas := bytes.Split(bytes.TrimSpace(orig), []byte("\n\n"))
	var buf bytes.Buffer
	buf.Write(orig)
	for count, copyN := len(stanzas), 0; count < n; copyN++ {
		for _, s := range stanzas {
			if count >= n {
				break
			}
			if bytes.Contains(s, []byte("Kaspersky")) {
				continue
			}
			buf.Write(packageLine.ReplaceAll(s, []byte(fmt.Sprintf("Package: ${1}-copy%d", copyN))))
			buf.WriteString("\n\n")
			count++
		}
	}
	if err := os.WriteFile(status, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return root
}
