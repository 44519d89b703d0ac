// Command sessctl creates, verifies, purges and drops the SQL table that
// ASP.NET Core's distributed cache and session state keep their entries in.
package main

import (
	"os"

	"github.com/sessctl/sessctl/cmd"
)

func main() { os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
