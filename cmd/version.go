package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/sessctl/sessctl/dialects/registry"
	"github.com/spf13/cobra"
)

// version is set at build time: -ldflags "-X github.com/sessctl/sessctl/cmd.version=v1.2.3".
var version = ""

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print sessctl's version",
		Example: "  sessctl version\n  sessctl version -o json",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			info := map[string]any{
				"version":  buildVersion(),
				"go":       runtime.Version(),
				"platform": runtime.GOOS + "/" + runtime.GOARCH,
				"dialects": registry.List(),
			}
			a.printResult(info, func() {
				fmt.Fprintf(a.stdout, "sessctl %s (%s, %s/%s; dialects: %s)\n", buildVersion(), runtime.Version(),
					runtime.GOOS, runtime.GOARCH, strings.Join(registry.List(), ", "))
			})
			return nil
		},
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
