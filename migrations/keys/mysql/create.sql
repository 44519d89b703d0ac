CREATE TABLE {{.Table}} (
    `Id` int NOT NULL AUTO_INCREMENT,
    `FriendlyName` longtext CHARACTER SET utf8mb4 NULL,
    `Xml` longtext CHARACTER SET utf8mb4 NULL,
    PRIMARY KEY (`Id`)
) ENGINE=InnoDB CHARACTER SET=utf8mb4;
