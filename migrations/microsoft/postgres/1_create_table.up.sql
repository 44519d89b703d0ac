-- The table of Microsoft.Extensions.Caching.Postgres, as its own DDL
-- makes it (SqlQueries.cs), with its primary key named as PostgreSQL names
-- the package's (TABLE_pkey). It is UNLOGGED unless create was
-- given --logged, the package's UseWAL = true. A table that is already
-- there, made by the package or by hand, is kept as it is.
{{.UnloggedNote}}CREATE {{.Unlogged}}TABLE IF NOT EXISTS {{.Table}} (
    id character varying(449) COLLATE "C" NOT NULL,
    value bytea NOT NULL,
    expiresattime timestamp with time zone NOT NULL,
    slidingexpirationinseconds bigint,
    absoluteexpiration timestamp with time zone,
    CONSTRAINT {{.PrimaryKey}} PRIMARY KEY (id)
);
