use crate::architecture::snake_case;
use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::frontend::sql::Dialect;
use crate::model::{ArgKind, CallKind, FileModel, SelectFacts, SqlFacts};
use crate::roles::Role;
use crate::rules::util::fn_label;
use crate::rules::{ProgramCtx, Rule, RuleMeta};
use crate::schema::View;
use crate::source::Span;

declare_rule! {
    /// ## What it catches
    /// A query on the request path whose lookup columns are served by no
    /// index: the leading `WHERE` equality columns, the columns a
    /// `JOIN ... ON` matches on the joined table, or (for a `LIMIT`ed query
    /// with no filter) the leading `ORDER BY` column are the first column of
    /// no index, primary key or unique constraint of the table, as the
    /// migrations leave it (`CREATE TABLE`, `CREATE INDEX`, MySQL's inline
    /// `KEY`, `ALTER TABLE .. ADD INDEX`, renames and drops replayed in
    /// order). Only tables the application writes are checked (a lookup
    /// table seeded once by a migration stays small).
    ///
    /// Read from SQL in code (sqlx, `database/sql`, psycopg, node-postgres,
    /// ...) and in query files, and from ORM chains whose table and columns
    /// are written out: diesel (`users::table.filter(users::email.eq(..))`),
    /// sea-orm (`post::Entity::find().filter(post::Column::AuthorId.eq(..))`),
    /// SQLAlchemy (`session.query(Order).filter_by(customer_id=..)`), knex
    /// (`knex('orders').where('customer_id', id)`) and gorm
    /// (`db.Table("orders").Where("customer_id = ?", id)`).
    ///
    /// ## Why it matters
    /// Without an index the database reads the whole table for every call:
    /// fast with a thousand rows in development, hundreds of milliseconds
    /// (and a table's worth of I/O per request) once production has millions.
    /// The card's rule: no query over 100 ms.
    ///
    /// ## Example
    /// ```sql
    /// CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, customer_id BIGINT NOT NULL, created_at TIMESTAMPTZ);
    /// -- in a handler:
    /// SELECT * FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20
    /// ```
    ///
    /// ## How to fix
    /// Add the index the query needs, without locking the table in
    /// PostgreSQL: `CREATE INDEX CONCURRENTLY ON orders (customer_id, created_at)`.
    ///
    /// Silent when the schema is unknown (no migrations read, or the table is
    /// not in them), when any index's leading column matches, for primary-key
    /// lookups, and in migrations, scripts, tests and packages no server uses.
    pub static META = ("unindexed-query", Warning, "a request-path query whose lookup columns no index serves");
}

pub struct UnindexedQuery;

impl Rule for UnindexedQuery {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let u = &ctx.units[fi];
        let m = u.model;
        let pkgs = &ctx.linked.packages;
        if m.kind.migration
            || m.kind.test
            || m.kind.role != Role::Source
            || pkgs.in_script_dir(u.path)
            || !pkgs.request_path(pkgs.of_file[fi])
        {
            return;
        }
        if m.sql.is_empty() && !m.calls.iter().any(|c| is_read_terminal(m.lang, &c.name)) {
            return;
        }
        let written = ctx
            .memo("unindexed-query:written", || Some(written_tables(ctx)))
            .unwrap_or_default();
        let written: HashSet<&str> = written.lines().collect();
        let unread = ctx
            .memo("unindexed-query:unread", || {
                Some(unread_migration_tables(ctx))
            })
            .unwrap_or_default();
        let unread: HashSet<&str> = unread.lines().collect();
        let schema = ctx.linked.schema.view(u.path);
        let dialect = m.dialect;
        let sql_file = m.lang == crate::model::Lang::Sql;
        // SQL text.
        for s in &m.sql {
            let SqlFacts::Select(sel) = &s.facts else {
                continue;
            };
            let mut span = s.span;
            let mut function = String::new();
            if let Some(tail) = s.call {
                if m.calls[tail].in_test {
                    continue;
                }
                let c = m.calls[tail].span;
                if s.span.start >= c.start && s.span.end <= c.end {
                    span = c;
                }
                function = fn_label(m, tail);
            } else if !sql_file {
                continue;
            }
            for (table, cols, what, other) in lookups(sel) {
                if !is_written(&written, &table)
                    || unread.contains(table.as_str())
                    || all_flags(&cols)
                {
                    continue;
                }
                let all: Vec<String> = cols.iter().chain(other.iter()).cloned().collect();
                if schema.leading_covered(&table, &all) != Some(false) {
                    continue;
                }
                out.push(finding(
                    u.path,
                    span,
                    &table,
                    &cols,
                    what,
                    dialect,
                    &s.text,
                    function.clone(),
                ));
            }
        }
        // ORM chains with the table and columns written out: each chain from
        // its start to the call that reads rows.
        for (start, c) in m.calls.iter().enumerate() {
            if c.prev.is_some() || c.in_test || c.func.is_none() {
                continue;
            }
            let mut chain = vec![start];
            let mut at = start;
            while let Some(n) = m.calls[at].next {
                chain.push(n);
                at = n;
            }
            let Some(t) = chain
                .iter()
                .position(|&x| is_read_terminal(m.lang, &m.calls[x].name))
            else {
                continue;
            };
            chain.truncate(t + 1);
            let id = chain[t];
            if chain
                .iter()
                .any(|&x| m.sql.iter().any(|s| s.call == Some(x)))
            {
                continue;
            }
            let Some((table, cols, other)) = orm_lookup(m, &chain, &schema) else {
                continue;
            };
            if cols.is_empty()
                || !is_written(&written, &table)
                || unread.contains(table.as_str())
                || all_flags(&cols)
            {
                continue;
            }
            let all: Vec<String> = cols.iter().chain(other.iter()).cloned().collect();
            if schema.leading_covered(&table, &all) != Some(false) {
                continue;
            }
            let first = &m.calls[chain[0]];
            let span = Span::new(first.span.start, m.calls[id].span.end);
            let text = chain
                .iter()
                .map(|&x| m.calls[x].name.as_str())
                .collect::<Vec<_>>()
                .join(".");
            out.push(finding(
                u.path,
                span,
                &table,
                &cols,
                "filters",
                dialect,
                &text,
                fn_label(m, id),
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    path: &str,
    span: Span,
    table: &str,
    cols: &[String],
    what: &str,
    dialect: Dialect,
    text: &str,
    function: String,
) -> Finding {
    let list = cols
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let fix = match dialect {
        Dialect::Postgres | Dialect::Generic => {
            format!("CREATE INDEX CONCURRENTLY ON {table} ({})", cols.join(", "))
        }
        _ => format!(
            "CREATE INDEX {table}_{}_idx ON {table} ({})",
            cols.join("_"),
            cols.join(", ")
        ),
    };
    Finding::new(
        META.id,
        Severity::Warning,
        path,
        span,
        format!(
            "query {what} `{table}` by {list}, which no index, primary key or unique constraint of `{table}` leads with: every call scans the table"
        ),
    )
    .help(format!("add the index the query needs: `{fix}`"))
    .key(format!("{table}|{}|{}", cols.join(","), text))
    .function(function)
}

/// The lookups of a SELECT to check: (table, columns pinned by equality,
/// what the query does, other columns its WHERE constrains). An index led by
/// any constrained column (a range, `IS NULL`) may serve the query.
type Lookup = (String, Vec<String>, &'static str, Vec<String>);

fn lookups(sel: &SelectFacts) -> Vec<Lookup> {
    let mut out = Vec::new();
    for s in std::iter::once(sel).chain(sel.branches.iter()) {
        let Some((main, alias)) = s.tables.first() else {
            continue;
        };
        if s.ctes.contains(main) || main.starts_with('(') {
            continue;
        }
        let mine = |q: &Option<String>| match q {
            None => s.joins.is_empty(),
            Some(q) => q == main || alias.as_deref() == Some(q.as_str()),
        };
        let pinned: Vec<String> = s
            .pinned
            .iter()
            .filter(|(q, _)| mine(q))
            .map(|(_, c)| c.clone())
            .collect();
        // Unqualified columns with joins: which table they belong to is unknown.
        let unsure = !s.joins.is_empty() && s.pinned.iter().any(|(q, _)| q.is_none());
        if !pinned.is_empty() && !unsure {
            out.push((main.clone(), dedup(pinned), "filters", s.filtered.clone()));
        } else if s.pinned.is_empty() && s.filtered.is_empty() && s.limited && s.joins.is_empty() {
            // A page of the whole table in an order: the sort reads every row.
            if let Some((q, c)) = s.order_by.first() {
                if mine(q) {
                    out.push((main.clone(), vec![c.clone()], "sorts", Vec::new()));
                }
            }
        }
        // A joined table looked up by its join columns, when the query does
        // not filter it directly (then the planner may start from it).
        for j in &s.joins {
            if j.equated.is_empty() || s.ctes.contains(&j.table) || j.table.starts_with('(') {
                continue;
            }
            let pinned_here = s.pinned.iter().any(|(q, _)| {
                q.as_deref() == Some(j.table.as_str()) || q.as_deref() == j.alias.as_deref()
            });
            if pinned_here || pinned_is_empty_scan(s) {
                continue;
            }
            out.push((
                j.table.clone(),
                dedup(j.equated.clone()),
                "joins",
                Vec::new(),
            ));
        }
    }
    out
}

/// A join with no filter at all reads both tables whole: a hash join, where
/// an index on the join column would not be used anyway.
fn pinned_is_empty_scan(s: &SelectFacts) -> bool {
    s.pinned.is_empty()
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    v.retain(|c| seen.insert(c.clone()));
    v
}

/// Flag and enum columns (`deleted`, `is_public`, `status`, `role`): an
/// index on them alone serves few queries (most rows share a value), so a
/// lookup by them only is not what makes a query slow.
fn all_flags(cols: &[String]) -> bool {
    cols.iter().all(|c| {
        let c = c.as_str();
        c.starts_with("is_")
            || c.starts_with("has_")
            || c.starts_with("can_")
            || c.ends_with("_type")
            || c.ends_with("_status")
            || matches!(
                c,
                "deleted"
                    | "removed"
                    | "local"
                    | "blocked"
                    | "banned"
                    | "disabled"
                    | "enabled"
                    | "active"
                    | "hidden"
                    | "published"
                    | "draft"
                    | "approved"
                    | "verified"
                    | "archived"
                    | "locked"
                    | "pinned"
                    | "featured"
                    | "nsfw"
                    | "private"
                    | "public"
                    | "read"
                    | "seen"
                    | "visible"
                    | "status"
                    | "state"
                    | "role"
                    | "kind"
                    | "type"
                    | "atype"
                    | "privacy"
                    | "level"
                    | "admin"
            )
    })
}

/// Tables that migration code archlint does not read as DDL names in a
/// string (`dialect.AlterTable("users").AddColumn(..)`, a builder's table
/// argument): their schema may hold indexes the replay did not see.
fn unread_migration_tables(ctx: &ProgramCtx) -> String {
    let mut set = std::collections::BTreeSet::new();
    for u in ctx.units {
        let m = u.model;
        if !m.kind.migration || m.kind.test || m.lang == crate::model::Lang::Sql {
            continue;
        }
        for l in &m.literals {
            let v = l.value.trim();
            if !v.is_empty()
                && v.len() < 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                set.insert(v.to_ascii_lowercase());
            }
        }
    }
    set.into_iter().collect::<Vec<_>>().join("\n")
}

fn is_written(written: &HashSet<&str>, table: &str) -> bool {
    let singular = table.strip_suffix('s').unwrap_or(table);
    written.contains(table) || written.contains(singular) || written.contains(&*format!("{table}s"))
}

/// Names that end an ORM chain by reading rows (knex chains are read when
/// awaited: their last call).
fn is_read_terminal(lang: crate::model::Lang, name: &str) -> bool {
    use crate::model::Lang;
    match lang {
        Lang::Rust => matches!(
            name,
            "load" | "get_result" | "get_results" | "first" | "load_async" | "all" | "one"
        ),
        Lang::Python => matches!(
            name,
            "all" | "first" | "one" | "one_or_none" | "scalar" | "where"
        ),
        Lang::TypeScript | Lang::JavaScript => {
            matches!(name, "where" | "first" | "limit" | "orderBy" | "select")
        }
        Lang::Go => matches!(name, "Find" | "First" | "Take" | "Scan" | "Last"),
        _ => false,
    }
}

/// A model or entity name to the table the schema has for it (`Order` ->
/// `orders` or `order`).
fn table_for(name: &str, schema: &View) -> Option<String> {
    let s = snake_case(name);
    [format!("{s}s"), s.clone(), format!("{s}es")]
        .into_iter()
        .find(|t| schema.knows(t))
}

fn str_arg(m: &FileModel, c: &crate::model::Call, i: usize) -> Option<String> {
    match c.args.get(i)?.kind {
        ArgKind::Str(li) => Some(m.literals[li].value.clone()),
        _ => None,
    }
}

/// The table, equality columns and other constrained columns of an ORM chain that reads rows.
fn orm_lookup(
    m: &FileModel,
    chain: &[usize],
    schema: &View,
) -> Option<(String, Vec<String>, Vec<String>)> {
    static OTHER: OnceLock<Regex> = OnceLock::new();
    let other_re = OTHER.get_or_init(|| {
        Regex::new(r"(?:(\w+)::)?(\w+)\.(?:is_null|is_not_null|gt|lt|ge|le|ne|like|ilike|between|is_in|is_not_in|gte|lte)\(").unwrap()
    });
    let mut other: Vec<String> = Vec::new();
    for &x in chain {
        for a in &m.calls[x].args {
            other.extend(other_re.captures_iter(&a.text).map(|c| snake_case(&c[2])));
        }
    }
    static DIESEL: OnceLock<Regex> = OnceLock::new();
    static SEA: OnceLock<Regex> = OnceLock::new();
    static PY: OnceLock<Regex> = OnceLock::new();
    static FRAG: OnceLock<Regex> = OnceLock::new();
    let diesel = DIESEL.get_or_init(|| Regex::new(r"^(?:(\w+)::)?(\w+)\.eq(?:_any)?\(").unwrap());
    let sea = SEA.get_or_init(|| Regex::new(r"Column::(\w+)\.(?:eq|is_in)\(").unwrap());
    let py = PY.get_or_init(|| Regex::new(r"^(\w+)\.(\w+)\s*==").unwrap());
    let frag = FRAG.get_or_init(|| {
        Regex::new(r"(?i)(?:^|\band\s+)[`\x22]?(\w+)[`\x22]?\s*(?:=|\bin\b)\s*(?:\?|\$\d|\()")
            .unwrap()
    });
    let calls: Vec<&crate::model::Call> = chain.iter().map(|&x| &m.calls[x]).collect();
    let first = calls[0];
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    let mut cols = Vec::new();
    match m.lang {
        crate::model::Lang::Rust => {
            // sea-orm: `post::Entity::find().filter(post::Column::AuthorId.eq(id))`
            if first.kind == CallKind::Path && first.name == "find" && first.path.len() >= 2 {
                let p = &first.path;
                let module = if p[p.len() - 2] == "Entity" && p.len() >= 3 {
                    &p[p.len() - 3]
                } else {
                    &p[p.len() - 2]
                };
                let table = [snake_case(module), format!("{}s", snake_case(module))]
                    .into_iter()
                    .find(|t| schema.knows(t))?;
                for c in calls.iter().filter(|c| c.name == "filter") {
                    for a in &c.args {
                        cols.extend(sea.captures_iter(&a.text).map(|x| snake_case(&x[1])));
                    }
                }
                return Some((table, dedup(cols), other));
            }
            // diesel: `users::table.filter(users::email.eq(e)).first(conn)`
            if first.kind != CallKind::Method || !names.contains(&"filter") {
                return None;
            }
            let root = first.root.trim_end_matches("::table");
            if root.contains(['(', '.', ' ']) || !schema.knows(root) {
                return None;
            }
            if !matches!(
                *names.last()?,
                "load" | "get_result" | "get_results" | "first" | "load_async"
            ) {
                return None;
            }
            for c in calls.iter().filter(|c| c.name == "filter") {
                for a in &c.args {
                    // Conjunctions: `a.eq(x).and(b.eq(y))`.
                    for part in a.text.split(".and(") {
                        if let Some(x) = diesel.captures(part) {
                            if x.get(1).is_none_or(|q| q.as_str() == root) {
                                cols.push(x[2].to_string());
                            }
                        }
                    }
                }
            }
            Some((root.to_string(), dedup(cols), other))
        }
        crate::model::Lang::Python => {
            // SQLAlchemy: `session.query(Order).filter_by(customer_id=x).all()`,
            // `.filter(Order.customer_id == x)`; `select(Order).where(..)`.
            let q = calls
                .iter()
                .find(|c| matches!(c.name.as_str(), "query" | "select") && c.args.len() == 1)?;
            let model = q.args[0].text.as_str();
            if !model.chars().next()?.is_ascii_uppercase()
                || !model.chars().all(|c| c.is_alphanumeric() || c == '_')
            {
                return None;
            }
            let table = table_for(model, schema)?;
            for c in &calls {
                match c.name.as_str() {
                    "filter_by" => {
                        cols.extend(c.args.iter().filter_map(|a| {
                            a.text.split_once('=').map(|(k, _)| k.trim().to_string())
                        }))
                    }
                    "filter" | "where" => {
                        for a in &c.args {
                            if let Some(x) = py.captures(&a.text) {
                                if &x[1] == model {
                                    cols.push(x[2].to_string());
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            Some((table, dedup(cols), other))
        }
        crate::model::Lang::TypeScript | crate::model::Lang::JavaScript => {
            // knex: `knex('orders').where('customer_id', id)` / `.where({ customer_id: id })`
            if first.kind != CallKind::Path || !matches!(first.name.as_str(), "knex" | "db") {
                return None;
            }
            let table = str_arg(m, first, 0)?;
            for c in calls.iter().filter(|c| c.name == "where") {
                if let Some(col) = str_arg(m, c, 0) {
                    cols.push(col);
                } else if let Some(obj) = c.args.first().map(|a| a.text.as_str()) {
                    if let Some(body) = obj.strip_prefix('{').and_then(|b| b.strip_suffix('}')) {
                        cols.extend(body.split(',').filter_map(|kv| {
                            kv.split_once(':')
                                .map(|(k, _)| k.trim().trim_matches(['\'', '"']).to_string())
                        }));
                    }
                }
            }
            Some((table, dedup(cols), other))
        }
        crate::model::Lang::Go => {
            // gorm: `db.Table("orders").Where("customer_id = ?", id).Find(&out)`,
            // `db.Model(&Order{}).Where(..)`.
            let table = calls.iter().find_map(|c| match c.name.as_str() {
                "Table" => str_arg(m, c, 0),
                "Model" => {
                    let t = c.args.first()?.text.trim_start_matches('&');
                    let name = t.strip_suffix("{}")?;
                    table_for(name.rsplit('.').next()?, schema)
                }
                _ => None,
            })?;
            for c in calls.iter().filter(|c| c.name == "Where") {
                if let Some(f) = str_arg(m, c, 0) {
                    cols.extend(frag.captures_iter(&f).map(|x| x[1].to_ascii_lowercase()));
                }
            }
            Some((table, dedup(cols), other))
        }
        _ => None,
    }
}

/// Tables the application writes outside migrations and tests, one a line:
/// SQL writes, and the tables or models named by ORM write calls.
fn written_tables(ctx: &ProgramCtx) -> String {
    let mut set: HashSet<String> = HashSet::new();
    for u in ctx.units {
        let m = u.model;
        if m.kind.test || m.kind.migration {
            continue;
        }
        for s in &m.sql {
            if let SqlFacts::Write { table, .. } = &s.facts {
                if !table.is_empty() && !s.call.is_some_and(|c| m.calls[c].in_test) {
                    set.insert(table.clone());
                }
            }
        }
        for (id, c) in m.calls.iter().enumerate() {
            if c.in_test || !is_write_call(&c.name) {
                continue;
            }
            // The table named at the write: `insert_into(users::table)`,
            // `knex('orders').insert(..)`, `db.Table("orders").Create(..)`,
            // `post::Entity::insert(..)`, `session.add(Order(..))`.
            for &x in &m.chain(id) {
                let cx = &m.calls[x];
                if let Some(t) = str_arg(m, cx, 0) {
                    if matches!(cx.name.as_str(), "knex" | "db" | "Table" | "from" | "into") {
                        set.insert(t.to_ascii_lowercase());
                    }
                }
            }
            if let Some(a) = c.args.first() {
                add_ident(&mut set, &a.text);
            }
            if c.kind == CallKind::Path && c.path.len() >= 2 {
                add_ident(&mut set, &c.path[..c.path.len() - 1].join("::"));
            }
        }
    }
    let mut v: Vec<String> = set.into_iter().collect();
    v.sort();
    v.join("\n")
}

fn add_ident(set: &mut HashSet<String>, text: &str) {
    // `users::table`, `&Order{..}`, `Order(..)`, `post::ActiveModel`.
    let t = text.trim_start_matches('&');
    let head: String = t
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let head = head
        .trim_end_matches("::table")
        .trim_end_matches("::ActiveModel")
        .trim_end_matches("::Entity");
    let last = head.rsplit("::").next().unwrap_or(head);
    if !last.is_empty() && last.len() < 64 {
        set.insert(snake_case(last));
    }
}

fn is_write_call(name: &str) -> bool {
    matches!(
        name,
        "insert_into"
            | "insert"
            | "insert_many"
            | "update"
            | "update_many"
            | "delete"
            | "delete_many"
            | "del"
            | "upsert"
            | "add"
            | "add_all"
            | "merge"
            | "Create"
            | "Save"
            | "Update"
            | "Updates"
            | "Delete"
            | "replace_into"
    )
}
