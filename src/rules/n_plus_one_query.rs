use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::link::{FnRef, Step};
use crate::model::{ArgKind, CallId, FileModel, LoopId, SqlFacts};
use crate::rules::util::{self, call_label, fn_label, fn_label_of};
use crate::rules::{ProgramCtx, Rule, RuleMeta};
use crate::semantics::{self, QueryHow};

declare_rule! {
    /// ## What it catches
    /// A database query run once per element of a collection: a query call
    /// inside a `for`/`while let` loop over data, inside the closure of an
    /// iterator or stream adaptor (`map`, `for_each`, `then`, futures
    /// collected into `join_all`/`buffer_unordered`), or one or more helper
    /// calls down (`for o in orders { load_items(&pool, o.id).await? }` where
    /// `load_items` runs the query). Writes count too: one INSERT per element.
    ///
    /// ## Why it matters
    /// N round trips instead of one: latency grows with the data, the pool
    /// drains under load, and the database does N times the work. It is the
    /// most common cause of slow endpoints that were fast in development.
    ///
    /// ## Example
    /// ```rust,ignore
    /// for order in &orders {
    ///     let items = sqlx::query_as::<_, Item>("SELECT * FROM items WHERE order_id = $1")
    ///         .bind(order.id)
    ///         .fetch_all(&pool)
    ///         .await?;
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Load everything in one query before the loop and group in memory:
    /// `WHERE order_id = ANY($1)` with sqlx, `eq_any` / `belonging_to` +
    /// `grouped_by` with diesel, a loader with sea-orm. For writes, insert all
    /// rows in one statement (multi-row `VALUES`, `UNNEST($1::bigint[])`, `COPY`).
    ///
    /// Not reported: loops over literal lists or small constant ranges, retry
    /// and poll loops, chunked loops (`chunks(n)`) that run one batched query
    /// per chunk, paged loops whose SQL has a LIMIT, a query on a branch that
    /// returns or breaks right away, helpers served from a cache (a memo map
    /// consulted before the query: `if (!seen.has(id)) seen.set(id, await
    /// load(id))`) or given preloaded data, and test code. HTTP calls per
    /// element are not queries.
    ///
    /// Lower severity: loops only `main` reaches (info, start-up) and one-off
    /// scripts (info).
    pub static META = ("n-plus-one-query", Error, "a database query run once per element of a collection");
}

pub struct NPlusOneQuery;

/// The call in the loop, the helper chain down to the query, and whether it writes.
type Hit = (CallId, Vec<(FnRef, CallId)>, bool);

fn per_element_loop(
    m: &FileModel,
    loops: &[LoopId],
    k: &crate::knowledge::Knowledge,
) -> Option<LoopId> {
    let l = loops
        .iter()
        .rev()
        .copied()
        .find(|&l| m.loops[l].per_element)?;
    let lo = &m.loops[l];
    // Loops over configuration (plugins, databases) run a handful of times.
    let over = lo.over.trim_start_matches('&');
    let over = over.split(".iter()").next().unwrap_or(over);
    (!lo.batched && !k.not_data.is_match(over)).then_some(l)
}

fn limited_sql(m: &FileModel, tail: CallId) -> bool {
    matches!(semantics::sql_of(m, tail).map(|s| &s.facts), Some(SqlFacts::Select(s)) if s.limited)
}

impl Rule for NPlusOneQuery {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let u = &ctx.units[fi];
        let m = u.model;
        if m.kind.test {
            return;
        }
        for (first, c) in m.calls.iter().enumerate() {
            if c.prev.is_some()
                || c.in_test
                || c.exits_loop
                || c.in_cache_closure
                || c.loops.is_empty()
            {
                continue;
            }
            if c.func.is_some_and(|f| m.functions[f].is_test) {
                continue;
            }
            // Only when an element fails (`except`, `Err(..)`), or once a
            // batch is full (`if len(bucket) >= 500:`): not per element.
            let branch = c.branch.as_deref();
            if util::in_error_branch(branch) || util::in_chunk_branch(branch) {
                continue;
            }
            let Some(lp) = per_element_loop(m, &c.loops, ctx.k) else {
                continue;
            };
            let chain = m.chain(first);
            let tail = *chain.last().unwrap();
            // What in the chain queries: directly, or through the crate's own functions.
            let mut hit: Option<Hit> = None;
            for &id in &chain {
                let callees = ctx.linked.resolve(ctx.units, fi, id, ctx.k);
                let mut via: Option<(FnRef, Step)> = None;
                for g in &callees {
                    if let Some(s) = ctx.linked.queries.get(g) {
                        if let Some(i) = s.only_if_none {
                            if matches!(
                                m.calls[id].args.get(i).map(|a| &a.kind),
                                Some(ArgKind::Some)
                            ) {
                                continue;
                            }
                        }
                        via = Some((*g, *s));
                        break;
                    }
                }
                if let Some((g, s)) = via {
                    hit = Some((id, ctx.linked.witness(&ctx.linked.queries, g), s.write));
                    break;
                }
                if let Some(q) = semantics::query_at(m, id, ctx.k) {
                    // A handle passed to one of our own functions that does not query is fine.
                    if q.how == QueryHow::PassesHandle && !callees.is_empty() {
                        continue;
                    }
                    if limited_sql(m, tail) {
                        break;
                    }
                    hit = Some((id, Vec::new(), q.write));
                    break;
                }
            }
            let Some((at, path, write)) = hit else {
                continue;
            };
            let lo = &m.loops[lp];
            let over = if lo.over.is_empty() {
                "the loop".to_string()
            } else {
                format!("`{}`", short(&lo.over))
            };
            let what = call_label(m, at);
            let (qpath, qline, qlabel) = match path.last() {
                Some(&((f, _), qc)) => {
                    let qm = ctx.units[f].model;
                    (
                        ctx.units[f].path.to_string(),
                        qm.calls[qc].span.start.line,
                        call_label(qm, qc),
                    )
                }
                None => (
                    u.path.to_string(),
                    m.calls[at].span.start.line,
                    what.clone(),
                ),
            };
            let kind = if write { "a write" } else { "a query" };
            let message = if path.is_empty() {
                format!(
                    "`{what}` runs {kind} for each element of {over} (loop at line {})",
                    lo.span.start.line
                )
            } else {
                format!(
                    "`{what}` runs {kind} for each element of {over} (loop at line {}); it reaches `{qlabel}` in {qpath}:{qline}",
                    lo.span.start.line
                )
            };
            let help = if write {
                "write all rows in one statement: a multi-row INSERT ... VALUES, `INSERT ... SELECT * FROM UNNEST($1::bigint[], $2::text[])`, `UPDATE ... WHERE id = ANY($1)`, or COPY"
            } else {
                "load the rows for every element in one query before the loop (`WHERE id = ANY($1)` with sqlx/postgres, `eq_any`/`belonging_to` + `grouped_by` with diesel, `find_with_related`/a loader with sea-orm) and look them up in a HashMap"
            };
            // A loop only `main` reaches (a data migration at boot) runs once.
            let startup = m.calls[first]
                .func
                .is_some_and(|g| ctx.linked.startup_only(ctx.units, (fi, g)));
            let (severity, message) = if startup {
                (
                    Severity::Info,
                    format!("{message} (only at start-up: `main` is its only caller)"),
                )
            } else if write && in_embedded_tx(ctx, fi, m, at, &path) {
                (
                    Severity::Info,
                    format!("{message} (inside a transaction on an embedded database: no round trip per row, one commit)"),
                )
            } else if util::in_migration_fn(m, first) {
                (
                    Severity::Info,
                    format!("{message} (in a data migration, run once at upgrade)"),
                )
            } else {
                (Severity::Error, message)
            };
            let mut f = Finding::new(META.id, severity, u.path, m.calls[tail].span, message)
                .help(help)
                .key(format!("{what}|{}", lo.over))
                .function(fn_label(m, first))
                .related(u.path, lo.span.start.line, format!("loop over {over}"));
            for &((hf, hg), hc) in &path {
                let hu = &ctx.units[hf];
                let msg = format!(
                    "`{}` calls `{}`",
                    fn_label_of(hu, hg),
                    call_label(hu.model, hc)
                );
                f = f.related(hu.path, hu.model.calls[hc].span.start.line, msg);
            }
            out.push(f);
        }
    }
}

/// Is the write on a transaction handle (`tx.Exec(..)`, `txn.execute(..)`)
/// of a package whose only database is in-process (SQLite)? Writing row by
/// row inside one transaction is that database's idiom: no network round
/// trip, one fsync at commit.
fn in_embedded_tx(
    ctx: &ProgramCtx,
    fi: usize,
    m: &FileModel,
    at: CallId,
    path: &[(FnRef, CallId)],
) -> bool {
    let (qf, qc) = match path.last() {
        Some(&((f, _), c)) => (f, c),
        None => (fi, at),
    };
    let graph = &ctx.linked.packages;
    if !graph.package(fi).embedded_db || !graph.package(qf).embedded_db {
        return false;
    }
    let qm = if qf == fi { m } else { ctx.units[qf].model };
    let root = &qm.calls[qm.chain(qc)[0]].root;
    let handle = root.rsplit(['.', ':']).next().unwrap_or(root);
    matches!(
        handle
            .trim_start_matches(['&', '*'])
            .to_ascii_lowercase()
            .as_str(),
        "tx" | "txn" | "trx" | "transaction"
    )
}

fn short(s: &str) -> String {
    if s.chars().count() > 40 {
        let t: String = s.chars().take(37).collect();
        format!("{t}...")
    } else {
        s.to_string()
    }
}
