// utoipa-axum: `routes!(get_summary)` names the handler; the attribute holds
// its method and path.
#[utoipa::path(
    get,
    path = "/api/v1/summary",
    responses((status = 200, body = Summary<'_>)),
)]
pub async fn get_summary() {}
