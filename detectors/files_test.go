package detectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

var filesModTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func filesDir() *fstest.MapFile {
	return &fstest.MapFile{Mode: fs.ModeDir | 0o755, ModTime: filesModTime}
}

func filesFile(content string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(content), Mode: 0o644, ModTime: filesModTime}
}

func filesLink(target string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink | 0o777}
}

// filesRoot is a root with Kaspersky products' folders and files in the
// places the policy names, and look-alikes that must not match.
func filesRoot() fstest.MapFS {
	return fstest.MapFS{
		"opt/kaspersky":                                 filesDir(),
		"opt/kaspersky/kesl":                            filesDir(),
		"opt/kaspersky/kesl/libexec":                    filesDir(),
		"opt/kaspersky/kesl/libexec/kesl":               filesFile("#!/bin/sh\n"),
		"opt/kaspersky/klnagent64":                      filesDir(),
		"opt/kaspersky/klnagent64/sbin/klnagent":        filesFile("#!/bin/sh\n"),
		"opt/kaspersky/install.log":                     filesFile("installed kesl 12.1.0.1297\n"),
		"opt/kaspersky/current":                         filesLink("kesl"),
		"opt/kaspersky/kesl-10":                         filesLink("kesl-10.1.1.6421"), // removed version
		"var/opt/kaspersky":                             filesDir(),
		"var/opt/kaspersky/kesl":                        filesDir(),
		"var/opt/kaspersky/kesl/private/storage.db":     filesFile("db"),
		"etc/opt/kaspersky":                             filesDir(),
		"etc/opt/kaspersky/kesl.ini":                    filesFile("[General]\n"),
		"var/log/kaspersky":                             filesDir(),
		"home/alice/kaspersky/Kaspersky 2021":           filesDir(),
		"home/bob/kaspersky/Kaspersky 11.log":           filesFile("log line\n"),
		"home/bob/kaspersky/Kaspersky Free":             filesDir(), // no digit: not matched
		"home/user/Documents/kaspersky-report.pdf":      filesFile("%PDF-1.7\n"),
		"opt/kasperskyold/kesl":                         filesDir(),
		"var/log/kaspersky.log":                         filesFile("not the folder\n"),
		"etc/opt/kaspersky-old/kesl.ini":                filesFile("[General]\n"),
		"home/alice/kaspersky/Kaspersky 2021/report.db": filesFile("x"),
	}
}

// The policy's path patterns (relative to the root, fs.Glob syntax).
var filesPolicyPatterns = []string{
	"opt/kaspersky/*",
	"var/opt/kaspersky/*",
	"etc/opt/kaspersky",
	"var/log/kaspersky",
	"home/*/kaspersky/Kaspersky [0-9]*",
}

func filesFolderItem(name string) Item {
	return Item{Kind: KindFolder, Name: name, Path: name, State: StatePresent, Detail: "folder, modified 2024-03-01"}
}

func filesFileItem(name string, size int) Item {
	return Item{Kind: KindFile, Name: name, Path: name, State: StatePresent,
		Detail: fmt.Sprintf("file, %d bytes, modified 2024-03-01", size)}
}

func TestDetectFiles(t *testing.T) {
	policyItems := []Item{
		filesFolderItem("opt/kaspersky/current"), // a link to a folder is that folder
		filesFileItem("opt/kaspersky/install.log", 27),
		filesFolderItem("opt/kaspersky/kesl"),
		// opt/kaspersky/kesl-10 is a dangling link: nothing is there.
		filesFolderItem("opt/kaspersky/klnagent64"),
		filesFolderItem("var/opt/kaspersky/kesl"),
		filesFolderItem("etc/opt/kaspersky"),
		filesFolderItem("var/log/kaspersky"),
		filesFolderItem("home/alice/kaspersky/Kaspersky 2021"),
		filesFileItem("home/bob/kaspersky/Kaspersky 11.log", 9),
	}
	tests := []struct {
		name     string
		patterns []string
		want     []Item
	}{
		{"the policy's patterns", filesPolicyPatterns, policyItems},
		{
			"a path two patterns match is reported once",
			append(slices.Clone(filesPolicyPatterns), "opt/kaspersky/kesl", "opt/kaspersky/k*", "var/log/kaspersky"),
			policyItems,
		},
		{
			"a literal path to a file",
			[]string{"opt/kaspersky/kesl/libexec/kesl"},
			[]Item{filesFileItem("opt/kaspersky/kesl/libexec/kesl", 10)},
		},
		{"a literal dangling link", []string{"opt/kaspersky/kesl-10"}, nil},
		{"nothing matches", []string{"opt/drweb/*", "var/opt/eset", "home/*/eset"}, nil},
		{"no patterns", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := detectFiles(context.Background(), &Env{Root: filesRoot(), Paths: tt.patterns})
			if err != nil {
				t.Fatalf("detectFiles: %v", err)
			}
			compareItems(t, items, tt.want)
		})
	}
}

// Patterns are looked up in a real directory (RootFS) the same way,
// including a link to a folder elsewhere in the image.
func TestDetectFilesRootFS(t *testing.T) {
	_, root := diskTree{
		files: map[string]string{
			"opt/kaspersky/kesl/libexec/kesl": "#!/bin/sh\n",
			"srv/kaspersky-logs/kesl.log":     "x",
		},
		dirs: []string{"etc/opt/kaspersky"},
		links: map[string]string{
			"var/log/kaspersky":     "/srv/kaspersky-logs",
			"opt/kaspersky/kesl-10": "/opt/kaspersky/kesl-10.1.1", // dangling
		},
	}.build(t)
	items, err := detectFiles(context.Background(), &Env{Root: root, Paths: filesPolicyPatterns})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, string(it.Kind)+" "+it.Path)
	}
	want := []string{"folder opt/kaspersky/kesl", "folder etc/opt/kaspersky", "folder var/log/kaspersky"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDetectFilesBadPattern(t *testing.T) {
	items, err := detectFiles(context.Background(), &Env{Root: filesRoot(),
		Paths: []string{"opt/[", "var/log/kaspersky", "etc/opt/kaspersky[", "etc/opt/kaspersky"}})
	if err == nil {
		t.Fatal("no error for a bad pattern")
	}
	if !errors.Is(err, path.ErrBadPattern) {
		t.Errorf("error %v is not path.ErrBadPattern", err)
	}
	for _, p := range []string{`path pattern "opt/["`, `path pattern "etc/opt/kaspersky["`} {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %s", err, p)
		}
	}
	// The good patterns still report.
	compareItems(t, items, []Item{filesFolderItem("var/log/kaspersky"), filesFolderItem("etc/opt/kaspersky")})
}

func TestDetectFilesTooManyMatches(t *testing.T) {
	tests := []struct {
		files     int
		wantItems int
		wantErr   string
	}{
		{files: maxGlobMatches, wantItems: maxGlobMatches},
		{files: maxGlobMatches + 1, wantItems: maxGlobMatches,
			wantErr: fmt.Sprintf(`path pattern "opt/kaspersky/kesl/lib/*": %d matches, kept the first %d`, maxGlobMatches+1, maxGlobMatches)},
		{files: 1000, wantItems: maxGlobMatches,
			wantErr: fmt.Sprintf(`path pattern "opt/kaspersky/kesl/lib/*": 1000 matches, kept the first %d`, maxGlobMatches)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.files), func(t *testing.T) {
			root := filesRoot()
			for i := range tt.files {
				root[fmt.Sprintf("opt/kaspersky/kesl/lib/lib%04d.so", i)] = filesFile("\x7fELF")
			}
			items, err := detectFiles(context.Background(), &Env{Root: root,
				Paths: []string{"opt/kaspersky/kesl/lib/*", "var/log/kaspersky"}})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("detectFiles: %v", err)
			}
			if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			// The capped matches, then the other pattern's.
			if len(items) != tt.wantItems+1 {
				t.Fatalf("%d items, want %d", len(items), tt.wantItems+1)
			}
			if got, want := items[tt.wantItems-1].Path, fmt.Sprintf("opt/kaspersky/kesl/lib/lib%04d.so", tt.wantItems-1); got != want {
				t.Errorf("last kept match %q, want %q", got, want)
			}
			if got := items[tt.wantItems].Path; got != "var/log/kaspersky" {
				t.Errorf("item after the capped ones is %q, want var/log/kaspersky", got)
			}
		})
	}
}

func TestDetectFilesCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	items, err := detectFiles(ctx, &Env{Root: filesRoot(), Paths: filesPolicyPatterns})
	if !errors.Is(err, context.Canceled) || len(items) != 0 {
		t.Fatalf("detectFiles = %v, %v; want no items, context.Canceled", items, err)
	}
}

// filesCountingFS records every path a detector opens, lists or stats.
type filesCountingFS struct {
	fsys fs.FS
	mu   sync.Mutex
	ops  map[string]int // "ReadDir usr/share" -> calls
}

func (c *filesCountingFS) count(op, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops[op+" "+name]++
}

func (c *filesCountingFS) Open(name string) (fs.File, error) {
	c.count("Open", name)
	return c.fsys.Open(name)
}

func (c *filesCountingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	c.count("ReadDir", name)
	return fs.ReadDir(c.fsys, name)
}

func (c *filesCountingFS) Stat(name string) (fs.FileInfo, error) {
	c.count("Stat", name)
	return fs.Stat(c.fsys, name)
}

// The look-up reads only the directories along the patterns, however big
// the rest of the image is.
func TestDetectFilesIsBounded(t *testing.T) {
	root := filesRoot()
	for i := range 300 {
		pkg := fmt.Sprintf("usr/share/doc/pkg%03d", i)
		root[pkg+"/copyright"] = filesFile("Copyright: kaspersky? no\n")
		root[pkg+"/changelog.Debian.gz"] = filesFile("gz")
		root[fmt.Sprintf("var/lib/dpkg/info/pkg%03d.list", i)] = filesFile("/usr/share/doc/\n")
		root[fmt.Sprintf("home/user/Documents/archive/%03d/kaspersky-%03d.txt", i, i)] = filesFile("x")
	}
	cfs := &filesCountingFS{fsys: root, ops: map[string]int{}}
	items, err := detectFiles(context.Background(), &Env{Root: cfs, Paths: filesPolicyPatterns})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 9 {
		t.Errorf("%d items, want 9", len(items))
	}

	// Directories a pattern may list: its fixed directory, or for
	// home/*/kaspersky/..., home, each home/*, and each home/*/kaspersky.
	mayList := []string{
		"opt/kaspersky", "var/opt/kaspersky",
		"home", "home/alice", "home/bob", "home/user",
		"home/alice/kaspersky", "home/bob/kaspersky",
	}
	var ops []string
	for op, n := range cfs.ops {
		ops = append(ops, fmt.Sprintf("%s x%d", op, n))
		kind, name, _ := strings.Cut(op, " ")
		if kind == "ReadDir" && !slices.Contains(mayList, name) {
			t.Errorf("listed %s, which no pattern leads into", name)
		}
		for _, unrelated := range []string{"usr", "var/lib", "home/user/Documents", "."} {
			if name == unrelated || strings.HasPrefix(name, unrelated+"/") {
				t.Errorf("%s: touched %s, which no pattern names", op, unrelated)
			}
		}
	}
	sort.Strings(ops)
	if len(cfs.ops) > 40 {
		t.Errorf("%d distinct file system operations for 5 patterns: %q", len(cfs.ops), ops)
	}
	t.Logf("operations: %q", ops)
}
