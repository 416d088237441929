use axum::routing::get;
use axum::Router;

// Same name as users::routes: the module path says which one is nested where.
pub fn routes() -> Router<AppState> {
    let mut r = Router::new().route("/stats", get(admin_stats));
    r = r.route("/", get(admin_home));
    r
}
