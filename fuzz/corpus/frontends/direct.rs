use futures::stream::{self, StreamExt, TryStreamExt};
use sqlx::{PgPool, Postgres, Transaction};

pub async fn direct_for(pool: &PgPool, users: Vec<User>) -> anyhow::Result<()> {
    for user in &users {
        // expect: n-plus-one-query
        let orders: Vec<Order> = sqlx::query_as("SELECT * FROM orders WHERE user_id = $1")
            .bind(user.id)
            .fetch_all(pool)
            .await?;
        println!("{}", orders.len());
    }
    Ok(())
}

pub async fn macro_in_while_let(pool: &PgPool, mut rows: RowStream) -> anyhow::Result<()> {
    while let Some(row) = rows.try_next().await? {
        // expect: n-plus-one-query
        let n = sqlx::query!("SELECT count(*) AS n FROM items WHERE order_id = $1", row.id).fetch_one(pool).await?;
        println!("{:?}", n);
    }
    Ok(())
}

pub async fn write_per_element(tx: &mut Transaction<'_, Postgres>, items: &[Item]) -> anyhow::Result<()> {
    for item in items {
        // expect: n-plus-one-query
        sqlx::query("INSERT INTO items (sku, qty) VALUES ($1, $2)").bind(&item.sku).bind(item.qty).execute(&mut **tx).await?;
    }
    Ok(())
}

pub async fn join_all_map(pool: &PgPool, ids: Vec<i64>) -> anyhow::Result<Vec<User>> {
    let futs = ids.iter().map(|id| async move {
        // expect: n-plus-one-query
        sqlx::query_as::<_, User>("SELECT * FROM users WHERE id = $1").bind(id).fetch_one(pool).await
    });
    Ok(futures::future::try_join_all(futs).await?)
}

pub async fn stream_then(pool: &PgPool, ids: Vec<i64>) -> Vec<sqlx::Result<User>> {
    stream::iter(ids)
        // expect: n-plus-one-query
        .then(|id| async move { sqlx::query_as::<_, User>("SELECT * FROM users WHERE id = $1").bind(id).fetch_one(pool).await })
        .collect()
        .await
}

pub fn diesel_load(conn: &mut PgConnection, posts: &[Post]) -> QueryResult<()> {
    for post in posts {
        // expect: n-plus-one-query
        let cs: Vec<Comment> = comments::table.filter(comments::post_id.eq(post.id)).load(conn)?;
        drop(cs);
    }
    Ok(())
}

pub async fn tokio_postgres(client: &tokio_postgres::Client, ids: &[i32]) -> Result<(), tokio_postgres::Error> {
    for id in ids {
        // expect: n-plus-one-query
        let rows = client.query("SELECT name FROM users WHERE id = $1", &[id]).await?;
        drop(rows);
    }
    Ok(())
}

// ---- look-alikes that must stay silent ----

pub async fn batched(pool: &PgPool, users: Vec<User>) -> anyhow::Result<()> {
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let orders: Vec<Order> = sqlx::query_as("SELECT * FROM orders WHERE user_id = ANY($1) LIMIT 1000").bind(&ids).fetch_all(pool).await?;
    drop(orders);
    Ok(())
}

pub async fn chunked(pool: &PgPool, ids: Vec<i64>) -> anyhow::Result<()> {
    for chunk in ids.chunks(500) {
        sqlx::query("DELETE FROM sessions WHERE user_id = ANY($1)").bind(chunk).execute(pool).await?;
    }
    Ok(())
}

pub async fn literal_list(pool: &PgPool) -> anyhow::Result<()> {
    for table in ["users", "orders"] {
        sqlx::query(&format!("ANALYZE {table}")).execute(pool).await?;
    }
    for attempt in 0..3 {
        if sqlx::query("SELECT 1").execute(pool).await.is_ok() {
            break;
        }
        let _ = attempt;
    }
    Ok(())
}

pub async fn builds_then_runs_once(pool: &PgPool, items: &[Item]) -> anyhow::Result<()> {
    let mut qb = sqlx::QueryBuilder::new("INSERT INTO items (sku, qty) ");
    qb.push_values(items, |mut b, item| {
        b.push_bind(&item.sku).push_bind(item.qty);
    });
    qb.build().execute(pool).await?;
    Ok(())
}

pub async fn fixed_join(pool: &PgPool) -> anyhow::Result<()> {
    let (a, b) = tokio::try_join!(
        sqlx::query("SELECT 1").fetch_one(pool),
        sqlx::query("SELECT 2").fetch_one(pool)
    )?;
    drop((a, b));
    Ok(())
}

pub async fn first_match_returns(pool: &PgPool, candidates: &[String]) -> anyhow::Result<Option<User>> {
    for email in candidates {
        if email.ends_with("@example.com") {
            let user = sqlx::query_as::<_, User>("SELECT * FROM users WHERE email = $1").bind(email).fetch_optional(pool).await?;
            return Ok(user);
        }
    }
    Ok(None)
}

pub async fn poll_loop(pool: &PgPool) -> anyhow::Result<()> {
    loop {
        let jobs: Vec<Job> = sqlx::query_as("SELECT * FROM jobs WHERE state = 'ready' LIMIT 10").fetch_all(pool).await?;
        for job in jobs {
            println!("{}", job.id);
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

pub async fn http_per_element(client: &reqwest::Client, urls: &[String]) -> anyhow::Result<()> {
    for url in urls {
        client.get(url).send().await?;
    }
    Ok(())
}

pub fn plain_iteration(items: &[Item]) -> usize {
    let mut n = 0;
    for item in items {
        n += item.tags.iter().filter(|t| t.starts_with('a')).count();
        if let Some(first) = item.tags.first() {
            n += first.len();
        }
    }
    n
}

#[cfg(test)]
mod tests {
    #[sqlx::test]
    async fn seeds(pool: sqlx::PgPool) {
        for i in 0..100 {
            sqlx::query("INSERT INTO users (name) VALUES ($1)").bind(format!("u{i}")).execute(&pool).await.unwrap();
        }
    }
}
