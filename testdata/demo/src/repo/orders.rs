use sqlx::PgPool;

#[derive(sqlx::FromRow, serde::Serialize)]
pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    pub status: String,
}

#[derive(sqlx::FromRow, serde::Serialize)]
pub struct Item {
    pub sku: String,
    pub quantity: i32,
}

/// Every order, for the admin listing.
pub async fn all_orders(pool: &PgPool) -> sqlx::Result<Vec<Order>> {
    sqlx::query_as::<_, Order>("SELECT id, customer_id, status FROM orders")
        .fetch_all(pool)
        .await
}

pub async fn order_by_id(pool: &PgPool, id: i64) -> sqlx::Result<Option<Order>> {
    sqlx::query_as::<_, Order>("SELECT id, customer_id, status FROM orders WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn items_of(pool: &PgPool, order_id: i64) -> sqlx::Result<Vec<Item>> {
    sqlx::query_as::<_, Item>("SELECT sku, quantity FROM order_items WHERE order_id = $1")
        .bind(order_id)
        .fetch_all(pool)
        .await
}

/// The batched form: one query for all orders.
pub async fn items_of_many(pool: &PgPool, order_ids: &[i64]) -> sqlx::Result<Vec<(i64, Item)>> {
    let rows: Vec<(i64, String, i32)> = sqlx::query_as(
        "SELECT order_id, sku, quantity FROM order_items WHERE order_id = ANY($1) LIMIT 10000",
    )
    .bind(order_ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(o, sku, quantity)| (o, Item { sku, quantity })).collect())
}
