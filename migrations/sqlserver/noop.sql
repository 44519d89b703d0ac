-- Nothing to do: the table already has what this migration makes.
SELECT 1;
