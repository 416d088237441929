-- name: ListCustomers :many
SELECT id, email, name FROM customers;

-- name: CustomerByEmail :one
SELECT id, email, name FROM customers WHERE email = $1;

-- name: RecentOrders :many
SELECT id, status FROM orders WHERE created_at > $1 ORDER BY created_at DESC LIMIT $2;
