CREATE TABLE {{.Table}} (
    [Id] int NOT NULL IDENTITY,
    [FriendlyName] nvarchar(max) NULL,
    [Xml] nvarchar(max) NULL,
    CONSTRAINT {{.PrimaryKey}} PRIMARY KEY ([Id])
);
