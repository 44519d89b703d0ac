{{.UnloggedNote}}CREATE {{.Unlogged}}TABLE {{.Table}} (
    id character varying(449) COLLATE "C" NOT NULL,
    value bytea NOT NULL,
    expiresattime timestamp with time zone NOT NULL,
    slidingexpirationinseconds bigint,
    absoluteexpiration timestamp with time zone,
    CONSTRAINT {{.PrimaryKey}} PRIMARY KEY (id)
);
CREATE INDEX {{.ExpiryIndex}} ON {{.Table}} (expiresattime);
