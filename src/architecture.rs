//! The report's architecture keys: endpoints, schema changes, the decisions
//! the code shows, and one recommendation per rule that fired.

use std::collections::BTreeMap;

use serde::Serialize;

pub use crate::routes::Endpoint;

use crate::engine::Analysis;
use crate::finding::Severity;
use crate::manifest::Dep;
use crate::model::{ArgKind, DdlChange, Lang, SqlFacts};

#[derive(Serialize, Clone, Debug)]
pub struct Decision {
    pub decision: String,
    pub rationale: String,
    pub alternatives_considered: Vec<String>,
}

#[derive(Serialize, Clone, Debug)]
pub struct SchemaChange {
    pub table: String,
    pub change: String,
    pub file: String,
    pub line: u32,
}

pub fn schema_changes(a: &Analysis) -> Vec<SchemaChange> {
    let mut out = Vec::new();
    for r in &a.results {
        let Some(m) = &r.model else { continue };
        if !m.kind.migration || m.kind.rollback {
            continue;
        }
        match m.lang {
            Lang::Rust => sea_orm_changes(&r.rel, m, &mut out),
            Lang::Python => django_changes(&r.rel, m, &mut out),
            _ => {}
        }
        if m.lang != Lang::Sql {
            continue;
        }
        for s in &m.sql {
            let SqlFacts::Ddl(ds) = &s.facts else {
                continue;
            };
            for d in ds {
                // An inline index of a salvaged CREATE TABLE, its columns unread.
                if matches!(&d.change, DdlChange::CreateIndex { columns, .. } if columns.iter().any(|c| c == "*"))
                {
                    continue;
                }
                let change = match &d.change {
                    DdlChange::CreateTable { .. } => "create table".to_string(),
                    DdlChange::DropTable => "drop table".into(),
                    DdlChange::RenameTable { to } => format!("rename table to {to}"),
                    DdlChange::AddColumn(c) => format!("add column {c}"),
                    DdlChange::DropColumn(c) => format!("drop column {c}"),
                    DdlChange::RenameColumn { from, to } => format!("rename column {from} to {to}"),
                    DdlChange::AlterColumn(c) => format!("alter column {c}"),
                    DdlChange::AddUnique(c) => format!("add unique ({})", c.join(", ")),
                    DdlChange::DropConstraint(n) => format!("drop constraint {n}"),
                    DdlChange::AddConstraint(n) if n.is_empty() => "add constraint".into(),
                    DdlChange::AddConstraint(n) => format!("add constraint {n}"),
                    DdlChange::CreateIndex {
                        name,
                        columns,
                        unique,
                    } => format!(
                        "create {}index {}({})",
                        if *unique { "unique " } else { "" },
                        if name.is_empty() {
                            String::new()
                        } else {
                            format!("{name} ")
                        },
                        columns.join(", ")
                    ),
                    DdlChange::DropIndex(n) => format!("drop index {n}"),
                    DdlChange::RenameIndex { from, to } => format!("rename index {from} to {to}"),
                    DdlChange::CreateView(_) => "create view".into(),
                };
                out.push(SchemaChange {
                    table: if d.table.is_empty() {
                        "(index)".into()
                    } else {
                        d.table.clone()
                    },
                    change,
                    file: r.rel.clone(),
                    line: d.pos.line.max(1),
                });
            }
        }
    }
    out
}

/// sea-orm migrations (`manager.create_table(Table::create().table(Post::Table)..)`)
/// and loco's helpers (`create_table(m, "users", ..)`), in `up` only.
fn sea_orm_changes(file: &str, m: &crate::model::FileModel, out: &mut Vec<SchemaChange>) {
    static TABLE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static COLUMN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let table_re = TABLE.get_or_init(|| regex::Regex::new(r"\.table\((\w+)::Table\)").unwrap());
    let col_re = COLUMN.get_or_init(|| {
        regex::Regex::new(r"\.(add_column|add_column_if_not_exists|drop_column|modify_column|rename_column)\((?:ColumnDef::new\()?\w+::(\w+)").unwrap()
    });
    for c in &m.calls {
        if c.in_test
            || c.func
                .is_some_and(|f| matches!(m.functions[f].name.as_str(), "down" | "rollback"))
        {
            continue;
        }
        let (verb, loco) = match c.name.as_str() {
            "create_table" => ("create table", true),
            "drop_table" => ("drop table", true),
            "alter_table" => ("alter table", false),
            "rename_table" => ("rename table", false),
            "create_index" => ("create index", false),
            "drop_index" => ("drop index", false),
            "add_column" | "remove_column" | "add_reference"
                if c.kind == crate::model::CallKind::Path =>
            {
                (c.name.as_str(), true)
            }
            _ => continue,
        };
        let args = c
            .args
            .iter()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>()
            .join(",");
        // loco: create_table(m, "users", ..), add_column(m, "users", "bio", ..)
        let strs: Vec<&str> = c
            .args
            .iter()
            .filter_map(|a| match a.kind {
                ArgKind::Str(li) => Some(m.literals[li].value.as_str()),
                _ => None,
            })
            .collect();
        let table = match (loco, strs.first()) {
            (true, Some(t)) => t.to_string(),
            _ => match table_re.captures(&args) {
                Some(t) => snake_case(&t[1]),
                None => continue,
            },
        };
        let mut changes: Vec<String> = Vec::new();
        match verb {
            "alter table" => {
                for cap in col_re.captures_iter(&args) {
                    let what = match &cap[1] {
                        "add_column" | "add_column_if_not_exists" => "add column",
                        "drop_column" => "drop column",
                        "rename_column" => "rename column",
                        _ => "alter column",
                    };
                    changes.push(format!("{what} {}", snake_case(&cap[2])));
                }
                if changes.is_empty() {
                    changes.push("alter table".into());
                }
            }
            "add_column" | "remove_column" | "add_reference" => {
                let what = match verb {
                    "add_column" => "add column",
                    "remove_column" => "drop column",
                    _ => "add reference",
                };
                changes.push(format!(
                    "{what} {}",
                    strs.get(1).copied().unwrap_or_default()
                ));
            }
            v => changes.push(v.to_string()),
        }
        for change in changes {
            out.push(SchemaChange {
                table: table.clone(),
                change,
                file: file.to_string(),
                line: c.span.start.line,
            });
        }
    }
}

/// Django migrations: `migrations.CreateModel(name="Bread")` and friends, on
/// the default table `<app>_<model>`.
fn django_changes(file: &str, m: &crate::model::FileModel, out: &mut Vec<SchemaChange>) {
    let app = file
        .rsplit_once("/migrations/")
        .map(|(dir, _)| dir.rsplit('/').next().unwrap_or(dir))
        .unwrap_or_default();
    for c in &m.calls {
        if c.root != "migrations" || c.prev.is_some() {
            continue;
        }
        let kw = |k: &str| {
            c.args.iter().find_map(|a| match a.kind {
                ArgKind::Str(li) if a.text.split_once('=').is_some_and(|(n, _)| n.trim() == k) => {
                    Some(m.literals[li].value.as_str())
                }
                _ => None,
            })
        };
        let Some(model) = kw("name")
            .filter(|_| c.name.ends_with("Model"))
            .or(kw("model_name"))
            .or(kw("old_name").filter(|_| c.name == "RenameModel"))
        else {
            continue;
        };
        let change = match c.name.as_str() {
            "CreateModel" => "create table".to_string(),
            "DeleteModel" => "drop table".into(),
            "RenameModel" => format!(
                "rename table to {app}_{}",
                kw("new_name").unwrap_or_default().to_ascii_lowercase()
            ),
            "AddField" => format!("add column {}", kw("name").unwrap_or_default()),
            "RemoveField" => format!("drop column {}", kw("name").unwrap_or_default()),
            "AlterField" => format!("alter column {}", kw("name").unwrap_or_default()),
            "RenameField" => format!(
                "rename column {} to {}",
                kw("old_name").unwrap_or_default(),
                kw("new_name").unwrap_or_default()
            ),
            "AddIndex" => "create index".into(),
            "RemoveIndex" => format!("drop index {}", kw("name").unwrap_or_default()),
            "AddConstraint" => "add constraint".into(),
            "RemoveConstraint" => format!("drop constraint {}", kw("name").unwrap_or_default()),
            "AlterUniqueTogether" => "alter unique together".into(),
            _ => continue,
        };
        out.push(SchemaChange {
            table: format!("{app}_{}", model.to_ascii_lowercase()),
            change,
            file: file.to_string(),
            line: c.span.start.line,
        });
    }
}

/// `CakeFilling` -> `cake_filling` (sea-orm's table and column names).
pub(crate) fn snake_case(s: &str) -> String {
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if ch.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

struct Choice {
    decision: &'static str,
    options: &'static [(&'static str, &'static str)],
}

const CHOICES: &[Choice] = &[
    Choice {
        decision: "Web framework",
        options: &[
            ("axum", "axum"),
            ("actix-web", "actix-web"),
            ("rocket", "Rocket"),
            ("warp", "warp"),
            ("poem", "poem"),
            ("tide", "tide"),
            ("express", "Express"),
            ("@nestjs/core", "NestJS"),
            ("fastify", "Fastify"),
            ("koa", "Koa"),
            ("django", "Django"),
            ("fastapi", "FastAPI"),
            ("flask", "Flask"),
            ("github.com/gin-gonic/gin", "gin"),
            ("github.com/go-chi/chi/v5", "chi"),
            ("github.com/labstack/echo/v4", "echo"),
            ("github.com/gofiber/fiber/v2", "fiber"),
        ],
    },
    Choice {
        decision: "Async runtime",
        options: &[
            ("tokio", "tokio"),
            ("async-std", "async-std"),
            ("smol", "smol"),
            ("actix-rt", "actix-rt"),
        ],
    },
    Choice {
        decision: "Data access layer",
        options: &[
            ("sqlx", "sqlx (raw SQL checked at compile time)"),
            ("diesel", "diesel (ORM/query builder)"),
            ("diesel-async", "diesel-async (ORM/query builder)"),
            ("sea-orm", "sea-orm (ORM)"),
            ("tokio-postgres", "tokio-postgres (raw SQL)"),
            ("postgres", "postgres (raw SQL)"),
            ("rusqlite", "rusqlite (raw SQL)"),
            ("mongodb", "mongodb driver"),
            ("@prisma/client", "Prisma (ORM)"),
            ("typeorm", "TypeORM (ORM)"),
            ("sequelize", "Sequelize (ORM)"),
            ("knex", "knex (query builder)"),
            ("pg", "node-postgres (raw SQL)"),
            ("sqlalchemy", "SQLAlchemy"),
            ("psycopg2", "psycopg2 (raw SQL)"),
            ("psycopg", "psycopg (raw SQL)"),
            ("asyncpg", "asyncpg (raw SQL)"),
            ("gorm.io/gorm", "GORM (ORM)"),
            ("github.com/jmoiron/sqlx", "sqlx (Go)"),
            ("github.com/jackc/pgx/v5", "pgx (raw SQL)"),
        ],
    },
    Choice {
        decision: "Migration tool",
        options: &[
            ("sqlx", "sqlx migrate"),
            ("diesel_migrations", "diesel migrations"),
            ("refinery", "refinery"),
            ("sea-orm-migration", "sea-orm migrations"),
            ("alembic", "Alembic"),
            ("prisma", "Prisma Migrate"),
            ("github.com/golang-migrate/migrate/v4", "golang-migrate"),
        ],
    },
    Choice {
        decision: "Authentication",
        options: &[
            ("jsonwebtoken", "JWT (jsonwebtoken)"),
            ("jwt", "JWT (jwt)"),
            ("jwt-simple", "JWT (jwt-simple)"),
            ("oauth2", "OAuth 2"),
            ("tower-sessions", "server-side sessions"),
            ("actix-session", "server-side sessions"),
            ("axum-login", "session login (axum-login)"),
            ("argon2", "password hashing with Argon2"),
            ("bcrypt", "password hashing with bcrypt"),
            ("jsonwebtoken", "JWT"),
            ("passport", "Passport"),
            ("pyjwt", "JWT (PyJWT)"),
            ("github.com/golang-jwt/jwt/v5", "JWT"),
        ],
    },
    Choice {
        decision: "Observability",
        options: &[
            ("tracing", "tracing"),
            ("opentelemetry", "OpenTelemetry"),
            ("metrics", "metrics"),
            ("prometheus", "Prometheus"),
            ("sentry", "Sentry"),
            ("log", "log"),
            ("tracing-opentelemetry", "OpenTelemetry via tracing"),
            ("pino", "pino"),
            ("winston", "winston"),
            ("prom-client", "Prometheus"),
        ],
    },
    Choice {
        decision: "Configuration source",
        options: &[
            ("config", "config files + environment (config)"),
            ("figment", "figment"),
            ("envy", "environment variables (envy)"),
            ("dotenvy", "environment variables with .env (dotenvy)"),
            ("dotenv", "environment variables with .env"),
            ("pydantic-settings", "pydantic-settings"),
            ("github.com/spf13/viper", "viper"),
        ],
    },
];

pub fn decisions(a: &Analysis) -> Vec<Decision> {
    let deps: Vec<&Dep> = a.results.iter().flat_map(|r| r.deps.iter()).collect();
    let mut out = Vec::new();
    for c in CHOICES {
        let mut chosen: Vec<(&str, &Dep)> = Vec::new();
        for (dep, label) in c.options {
            if let Some(d) = deps.iter().find(|d| d.name == *dep) {
                // One manifest line is one choice (npm and crates.io both have `jsonwebtoken`).
                if !chosen
                    .iter()
                    .any(|(l, c)| l == label || std::ptr::eq(*c, *d))
                {
                    chosen.push((label, d));
                }
            }
        }
        if chosen.is_empty() {
            continue;
        }
        let labels: Vec<&str> = chosen.iter().map(|(l, _)| *l).collect();
        let rationale = chosen
            .iter()
            .map(|(_, d)| format!("{}:{}: `{}`", d.file, d.line, d.line_text))
            .collect::<Vec<_>>()
            .join("; ");
        let mut alts: Vec<String> = c
            .options
            .iter()
            // Not the choice again under another crate ("JWT (jwt)" when "JWT (jsonwebtoken)").
            .filter(|(dep, l)| {
                let kind = |s: &str| s.split(" (").next().unwrap_or(s).to_string();
                !labels.iter().any(|c| kind(c) == kind(l))
                    && !chosen.iter().any(|(_, d)| d.name == *dep)
            })
            .map(|(_, l)| l.to_string())
            .collect();
        alts.dedup();
        alts.truncate(6);
        out.push(Decision {
            decision: format!("{}: {}", c.decision, labels.join(", ")),
            rationale: format!("declared in {rationale}"),
            alternatives_considered: alts,
        });
    }
    // Database engine, from the SQL dialect in use.
    let sqlx = deps.iter().find(|d| d.name == "sqlx");
    if let Some(d) = sqlx {
        let eng = if d.line_text.contains("postgres") {
            Some("PostgreSQL")
        } else if d.line_text.contains("mysql") {
            Some("MySQL")
        } else if d.line_text.contains("sqlite") {
            Some("SQLite")
        } else {
            None
        };
        if let Some(e) = eng {
            out.push(Decision {
                decision: format!("Database engine: {e}"),
                rationale: format!("sqlx feature in {}:{}: `{}`", d.file, d.line, d.line_text),
                alternatives_considered: ["PostgreSQL", "MySQL", "SQLite"]
                    .iter()
                    .filter(|x| **x != e)
                    .map(|s| s.to_string())
                    .collect(),
            });
        }
    }
    out
}

pub fn recommendations(a: &Analysis) -> Vec<String> {
    let mut by_rule: BTreeMap<&str, (Severity, usize)> = BTreeMap::new();
    for f in &a.findings {
        let e = by_rule.entry(f.rule.as_str()).or_insert((f.severity, 0));
        e.0 = e.0.max(f.severity);
        e.1 += 1;
    }
    let mut v: Vec<(&str, Severity, usize)> =
        by_rule.into_iter().map(|(r, (s, n))| (r, s, n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)));
    v.into_iter()
        .map(|(rule, sev, n)| {
            let what = match rule {
                "n-plus-one-query" => "batch the queries run inside loops into one query per collection (`= ANY($1)`, `eq_any`, loaders)",
                "unbounded-query" => "bound every list query with keyset pagination (`WHERE id > $1 ORDER BY id LIMIT $2`) or a unique key",
                "hardcoded-secret" => "move the hardcoded credentials to the environment or a secret manager and rotate them",
                "unhandled-external-call" => "handle failures of external calls (propagate with `?`, log, retry) and give every HTTP client a timeout",
                "blocking-call-in-async" => "move blocking calls off the async executor (`tokio::fs`, `spawn_blocking`) and drop lock guards before `.await`",
                "stateful-service" => "move process-local mutable state (sessions, caches, counters) to a shared store such as Redis or the database, so instances can scale out",
                "missing-health-check" => "add a liveness route and a readiness route that checks the database and other hard dependencies",
                "missing-observability" => "wire in structured logging, per-request tracing (`TraceLayer`, `TracingLogger`, `morgan`) and metrics",
                "shared-database" => "give each table one owning service and let the others go through its API or events",
                "non-idempotent-mutation" => "make retried POSTs safe with an `Idempotency-Key`, a unique natural key or `ON CONFLICT`",
                "missing-rate-limit" => "rate-limit mutation endpoints per client (or document the gateway that does)",
                "missing-input-validation" => "validate request bodies before they reach the database (`validator`, `garde`, domain types)",
                "unindexed-query" => "add the indexes request-path queries need (`CREATE INDEX CONCURRENTLY ON t (cols)`), led by the columns they filter, join or sort on",
                "unused-suppression" => "remove suppression comments that no longer silence anything",
                _ => "fix the findings of this rule",
            };
            format!("[{}] {rule}: {what} ({n} finding{}).", sev.as_str(), if n == 1 { "" } else { "s" })
        })
        .collect()
}
