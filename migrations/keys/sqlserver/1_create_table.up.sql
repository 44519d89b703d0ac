-- The table EF Core's SQL Server provider migrates for the Data Protection
-- key ring (PersistKeysToDbContext: DataProtectionKeys), column for column,
-- its primary key named PK_<table> as EF names it. A table that is already
-- there, made by an EF migration or by hand, is kept as it is, rows and all.
-- One batch, one transaction: SET XACT_ABORT ON rolls it all back on error.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF OBJECT_ID({{.TableLiteral}}, N'U') IS NULL
    CREATE TABLE {{.Table}} (
        [Id] int NOT NULL IDENTITY,
        [FriendlyName] nvarchar(max) NULL,
        [Xml] nvarchar(max) NULL,
        CONSTRAINT {{.PrimaryKey}} PRIMARY KEY ([Id])
    );
COMMIT TRANSACTION;
