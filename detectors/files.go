package detectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
)

func init() {
	register(Spec{Name: "files", Detector: DetectorFunc(detectFiles)})
}

// maxGlobMatches bounds what one pattern may return, so a pattern that
// turns out broad on some image cannot turn the scan into a disk walk.
const maxGlobMatches = 256

// detectFiles looks up the paths the policy names (Env.Paths). Each
// pattern reads only the directories along it; nothing else is walked.
func detectFiles(ctx context.Context, env *Env) ([]Item, error) {
	var items []Item
	var errs []error
	seen := map[string]bool{}
	for _, pattern := range env.Paths {
		if err := ctx.Err(); err != nil {
			return items, err
		}
		matches, err := fs.Glob(env.Root, pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("path pattern %q: %w", pattern, err))
			continue
		}
		if len(matches) > maxGlobMatches {
			errs = append(errs, fmt.Errorf("path pattern %q: %d matches, kept the first %d", pattern, len(matches), maxGlobMatches))
			matches = matches[:maxGlobMatches]
		}
		for _, m := range matches {
			if seen[m] {
				continue
			}
			seen[m] = true
			if it, ok := fileItem(env.Root, m); ok {
				items = append(items, it)
			}
		}
	}
	return items, errors.Join(errs...)
}

func fileItem(root fs.FS, name string) (Item, bool) {
	fi, err := fs.Stat(root, name)
	if err != nil {
		return Item{}, false // a dangling link: nothing is there
	}
	it := Item{Kind: KindFile, Name: name, Path: name, State: StatePresent,
		Detail: fmt.Sprintf("file, %d bytes, modified %s", fi.Size(), fi.ModTime().UTC().Format("2006-01-02"))}
	if fi.IsDir() {
		it.Kind = KindFolder
		it.Detail = "folder, modified " + fi.ModTime().UTC().Format("2006-01-02")
	}
	return it, true
}
