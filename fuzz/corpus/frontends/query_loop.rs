async fn f(pool: &PgPool, ids: &[i64]) -> sqlx::Result<()> {
    for id in ids {
        sqlx::query!("SELECT name FROM t WHERE id = $1", id).fetch_one(pool).await?;
    }
    let _ = reqwest::Client::new().get("http://x").send().await.unwrap();
    Ok(())
}
