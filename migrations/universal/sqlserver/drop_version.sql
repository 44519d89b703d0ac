-- A version table left without its table: drop removes it.
IF OBJECT_ID({{.VersionTableLiteral}}, N'U') IS NOT NULL
    DROP TABLE {{.VersionTable}};
