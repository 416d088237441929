use std::time::Duration;

use axum::{routing::get, Router};
use sqlx::PgPool;

mod repo;
mod routes;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub http: reqwest::Client,
}

const JWT_SECRET: &str = "h7Gq2Lx9Vt4Rk8Zp3Wm6Yc1Nb5Sd0Fj";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = PgPool::connect(&std::env::var("DATABASE_URL")?).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let state = AppState { db, http };
    let app = Router::new()
        .route("/health", get(routes::health))
        .route("/orders", get(routes::orders::list_orders).post(routes::orders::create_order))
        .route("/orders/:id/receipt", get(routes::orders::receipt))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    axum::serve(listener, app).await?;
    Ok(())
}

pub fn signing_key() -> &'static [u8] {
    JWT_SECRET.as_bytes()
}
