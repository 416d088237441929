use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::frontend::sql;
use crate::knowledge::ArchKnowledge;
use crate::model::{CallId, CallKind, DdlChange, FileModel, Lang, SelectFacts, SqlFacts};
use crate::rules::util::{call_label, fn_label};
use crate::rules::{ProgramCtx, Rule, RuleMeta};
use crate::schema::View;
use crate::semantics;
use crate::source::Span;

mod django;
mod kept;

use django::{
    django_queryset_method, drf_paginated, handed_on, in_prefetch, manager_method_filters,
    sitemap_items,
};
use kept::{bounded_earlier, bounded_later, kept_statement, statement_text, Kept};

declare_rule! {
    /// ## What it catches
    /// A SELECT that can return every row of a table: in `.sql` query files
    /// and views, in SQL strings run with `fetch_all`/`query`/`load`, and in
    /// ORM chains (`Entity::find().all(db)`, `users.filter(..).load(conn)`)
    /// with no `LIMIT`, no pagination and no unique key pinned.
    ///
    /// The schema is read from the migrations (CREATE TABLE keys, UNIQUE
    /// constraints and indexes, renames and drops, diesel `table!` macros), so
    /// `WHERE email = $1` is bounded when `email` is unique and unbounded when
    /// it is not. No filter at all is an error. A filter on a non-unique
    /// column (the rows of one parent, of one status) and a GROUP BY are
    /// notes (info) that name the column: whether a crate's owners or a
    /// user's tokens stay few is a fact of the data the code does not state. A project with one migration folder
    /// per database checks each query against its own backend's schema.
    ///
    /// Also read: SQL kept in a `const`/`static` (reported at the constant,
    /// naming the calls that run it; in Python, TypeScript/JavaScript and Go,
    /// a constant or variable of the same file given one SQL string), `query!`/`query_as!` with the SQL on the
    /// following lines, raw SQL in knex `raw`, Prisma's tagged `$queryRaw` and
    /// `cursor.execute`, `WITH .. SELECT` from a CTE (as bounded as the CTE),
    /// and diesel queries built in a variable and changed on branches (a
    /// `.limit` added on some branches only is a warning naming the branch).
    /// A finding in code spans the query call and its SQL literal.
    ///
    /// ## Why it matters
    /// It works in development and takes the service down when the table
    /// grows: memory, latency and the database's I/O all grow with the table.
    ///
    /// ## Example
    /// ```rust,ignore
    /// sqlx::query_as::<_, User>("SELECT * FROM users").fetch_all(&pool).await?;
    /// ```
    ///
    /// ## How to fix
    /// Page with a keyset: `WHERE id > $1 ORDER BY id LIMIT $2` (`.limit()`
    /// with diesel, `.paginate()` or `.limit()` with sea-orm), or pin a unique
    /// key and use `fetch_one`/`fetch_optional`.
    ///
    /// Bounded and silent: LIMIT/FETCH FIRST/TOP, equality or `= ANY($1)` on a
    /// unique key, keys taken from a list the code holds (`where: { id: ids
    /// }`, `{ [Op.in]: ids }`, `Where("id IN ?", ids)`, bounded by the input),
    /// a builder limited before the query runs on it, aggregates without
    /// GROUP BY (also inside `COALESCE`/`IFNULL` and arithmetic), `SELECT 1`/EXISTS, one-row
    /// fetches (`fetch_one`, `fetch_optional`, `query_one`, `first`), streams
    /// consumed row by row, sqlc `:one` queries, INSERT/UPDATE ... RETURNING,
    /// and SQL inside migrations.
    pub static META = ("unbounded-query", Error, "a SELECT that can return unbounded rows");
}

pub struct UnboundedQuery;

/// Severity, why, and the migration that declared the table.
type Verdict = (Severity, String, Option<(String, u32)>);

/// Why a SELECT is unbounded, or None when it is bounded.
pub fn unbounded(sel: &SelectFacts, schema: &View, arch: &ArchKnowledge) -> Option<Verdict> {
    let mut branches = vec![sel];
    branches.extend(sel.branches.iter());
    for b in branches {
        if let Some(r) = unbounded_branch(b, schema, arch) {
            return Some(r);
        }
    }
    None
}

fn unique(schema: &View, table: &str, cols: &[String]) -> bool {
    if schema.unique_key_within(table, cols).is_some() {
        return true;
    }
    // Without the table's DDL, `id` is the one key convention makes safe to assume.
    !schema.knows(table) && cols.iter().any(|c| c == "id")
}

fn unbounded_branch(s: &SelectFacts, schema: &View, arch: &ArchKnowledge) -> Option<Verdict> {
    if s.limited || s.no_from || (s.aggregate_only && !s.group_by) {
        return None;
    }
    let (table, alias) = s.tables.first()?;
    if s.group_by {
        // One row per group: as many as the grouped column has values, which
        // for a status, a type or a flag is a handful.
        return Some((
            Severity::Info,
            format!("returns one row per group of `{table}` with no limit"),
            None,
        ));
    }
    if let Some(i) = s.ctes.iter().position(|c| c == table) {
        // `WITH t AS (..) SELECT .. FROM t`: with no filter of its own, the
        // query returns what the WITH query does.
        if s.has_where || !s.pinned.is_empty() {
            return None;
        }
        let body = s.cte_facts.get(i)?;
        let (sev, why, origin) = unbounded(body, schema, arch)?;
        return Some((sev, format!("{why} (through `{table}`)"), origin));
    }
    if table.starts_with('(') || schema.one_row_view(table) {
        // A derived table (its bound is not known here), or a view of one
        // row (`CREATE MATERIALIZED VIEW counts AS SELECT count(*) ..`).
        return None;
    }
    let mine: Vec<String> = s
        .pinned
        .iter()
        .filter(|(q, _)| {
            q.is_none() || q.as_deref() == alias.as_deref() || q.as_deref() == Some(table.as_str())
        })
        .map(|(_, c)| c.clone())
        .collect();
    if unique(schema, table, &mine) {
        // Pinned to one row of the main table: joins must not fan out.
        for j in &s.joins {
            if !j.table.starts_with('(') && !unique(schema, &j.table, &j.equated) {
                return Some((
                    Severity::Info,
                    format!(
                        "joins `{}` on a non-unique column, so one `{table}` row can bring many",
                        j.table
                    ),
                    None,
                ));
            }
        }
        return None;
    }
    if !s.has_where && s.pinned.is_empty() {
        return Some(every_row(arch, table));
    }
    let mut cols: Vec<String> = mine.clone();
    cols.extend(s.filtered.iter().cloned());
    cols.sort();
    cols.dedup();
    let named = if cols.is_empty() {
        "a filter that is not a unique key".to_string()
    } else {
        format!(
            "a filter on {} that is not a unique key",
            cols.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let origin = schema
        .unique_key_within(table, &["id".to_string()])
        .map(|(_, o)| o);
    // Rows of one parent, or of one status: bounded by how the data is used
    // (a crate's owners, a user's tokens), which the code does not say. A note.
    Some((
        Severity::Info,
        format!("reads `{table}` by {named}"),
        origin,
    ))
}

/// A read of every row of `table`: an error, or a note when the name says
/// the table holds curated reference data (settings, roles, categories).
fn every_row(arch: &ArchKnowledge, table: &str) -> Verdict {
    if arch.reference_table(table) {
        (
            Severity::Info,
            format!(
                "reads every row of `{table}`, a reference table by its name (curated and small)"
            ),
            None,
        )
    } else {
        (
            Severity::Error,
            format!("reads every row of `{table}`"),
            None,
        )
    }
}

/// A query only start-up reaches (a data fix-up run at boot, a cache
/// warmed once) reads its table once per process: a note, which says so.
fn at_startup(
    ctx: &ProgramCtx,
    fi: usize,
    call: Option<CallId>,
    sev: Severity,
) -> (Severity, &'static str) {
    let m = ctx.units[fi].model;
    match call {
        Some(c) if sev > Severity::Info && ctx.linked.call_at_startup(ctx.units, fi, c) => (
            Severity::Info,
            " (only at start-up: `main` is its only caller)",
        ),
        Some(c) if sev > Severity::Info && crate::rules::util::in_migration_fn(m, c) => (
            Severity::Info,
            " (in a data migration, run once at upgrade)",
        ),
        _ => (sev, ""),
    }
}

/// How the chain that runs the SQL reads rows: Some(true) all of them, Some(false) at most one or a stream.
fn reads_all(m: &FileModel, tail: CallId, ctx: &ProgramCtx) -> Option<(bool, CallId)> {
    let chain = m.chain(tail);
    if let Some(lk) = ctx.k.lang(m.lang) {
        // The call that runs the SQL says how many rows come back.
        let id = chain
            .iter()
            .copied()
            .find(|&x| lk.query_of(m, x).is_some())?;
        let n = m.calls[id].name.to_ascii_lowercase();
        let one = n.contains("row")
            || n.starts_with("get")
            || n.contains("one")
            || n == "fetchval"
            || n == "none";
        return Some((!one && !m.calls[tail].sliced, id));
    }
    for (i, &id) in chain.iter().enumerate() {
        let c = &m.calls[id];
        if c.kind != CallKind::Method {
            continue;
        }
        let n = c.name.as_str();
        if ctx.k.q_one_row.contains(n)
            && (ctx.k.q_terminals.contains(n) || ctx.k.q_sql_methods.contains(n))
        {
            return Some((false, id));
        }
        if ctx.k.q_stream.contains(n) {
            let collected = chain[i + 1..].iter().any(|&x| {
                matches!(
                    m.calls[x].name.as_str(),
                    "try_collect" | "collect" | "try_concat"
                )
            });
            return Some((collected, id));
        }
        if ctx.k.q_many_rows.contains(n) {
            return Some((true, id));
        }
    }
    None
}

const HELP_SQL: &str = "add a bound: keyset pagination `WHERE id > $1 ORDER BY id LIMIT $2`, or pin a unique key and fetch one row (`fetch_optional`)";

impl Rule for UnboundedQuery {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let u = &ctx.units[fi];
        let m = u.model;
        if m.kind.migration || m.kind.test {
            return;
        }
        let sql_file = m.lang == Lang::Sql;
        let schema = ctx.linked.schema.view(u.path);
        let mut seen_tails = Vec::new();
        for s in &m.sql {
            let sel = match &s.facts {
                SqlFacts::Select(sel) => sel,
                SqlFacts::Ddl(ds) if sql_file => match ds.first().map(|d| &d.change) {
                    Some(DdlChange::CreateView(Some(v))) => v.as_ref(),
                    _ => continue,
                },
                _ => continue,
            };
            if s.one_row {
                continue;
            }
            let mut related: Option<(u32, String)> = None;
            let mut function = String::new();
            // In code, one span covers the query call and its SQL literal.
            let mut span = s.span;
            if let Some(tail) = s.call {
                let c = m.calls[tail].span;
                // A literal inside the call: one span for both. SQL kept in a
                // constant elsewhere in the file: the constant's.
                if s.span.start >= c.start && s.span.end <= c.end {
                    span = c;
                }
                if m.calls[tail].in_test {
                    continue;
                }
                let Some((all, term)) = reads_all(m, tail, ctx) else {
                    continue;
                };
                if !all {
                    continue;
                }
                seen_tails.push(tail);
                related = Some((
                    m.calls[term].span.start.line,
                    format!("`{}` reads every row it returns", m.calls[term].name),
                ));
                function = fn_label(m, tail);
            } else if !sql_file {
                continue;
            }
            if let Some((sev, why, origin)) = unbounded(sel, &schema, &ctx.k.arch) {
                let (sev, at) = at_startup(ctx, fi, s.call, sev);
                let mut f = Finding::new(
                    META.id,
                    sev,
                    u.path,
                    span,
                    format!("query {why}: `{}`{at}", short_sql(&s.text)),
                )
                .help(HELP_SQL)
                .key(s.text.clone())
                .function(function);
                if let Some((line, msg)) = related {
                    f = f.related(u.path, line, msg);
                }
                if let Some((p, l)) = origin {
                    f = f.related(&p, l, "table declared here");
                }
                out.push(f);
            }
        }
        // SQL kept in a `const`/`static` of this file, run by query calls
        // anywhere: reported at the constant, naming the calls.
        self.const_sql(ctx, fi, out);
        if ctx.k.lang(m.lang).is_some() {
            self.lang_chains(ctx, fi, out);
        } else {
            self.orm_chains(ctx, fi, out);
        }
    }
}

/// The constant a query call in file `ui` names: one in the same file, else
/// one in the same package, else one in a package it depends on, else the
/// first defined.
fn const_def(ctx: &ProgramCtx, ui: usize, name: &str) -> Option<(usize, usize)> {
    let defs = ctx.linked.consts.get(name)?;
    defs.iter()
        .find(|(df, _)| *df == ui)
        .or_else(|| {
            let of = &ctx.linked.packages.of_file;
            defs.iter().find(|(df, _)| of.get(*df) == of.get(ui))
        })
        .or_else(|| {
            defs.iter()
                .find(|(df, _)| ctx.linked.packages.visible(ui, *df))
        })
        .or(defs.first())
        .copied()
}

impl UnboundedQuery {
    fn const_sql(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let u = &ctx.units[fi];
        let m = u.model;
        if m.consts.is_empty() {
            return;
        }
        let schema = ctx.linked.schema.view(u.path);
        for c in &m.consts {
            let lit = &m.literals[c.literal];
            if lit.in_test || !sql::looks_like_sql(&lit.value) {
                continue;
            }
            // Every call that runs it and reads all the rows it returns.
            let mut sites: Vec<(usize, CallId, CallId)> = Vec::new();
            for (ui, unit) in ctx.units.iter().enumerate() {
                let um = unit.model;
                if um.kind.test {
                    continue;
                }
                for (tail, name) in &um.sql_refs {
                    if name != &c.name
                        || um.calls[*tail].in_test
                        || um.sql.iter().any(|s| s.call == Some(*tail))
                        || const_def(ctx, ui, name) != Some((fi, c.literal))
                    {
                        continue;
                    }
                    if let Some((true, term)) = reads_all(um, *tail, ctx) {
                        sites.push((ui, *tail, term));
                    }
                }
            }
            if sites.is_empty() {
                continue;
            }
            let parsed = sql::analyze(&lit.value, m.dialect);
            let Some(Ok(SqlFacts::Select(sel))) = parsed.first().map(|p| &p.facts) else {
                continue;
            };
            let Some((sev, why, _)) = unbounded(sel, &schema, &ctx.k.arch) else {
                continue;
            };
            let text = parsed[0].text.clone();
            let named: Vec<String> = sites
                .iter()
                .take(3)
                .map(|&(ui, tail, _)| {
                    let um = ctx.units[ui].model;
                    format!(
                        "`{}` ({}:{})",
                        fn_label(um, tail),
                        ctx.units[ui].path,
                        um.calls[tail].span.start.line
                    )
                })
                .collect();
            let more = if sites.len() > 3 {
                format!(" and {} more", sites.len() - 3)
            } else {
                String::new()
            };
            let mut f = Finding::new(
                META.id,
                sev,
                u.path,
                lit.span,
                format!(
                    "query `{}` {why}: `{}`; run by {}{more}, reading every row",
                    c.name,
                    short_sql(&text),
                    named.join(", ")
                ),
            )
            .help(HELP_SQL)
            .key(text);
            for &(ui, tail, term) in &sites {
                let um = ctx.units[ui].model;
                f = f.related(
                    ctx.units[ui].path,
                    um.calls[tail].span.start.line,
                    format!(
                        "`{}` runs `{}` and `{}` reads every row it returns",
                        fn_label(um, tail),
                        c.name,
                        um.calls[term].name
                    ),
                );
            }
            out.push(f);
        }
    }

    /// Python, TypeScript/JavaScript, Go ORM calls that return many rows with no bound.
    fn lang_chains(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        use crate::knowledge::{LangKnowledge, Rows};
        let u = &ctx.units[fi];
        let m = u.model;
        let Some(lk) = ctx.k.lang(m.lang) else { return };
        for (id, c) in m.calls.iter().enumerate() {
            // Class-level querysets (`queryset = X.objects.all()`) are paginated by the framework.
            if c.in_test
                || c.func.is_none()
                || m.sql.iter().any(|s| s.call == Some(m.chain_end(id)))
            {
                continue;
            }
            let Some(p) = lk.query_of(m, id) else {
                continue;
            };
            if p.rows != Rows::Many || m.calls[m.chain_end(id)].sliced {
                continue;
            }
            let text = LangKnowledge::chain_text(m, id);
            if p.bound.as_ref().is_some_and(|b| b.is_match(&text)) {
                continue;
            }
            // `q = q.offset(s).limit(n)`, then `session.execute(q).scalars().all()`:
            // the statement kept in a variable carries the bound.
            if m.lang == Lang::Python
                && p.bound
                    .as_ref()
                    .is_some_and(|b| b.is_match(&statement_text(m, id)))
            {
                continue;
            }
            // Later calls of the chain that bound it (`.limit(10)`, `.first()`).
            let later: Vec<&str> = m
                .chain(id)
                .iter()
                .skip_while(|&&x| x != id)
                .map(|&x| m.calls[x].name.as_str())
                .collect();
            if later.iter().any(|n| {
                matches!(
                    *n,
                    "limit"
                        | "Limit"
                        | "first"
                        | "First"
                        | "take"
                        | "Take"
                        | "paginate"
                        | "slice"
                        | "one"
                        | "get"
                )
            }) {
                continue;
            }
            if bounded_later(m, m.chain_end(id)) || bounded_earlier(m, id) {
                continue;
            }
            if m.lang == Lang::Python
                && (drf_paginated(ctx, m, id) || in_prefetch(m, id) || sitemap_items(m, id))
            {
                continue;
            }
            if m.lang == Lang::Python
                && LangKnowledge::dotted(m, id).contains(".objects.")
                && handed_on(m, id)
            {
                continue;
            }
            // `Gym.objects.get_members(pk).select_related(..)`: a method of a
            // custom manager or queryset. Followed into the tree: one that
            // filters is judged where it filters (its own query is read
            // there); one not found in the tree is not judged.
            if m.lang == Lang::Python && LangKnowledge::dotted(m, id).contains(".objects.") {
                let custom: Vec<&str> = m
                    .chain(id)
                    .iter()
                    .take_while(|&&x| x != id)
                    .map(|&x| m.calls[x].name.as_str())
                    .filter(|n| !django_queryset_method(n))
                    .collect();
                if let Some(name) = custom.first() {
                    if manager_method_filters(ctx, name) != Some(false) {
                        continue;
                    }
                }
            }
            let label = LangKnowledge::dotted(m, id);
            // Arguments that filter: of `filter`/`where` calls, or an options object with `where`.
            let filters: Vec<&str> = m
                .chain(id)
                .iter()
                .flat_map(|&x| {
                    let c = &m.calls[x];
                    let filtering = matches!(
                        c.name.as_str(),
                        "filter"
                            | "filter_by"
                            | "where"
                            | "Where"
                            | "exclude"
                            | "andWhere"
                            | "whereIn"
                    );
                    c.args
                        .iter()
                        .map(|a| a.text.as_str())
                        .filter(move |t| !t.is_empty() && (filtering || t.contains("where")))
                })
                .collect();
            if filters.iter().any(|f| in_input_list(f)) {
                continue;
            }
            // `execute(stmt)`, `findAll(options)`, `findAll({ ...params })`:
            // a statement or options kept elsewhere. Filtered there: a note;
            // not found: not judged.
            let kept = kept_statement(m, id);
            if kept == Kept::Unknown {
                continue;
            }
            let grouped = m.chain(id).iter().any(|&x| {
                matches!(m.calls[x].name.as_str(), "group_by" | "groupBy" | "Group")
                    || (m.calls[x].name == "annotate"
                        && m.chain(id).iter().any(|&y| m.calls[y].name == "values"))
            });
            let (sev, why) = if grouped || kept == Kept::Grouped {
                (
                    Severity::Info,
                    "returns one row per group with no limit".to_string(),
                )
            } else if filters.is_empty() && kept == Kept::None {
                // `Trophy.objects.all()`, `Category.findAll()`: the model.
                let model = label.split('.').next().unwrap_or_default();
                let (sev, why, _) = every_row(&ctx.k.arch, model);
                if sev == Severity::Error {
                    (sev, "reads every row".to_string())
                } else {
                    (sev, why)
                }
            } else {
                (
                    Severity::Info,
                    "reads rows by a filter with no limit".to_string(),
                )
            };
            let first = m.chain(id)[0];
            let span = Span::new(m.calls[first].span.start, m.calls[id].span.end);
            let (sev, at) = at_startup(ctx, fi, Some(id), sev);
            out.push(
                Finding::new(META.id, sev, u.path, span, format!("`{label}` {why}{at}"))
                    .help("page the query: `take`/`skip` with a cursor (Prisma, TypeORM), `limit` (Sequelize, knex, SQLAlchemy), a slice `[:n]` or a paginator (Django), `.Limit(n)` (gorm)")
                    .key(format!("{label}|{}", filters.join(",")))
                    .function(fn_label(m, id)),
            );
        }
    }

    /// ORM chains without SQL text: sea-orm `Entity::find()...all(db)`, diesel `table.filter(..).load(conn)`.
    fn orm_chains(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let u = &ctx.units[fi];
        let m = u.model;
        let schema = ctx.linked.schema.view(u.path);
        for (id, c) in m.calls.iter().enumerate() {
            if c.next.is_some()
                || c.in_test
                || m.sql.iter().any(|s| s.call == Some(id))
                || m.sql_refs.iter().any(|(t, _)| *t == id)
            {
                continue;
            }
            let chain = m.chain(id);
            let Some((true, term)) = reads_all(m, id, ctx) else {
                continue;
            };
            let tc = &m.calls[term];
            if !matches!(
                tc.name.as_str(),
                "load" | "get_results" | "all" | "load_async" | "get_results_async"
            ) {
                continue;
            }
            if semantics::query_at(m, term, ctx.k).is_none() {
                continue;
            }
            let diesel_rooted = |first: &crate::model::Call| {
                first.kind == CallKind::Method
                    && !first.root.is_empty()
                    && !first.root.contains('(')
                    && (first.root.ends_with("::table")
                        || schema.knows(first.root.rsplit("::").next().unwrap_or("")))
            };
            let mut first = &m.calls[chain[0]];
            let sea = first.kind == CallKind::Path && first.name == "find" && first.path.len() >= 2;
            let mut diesel_root = diesel_rooted(first);
            // A query built in a variable: `let mut q = t::table.into_boxed();`,
            // changed on branches (`q = q.filter(..)`), then `q.load(conn)`.
            let mut chain = chain;
            let mut conditional_bound: Option<String> = None;
            if !sea && !diesel_root && is_ident(&first.root) {
                let var = first.root.clone();
                let defs: Vec<CallId> = (0..id)
                    .filter(|&x| {
                        let d = &m.calls[x];
                        d.func == c.func
                            && d.next.is_none()
                            && (d.bound_to.as_deref() == Some(var.as_str())
                                || d.assigned_to.as_deref() == Some(var.as_str()))
                    })
                    .collect();
                let base = defs.iter().rev().copied().find(|&x| {
                    m.calls[x].bound_to.as_deref() == Some(var.as_str())
                        && diesel_rooted(&m.calls[m.chain(x)[0]])
                });
                if let Some(base) = base {
                    first = &m.calls[m.chain(base)[0]];
                    diesel_root = true;
                    let mut all = m.chain(base);
                    for &d in defs.iter().filter(|&&d| d > base) {
                        let dc = m.chain(d);
                        let bounds = dc.iter().any(|&x| is_bound_call(&m.calls[x].name));
                        match &m.calls[d].branch {
                            Some(cond) if bounds && m.calls[d].branch != c.branch => {
                                conditional_bound.get_or_insert_with(|| cond.clone());
                            }
                            _ => all.extend(dc),
                        }
                    }
                    all.extend(chain.iter().copied());
                    chain = all;
                }
            }
            if !sea && !diesel_root {
                continue;
            }
            let names: Vec<&str> = chain.iter().map(|&x| m.calls[x].name.as_str()).collect();
            if names.iter().any(|n| is_bound_call(n)) {
                continue;
            }
            if first.root.is_empty() && names.contains(&"find") && !sea {
                continue;
            }
            let filters: Vec<&str> = chain
                .iter()
                .filter(|&&x| matches!(m.calls[x].name.as_str(), "filter" | "find" | "or_filter"))
                .flat_map(|&x| m.calls[x].args.iter().map(|a| a.text.as_str()))
                .collect();
            let by_key = filters.iter().any(|t| {
                t.starts_with("id.eq(")
                    || t.contains("::id.eq(")
                    || t.contains("::Id.eq(")
                    || t.contains("Column::Id.eq(")
                    || t.contains("id.eq_any(")
                    || (names.contains(&"find") && diesel_root)
            });
            if by_key {
                continue;
            }
            let table = if sea {
                let p = &first.path;
                if p[p.len() - 2] == "Entity" && p.len() >= 3 {
                    p[p.len() - 3].clone()
                } else {
                    p[p.len() - 2].clone()
                }
            } else {
                first.root.trim_end_matches("::table").to_string()
            };
            let (sev, why) = if let Some(cond) = &conditional_bound {
                let when = cond
                    .strip_prefix("let Some")
                    .and_then(|r| r.split_once('='))
                    .map(|(_, e)| format!("`{}` is None", e.trim()))
                    .unwrap_or_else(|| format!("`{cond}` does not hold"));
                (
                    Severity::Warning,
                    format!("reads `{table}` with no limit when {when} (`.limit` is applied on that branch only)"),
                )
            } else if names.contains(&"group_by") {
                (
                    Severity::Info,
                    format!("returns one row per group of `{table}`"),
                )
            } else if filters.is_empty() && !names.contains(&"inner_join") {
                let (sev, why, _) = every_row(&ctx.k.arch, &table);
                (sev, why)
            } else if filters.is_empty() {
                (
                    Severity::Info,
                    format!("reads the rows of `{table}` an inner join keeps"),
                )
            } else {
                (
                    Severity::Info,
                    format!(
                        "reads `{table}` by a filter that is not a unique key (`{}`)",
                        filters.join(", ")
                    ),
                )
            };
            let span = Span::new(first.span.start, m.calls[id].span.end);
            let (sev, at) = at_startup(ctx, fi, Some(id), sev);
            let f = Finding::new(META.id, sev, u.path, span, if conditional_bound.is_some() { format!("`{}` {why}{at}", call_label(m, term)) } else { format!("`{}` {why} with no limit{at}", call_label(m, term)) })
                .help(if sea { "page the query: `.paginate(db, page_size)` or `.cursor_by(Column::Id).first(n)`, or add `.limit(n)`" } else { "add `.limit(n)` with a keyset filter (`.filter(id.gt(last_id)).order(id)`), or load one row with `.first(conn)`" })
                .key(format!("{}|{}", names.join("."), filters.join(",")))
                .function(fn_label(m, id))
                .related(u.path, tc.span.start.line, format!("`{}` reads every row", tc.name));
            out.push(f);
        }
    }
}

/// A filter that keeps keys from a list the code holds: `where: { id: ids }`,
/// `{ userId: users.map(u => u.id) }`, `{ id: { [Op.in]: ids } }`,
/// `{ id: { in: ids } }`, `id: In(ids)`, `Where("id IN ?", ids)`,
/// `whereIn('id', ids)`. The query returns at most what the list names (or
/// their children): bounded by the input, not by the table.
fn in_input_list(filter: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r#"(?ix)
            (?:^|[{,(])["']?(?:id|uuid|email|slug|\w*id|\w*_id)s?["']?:
              (?: \{\[op\.in\]: | \{in: | in\( | \[
                | [\w$.]*(?:ids|uuids|emails|slugs)(?:[,})]|$)
                | (?:[\w$]+\.)*(?:map|uniq|uniqby|compact|flatten|flatmap|from)\( )
            | \b(?:id|uuid|\w*_id|\w*id)["'`]?\s*in\s*\(?\s*(?:\?|\$\d|:\w)
            | wherein\(["'`](?:id|uuid|\w*_id|\w*id)["'`]
            "#,
        )
        .expect("input-list pattern")
    });
    let packed: String = filter.chars().filter(|c| !c.is_whitespace()).collect();
    re.is_match(&packed) || re.is_match(filter)
}

/// A call that bounds a diesel or sea-orm query.
fn is_bound_call(n: &str) -> bool {
    matches!(
        n,
        "limit"
            | "paginate"
            | "first"
            | "find_by_id"
            | "get_result"
            | "one"
            | "single_value"
            | "count"
            | "exists"
            | "belonging_to"
    )
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

fn short_sql(s: &str) -> String {
    // SQL literals may hold credentials: messages show at most four characters of any.
    let s = &crate::secrets::redact_quoted(s);
    if s.chars().count() > 80 {
        let t: String = s.chars().take(77).collect();
        format!("{t}...")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::in_input_list;

    #[test]
    fn input_lists_bound_a_query() {
        for f in [
            "{ where: { id: ids } }",
            "{ where: { id: { [Op.in]: otherCollaboratorIds } } }",
            "{ where: { groupId: g, userId: uniq(affected.map((i) => i.userId)) } }",
            "{ where: { teamId: t, email: emails } }",
            "{ where: { id: { in: ids } } }",
            "{ id: In(ids) }",
            "\"id IN ?\"",
            "\"user_id IN (?)\"",
            "whereIn('id', ids)",
        ] {
            assert!(in_input_list(f), "{f}");
        }
        for f in [
            "{ where: { status: statuses } }",
            "{ where: { userId } }",
            "{ where: { teamId: team.id } }",
            "\"status IN ?\"",
            "\"name = ?\"",
        ] {
            assert!(!in_input_list(f), "{f}");
        }
    }
}
