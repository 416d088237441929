use actix_web::{get, post, web, App, HttpResponse};

#[get("/items")]
async fn list_items() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[post("/items")]
async fn create_item() -> HttpResponse {
    HttpResponse::Created().finish()
}

pub fn shop_app() {
    let _ = App::new().service(
        web::scope("/shop")
            .service(list_items)
            .service(create_item)
            .route("/cart", web::get().to(cart))
            .route("", web::get().to(shop_home))
            .service(web::resource("/checkout").route(web::post().to(checkout))),
    );
}
