//! The SQL dialect of each file. A project may speak several: vaultwarden
//! ships `migrations/mysql`, `migrations/postgresql` and `migrations/sqlite`,
//! a monorepo may hold a MySQL service beside a PostgreSQL one. For one file,
//! the first of these that says something decides:
//!
//! 1. `dialect` in `archlint.toml`;
//! 2. the nearest folder named for a database (`mysql`, `mariadb`, `sqlite`,
//!    `postgres`, `postgresql`, `pg`, ...);
//! 3. the migration tool's configuration in the nearest folder that has one
//!    (sqlc `engine`, alembic and flyway URLs, refinery `db_type`, Prisma
//!    `provider`, sqlx's `DATABASE_URL` in `.env`, diesel's one backend
//!    feature beside `diesel.toml`);
//! 4. for code, the driver the file itself uses (`SqlitePool`, `pymysql`,
//!    `better-sqlite3`, `go-sql-driver/mysql`, ...);
//! 5. the drivers the nearest package manifest declares, then the whole
//!    tree's manifests; PostgreSQL when nothing says otherwise.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

use crate::discover::Candidate;
use crate::frontend::sql::Dialect;
use crate::model::Lang;

/// The dialect a folder name stands for.
fn named(seg: &str) -> Option<Dialect> {
    match seg.to_ascii_lowercase().as_str() {
        "mysql" | "mariadb" | "mysql8" | "mysql5" => Some(Dialect::Mysql),
        "sqlite" | "sqlite3" => Some(Dialect::Sqlite),
        "postgres" | "postgresql" | "pg" | "pgsql" | "psql" => Some(Dialect::Postgres),
        _ => None,
    }
}

/// The dialect of the nearest folder of `rel` named for a database.
pub fn folder_dialect(rel: &str) -> Option<Dialect> {
    let segs: Vec<&str> = rel.split('/').collect();
    segs[..segs.len().saturating_sub(1)]
        .iter()
        .rev()
        .find_map(|s| named(s))
}

/// The dialect a database URL's scheme names (`postgres://`, `mysql+pymysql://`, `jdbc:sqlite:`).
fn url_dialect(url: &str) -> Option<Dialect> {
    let u = url.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    let u = u.strip_prefix("jdbc:").unwrap_or(&u);
    let scheme = u.split([':', '+']).next()?;
    match scheme {
        "postgres" | "postgresql" | "pgsql" => Some(Dialect::Postgres),
        "mysql" | "mariadb" => Some(Dialect::Mysql),
        "sqlite" | "sqlite3" | "file" => Some(Dialect::Sqlite),
        _ => None,
    }
}

fn engine_word(w: &str) -> Option<Dialect> {
    match w
        .trim()
        .trim_matches(['"', '\''])
        .to_ascii_lowercase()
        .as_str()
    {
        "postgresql" | "postgres" | "pg" => Some(Dialect::Postgres),
        "mysql" | "mariadb" => Some(Dialect::Mysql),
        "sqlite" | "sqlite3" => Some(Dialect::Sqlite),
        _ => None,
    }
}

/// Per-file dialects for one scan.
#[derive(Debug, Default)]
pub struct Dialects {
    forced: Option<Dialect>,
    /// Folder (`""` for the root) -> dialect, from migration tool configuration.
    tools: HashMap<String, Dialect>,
    /// Folder -> dialect, from the package manifest there.
    manifests: HashMap<String, Dialect>,
    /// From every manifest of the tree.
    default: Dialect,
}

fn dir_of(rel: &str) -> &str {
    rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

fn join(dir: &str, rel: &str) -> String {
    let rel = rel.trim().trim_start_matches("./").trim_end_matches('/');
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// Folders of `rel` from the nearest up to the root (`""`).
fn ancestors(rel: &str) -> impl Iterator<Item = &str> {
    let mut cur = Some(dir_of(rel));
    std::iter::from_fn(move || {
        let c = cur?;
        cur = if c.is_empty() { None } else { Some(dir_of(c)) };
        Some(c)
    })
}

impl Dialects {
    /// Read the tree's migration tool configuration and manifests.
    pub fn build(cands: &[Candidate], forced: Option<Dialect>) -> Dialects {
        let mut d = Dialects {
            forced,
            ..Default::default()
        };
        if forced.is_some() {
            return d;
        }
        let mut votes_all = [0usize; 3];
        for c in cands {
            let name = c.rel.rsplit('/').next().unwrap_or(&c.rel);
            let dir = dir_of(&c.rel).to_string();
            let wanted = matches!(
                name,
                "Cargo.toml"
                    | "package.json"
                    | "requirements.txt"
                    | "pyproject.toml"
                    | "go.mod"
                    | "sqlc.yaml"
                    | "sqlc.yml"
                    | "sqlc.json"
                    | "alembic.ini"
                    | "refinery.toml"
                    | "flyway.conf"
                    | "flyway.toml"
                    | "schema.prisma"
                    | ".env"
                    | "diesel.toml"
                    | "sqlx-data.json"
            );
            if !wanted {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&c.abs) else {
                continue;
            };
            match name {
                "Cargo.toml" | "package.json" | "requirements.txt" | "pyproject.toml"
                | "go.mod" => {
                    let v = manifest_votes(&text);
                    for i in 0..3 {
                        votes_all[i] += v[i];
                    }
                    if let Some(x) = decide(v) {
                        d.manifests.insert(dir, x);
                    }
                }
                "sqlc.yaml" | "sqlc.yml" | "sqlc.json" => d.sqlc(&dir, &text),
                "diesel.toml" => {
                    // diesel's backend is a Cargo feature of the crate beside it.
                    let cargo = c.abs.with_file_name("Cargo.toml");
                    if let Ok(t) = std::fs::read_to_string(cargo) {
                        if let Some(x) = diesel_backend(&t) {
                            d.tools.entry(dir).or_insert(x);
                        }
                    }
                }
                _ => {
                    if let Some(x) = tool_dialect(name, &text) {
                        // A tool's own file says more than sqlx's `.env`.
                        if name == ".env" {
                            d.tools.entry(dir).or_insert(x);
                        } else {
                            d.tools.insert(dir, x);
                        }
                    }
                }
            }
        }
        d.default = decide(votes_all).unwrap_or_default();
        d
    }

    /// sqlc: `engine` per package, applied to its `schema`/`queries` paths,
    /// or to the whole folder when every package agrees.
    fn sqlc(&mut self, dir: &str, text: &str) {
        static KV: OnceLock<Regex> = OnceLock::new();
        let kv = KV.get_or_init(|| {
            Regex::new(r#"^\s*(?:-\s*)?"?(engine|schema|queries)"?\s*:\s*(.*?)\s*,?\s*$"#).unwrap()
        });
        static KEY: OnceLock<Regex> = OnceLock::new();
        let key = KEY.get_or_init(|| Regex::new(r#"^"?\w+"?\s*:"#).unwrap());
        let mut engines = Vec::new();
        let mut item_engine: Option<Dialect> = None;
        let mut item_paths: Vec<String> = Vec::new();
        let flush =
            |e: Option<Dialect>, paths: &mut Vec<String>, tools: &mut HashMap<String, Dialect>| {
                if let Some(e) = e {
                    for p in paths.drain(..) {
                        tools.insert(join(dir, &p), e);
                    }
                }
                paths.clear();
            };
        for line in text.lines() {
            let item_start = line
                .trim_start()
                .strip_prefix("- ")
                .is_some_and(|rest| key.is_match(rest));
            if item_start || line.trim_start().starts_with('{') {
                flush(item_engine.take(), &mut item_paths, &mut self.tools);
            }
            let Some(c) = kv.captures(line) else { continue };
            let value = c[2].trim_matches(['[', ']']).to_string();
            match &c[1] {
                "engine" => {
                    item_engine = engine_word(&value);
                    engines.extend(item_engine);
                }
                _ => item_paths.extend(
                    value
                        .split(',')
                        .map(|p| p.trim().trim_matches(['"', '\'']).to_string())
                        .filter(|p| !p.is_empty()),
                ),
            }
        }
        flush(item_engine.take(), &mut item_paths, &mut self.tools);
        engines.dedup();
        if engines.len() == 1 {
            self.tools.insert(dir.to_string(), engines[0]);
        }
    }

    /// The dialect to read `rel` in; `text` is its content (for the driver it uses).
    pub fn for_file(&self, rel: &str, text: &str, lang: Lang) -> Dialect {
        if let Some(f) = self.forced {
            return f;
        }
        if let Some(d) = folder_dialect(rel) {
            return d;
        }
        // A path sqlc names exactly (a schema or queries file).
        if let Some(d) = self.tools.get(rel) {
            return *d;
        }
        if let Some(d) = ancestors(rel).find_map(|a| self.tools.get(a)) {
            return *d;
        }
        if lang != Lang::Sql {
            if let Some(d) = driver_in_code(text, lang) {
                return d;
            }
        }
        ancestors(rel)
            .find_map(|a| self.manifests.get(a))
            .copied()
            .unwrap_or(self.default)
    }
}

/// The one database diesel is built for in a Cargo.toml, if only one.
fn diesel_backend(cargo: &str) -> Option<Dialect> {
    let line = cargo
        .lines()
        .find(|l| l.trim_start().starts_with("diesel") && l.contains("features"))?;
    let l = line.to_ascii_lowercase();
    let found: Vec<Dialect> = [
        ("\"postgres", Dialect::Postgres),
        ("\"mysql", Dialect::Mysql),
        ("\"sqlite", Dialect::Sqlite),
    ]
    .iter()
    .filter(|(k, _)| l.contains(k))
    .map(|(_, d)| *d)
    .collect();
    (found.len() == 1).then(|| found[0])
}

/// The dialect a migration tool's configuration file names.
fn tool_dialect(name: &str, text: &str) -> Option<Dialect> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r#"(?im)^\s*(sqlalchemy\.url|flyway\.url|url|db_type|provider|DATABASE_URL|"db")\s*[=:]\s*(.+)$"#)
            .unwrap()
    });
    for c in re.captures_iter(text) {
        let key = c[1].to_ascii_lowercase();
        let value = c[2].trim().trim_end_matches(',');
        let found = match (name, key.as_str()) {
            ("alembic.ini", "sqlalchemy.url") => url_dialect(value),
            ("flyway.conf" | "flyway.toml", "flyway.url" | "url") => url_dialect(value),
            ("refinery.toml", "db_type") => engine_word(value),
            ("schema.prisma", "provider") => engine_word(value),
            (".env", "database_url") => url_dialect(value),
            ("sqlx-data.json", "\"db\"") => engine_word(value),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Driver markers per dialect: MySQL, SQLite, PostgreSQL.
fn manifest_votes(text: &str) -> [usize; 3] {
    let t = text.to_ascii_lowercase();
    let count = |keys: &[&str]| keys.iter().filter(|k| t.contains(*k)).count();
    [
        count(&[
            "\"mysql\"",
            "mysql_async",
            "mysql2",
            "pymysql",
            "mysqlclient",
            "go-sql-driver/mysql",
            "sqlx-mysql",
        ]),
        count(&[
            "\"sqlite\"",
            "rusqlite",
            "sqlite3",
            "better-sqlite3",
            "mattn/go-sqlite3",
            "sqlx-sqlite",
        ]),
        count(&[
            "\"postgres\"",
            "tokio-postgres",
            "diesel",
            "\"pg\"",
            "psycopg",
            "asyncpg",
            "jackc/pgx",
            "lib/pq",
            "sqlx-postgres",
        ]),
    ]
}

fn decide([mysql, sqlite, pg]: [usize; 3]) -> Option<Dialect> {
    if mysql + sqlite + pg == 0 {
        None
    } else if mysql > pg && mysql >= sqlite {
        Some(Dialect::Mysql)
    } else if sqlite > pg && sqlite > mysql {
        Some(Dialect::Sqlite)
    } else {
        Some(Dialect::Postgres)
    }
}

/// The database driver a code file uses, when it names exactly one kind.
fn driver_in_code(text: &str, lang: Lang) -> Option<Dialect> {
    static RES: OnceLock<Vec<(Lang, Dialect, Regex)>> = OnceLock::new();
    let res = RES.get_or_init(|| {
        let r = |s: &str| Regex::new(s).unwrap();
        vec![
            (Lang::Rust, Dialect::Mysql, r(r"\bMySql(Pool|Connection|Row|Pool\w*)\b|\bmysql_async::|\bdiesel::mysql::|\bMysqlConnection\b")),
            (Lang::Rust, Dialect::Sqlite, r(r"\bSqlite(Pool|Connection|Row)\b|\brusqlite::|\bdiesel::sqlite::")),
            (Lang::Rust, Dialect::Postgres, r(r"\bPg(Pool|Connection|Row)\b|\btokio_postgres::|\bdeadpool_postgres::|\bdiesel::pg::|\bpostgres::Client\b")),
            (Lang::Python, Dialect::Mysql, r(r"(?m)^\s*(import|from)\s+(pymysql|MySQLdb|aiomysql|mysql\.connector|asyncmy)\b")),
            (Lang::Python, Dialect::Sqlite, r(r"(?m)^\s*(import|from)\s+(sqlite3|aiosqlite)\b")),
            (Lang::Python, Dialect::Postgres, r(r"(?m)^\s*(import|from)\s+(psycopg2?|psycopg_pool|asyncpg|pg8000)\b")),
            (Lang::Go, Dialect::Mysql, r(r#""github\.com/go-sql-driver/mysql""#)),
            (Lang::Go, Dialect::Sqlite, r(r#""(github\.com/mattn/go-sqlite3|modernc\.org/sqlite)""#)),
            (Lang::Go, Dialect::Postgres, r(r#""(github\.com/lib/pq|github\.com/jackc/pgx[^"]*)""#)),
            (Lang::JavaScript, Dialect::Mysql, r(r#"(require\(|from\s+)['"](mysql2?(/promise)?)['"]"#)),
            (Lang::JavaScript, Dialect::Sqlite, r(r#"(require\(|from\s+)['"](better-sqlite3|sqlite3?)['"]"#)),
            (Lang::JavaScript, Dialect::Postgres, r(r#"(require\(|from\s+)['"](pg|postgres|pg-promise)['"]"#)),
        ]
    });
    let lang = if lang == Lang::TypeScript {
        Lang::JavaScript
    } else {
        lang
    };
    let mut found = None;
    for (l, d, re) in res {
        if *l == lang && re.is_match(text) {
            if found.is_some_and(|f| f != *d) {
                return None;
            }
            found = Some(*d);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_folder_named_for_a_database() {
        assert_eq!(
            folder_dialect("migrations/mysql/2018_x/up.sql"),
            Some(Dialect::Mysql)
        );
        assert_eq!(
            folder_dialect("db/sqlite/pg/q.sql"),
            Some(Dialect::Postgres)
        );
        assert_eq!(folder_dialect("migrations/mysql.sql"), None);
        assert_eq!(folder_dialect("mysql"), None);
    }

    #[test]
    fn tool_configuration_and_drivers() {
        assert_eq!(
            tool_dialect(
                "alembic.ini",
                "[alembic]\nsqlalchemy.url = mysql+pymysql://u@h/db\n"
            ),
            Some(Dialect::Mysql)
        );
        assert_eq!(
            tool_dialect(
                "schema.prisma",
                "datasource db {\n  provider = \"sqlite\"\n}\n"
            ),
            Some(Dialect::Sqlite)
        );
        assert_eq!(
            diesel_backend("[dependencies]\ndiesel = { version = \"2\", features = [\"sqlite\", \"chrono\"] }\n"),
            Some(Dialect::Sqlite)
        );
        assert_eq!(
            diesel_backend(
                "diesel = { version = \"2\", features = [\"sqlite\", \"mysql\", \"postgres\"] }\n"
            ),
            None
        );
        assert_eq!(
            driver_in_code("use sqlx::SqlitePool;\n", Lang::Rust),
            Some(Dialect::Sqlite)
        );
        assert_eq!(
            driver_in_code("use sqlx::{SqlitePool, PgPool};\n", Lang::Rust),
            None
        );
        assert_eq!(
            driver_in_code("import pymysql\n", Lang::Python),
            Some(Dialect::Mysql)
        );
    }

    #[test]
    fn sqlc_engines_per_package() {
        let mut d = Dialects::default();
        d.sqlc(
            "db",
            "version: \"2\"\nsql:\n  - engine: \"mysql\"\n    schema: \"mysql/schema.sql\"\n    queries: \"q_my\"\n  - engine: \"sqlite\"\n    schema: \"lite.sql\"\n    queries: [\"q_lite\"]\n",
        );
        assert_eq!(
            d.for_file("db/q_my/users.sql", "", Lang::Sql),
            Dialect::Mysql
        );
        assert_eq!(d.for_file("db/lite.sql", "", Lang::Sql), Dialect::Sqlite);
        assert_eq!(
            d.for_file("db/q_lite/a.sql", "", Lang::Sql),
            Dialect::Sqlite
        );
        assert_eq!(d.for_file("db/other.sql", "", Lang::Sql), Dialect::Postgres);
        let mut one = Dialects::default();
        one.sqlc(
            "",
            "version: 1\npackages:\n  - name: db\n    engine: mysql\n    schema: schema.sql\n",
        );
        assert_eq!(one.for_file("sql/x.sql", "", Lang::Sql), Dialect::Mysql);
    }
}
