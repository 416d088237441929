use axum::{routing::get, Router};
use tower_http::trace::TraceLayer;

async fn healthz() -> &'static str {
    "ok"
}

async fn list_orders(pool: sqlx::PgPool) -> String {
    let rows = sqlx::query("SELECT id FROM orders WHERE id > $1 ORDER BY id LIMIT 50")
        .fetch_all(&pool)
        .await
        .unwrap();
    tracing::info!(n = rows.len(), "listed orders");
    String::new()
}

async fn create_order(pool: sqlx::PgPool) {
    sqlx::query("INSERT INTO orders (customer_id) VALUES ($1)")
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt::init();
    let app = Router::new()
        .route("/orders", get(list_orders).post(create_order))
        .route("/healthz", get(healthz))
        .layer(TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
