use actix_web::{get, web, App};

#[get("/status")]
async fn status() -> &'static str {
    "ok"
}

fn app() -> axum::Router {
    axum::Router::new().route("/orders", axum::routing::get(list_orders).post(create_order))
}

fn actix() {
    let _ = App::new().route("/ping", web::get().to(ping));
}
