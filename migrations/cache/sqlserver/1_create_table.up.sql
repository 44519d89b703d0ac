-- The table `dotnet sql-cache create` makes, column for column: the runtime
-- of Microsoft.Extensions.Caching.SqlServer relies on these types, on the
-- 449 characters and case-sensitive collation of Id, and SQL Server names
-- the primary key itself, as it does for the dotnet tool. A table that is
-- already there, made by the dotnet tool or by hand, is kept as it is.
-- One batch, one transaction: SET XACT_ABORT ON rolls it all back on error.
SET XACT_ABORT ON;
BEGIN TRANSACTION;
IF OBJECT_ID({{.TableLiteral}}, N'U') IS NULL
    CREATE TABLE {{.Table}} (
        [Id] nvarchar(449) COLLATE SQL_Latin1_General_CP1_CS_AS NOT NULL,
        [Value] varbinary(max) NOT NULL,
        [ExpiresAtTime] datetimeoffset NOT NULL,
        [SlidingExpirationInSeconds] bigint NULL,
        [AbsoluteExpiration] datetimeoffset NULL,
        PRIMARY KEY ([Id])
    );
COMMIT TRANSACTION;
