-- expect: unbounded-query
SELECT * FROM users;

-- expect: unbounded-query
SELECT id, email FROM users WHERE org_id = $1;

SELECT * FROM users WHERE email = $1;
SELECT * FROM users WHERE username = $1;
SELECT * FROM users WHERE id = ANY($1);
SELECT * FROM memberships WHERE org_id = $1 AND user_id = $2;
SELECT count(*) FROM users;
SELECT 1;
SELECT * FROM users WHERE id > $1 ORDER BY id LIMIT 50;
SELECT * FROM users ORDER BY id FETCH FIRST 10 ROWS ONLY;

-- expect: unbounded-query
SELECT * FROM users WHERE legacy_code = $1;

-- expect: unbounded-query
SELECT org_id, count(*) FROM users GROUP BY org_id;

-- expect: unbounded-query
SELECT u.* FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.id = $1;

SELECT u.*, o.name FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = $1;

-- name: UserByEmail :one
SELECT * FROM users WHERE lower(email) = lower($1);

-- expect: unbounded-query
CREATE VIEW all_users AS SELECT * FROM users;

WITH recent AS (SELECT * FROM users WHERE id > $1 ORDER BY id LIMIT 100) SELECT * FROM recent;
SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'test%';
