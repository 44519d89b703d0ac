package registry

import (
	"github.com/sessctl/sessctl/dialects"
	"github.com/sessctl/sessctl/dialects/mysql"
	"github.com/sessctl/sessctl/dialects/postgres"
	"github.com/sessctl/sessctl/dialects/sqlite"
)

// Roles every engine plays, checked where every engine is imported (each
// engine's package checks its own optional roles).
var (
	_ dialects.CreateLocker = postgres.Dialect{}
	_ dialects.CreateLocker = mysql.Dialect{}
	_ dialects.CreateLocker = sqlite.Dialect{}

	_ dialects.IDDeleter = postgres.Dialect{}
	_ dialects.IDDeleter = mysql.Dialect{}
	_ dialects.IDDeleter = sqlite.Dialect{}
)
