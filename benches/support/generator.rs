//! A deterministic generator of realistic backend trees for benchmarks: Rust
//! services (handlers, repositories, migrations), SQL query files, Python and
//! TypeScript services and configuration, seeded so every run measures the
//! same bytes without any network.

use std::fmt::Write as _;
use std::path::Path;

/// A small LCG: deterministic, dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() as usize) % xs.len()]
    }
}

const ENTITIES: &[&str] = &[
    "user", "order", "invoice", "product", "customer", "payment", "shipment", "review", "cart",
    "coupon",
];

fn rust_repo(r: &mut Rng, e: &str) -> String {
    let mut s = format!("use sqlx::PgPool;\n\n#[derive(sqlx::FromRow)]\npub struct {0} {{ pub id: i64, pub owner_id: i64, pub name: String }}\n\n", cap(e));
    for i in 0..8 {
        let limit = if r.next().is_multiple_of(3) {
            ""
        } else {
            " LIMIT 100"
        };
        let _ = write!(
            s,
            "pub async fn list_{e}_{i}(pool: &PgPool, owner: i64) -> sqlx::Result<Vec<{c}>> {{\n    sqlx::query_as::<_, {c}>(\"SELECT id, owner_id, name FROM {e}s WHERE owner_id = $1{limit}\")\n        .bind(owner)\n        .fetch_all(pool)\n        .await\n}}\n\npub async fn get_{e}_{i}(pool: &PgPool, id: i64) -> sqlx::Result<Option<{c}>> {{\n    sqlx::query_as::<_, {c}>(\"SELECT id, owner_id, name FROM {e}s WHERE id = $1\")\n        .bind(id)\n        .fetch_optional(pool)\n        .await\n}}\n\n",
            c = cap(e)
        );
    }
    s
}

fn rust_handlers(r: &mut Rng, e: &str) -> String {
    let mut s = format!("use axum::{{extract::State, Json}};\nuse crate::repo::{e}::*;\n\n");
    for i in 0..8 {
        let body = match r.next() % 4 {
            0 => format!("    let all = list_{e}_{i}(&state.db, 1).await?;\n    for x in &all {{\n        let _ = get_{e}_{i}(&state.db, x.id).await?;\n    }}\n    Ok(Json(all.len()))\n"),
            1 => "    let text = std::fs::read_to_string(\"config.toml\").unwrap_or_default();\n    Ok(Json(text.len()))\n".to_string(),
            2 => format!("    let resp = state.http.get(\"https://api.example.net/{e}\").send().await.unwrap();\n    Ok(Json(resp.status().as_u16() as usize))\n"),
            _ => format!("    let one = get_{e}_{i}(&state.db, 7).await?;\n    Ok(Json(one.map(|o| o.id as usize).unwrap_or(0)))\n"),
        };
        let _ = write!(s, "pub async fn handler_{e}_{i}(State(state): State<crate::AppState>) -> Result<Json<usize>, crate::Error> {{\n{body}}}\n\n");
    }
    s
}

fn migration(e: &str) -> String {
    format!("CREATE TABLE {e}s (\n    id BIGSERIAL PRIMARY KEY,\n    owner_id BIGINT NOT NULL,\n    name TEXT NOT NULL UNIQUE,\n    created_at TIMESTAMPTZ NOT NULL DEFAULT now()\n);\nCREATE INDEX {e}s_owner_idx ON {e}s (owner_id);\n")
}

fn sql_queries(r: &mut Rng, e: &str) -> String {
    let mut s = String::new();
    for i in 0..10 {
        let q = match r.next() % 3 {
            0 => format!("SELECT * FROM {e}s WHERE owner_id = $1 ORDER BY id LIMIT 50"),
            1 => format!("SELECT id, name FROM {e}s WHERE name = $1"),
            _ => format!("SELECT count(*) FROM {e}s WHERE created_at > now() - interval '1 day'"),
        };
        let _ = write!(s, "-- name: Q{e}{i} :many\n{q};\n\n");
    }
    s
}

fn python_service(r: &mut Rng, e: &str) -> String {
    let mut s = format!("import requests\nfrom .models import {c}\n\n", c = cap(e));
    for i in 0..8 {
        let body = if r.next().is_multiple_of(2) {
            format!("    items = {c}.objects.filter(owner_id=owner)[:100]\n    return [i.name for i in items]\n", c = cap(e))
        } else {
            format!("    out = []\n    for oid in ids:\n        out.append({c}.objects.get(id=oid))\n    return out\n", c = cap(e))
        };
        let _ = write!(s, "def view_{e}_{i}(owner, ids):\n{body}\n\nasync def fetch_{e}_{i}(url):\n    return requests.get(url, timeout=5).json()\n\n");
    }
    s
}

fn ts_service(r: &mut Rng, e: &str) -> String {
    let mut s = String::from(
        "import { PrismaClient } from \"@prisma/client\";\nconst prisma = new PrismaClient();\n\n",
    );
    for i in 0..8 {
        let take = if r.next().is_multiple_of(2) {
            ", take: 50"
        } else {
            ""
        };
        let _ = write!(s, "export async function list{c}{i}(ownerId: number) {{\n  const rows = await prisma.{e}.findMany({{ where: {{ ownerId }}{take} }});\n  for (const row of rows) {{\n    await prisma.audit.create({{ data: {{ rowId: row.id }} }});\n  }}\n  return rows;\n}}\n\n", c = cap(e));
    }
    s
}

fn config(r: &mut Rng) -> String {
    let secret: String = (0..24)
        .map(|_| (b'a' + (r.next() % 26) as u8) as char)
        .collect();
    format!("[server]\nport = 8080\n\n[database]\nurl = \"postgres://app@db/app\"\npool_size = 10\n\n[auth]\nissuer = \"https://auth.example.net\"\nsession_secret = \"{secret}\"\n")
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Write `services` services into `root`; returns (files, bytes).
pub fn generate(root: &Path, services: usize, seed: u64) -> (usize, u64) {
    let mut r = Rng::new(seed);
    let (mut files, mut bytes) = (0usize, 0u64);
    let mut put = |p: std::path::PathBuf, text: String| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        bytes += text.len() as u64;
        files += 1;
        std::fs::write(p, text).unwrap();
    };
    for s in 0..services {
        let svc = root.join(format!("services/svc{s:03}"));
        let e = r.pick(ENTITIES);
        put(svc.join("Cargo.toml"), format!("[package]\nname = \"svc{s}\"\nversion = \"0.1.0\"\n\n[dependencies]\naxum = \"0.7\"\nsqlx = {{ version = \"0.8\", features = [\"postgres\"] }}\ntokio = \"1\"\n"));
        put(svc.join("src/main.rs"), "mod handlers;\nmod repo;\n\n#[derive(Clone)]\npub struct AppState { pub db: sqlx::PgPool, pub http: reqwest::Client }\npub struct Error;\n\n#[tokio::main]\nasync fn main() {}\n".into());
        put(svc.join("src/repo/mod.rs"), format!("pub mod {e};\n"));
        put(svc.join(format!("src/repo/{e}.rs")), rust_repo(&mut r, e));
        put(svc.join("src/handlers.rs"), rust_handlers(&mut r, e));
        put(
            svc.join(format!("migrations/2024010100000{}_init.sql", s % 10)),
            migration(e),
        );
        put(svc.join("queries/queries.sql"), sql_queries(&mut r, e));
        put(svc.join("py/views.py"), python_service(&mut r, e));
        put(svc.join("ts/service.ts"), ts_service(&mut r, e));
        put(svc.join("config/app.toml"), config(&mut r));
        put(
            svc.join(".env"),
            format!("RUST_LOG=info\nPORT={}\n", 8000 + s),
        );
    }
    (files, bytes)
}
