CREATE TABLE {{.Table}} (
    SessionId           nvarchar(88)    NOT NULL PRIMARY KEY,
    Created             datetime        NOT NULL DEFAULT GETUTCDATE(),
    Expires             datetime        NOT NULL,
    LockDate            datetime        NOT NULL,
    LockDateLocal       datetime        NOT NULL,
    LockCookie          int             NOT NULL,
    Timeout             int             NOT NULL,
    Locked              bit             NOT NULL,
    SessionItemLong     varbinary(max)  NULL,
    Flags               int             NOT NULL DEFAULT 0
)
CREATE NONCLUSTERED INDEX {{.ExpiryIndex}} ON {{.Table}} (Expires)
