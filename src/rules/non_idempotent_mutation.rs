use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::link::FnRef;
use crate::model::SqlFacts;
use crate::rules::{ProgramCtx, Rule, RuleMeta};
use crate::source::{Pos, Span};

declare_rule! {
    /// ## What it catches
    /// A POST, PUT or PATCH handler that inserts rows (directly or through
    /// the helpers it calls) with nothing that makes a repeated request
    /// harmless: no idempotency key read, no `ON CONFLICT` / `INSERT IGNORE`
    /// / upsert, and no unique constraint on the table's natural key (a
    /// unique key other than its surrogate id).
    ///
    /// ## Why it matters
    /// Clients, proxies and queues retry: after a timeout the first request
    /// may well have succeeded. A retried insert then creates a second order,
    /// a second payment, a second account. Idempotency is what makes retries
    /// safe.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn create_order(State(db): State<PgPool>, Json(o): Json<NewOrder>) -> Result<..> {
    ///     sqlx::query("INSERT INTO orders (customer_id, total) VALUES ($1, $2)")
    ///         .bind(o.customer_id).bind(o.total).execute(&db).await?;
    /// }
    /// ```
    ///
    /// Inserts seen: SQL in any language (sqlx, psycopg, `database/sql`, pg),
    /// and diesel's `insert_into`. ORM `create`/`save` calls are not counted:
    /// their table, and so its keys, is not known.
    ///
    /// ## How to fix
    /// Accept an `Idempotency-Key` header and store it with a unique
    /// constraint; or give the table a unique natural key and use
    /// `ON CONFLICT DO NOTHING` / an upsert. Info: some inserts are meant to
    /// repeat (an event log); suppress those.
    pub static META = ("non-idempotent-mutation", Info, "a POST/PUT/PATCH handler that inserts without an idempotency guard");
}

pub struct NonIdempotentMutation;

/// How far from the handler inserts are looked for (handler -> service -> repository).
const DEPTH: usize = 3;

const GUARD_CALLS: &[&str] = &[
    "on_conflict",
    "on_conflict_do_nothing",
    "do_nothing",
    "do_update",
    "upsert",
    "insert_or_ignore",
    "insert_or_ignore_into",
    "on_duplicate_key_update",
    "replace_into",
    "get_or_create",
    "update_or_create",
];

struct Insert {
    table: String,
    path: String,
    line: u32,
}

impl Rule for NonIdempotentMutation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let u = &ctx.units[fi];
        if u.model.kind.test {
            return;
        }
        for e in &ctx.endpoints[fi] {
            if !matches!(e.method.as_str(), "POST" | "PUT" | "PATCH") {
                continue;
            }
            // `routes::orders::create`, `views.create_order`, `h.CreateOrder`.
            let name = e.handler.rsplit(['.', ':']).next().unwrap_or_default();
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                continue; // an inline handler
            }
            let handlers: Vec<FnRef> = ctx
                .linked
                .functions_named(fi, name)
                .into_iter()
                .filter(|&(hu, _)| !ctx.units[hu].model.kind.test)
                .collect();
            // An ambiguous handler name (several crates' `create`) proves nothing.
            let [handler] = handlers.as_slice() else {
                continue;
            };
            let Some((inserts, guarded)) = inserts_from(ctx, *handler) else {
                continue;
            };
            if guarded {
                continue;
            }
            let unguarded: Vec<&Insert> = inserts
                .iter()
                .filter(|i| {
                    ctx.linked
                        .schema
                        .view(ctx.units[fi].path)
                        .natural_key(&i.table)
                        .is_none()
                })
                .collect();
            let Some(first) = unguarded.first() else {
                continue;
            };
            let mut f = Finding::new(
                META.id,
                Severity::Info,
                u.path,
                Span::point(Pos::new(e.line, 1)),
                format!(
                    "{} {} ({}) inserts into `{}` with no idempotency key, ON CONFLICT or unique natural key: a retried request creates a duplicate",
                    e.method, e.path, name, first.table
                ),
            )
            .help("read an `Idempotency-Key` header and store it under a unique constraint, or add a unique natural key and insert with `ON CONFLICT DO NOTHING`")
            .key(format!("{} {}", e.method, e.path));
            f = f.related(&first.path, first.line, "the insert");
            out.push(f);
        }
    }
}

/// The inserts reachable from `start`, and whether anything on the way
/// guards them (an idempotency key, an upsert, ON CONFLICT).
fn inserts_from(ctx: &ProgramCtx, start: FnRef) -> Option<(Vec<Insert>, bool)> {
    let mut inserts = Vec::new();
    let mut guarded = false;
    for (ui, f) in ctx.reachable(start, DEPTH) {
        let u = &ctx.units[ui];
        let m = u.model;
        let own = |c: Option<usize>| c.is_some_and(|c| m.calls[c].func == Some(f));
        for s in &m.sql {
            let SqlFacts::Write { verb, table } = &s.facts else {
                continue;
            };
            if !own(s.call) || !(verb == "INSERT" || verb == "REPLACE") {
                continue;
            }
            let t = s.text.to_ascii_uppercase();
            if verb == "REPLACE"
                || [
                    "ON CONFLICT",
                    "ON DUPLICATE KEY",
                    "INSERT IGNORE",
                    "OR IGNORE",
                    "OR REPLACE",
                ]
                .iter()
                .any(|g| t.contains(g))
            {
                guarded = true;
            } else if !table.is_empty() {
                inserts.push(Insert {
                    table: table.clone(),
                    path: u.path.to_string(),
                    line: s.span.start.line,
                });
            }
        }
        for c in m.calls.iter().filter(|c| c.func == Some(f) && !c.in_test) {
            if GUARD_CALLS.contains(&c.name.as_str())
                || ctx.k.arch.idempotency.matches(&c.name)
                || c.args.iter().any(|a| mentions_idempotency(&a.text))
                || c.path.iter().any(|s| ctx.k.arch.idempotency.matches(s))
            {
                guarded = true;
            }
            // diesel: insert_into(orders::table)
            if c.name == "insert_into" {
                if let Some(a) = c.args.first() {
                    inserts.push(Insert {
                        table: a.text.split("::").next().unwrap_or_default().to_string(),
                        path: u.path.to_string(),
                        line: c.span.start.line,
                    });
                }
            }
        }
        if m.functions[f]
            .params
            .iter()
            .any(|p| mentions_idempotency(&p.name) || mentions_idempotency(&p.ty))
        {
            guarded = true;
        }
    }
    (!inserts.is_empty() || guarded).then_some((inserts, guarded))
}

fn mentions_idempotency(s: &str) -> bool {
    s.to_ascii_lowercase().contains("idempoten")
}
