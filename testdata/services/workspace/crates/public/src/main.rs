use tower_http::trace::TraceLayer;

#[tokio::main]
async fn main() {
    let app = shop_routes::routes().layer(TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind("0.0.0.0:80").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
