-- SQLite only (seq as rowid); PostgreSQL already walks its primary key index.
SELECT 1;
