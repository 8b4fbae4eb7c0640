package detectors

import "io/fs"

// macHostname names a macOS image and gives its machine id.
func macHostname(root fs.FS) (hostname, id string) { return "", "" }
