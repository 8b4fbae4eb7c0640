package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/banwatch/banwatch/policy"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = ""

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		return usageError(stderr, "version", "takes no arguments")
	}
	v, commit := version, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				commit = " commit " + s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	p := policy.Builtin().Policy()
	fmt.Fprintf(stdout, "banwatch %s%s, %s %s/%s, built-in policy %s\n", v, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, p.Version)
	return exitOK
}
