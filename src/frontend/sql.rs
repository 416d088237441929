//! SQL with `sqlparser`: `.sql` files and SQL embedded in code.
//!
//! A file is split into statements first ([`sql_lex`](super::sql_lex): quotes,
//! comments, dollar-quoted and `BEGIN .. END` bodies respected) and each
//! statement is parsed on its own. What sqlparser rejects is read by
//! [`sql_salvage`](super::sql_salvage) for what the schema needs and counted
//! as skipped: one statement never hides the rest of a file, and never makes
//! the file a blocker.

use regex::Regex;
use sqlparser::ast::{
    BinaryOperator, Expr, GroupByExpr, InTarget, JoinConstraint, JoinOperator, LimitClause,
    ObjectType, OrderByKind, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
};
use sqlparser::dialect::{
    Dialect as SqlDialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect,
};
use sqlparser::parser::Parser;
use std::sync::OnceLock;

use crate::budget::Budget;
use crate::model::{
    DdlChange, DdlFact, FileModel, JoinFacts, Lang, PathKind, SelectFacts, SkipKind, SkippedSql,
    SqlFacts, SqlStmt,
};
use crate::source::{LineIndex, Pos, Span};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    #[default]
    Postgres,
    Mysql,
    Sqlite,
    Generic,
}

impl Dialect {
    fn parser(self) -> Box<dyn SqlDialect> {
        match self {
            Dialect::Postgres => Box::new(PostgreSqlDialect {}),
            Dialect::Mysql => Box::new(MySqlDialect {}),
            Dialect::Sqlite => Box::new(SQLiteDialect {}),
            Dialect::Generic => Box::new(GenericDialect {}),
        }
    }
}

/// How a statement was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    /// sqlparser parsed it.
    Parsed,
    /// sqlparser rejected it (its message) and the token reader recognised its form.
    Salvaged(String),
    /// A routine body or `DO` block, skipped as a body.
    Body,
    /// Neither sqlparser nor the token reader knows it (the message is in `facts`).
    Rejected,
}

/// One statement of a SQL text: where it is and what it does.
pub struct ParsedStmt {
    /// Byte range in the text, from the first non-blank character.
    pub start: usize,
    pub end: usize,
    /// The statement's facts (from sqlparser, or salvaged), or why it was not read.
    pub facts: Result<SqlFacts, String>,
    /// How the facts were obtained.
    pub read: Read,
    pub text: String,
    /// A sqlc `-- name: X :one` annotation before it.
    pub one_row: bool,
}

/// Split SQL text into statements at `;` (or a MySQL `DELIMITER`), outside
/// quotes, comments and bodies: byte ranges from each statement's first token.
pub fn split_statements(text: &str, dialect: Dialect) -> Vec<(usize, usize)> {
    super::sql_lex::split(text, dialect)
}

fn sqlc_annotation() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?im)^\s*--\s*name:\s*\w+\s+:(\w+)").unwrap())
}

/// Parse every statement of `text`.
pub fn analyze(text: &str, dialect: Dialect) -> Vec<ParsedStmt> {
    analyze_within(text, dialect, &Budget::unlimited())
}

/// [`analyze`], stopping between statements once `budget` is spent.
pub fn analyze_within(text: &str, dialect: Dialect, budget: &Budget) -> Vec<ParsedStmt> {
    let d = dialect.parser();
    let mut prev_end = 0;
    let mut out = Vec::new();
    for (s, e) in split_statements(text, dialect) {
        if budget.spent_now() {
            break;
        }
        let stmt = &text[s..e];
        let before = &text[prev_end..s];
        prev_end = e;
        let one_row = sqlc_annotation()
            .captures_iter(before)
            .last()
            .map(|c| c[1].eq_ignore_ascii_case("one"))
            .unwrap_or(false);
        let (facts, read) = read_statement(stmt, dialect, &*d);
        out.push(ParsedStmt {
            start: s,
            end: e,
            facts,
            read,
            text: normalise(stmt),
            one_row,
        });
    }
    out
}

/// One statement: sqlparser first, the token reader for what it rejects.
/// Routine bodies and `DO` blocks are not given to sqlparser at all.
fn read_statement(
    stmt: &str,
    dialect: Dialect,
    d: &dyn SqlDialect,
) -> (Result<SqlFacts, String>, Read) {
    use super::sql_salvage::{salvage, Salvage};
    if is_body(stmt, dialect) {
        return (Ok(SqlFacts::Other), Read::Body);
    }
    match Parser::parse_sql(d, &pyformat_to_numbered(stmt, dialect)) {
        Ok(stmts) => (
            Ok(stmts
                .first()
                .map(statement_facts)
                .unwrap_or(SqlFacts::Other)),
            Read::Parsed,
        ),
        Err(err) => {
            // Parser errors quote the offending token, which may be a password.
            let msg = crate::secrets::redact_quoted(&err.to_string());
            match salvage(stmt, dialect) {
                Salvage::Facts(f) => (Ok(f), Read::Salvaged(msg)),
                Salvage::Body => (Ok(SqlFacts::Other), Read::Body),
                Salvage::Unknown => (Err(msg), Read::Rejected),
            }
        }
    }
}

/// `DO ..` blocks and `CREATE [OR REPLACE] FUNCTION|PROCEDURE` with a body.
fn is_body(stmt: &str, dialect: Dialect) -> bool {
    // The head is enough: at most the first 200 bytes.
    let mut cut = stmt.len().min(200);
    while !stmt.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &stmt[..cut];
    let toks = super::sql_lex::tokens(head, dialect);
    let w = |i: usize, k: &str| toks.get(i).is_some_and(|t| t.is(head, k));
    if w(0, "do") {
        return true;
    }
    if !w(0, "create") {
        return false;
    }
    let mut i = 1;
    if w(1, "or") && (w(2, "replace") || w(2, "alter")) {
        i = 3;
    }
    if w(i, "definer") {
        // MySQL: CREATE DEFINER=`u`@`h` PROCEDURE
        while i < toks.len() && !w(i, "function") && !w(i, "procedure") && i < 12 {
            i += 1;
        }
    }
    w(i, "function") || w(i, "procedure")
}

/// Python drivers (psycopg, MySQLdb, pymysql) write placeholders as `%s` or
/// `%(name)s`, which no SQL grammar accepts: read them as `$1`.
/// So are the `?` of knex, JDBC-style and MySQL drivers where PostgreSQL
/// reads `?` as an operator: in a value position (`= ?`, `IN (?, ?)`, `LIMIT ?`).
fn pyformat_to_numbered(stmt: &str, dialect: Dialect) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let mut out = Cow::Borrowed(stmt);
    if stmt.contains('%') {
        static RE: OnceLock<Regex> = OnceLock::new();
        let re = RE.get_or_init(|| Regex::new(r"%\(\w+\)s|%s\b").unwrap());
        if let Cow::Owned(s) = re.replace_all(&out, "$$1") {
            out = Cow::Owned(s);
        }
    }
    if stmt.contains('?') && matches!(dialect, Dialect::Postgres | Dialect::Generic) {
        static RE: OnceLock<Regex> = OnceLock::new();
        let re = RE.get_or_init(|| {
            Regex::new(r"(?i)(=|<>|!=|<=|>=|<|>|\bLIKE|\bIN\s*\(|\bLIMIT|\bOFFSET|\bVALUES\s*\(|,|\bTHEN|\bELSE|\bAND|\bBETWEEN)(\s*)\?([\s,);]|$)")
                .unwrap()
        });
        // Twice: `(?, ?)` overlaps at the comma.
        for _ in 0..2 {
            if let Cow::Owned(s) = re.replace_all(&out, "$1$2$$1$3") {
                out = Cow::Owned(s);
            }
        }
    }
    out
}

/// Whitespace-folded text, at most 200 characters, for messages and fingerprints.
pub fn normalise(sql: &str) -> String {
    let mut s = String::new();
    for w in sql.split_whitespace() {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(w);
        if s.len() > 200 {
            let mut cut = 200;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            break;
        }
    }
    s
}

/// Does the text look like SQL (so a string literal is worth parsing)?
pub fn looks_like_sql(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?is)^\s*(\(\s*)?(select\s.+\sfrom\s|select\s|with\s+\w+.*\s+as\s*\(|insert\s+into\s|update\s+\S+\s+set\s|delete\s+from\s|create\s|alter\s|drop\s)").unwrap()
    })
    .is_match(s)
}

fn last_ident(name: &str) -> String {
    let n = name.rsplit('.').next().unwrap_or(name);
    unquote(n)
}

fn unquote(s: &str) -> String {
    s.trim()
        .trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
        .to_ascii_lowercase()
}

fn statement_facts(st: &Statement) -> SqlFacts {
    match st {
        Statement::Query(q) => SqlFacts::Select(query_facts(q)),
        Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
            write_facts(&st.to_string())
        }
        Statement::CreateTable(ct) => {
            let table = last_ident(&ct.name.to_string());
            let mut keys = Vec::new();
            for c in &ct.columns {
                let def = c.to_string().to_ascii_uppercase();
                let def = def.split("REFERENCES").next().unwrap_or("");
                if def.contains("PRIMARY KEY") || def.contains(" UNIQUE") {
                    keys.push(vec![unquote(&c.name.value)]);
                }
            }
            // MySQL's inline `KEY name (cols)` / `INDEX name (cols)`: indexes that are not unique.
            let mut indexes = Vec::new();
            for tc in &ct.constraints {
                let text = tc.to_string();
                if let Some(cols) = key_columns(&text) {
                    keys.push(cols);
                } else if let Some(cols) = index_columns(&text) {
                    indexes.push(cols);
                }
            }
            let mut facts = vec![DdlFact {
                table: table.clone(),
                change: DdlChange::CreateTable { keys },
                pos: Pos::default(),
            }];
            facts.extend(indexes.into_iter().map(|columns| DdlFact {
                table: table.clone(),
                change: DdlChange::CreateIndex {
                    name: String::new(),
                    columns,
                    unique: false,
                },
                pos: Pos::default(),
            }));
            SqlFacts::Ddl(facts)
        }
        Statement::AlterTable(at) => {
            let table = last_ident(&at.name.to_string());
            let facts = at
                .operations
                .iter()
                .flat_map(|op| {
                    let text = op.to_string();
                    let change = alter_change(&text);
                    // `ADD COLUMN url TEXT UNIQUE`: the column is a key too.
                    let key = match &change {
                        Some(DdlChange::AddColumn(c)) => {
                            let def = text.to_ascii_uppercase();
                            let def = def.split("REFERENCES").next().unwrap_or("");
                            (def.contains(" UNIQUE") || def.contains("PRIMARY KEY"))
                                .then(|| DdlChange::AddUnique(vec![c.clone()]))
                        }
                        _ => None,
                    };
                    change.into_iter().chain(key)
                })
                .map(|change| DdlFact {
                    table: table.clone(),
                    change,
                    pos: Pos::default(),
                })
                .collect();
            SqlFacts::Ddl(facts)
        }
        Statement::CreateIndex(ci) => {
            let columns = ci
                .columns
                .iter()
                .map(|c| {
                    super::sql_salvage::index_element_column(
                        &c.column.expr.to_string(),
                        Dialect::Generic,
                    )
                })
                .collect();
            SqlFacts::Ddl(vec![DdlFact {
                table: last_ident(&ci.table_name.to_string()),
                change: DdlChange::CreateIndex {
                    name: ci
                        .name
                        .as_ref()
                        .map(|n| last_ident(&n.to_string()))
                        .unwrap_or_default(),
                    columns,
                    unique: ci.unique,
                },
                pos: Pos::default(),
            }])
        }
        Statement::Drop {
            object_type, names, ..
        } => {
            let facts = names
                .iter()
                .filter_map(|n| {
                    let name = last_ident(&n.to_string());
                    match object_type {
                        ObjectType::Table => Some(DdlFact {
                            table: name,
                            change: DdlChange::DropTable,
                            pos: Pos::default(),
                        }),
                        ObjectType::Index => Some(DdlFact {
                            table: String::new(),
                            change: DdlChange::DropIndex(name),
                            pos: Pos::default(),
                        }),
                        _ => None,
                    }
                })
                .collect();
            SqlFacts::Ddl(facts)
        }
        Statement::CreateView(cv) => SqlFacts::Ddl(vec![DdlFact {
            table: last_ident(&cv.name.to_string()),
            change: DdlChange::CreateView(Some(Box::new(query_facts(&cv.query)))),
            pos: Pos::default(),
        }]),
        _ => {
            let t = st.to_string();
            let head = t.trim_start().to_ascii_uppercase();
            if head.starts_with("CREATE") || head.starts_with("ALTER") || head.starts_with("DROP") {
                SqlFacts::Ddl(Vec::new())
            } else {
                SqlFacts::Other
            }
        }
    }
}

pub(crate) fn write_facts(text: &str) -> SqlFacts {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)^\s*(?:WITH\s.*?\)\s*)?(INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM|DELETE)\s+([\w.`\x22]+)").unwrap()
    });
    match re.captures(text) {
        Some(c) => SqlFacts::Write {
            verb: c[1]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase(),
            table: last_ident(&c[2]),
        },
        None => SqlFacts::Write {
            verb: "WRITE".into(),
            table: String::new(),
        },
    }
}

fn key_columns(constraint: &str) -> Option<Vec<String>> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)(PRIMARY\s+KEY|UNIQUE)(?:\s+(?:KEY|INDEX|NULLS\s+NOT\s+DISTINCT))?\s*(?:[\w`\x22]+\s*)?\(([^)]*)\)").unwrap()
    });
    let c = re.captures(constraint)?;
    Some(
        c[2].split(',')
            .map(unquote)
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// `INDEX name (a, b)` / `KEY name (a)` (a table constraint that is not unique).
fn index_columns(constraint: &str) -> Option<Vec<String>> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)^\s*(?:INDEX|KEY)\s*(?:[\w`\x22]+\s*)?\(([^)]*)\)").unwrap()
    });
    let c = re.captures(constraint)?;
    let cols: Vec<String> = c[1]
        .split(',')
        .map(|s| unquote(s.split_whitespace().next().unwrap_or("")))
        .filter(|s| !s.is_empty())
        .collect();
    (!cols.is_empty()).then_some(cols)
}

/// `s` without its leading keyword `kw` (any case) and the word boundary after it.
fn strip_prefix_ci<'a>(s: &'a str, kw: &str) -> Option<&'a str> {
    let head = s.get(..kw.len())?;
    let rest = &s[kw.len()..];
    (head.eq_ignore_ascii_case(kw) && rest.starts_with(|c: char| c.is_whitespace() || c == '('))
        .then_some(rest)
}

pub(crate) fn alter_change(op: &str) -> Option<DdlChange> {
    static RE: OnceLock<[Regex; 7]> = OnceLock::new();
    let [add_key, add_col, drop_con, drop_col, ren_col, ren_tab, alter_col] =
        RE.get_or_init(|| {
            [
                Regex::new(r"(?i)^ADD\s+(?:CONSTRAINT\s+\S+\s+)?(?:PRIMARY\s+KEY|UNIQUE)").unwrap(),
                Regex::new(r"(?i)^ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?([\w`\x22]+)")
                    .unwrap(),
                Regex::new(r"(?i)^DROP\s+CONSTRAINT\s+(?:IF\s+EXISTS\s+)?([\w`\x22]+)").unwrap(),
                Regex::new(r"(?i)^DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?([\w`\x22]+)").unwrap(),
                Regex::new(r"(?i)^RENAME\s+(?:COLUMN\s+)?([\w`\x22]+)\s+TO\s+([\w`\x22]+)")
                    .unwrap(),
                Regex::new(r"(?i)^RENAME\s+TO\s+([\w`\x22.]+)").unwrap(),
                Regex::new(r"(?i)^(?:ALTER|MODIFY|CHANGE)\s+(?:COLUMN\s+)?([\w`\x22]+)").unwrap(),
            ]
        });
    let op = op.trim();
    if add_key.is_match(op) {
        return key_columns(op).map(DdlChange::AddUnique);
    }
    if let Some(c) = ren_tab.captures(op) {
        return Some(DdlChange::RenameTable {
            to: last_ident(&c[1]),
        });
    }
    if let Some(c) = ren_col.captures(op) {
        return Some(DdlChange::RenameColumn {
            from: unquote(&c[1]),
            to: unquote(&c[2]),
        });
    }
    if let Some(c) = drop_con.captures(op) {
        return Some(DdlChange::DropConstraint(unquote(&c[1])));
    }
    if let Some(c) = drop_col.captures(op) {
        return Some(DdlChange::DropColumn(unquote(&c[1])));
    }
    if let Some(rest) = strip_prefix_ci(op, "ADD") {
        let rest = rest.trim_start();
        if let Some(named) = strip_prefix_ci(rest, "CONSTRAINT") {
            let name = named.split_whitespace().next().unwrap_or_default();
            return Some(DdlChange::AddConstraint(unquote(name)));
        }
        if ["CHECK", "FOREIGN", "EXCLUDE"]
            .iter()
            .any(|k| strip_prefix_ci(rest, k).is_some())
        {
            return Some(DdlChange::AddConstraint(String::new()));
        }
    }
    if let Some(rest) = strip_prefix_ci(op, "ADD") {
        // MySQL `ADD INDEX|KEY|FULLTEXT|SPATIAL name (..)`: an index that is not unique.
        let rest = rest.trim_start();
        if ["INDEX", "KEY", "FULLTEXT", "SPATIAL"]
            .iter()
            .any(|k| strip_prefix_ci(rest, k).is_some())
        {
            return index_columns(rest).map(|columns| DdlChange::CreateIndex {
                name: rest
                    .split_whitespace()
                    .nth(1)
                    .filter(|n| !n.starts_with('('))
                    .map(unquote)
                    .unwrap_or_default(),
                columns,
                unique: false,
            });
        }
    }
    if let Some(c) = add_col.captures(op) {
        return Some(DdlChange::AddColumn(unquote(&c[1])));
    }
    if let Some(c) = alter_col.captures(op) {
        return Some(DdlChange::AlterColumn(unquote(&c[1])));
    }
    None
}

fn query_facts(q: &Query) -> SelectFacts {
    let mut f = set_expr_facts(&q.body);
    if let Some(w) = &q.with {
        f.ctes = w
            .cte_tables
            .iter()
            .map(|c| unquote(&c.alias.name.value))
            .collect();
        if !w.recursive {
            f.cte_facts = w.cte_tables.iter().map(|c| query_facts(&c.query)).collect();
        }
    }
    let limited = match &q.limit_clause {
        Some(LimitClause::LimitOffset { limit, .. }) => limit
            .as_ref()
            .map(|l| !l.to_string().eq_ignore_ascii_case("ALL"))
            .unwrap_or(false),
        Some(LimitClause::OffsetCommaLimit { .. }) => true,
        None => false,
    } || q.fetch.is_some();
    if let Some(ob) = &q.order_by {
        if let OrderByKind::Expressions(es) = &ob.kind {
            f.order_by = es.iter().map_while(|e| column(&e.expr)).collect();
        }
    }
    if limited {
        f.limited = true;
        for b in &mut f.branches {
            b.limited = true;
        }
    }
    f
}

fn set_expr_facts(body: &SetExpr) -> SelectFacts {
    match body {
        SetExpr::Select(s) => select_facts(s),
        SetExpr::Query(q) => query_facts(q),
        SetExpr::SetOperation { left, right, .. } => {
            let mut l = set_expr_facts(left);
            let r = set_expr_facts(right);
            l.branches.push(SelectFacts {
                branches: Vec::new(),
                ..r.clone()
            });
            l.branches.extend(r.branches);
            l
        }
        _ => SelectFacts {
            no_from: true,
            ..Default::default()
        },
    }
}

const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "bool_and",
    "bool_or",
    "every",
    "array_agg",
    "string_agg",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "group_concat",
    "stddev",
    "variance",
    "exists",
    "coalesce",
    "total",
];

fn is_aggregate(e: &Expr) -> bool {
    match e {
        Expr::Function(f) => {
            let n = last_ident(&f.name.to_string());
            if matches!(
                n.as_str(),
                "coalesce"
                    | "ifnull"
                    | "nvl"
                    | "isnull"
                    | "nullif"
                    | "round"
                    | "abs"
                    | "greatest"
                    | "least"
            ) {
                // COALESCE(SUM(x), 0), IFNULL(SUM(x), 0): still one row.
                let t = e.to_string().to_ascii_lowercase();
                return ["sum(", "count(", "max(", "min(", "avg("]
                    .iter()
                    .any(|a| t.contains(a));
            }
            AGGREGATES.contains(&n.as_str())
        }
        Expr::Exists { .. } => true,
        Expr::BinaryOp { left, right, .. } => is_aggregate(left) && is_aggregate(right),
        Expr::Nested(x) => is_aggregate(x),
        Expr::Cast { expr, .. } => is_aggregate(expr),
        Expr::Value(_) => true,
        _ => false,
    }
}

fn select_facts(s: &Select) -> SelectFacts {
    let mut f = SelectFacts {
        limited: s.top.is_some(),
        no_from: s.from.is_empty(),
        has_where: s.selection.is_some(),
        ..Default::default()
    };
    f.group_by = match &s.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(v, _) => !v.is_empty(),
    };
    f.aggregate_only = !f.group_by
        && !s.projection.is_empty()
        && s.projection.iter().all(|p| match p {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                is_aggregate(e)
            }
            _ => false,
        });
    for twj in &s.from {
        let (name, alias) = factor_name(&twj.relation);
        if f.tables.is_empty() {
            f.tables.push((name, alias));
        } else {
            // `FROM a, b`: an implicit join, its condition is in WHERE.
            f.joins.push(JoinFacts {
                table: name,
                alias,
                equated: Vec::new(),
            });
        }
        for j in &twj.joins {
            let (table, alias) = factor_name(&j.relation);
            let constraint = match &j.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::Semi(c)
                | JoinOperator::LeftSemi(c)
                | JoinOperator::Anti(c)
                | JoinOperator::LeftAnti(c) => Some(c),
                _ => None,
            };
            let mut jf = JoinFacts {
                table,
                alias,
                equated: Vec::new(),
            };
            match constraint {
                Some(JoinConstraint::On(e)) => {
                    let mut eqs = Vec::new();
                    column_equalities(e, &mut eqs);
                    for (a, b) in eqs {
                        for (q, c) in [a, b] {
                            if q.as_deref() == jf.alias.as_deref()
                                || q.as_deref() == Some(jf.table.as_str())
                            {
                                jf.equated.push(c);
                            }
                        }
                    }
                }
                Some(JoinConstraint::Using(cols)) => {
                    jf.equated
                        .extend(cols.iter().map(|c| last_ident(&c.to_string())));
                }
                _ => {}
            }
            f.joins.push(jf);
        }
    }
    if let Some(w) = &s.selection {
        let mut conj = Vec::new();
        conjuncts(w, &mut conj);
        for c in conj {
            match c {
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } => match (column(left), column(right)) {
                    (Some(a), Some(b)) => {
                        // An implicit join condition.
                        for jf in &mut f.joins {
                            for (q, col) in [&a, &b] {
                                if q.as_deref() == jf.alias.as_deref()
                                    || q.as_deref() == Some(jf.table.as_str())
                                {
                                    jf.equated.push(col.clone());
                                }
                            }
                        }
                    }
                    (Some(a), None) if is_value(right) => f.pinned.push(a),
                    (None, Some(b)) if is_value(left) => f.pinned.push(b),
                    _ => f.filtered.extend(columns_of(c)),
                },
                Expr::AnyOp {
                    left,
                    compare_op: BinaryOperator::Eq,
                    ..
                } => match column(left) {
                    Some(a) => f.pinned.push(a),
                    None => f.filtered.extend(columns_of(c)),
                },
                Expr::In {
                    expr,
                    target: InTarget::List(_),
                    negated: false,
                    ..
                } => match column(expr) {
                    Some(a) => f.pinned.push(a),
                    None => f.filtered.extend(columns_of(c)),
                },
                Expr::BinaryOp {
                    op:
                        BinaryOperator::Gt
                        | BinaryOperator::Lt
                        | BinaryOperator::GtEq
                        | BinaryOperator::LtEq,
                    ..
                } => {
                    f.cursor = true;
                    f.filtered.extend(columns_of(c));
                }
                _ => f.filtered.extend(columns_of(c)),
            }
        }
    }
    f.filtered.sort();
    f.filtered.dedup();
    f
}

fn factor_name(t: &TableFactor) -> (String, Option<String>) {
    match t {
        TableFactor::Table { name, alias, .. } => (
            {
                let full = name.to_string().to_ascii_lowercase();
                if is_catalog(&full) {
                    "(system catalog)".to_string()
                } else {
                    last_ident(&full)
                }
            },
            alias.as_ref().map(|a| unquote(&a.name.value)),
        ),
        TableFactor::Derived { alias, .. } => (
            "(subquery)".into(),
            alias.as_ref().map(|a| unquote(&a.name.value)),
        ),
        other => (
            format!(
                "({})",
                other.to_string().chars().take(40).collect::<String>()
            ),
            None,
        ),
    }
}

/// A database's own catalog (`information_schema.columns`, `pg_class`,
/// Oracle's `all_tab_cols`, DB2's `syscat.tables`, Phoenix's `system.catalog`,
/// Exasol's `exa_all_columns`): as large as the schema, not the data.
fn is_catalog(full: &str) -> bool {
    let parts: Vec<String> = full.split('.').map(unquote).collect();
    let schema = parts.len().checked_sub(2).map(|i| parts[i].as_str());
    let table = parts.last().map(String::as_str).unwrap_or("");
    matches!(
        schema,
        Some(
            "information_schema"
                | "pg_catalog"
                | "sys"
                | "system"
                | "syscat"
                | "sysibm"
                | "performance_schema"
                | "v_catalog"
        )
    ) || [
        "pg_",
        "sqlite_",
        "all_tab",
        "user_tab",
        "dba_",
        "exa_all_",
        "exa_user_",
        "v$",
    ]
    .iter()
    .any(|p| table.starts_with(p))
}

fn conjuncts<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        Expr::Nested(x) => conjuncts(x, out),
        _ => out.push(e),
    }
}

fn column_equalities(e: &Expr, out: &mut Vec<(Column, Column)>) {
    let mut conj = Vec::new();
    conjuncts(e, &mut conj);
    for c in conj {
        if let Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } = c
        {
            if let (Some(a), Some(b)) = (column(left), column(right)) {
                out.push((a, b));
            }
        }
    }
}

type Column = (Option<String>, String);

fn column(e: &Expr) -> Option<Column> {
    match e {
        Expr::Identifier(i) => Some((None, unquote(&i.value))),
        Expr::CompoundIdentifier(v) if v.len() >= 2 => Some((
            Some(unquote(&v[v.len() - 2].value)),
            unquote(&v[v.len() - 1].value),
        )),
        Expr::Nested(x) => column(x),
        _ => None,
    }
}

fn is_value(e: &Expr) -> bool {
    match e {
        Expr::Value(_) => true,
        Expr::Cast { expr, .. } | Expr::Nested(expr) => is_value(expr),
        Expr::Function(_) => true,
        Expr::UnaryOp { expr, .. } => is_value(expr),
        Expr::Subquery(_) => false,
        _ => column(e).is_none() && !e.to_string().contains(' '),
    }
}

fn columns_of(e: &Expr) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"(?:^|[\s(.])([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=|<|>|!|\sIN\s|\sLIKE\s|\sILIKE\s|\sIS\s|\sBETWEEN\s|@>)").unwrap());
    let s = e.to_string();
    re.captures_iter(&s)
        .map(|c| c[1].to_ascii_lowercase())
        .filter(|c| !matches!(c.as_str(), "and" | "or" | "not"))
        .collect()
}

/// Lower a `.sql` file: every statement with its facts and position.
pub fn lower_file(text: &str, kind: PathKind, dialect: Dialect, budget: &Budget) -> FileModel {
    let idx = LineIndex::new(text);
    let mut m = FileModel::new(Lang::Sql, kind);
    m.dialect = dialect;
    for st in analyze_within(text, dialect, budget) {
        let span = Span::new(idx.pos(st.start), idx.pos(st.end));
        let skip = |kind, message: &str| SkippedSql {
            line: span.start.line,
            kind,
            message: message.to_string(),
        };
        match &st.read {
            Read::Parsed => {}
            Read::Body => m.sql_skipped.push(skip(SkipKind::Body, "")),
            Read::Salvaged(msg) => m.sql_skipped.push(skip(SkipKind::Salvaged, msg)),
            Read::Rejected => m.sql_skipped.push(skip(
                SkipKind::Rejected,
                st.facts.as_ref().err().map(String::as_str).unwrap_or(""),
            )),
        }
        if let Ok(mut facts) = st.facts {
            if let SqlFacts::Ddl(ds) = &mut facts {
                for d in ds {
                    d.pos = span.start;
                }
            }
            m.sql.push(SqlStmt {
                span,
                facts,
                text: st.text,
                call: None,
                one_row: st.one_row,
            });
        }
    }
    if budget.ran_out() {
        m.parse_errors.push(budget.message());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(sql: &str) -> SelectFacts {
        match &analyze(sql, Dialect::Postgres)[0].facts {
            Ok(SqlFacts::Select(s)) => s.clone(),
            other => panic!("not a select: {:?}", other.as_ref().map(|_| ())),
        }
    }

    #[test]
    fn splits_statements_around_strings_comments_and_dollar_bodies() {
        let sql = "SELECT ';' FROM t; -- x;\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nSELECT $1";
        let parts = split_statements(sql, Dialect::Postgres);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(sql[parts[1].0..parts[1].1].starts_with("CREATE FUNCTION"));
    }

    #[test]
    fn select_facts_capture_bounds_and_keys() {
        let f = select("SELECT * FROM users WHERE id = $1");
        assert_eq!(f.pinned, vec![(None, "id".to_string())]);
        assert!(!f.limited);
        assert!(select("SELECT * FROM users LIMIT 10").limited);
        assert!(select("SELECT count(*) FROM users").aggregate_only);
        assert!(select("SELECT IFNULL(SUM(size), 0) FROM messages").aggregate_only);
        assert!(select("SELECT SUM(a) - SUM(b) FROM ledger").aggregate_only);
        assert!(!select("SELECT IFNULL(size, 0) FROM messages").aggregate_only);
        assert!(select("SELECT 1").no_from);
        let f = select("SELECT * FROM users u WHERE u.id = ANY($1)");
        assert_eq!(f.pinned, vec![(Some("u".into()), "id".to_string())]);
        let f = select("SELECT o.* FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1");
        assert_eq!(f.joins[0].equated, vec!["id".to_string()]);
        assert!(select("SELECT a FROM t UNION SELECT b FROM u LIMIT 5").limited);
        assert!(select("SELECT status, count(*) FROM t GROUP BY status").group_by);
    }

    #[test]
    fn ddl_facts_capture_keys_and_changes() {
        let st = analyze(
            "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, org_id INT REFERENCES orgs(id), UNIQUE (org_id, name));",
            Dialect::Postgres,
        );
        match &st[0].facts {
            Ok(SqlFacts::Ddl(d)) => match &d[0].change {
                DdlChange::CreateTable { keys } => assert_eq!(
                    keys,
                    &vec![
                        vec!["id".to_string()],
                        vec!["email".to_string()],
                        vec!["org_id".to_string(), "name".to_string()]
                    ]
                ),
                c => panic!("{c:?}"),
            },
            _ => panic!(),
        }
        let st = analyze(
            "ALTER TABLE users RENAME COLUMN email TO mail; ALTER TABLE users DROP CONSTRAINT users_email_key; ALTER TABLE users ADD COLUMN age INT; ALTER TABLE users RENAME TO people",
            Dialect::Postgres,
        );
        let changes: Vec<_> = st
            .iter()
            .map(|s| match &s.facts {
                Ok(SqlFacts::Ddl(d)) => d[0].change.clone(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(
            changes,
            vec![
                DdlChange::RenameColumn {
                    from: "email".into(),
                    to: "mail".into()
                },
                DdlChange::DropConstraint("users_email_key".into()),
                DdlChange::AddColumn("age".into()),
                DdlChange::RenameTable {
                    to: "people".into()
                },
            ]
        );
    }

    #[test]
    fn added_check_and_foreign_key_constraints_are_not_columns() {
        let changes: Vec<DdlChange> = analyze(
            "ALTER TABLE versions ADD CONSTRAINT versions_num_max CHECK (char_length(num) <= 150) NOT VALID;
             ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id);
             ALTER TABLE orders ADD COLUMN note TEXT;",
            Dialect::Postgres,
        )
        .into_iter()
        .flat_map(|s| match s.facts {
            Ok(SqlFacts::Ddl(d)) => d.into_iter().map(|d| d.change).collect(),
            _ => Vec::new(),
        })
        .collect();
        assert_eq!(
            changes,
            vec![
                DdlChange::AddConstraint("versions_num_max".into()),
                DdlChange::AddConstraint(String::new()),
                DdlChange::AddColumn("note".into()),
            ]
        );
    }

    #[test]
    fn question_mark_placeholders_parse_in_postgres() {
        let st = analyze(
            "SELECT a FROM t WHERE id = ? AND k IN (?, ?) LIMIT ?; SELECT a FROM t WHERE data ? 'key'",
            Dialect::Postgres,
        );
        assert!(
            matches!(&st[0].facts, Ok(SqlFacts::Select(s)) if s.limited && s.pinned.len() == 2)
        );
        assert!(st[1].facts.is_ok());
    }

    #[test]
    fn catalog_tables_are_not_data() {
        for sql in [
            "SELECT col.table_name FROM `information_schema`.`columns` col",
            "SELECT TABNAME FROM syscat.tables t",
            "SELECT OWNER FROM all_tab_cols",
            "SELECT TABLE_NAME FROM SYSTEM.CATALOG",
            "SELECT relname FROM pg_class",
        ] {
            let st = analyze(sql, Dialect::Generic);
            let Ok(SqlFacts::Select(s)) = &st[0].facts else {
                panic!("{sql}")
            };
            assert_eq!(s.tables[0].0, "(system catalog)", "{sql}");
        }
        assert_eq!(
            select("SELECT * FROM public.columns").tables[0].0,
            "columns"
        );
    }

    #[test]
    fn python_placeholders_parse() {
        let st = analyze(
            "UPDATE orders SET billed = true WHERE id = %s; SELECT a FROM t WHERE id = %(id)s",
            Dialect::Postgres,
        );
        assert!(
            matches!(&st[0].facts, Ok(SqlFacts::Write { verb, table }) if verb == "UPDATE" && table == "orders")
        );
        assert!(matches!(&st[1].facts, Ok(SqlFacts::Select(s)) if s.pinned.len() == 1));
    }

    #[test]
    fn bad_statement_is_skipped_and_the_rest_kept() {
        let m = lower_file(
            "SELECT * FROM a;\nTHIS IS NOT SQL;\nDO $$ BEGIN PERFORM 1; END $$;\nREINDEX TABLE a;\nSELECT * FROM b WHERE id = 1;",
            PathKind::default(),
            Dialect::Postgres,
            &Budget::unlimited(),
        );
        assert!(m.parse_errors.is_empty(), "{:?}", m.parse_errors);
        let kinds: Vec<(u32, SkipKind)> = m.sql_skipped.iter().map(|s| (s.line, s.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (2, SkipKind::Rejected),
                (3, SkipKind::Body),
                (4, SkipKind::Salvaged)
            ]
        );
        assert!(
            m.sql_skipped[0].message.contains("Expected"),
            "{:?}",
            m.sql_skipped
        );
        // The two SELECTs, the body and the salvaged REINDEX.
        assert_eq!(m.sql.len(), 4);
    }

    #[test]
    fn sqlc_one_annotation() {
        let st = analyze(
            "-- name: GetUser :one\nSELECT * FROM users WHERE email = $1;\n-- name: ListUsers :many\nSELECT * FROM users;",
            Dialect::Postgres,
        );
        assert!(st[0].one_row);
        assert!(!st[1].one_row);
    }
}
