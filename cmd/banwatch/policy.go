package main

import (
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"github.com/banwatch/banwatch/policy"
)

// cmdPolicy runs "policy show [FILE]" and "policy check [FILE]".
// check exits 0 for a valid policy, 1 for an invalid one (each problem on
// its own line, with file and line), 2 for a usage error or a file that
// cannot be read.
func cmdPolicy(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || len(args) > 2 {
		return usageError(stderr, "policy", "usage: banwatch policy show|check [FILE]")
	}
	file := ""
	if len(args) == 2 {
		file = args[1]
	}
	switch args[0] {
	case "show":
		return policyShow(file, stdout, stderr)
	case "check":
		return policyCheck(file, stdout, stderr)
	}
	return usageError(stderr, "policy", "unknown subcommand %q: want show or check", args[0])
}

func policyShow(file string, stdout, stderr io.Writer) int {
	c, err := loadPolicy(file)
	if err != nil {
		return usageError(stderr, "policy show", "%s", oneLine(err, file))
	}
	out, err := yaml.Marshal(c.Effective())
	if err != nil {
		return usageError(stderr, "policy show", "%v", err)
	}
	fmt.Fprintf(stdout, "# effective policy from %s, sha256 %s\n# (defaults filled in; comments of the source are not kept)\n%s", c.Source(), c.SHA256(), out)
	return exitOK
}

func policyCheck(file string, stdout, stderr io.Writer) int {
	c, err := loadPolicy(file)
	var pe *policy.Error
	switch {
	case errors.As(err, &pe):
		for _, p := range pe.Problems {
			fmt.Fprintln(stdout, p)
		}
		fmt.Fprintf(stdout, "%s: invalid, %d %s\n", pe.Problems[0].File, len(pe.Problems), plural(len(pe.Problems), "problem", "problems"))
		return exitFindings
	case err != nil:
		return usageError(stderr, "policy check", "%v", err)
	}
	p := c.Policy()
	products := 0
	for _, v := range p.Vendors {
		products += len(v.Products)
	}
	fmt.Fprintf(stdout, "%s: valid: policy %s version %s, %d %s, %d %s\n", c.Source(), p.Name, p.Version,
		len(p.Vendors), plural(len(p.Vendors), "vendor", "vendors"), products, plural(products, "product", "products"))
	return exitOK
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
