// Routers composed across functions and files: every path below is served
// under the prefixes of the routers that hold it.
mod admin;
mod shop;
mod summary;
mod users;

use axum::routing::get;
use axum::Router;

fn api() -> Router<AppState> {
    let reports = Router::new().route("/daily", get(daily_report));
    Router::new()
        .merge(users::routes())
        .nest("/admin", admin::routes())
        .nest("/reports", reports)
        .nest(
            "/orders",
            Router::new()
                .route("/", get(list_orders))
                .route("/:id", get(show_order)),
        )
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .nest("/api/v1", api())
        .with_state(state)
}
