-- Nothing to do: the table already has what this migration makes. (MySQL
-- rejects a statement that is only a comment.)
DO 0;
