CREATE TABLE {{.Table}} (
    `Id` varchar(449) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    `AbsoluteExpiration` datetime(6) NULL,
    `ExpiresAtTime` datetime(6) NOT NULL,
    `SlidingExpirationInSeconds` bigint NULL,
    `Value` longblob NOT NULL,
    PRIMARY KEY (`Id`),
    KEY {{.ExpiryIndex}} (`ExpiresAtTime`)
) ENGINE=InnoDB;
