use axum::{routing::get, Router};

pub fn app() -> Router {
    Router::new()
        .route("/users", get(list_users))
        .route("/healthz", get(|| async { "ok" }))
}
