use axum::{extract::{Path, State}, Json};
use serde::Serialize;

use crate::repo::orders::{self, Item, Order};
use crate::AppState;

#[derive(Serialize)]
pub struct OrderView {
    order: Order,
    items: Vec<Item>,
}

/// N+1: one query for the orders, then one more per order.
pub async fn list_orders(State(state): State<AppState>) -> Json<Vec<OrderView>> {
    let all = orders::all_orders(&state.db).await.unwrap();
    let mut out = Vec::new();
    for order in all {
        let items = orders::items_of(&state.db, order.id).await.unwrap_or_default();
        out.push(OrderView { order, items });
    }
    Json(out)
}

pub async fn create_order(State(state): State<AppState>, Json(order): Json<Order>) -> Json<i64> {
    let id: i64 = sqlx::query_scalar("INSERT INTO orders (customer_id, status) VALUES ($1, $2) RETURNING id")
        .bind(order.customer_id)
        .bind(&order.status)
        .fetch_one(&state.db)
        .await
        .expect("insert order");
    // Tell the payment service; the response is ignored.
    let _ = state
        .http
        .post("https://payments.internal/charge")
        .json(&id)
        .send()
        .await;
    Json(id)
}

pub async fn receipt(State(state): State<AppState>, Path(id): Path<i64>) -> Vec<u8> {
    let order = orders::order_by_id(&state.db, id).await.ok().flatten();
    let template = std::fs::read("templates/receipt.html").unwrap_or_default();
    let _ = order;
    template
}
