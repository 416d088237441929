use axum::routing::get;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/:id", get(get_user))
}

// Documented and routed: listed once, where the router serves it.
#[utoipa::path(get, path = "/users", responses((status = 200, body = Vec<User<'_>>)))]
async fn list_users() {}
