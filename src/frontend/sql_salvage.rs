//! What the schema needs from a statement sqlparser rejects, read from its
//! tokens: `CREATE TABLE` columns and keys, `ALTER TABLE` column and
//! constraint changes, `CREATE [UNIQUE] INDEX` columns (the column inside a
//! functional index too), `DROP`/`RENAME` of tables and indexes. Routine
//! bodies and `DO` blocks are recognised as bodies and not read; other
//! statements known to leave the tables' keys alone (`REINDEX`,
//! `CREATE STATISTICS`, `COMMENT ON`, ...) are recognised as such.

use super::sql::Dialect;
use super::sql_lex::{tokens, Kind, Tok};
use crate::model::{DdlChange, DdlFact, SqlFacts};
use crate::source::Pos;

/// What the reader made of a statement.
#[derive(Debug, PartialEq)]
pub enum Salvage {
    /// Facts as sqlparser would have given them.
    Facts(SqlFacts),
    /// A routine body or `DO` block: not SQL to check, and no schema change.
    Body,
    /// Not a form this reader knows.
    Unknown,
}

struct Reader<'a> {
    src: &'a str,
    t: Vec<Tok>,
    i: usize,
}

impl<'a> Reader<'a> {
    fn peek_is(&self, kw: &str) -> bool {
        self.t.get(self.i).is_some_and(|t| t.is(self.src, kw))
    }
    /// Consume the keywords `kws` if they come next, all of them.
    fn eat(&mut self, kws: &[&str]) -> bool {
        let ok = kws
            .iter()
            .enumerate()
            .all(|(n, k)| self.t.get(self.i + n).is_some_and(|t| t.is(self.src, k)));
        if ok {
            self.i += kws.len();
        }
        ok
    }
    fn eat_any(&mut self, kws: &[&str]) -> bool {
        if kws.iter().any(|k| self.peek_is(k)) {
            self.i += 1;
            return true;
        }
        false
    }
    fn punct(&self, c: char) -> bool {
        self.t.get(self.i).is_some_and(|t| t.is_punct(self.src, c))
    }
    /// A possibly qualified name (`s.t`, `"s"."t"`): its last part, unquoted, lower case.
    fn name(&mut self) -> Option<String> {
        let mut last = None;
        loop {
            let t = self.t.get(self.i)?;
            if !matches!(t.kind, Kind::Word | Kind::Quoted) {
                break;
            }
            last = Some(ident(t.text(self.src)));
            self.i += 1;
            if self.punct('.') {
                self.i += 1;
            } else {
                break;
            }
        }
        last
    }
    /// The tokens of the parenthesised group starting here, split at its
    /// top-level commas; the cursor moves past the group.
    fn group(&mut self) -> Option<Vec<Vec<Tok>>> {
        if !self.punct('(') {
            return None;
        }
        self.i += 1;
        let mut depth = 0usize;
        let mut items = vec![Vec::new()];
        while let Some(&t) = self.t.get(self.i) {
            self.i += 1;
            if t.is_punct(self.src, '(') {
                depth += 1;
            } else if t.is_punct(self.src, ')') {
                if depth == 0 {
                    return Some(items);
                }
                depth -= 1;
            } else if depth == 0 && t.is_punct(self.src, ',') {
                items.push(Vec::new());
                continue;
            }
            items.last_mut()?.push(t);
        }
        Some(items)
    }
    /// The rest of the statement split at top-level commas.
    fn rest_items(&mut self) -> Vec<Vec<Tok>> {
        let mut depth = 0usize;
        let mut items = vec![Vec::new()];
        while let Some(&t) = self.t.get(self.i) {
            self.i += 1;
            if t.is_punct(self.src, '(') {
                depth += 1;
            } else if t.is_punct(self.src, ')') {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && t.is_punct(self.src, ',') {
                items.push(Vec::new());
                continue;
            }
            if let Some(last) = items.last_mut() {
                last.push(t);
            }
        }
        items.retain(|i| !i.is_empty());
        items
    }
}

/// An identifier's text unquoted and lower case.
pub fn ident(s: &str) -> String {
    let s = s.trim();
    let inner = if s.len() >= 2
        && matches!(
            (s.as_bytes()[0], s.as_bytes()[s.len() - 1]),
            (b'"', b'"') | (b'`', b'`') | (b'[', b']')
        ) {
        &s[1..s.len() - 1]
    } else {
        s
    };
    inner.to_ascii_lowercase()
}

/// The source text a run of tokens covers.
fn span_text<'s>(src: &'s str, toks: &[Tok]) -> &'s str {
    match (toks.first(), toks.last()) {
        (Some(a), Some(b)) => src.get(a.start..b.end).unwrap_or(""),
        _ => "",
    }
}

fn fact(table: &str, change: DdlChange) -> DdlFact {
    DdlFact {
        table: table.to_string(),
        change,
        pos: Pos::default(),
    }
}

/// Read `stmt` (one statement) for what the schema needs.
pub fn salvage(stmt: &str, dialect: Dialect) -> Salvage {
    // Identifiers may be quoted with `[..]` (SQLite, SQL Server) whatever the
    // folder says: read brackets as quotes unless the text is MySQL.
    let t = tokens(
        stmt,
        if dialect == Dialect::Mysql {
            dialect
        } else {
            Dialect::Sqlite
        },
    );
    let mut r = Reader { src: stmt, t, i: 0 };
    if r.eat(&["do"]) {
        return Salvage::Body;
    }
    if r.eat(&["create"]) {
        r.eat(&["or", "replace"]);
        r.eat(&["or", "alter"]);
        // Modifiers before the object type.
        while r.eat_any(&[
            "global",
            "local",
            "temp",
            "temporary",
            "unlogged",
            "definer",
            "constraint",
            "trusted",
            "procedural",
            "materialized",
            "recursive",
            "aggregate",
        ]) {}
        if r.peek_is("unique") || r.peek_is("index") {
            return create_index(&mut r);
        }
        if r.eat(&["table"]) {
            return create_table(&mut r);
        }
        if ["function", "procedure", "language"]
            .iter()
            .any(|k| r.peek_is(k))
        {
            return Salvage::Body;
        }
        if r.eat(&["view"]) {
            r.eat(&["if", "not", "exists"]);
            return match r.name() {
                Some(n) => {
                    Salvage::Facts(SqlFacts::Ddl(vec![fact(&n, DdlChange::CreateView(None))]))
                }
                None => Salvage::Unknown,
            };
        }
        return if [
            "statistics",
            "trigger",
            "event",
            "type",
            "domain",
            "extension",
            "schema",
            "sequence",
            "policy",
            "publication",
            "subscription",
            "rule",
            "role",
            "user",
            "cast",
            "operator",
            "collation",
            "server",
            "database",
            "tablespace",
            "text",
            "conversion",
        ]
        .iter()
        .any(|k| r.peek_is(k))
        {
            Salvage::Facts(SqlFacts::Ddl(Vec::new()))
        } else {
            Salvage::Unknown
        };
    }
    if r.eat(&["alter", "table"]) {
        return alter_table(&mut r);
    }
    if r.eat(&["alter", "index"]) {
        r.eat(&["if", "exists"]);
        let Some(from) = r.name() else {
            return Salvage::Unknown;
        };
        if r.eat(&["rename", "to"]) {
            if let Some(to) = r.name() {
                return Salvage::Facts(SqlFacts::Ddl(vec![fact(
                    "",
                    DdlChange::RenameIndex { from, to },
                )]));
            }
        }
        return Salvage::Facts(SqlFacts::Ddl(Vec::new()));
    }
    if r.eat(&["rename", "table"]) {
        // MySQL: RENAME TABLE a TO b, c TO d.
        let mut facts = Vec::new();
        for item in r.rest_items() {
            let mut ir = Reader {
                src: stmt,
                t: item,
                i: 0,
            };
            let (Some(from), true) = (ir.name(), ir.eat(&["to"])) else {
                return Salvage::Unknown;
            };
            let Some(to) = ir.name() else {
                return Salvage::Unknown;
            };
            facts.push(fact(&from, DdlChange::RenameTable { to }));
        }
        return Salvage::Facts(SqlFacts::Ddl(facts));
    }
    if r.eat(&["drop"]) {
        r.eat(&["temporary"]);
        let index = r.eat(&["index"]);
        if !index && !r.eat(&["table"]) {
            return if [
                "function",
                "procedure",
                "trigger",
                "view",
                "materialized",
                "type",
                "domain",
                "extension",
                "schema",
                "sequence",
                "statistics",
                "policy",
                "rule",
                "aggregate",
                "event",
                "owned",
                "role",
                "user",
                "database",
                "server",
                "cast",
                "operator",
            ]
            .iter()
            .any(|k| r.peek_is(k))
            {
                Salvage::Facts(SqlFacts::Ddl(Vec::new()))
            } else {
                Salvage::Unknown
            };
        }
        r.eat(&["concurrently"]);
        r.eat(&["if", "exists"]);
        let mut facts = Vec::new();
        for item in r.rest_items() {
            let mut ir = Reader {
                src: stmt,
                t: item,
                i: 0,
            };
            if let Some(n) = ir.name() {
                facts.push(if index {
                    fact("", DdlChange::DropIndex(n))
                } else {
                    fact(&n, DdlChange::DropTable)
                });
            }
        }
        return Salvage::Facts(SqlFacts::Ddl(facts));
    }
    // Statements that change no table's keys.
    let ddl_like = ["comment", "alter", "reindex", "grant", "revoke", "security"];
    let other = [
        "analyze",
        "analyse",
        "vacuum",
        "cluster",
        "refresh",
        "set",
        "reset",
        "lock",
        "notify",
        "listen",
        "discard",
        "call",
        "pragma",
        "use",
        "truncate",
        "begin",
        "commit",
        "rollback",
        "savepoint",
        "release",
        "start",
        "end",
        "checkpoint",
        "load",
        "perform",
        "prepare",
        "execute",
        "deallocate",
        "flush",
        "optimize",
        "show",
        "explain",
    ];
    // Writes: the verb and table, as sqlparser's facts would say.
    if ["insert", "update", "delete", "replace", "upsert"]
        .iter()
        .any(|k| r.peek_is(k))
    {
        return Salvage::Facts(super::sql::write_facts(stmt));
    }
    if ddl_like.iter().any(|k| r.peek_is(k)) {
        return Salvage::Facts(SqlFacts::Ddl(Vec::new()));
    }
    if other.iter().any(|k| r.peek_is(k)) {
        return Salvage::Facts(SqlFacts::Other);
    }
    Salvage::Unknown
}

fn create_index(r: &mut Reader) -> Salvage {
    let unique = r.eat(&["unique"]);
    if !r.eat(&["index"]) {
        return Salvage::Unknown;
    }
    r.eat(&["concurrently"]);
    r.eat(&["if", "not", "exists"]);
    let name = if r.peek_is("on") {
        String::new()
    } else {
        r.name().unwrap_or_default()
    };
    if !r.eat(&["on"]) {
        return Salvage::Unknown;
    }
    r.eat(&["only"]);
    let Some(table) = r.name() else {
        return Salvage::Unknown;
    };
    if r.eat(&["using"]) {
        r.name();
    }
    let Some(items) = r.group() else {
        return Salvage::Unknown;
    };
    let src = r.src;
    let columns = items
        .iter()
        .map(|it| index_column(src, it))
        .collect::<Vec<_>>();
    Salvage::Facts(SqlFacts::Ddl(vec![fact(
        &table,
        DdlChange::CreateIndex {
            name,
            columns,
            unique,
        },
    )]))
}

/// [`index_column`] of an index element's text (from sqlparser's AST).
pub fn index_element_column(text: &str, dialect: Dialect) -> String {
    let toks = tokens(text, dialect);
    index_column(text, &toks)
}

/// The column an index element keys on. A plain column (with its ordering
/// or operator class) is itself; an expression of one column (`lower(email)`)
/// is that column, since a unique `f(x)` makes `x` unique too; any other
/// expression is kept as its text, which names no column.
fn index_column(src: &str, item: &[Tok]) -> String {
    let Some(first) = item.first() else {
        return String::new();
    };
    let is_name = |t: &Tok| matches!(t.kind, Kind::Word | Kind::Quoted);
    if is_name(first)
        && !item
            .get(1)
            .is_some_and(|t| t.is_punct(src, '(') || t.is_punct(src, '.'))
    {
        return ident(first.text(src));
    }
    // Names not followed by `(` (functions) and not keywords of an index element.
    let mut cols: Vec<String> = Vec::new();
    for (n, t) in item.iter().enumerate() {
        // Not a function name, a type after `::`, or an operator class.
        if !is_name(t)
            || item.get(n + 1).is_some_and(|x| x.is_punct(src, '('))
            || n > 0 && item[n - 1].is_punct(src, ':')
        {
            continue;
        }
        let w = ident(t.text(src));
        if w.ends_with("_ops") {
            continue;
        }
        let keyword = t.kind == Kind::Word
            && matches!(
                w.as_str(),
                "asc"
                    | "desc"
                    | "nulls"
                    | "first"
                    | "last"
                    | "collate"
                    | "as"
                    | "text"
                    | "varchar"
                    | "integer"
                    | "int"
                    | "bigint"
                    | "date"
                    | "timestamp"
                    | "timestamptz"
                    | "coalesce"
                    | "null"
                    | "true"
                    | "false"
                    | "and"
                    | "or"
                    | "not"
                    | "is"
                    | "case"
                    | "when"
                    | "then"
                    | "else"
                    | "end"
            );
        if !keyword && !cols.contains(&w) {
            cols.push(w);
        }
    }
    if cols.len() == 1 {
        cols.remove(0)
    } else {
        span_text(src, item).to_ascii_lowercase()
    }
}

fn create_table(r: &mut Reader) -> Salvage {
    r.eat(&["if", "not", "exists"]);
    let Some(table) = r.name() else {
        return Salvage::Unknown;
    };
    let src = r.src;
    let mut keys: Vec<Vec<String>> = Vec::new();
    let mut unread_index = false;
    if let Some(items) = r.group() {
        for it in items {
            let mut ir = Reader { src, t: it, i: 0 };
            if ir.eat(&["constraint"]) {
                ir.name();
            }
            let table_key = ir.eat(&["primary", "key"]) || ir.eat(&["unique"]);
            if table_key {
                ir.eat_any(&["key", "index"]);
                ir.eat(&["nulls", "not", "distinct"]);
                if !ir.punct('(') {
                    ir.name();
                }
                if let Some(cols) = ir.group() {
                    keys.push(
                        cols.iter()
                            .filter_map(|c| c.first().map(|t| ident(t.text(src))))
                            .collect(),
                    );
                }
                continue;
            }
            // An inline index whose columns are not read here: it may cover any column.
            if ["index", "key", "fulltext", "spatial"]
                .iter()
                .any(|k| ir.peek_is(k))
            {
                unread_index = true;
                continue;
            }
            if ["foreign", "check", "exclude", "like"]
                .iter()
                .any(|k| ir.peek_is(k))
            {
                continue;
            }
            // A column: its name, then its type and constraints (REFERENCES ends what counts).
            let Some(col) = ir.name() else { continue };
            let mut unique = false;
            while let Some(t) = ir.t.get(ir.i) {
                if t.is(src, "references") {
                    break;
                }
                if t.is(src, "unique")
                    || t.is(src, "primary") && ir.t.get(ir.i + 1).is_some_and(|n| n.is(src, "key"))
                {
                    unique = true;
                }
                ir.i += 1;
            }
            if unique {
                keys.push(vec![col]);
            }
        }
    }
    let mut facts = vec![fact(&table, DdlChange::CreateTable { keys })];
    if unread_index {
        facts.push(fact(
            &table,
            DdlChange::CreateIndex {
                name: String::new(),
                columns: vec!["*".into()],
                unique: false,
            },
        ));
    }
    Salvage::Facts(SqlFacts::Ddl(facts))
}

fn alter_table(r: &mut Reader) -> Salvage {
    r.eat(&["if", "exists"]);
    r.eat(&["only"]);
    let Some(table) = r.name() else {
        return Salvage::Unknown;
    };
    if r.punct('*') {
        r.i += 1;
    }
    let src = r.src;
    let mut facts = Vec::new();
    for item in r.rest_items() {
        let mut ir = Reader {
            src,
            t: item.clone(),
            i: 0,
        };
        if ir.eat(&["rename", "constraint"]) {
            if let (Some(from), true) = (ir.name(), ir.eat(&["to"])) {
                if let Some(to) = ir.name() {
                    facts.push(fact(&table, DdlChange::RenameIndex { from, to }));
                }
            }
            continue;
        }
        // `ADD CONSTRAINT c NOT NULL col` (PostgreSQL 18): no key.
        let text = span_text(src, &item);
        if let Some(change) = super::sql::alter_change(text) {
            facts.push(fact(&table, change));
        }
    }
    Salvage::Facts(SqlFacts::Ddl(facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(sql: &str) -> Vec<(String, DdlChange)> {
        match salvage(sql, Dialect::Postgres) {
            Salvage::Facts(SqlFacts::Ddl(d)) => {
                d.into_iter().map(|f| (f.table, f.change)).collect()
            }
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn reads_tables_indexes_and_alters_sqlparser_rejects() {
        assert_eq!(
            changes("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_person_lower ON ONLY public.person USING btree (lower(actor_id::text) text_pattern_ops)"),
            vec![("person".into(), DdlChange::CreateIndex { name: "idx_person_lower".into(), columns: vec!["actor_id".into()], unique: true })]
        );
        assert_eq!(
            changes("CREATE TABLE `users` (`id` INT NOT NULL AUTO_INCREMENT, `email` VARCHAR(255) NOT NULL, `org` INT REFERENCES orgs (id) UNIQUE, PRIMARY KEY (`id`), UNIQUE KEY `u_email` (`email`)) ENGINE=InnoDB"),
            vec![("users".into(), DdlChange::CreateTable { keys: vec![vec!["id".into()], vec!["email".into()]] })]
        );
        assert_eq!(
            changes("ALTER TABLE ONLY post ALTER COLUMN body SET STORAGE EXTERNAL, ALTER COLUMN score SET STATISTICS 1000, ADD CONSTRAINT post_url_key UNIQUE (url) NOT VALID, RENAME CONSTRAINT a TO b"),
            vec![
                ("post".into(), DdlChange::AlterColumn("body".into())),
                ("post".into(), DdlChange::AlterColumn("score".into())),
                ("post".into(), DdlChange::AddUnique(vec!["url".into()])),
                ("post".into(), DdlChange::RenameIndex { from: "a".into(), to: "b".into() }),
            ]
        );
        assert_eq!(
            changes("DROP INDEX CONCURRENTLY IF EXISTS a, s.b CASCADE"),
            vec![
                ("".into(), DdlChange::DropIndex("a".into())),
                ("".into(), DdlChange::DropIndex("b".into()))
            ]
        );
        assert_eq!(
            changes("ALTER INDEX IF EXISTS user__pkey RENAME TO person__pkey"),
            vec![(
                "".into(),
                DdlChange::RenameIndex {
                    from: "user__pkey".into(),
                    to: "person__pkey".into()
                }
            )]
        );
        assert_eq!(
            changes("CREATE UNIQUE INDEX [slug] ON [status_page]([slug])"),
            vec![(
                "status_page".into(),
                DdlChange::CreateIndex {
                    name: "slug".into(),
                    columns: vec!["slug".into()],
                    unique: true
                }
            )]
        );
        assert!(changes("REINDEX TABLE post").is_empty());
        assert!(changes("CREATE STATISTICS s ON a, b FROM t").is_empty());
        assert!(changes("COMMENT ON CONSTRAINT c ON t IS 'x'").is_empty());
    }

    #[test]
    fn every_prefix_of_tricky_sql_is_read_without_panic() {
        let src = "CREATE UNIQUE INDEX \"é\" ON ONLY s.\"t\" USING gin ((a->>'k'), lower(b::text) text_ops) WHERE c; \
                   ALTER TABLE `x` RENAME CONSTRAINT a TO b, ADD CONSTRAINT c NOT NULL d; DO $q$ x $q$; \
                   CREATE TABLE [t] (a int PRIMARY KEY, UNIQUE (a, \"b\")); RENAME TABLE a TO b, c TO d; \
                   DROP INDEX CONCURRENTLY IF EXISTS a, b; /* /* */ */ E'\\'' $1 ? :x";
        for d in [
            Dialect::Postgres,
            Dialect::Mysql,
            Dialect::Sqlite,
            Dialect::Generic,
        ] {
            for (i, _) in src.char_indices() {
                let prefix = &src[..i];
                for (a, b) in crate::frontend::sql_lex::split(prefix, d) {
                    let _ = salvage(&prefix[a..b], d);
                }
            }
        }
    }

    #[test]
    fn bodies_and_unknown_forms() {
        assert_eq!(
            salvage("DO $$ BEGIN PERFORM 1; END $$", Dialect::Postgres),
            Salvage::Body
        );
        assert_eq!(
            salvage(
                "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql COST 1",
                Dialect::Postgres
            ),
            Salvage::Body
        );
        assert_eq!(
            salvage("FROBNICATE the database", Dialect::Postgres),
            Salvage::Unknown
        );
        assert_eq!(salvage("", Dialect::Postgres), Salvage::Unknown);
        // A SELECT sqlparser rejects is not salvaged: its bounds are unknown.
        assert_eq!(
            salvage("SELECT * FROM t WHERE a ~~~ b", Dialect::Postgres),
            Salvage::Unknown
        );
        assert_eq!(
            salvage("PREPARE stmt FROM @x", Dialect::Mysql),
            Salvage::Facts(SqlFacts::Other)
        );
        assert_eq!(
            salvage("UPDATE `website_event` SET a = 1", Dialect::Postgres),
            Salvage::Facts(SqlFacts::Write {
                verb: "UPDATE".into(),
                table: "website_event".into()
            })
        );
    }
}
