use axum::{routing::get, Router};

async fn invoices(pool: sqlx::PgPool) -> String {
    let _ = sqlx::query("SELECT id FROM invoices WHERE id > $1 ORDER BY id LIMIT 50")
        .fetch_all(&pool)
        .await;
    String::new()
}

async fn pay(pool: sqlx::PgPool) {
    let _ = sqlx::query("INSERT INTO payments (invoice_id) VALUES ($1)")
        .execute(&pool)
        .await;
}

#[tokio::main]
async fn main() {
    let app = Router::new()
        .route("/invoices", get(invoices))
        .route("/payments", axum::routing::post(pay));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8081").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
