-- The table EF Core's SQLite provider migrates for the Data Protection key
-- ring (PersistKeysToDbContext: DataProtectionKeys), column for column, an
-- AUTOINCREMENT "Id" whose primary key is named PK_<table> as EF names it
-- (in SQLite a constraint's name is no object of its own). Not STRICT, as
-- EF makes it. A table that is already there, made by an EF migration or
-- by hand, is kept as it is, rows and all.
CREATE TABLE IF NOT EXISTS {{.Table}} (
    "Id" INTEGER NOT NULL CONSTRAINT {{.PrimaryKey}} PRIMARY KEY AUTOINCREMENT,
    "FriendlyName" TEXT NULL,
    "Xml" TEXT NULL
);
