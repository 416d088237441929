use axum::{routing::get, Router};

async fn catalog() -> &'static str {
    "[]"
}

async fn product() -> &'static str {
    "{}"
}

/// The shop's routes, served by both binaries.
pub fn routes() -> Router {
    Router::new()
        .route("/catalog", get(catalog))
        .route("/catalog/{id}", get(product))
}
