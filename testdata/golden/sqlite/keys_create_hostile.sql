CREATE TABLE "main"."Sess""ion]Da`ta'; DROP TABLE y; --" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_Sess""ion]Da`ta'; DROP TABLE y; --" PRIMARY KEY AUTOINCREMENT,
    "FriendlyName" TEXT NULL,
    "Xml" TEXT NULL
);
