-- The table Pomelo's EF Core provider migrates for the Data Protection key
-- ring (PersistKeysToDbContext: DataProtectionKeys), column for column.
-- Pomelo names the primary key PK_<table>, which MySQL drops: every primary
-- key there is called PRIMARY. ENGINE=InnoDB, which Pomelo leaves to the
-- server's default, so that a key written is a key kept. A table that is
-- already there, made by an EF migration or by hand, is kept as it is, rows
-- and all. MySQL commits DDL on its own: this is one statement.
CREATE TABLE IF NOT EXISTS {{.Table}} (
    `Id` int NOT NULL AUTO_INCREMENT,
    `FriendlyName` longtext CHARACTER SET utf8mb4 NULL,
    `Xml` longtext CHARACTER SET utf8mb4 NULL,
    PRIMARY KEY (`Id`)
) ENGINE=InnoDB CHARACTER SET=utf8mb4;
