//! The database schema as the migrations leave it: which columns of which
//! tables are unique. Built by replaying every DDL fact in migration order
//! (file path order: migration tools name files by timestamp or sequence).
//!
//! A project with one migration folder per database (`migrations/mysql`,
//! `migrations/postgresql`, `migrations/sqlite`) has one schema per backend:
//! DDL under a folder named for a database is replayed into that backend's
//! schema only, other DDL into every backend's. A query under such a folder
//! is checked against its own backend; any other query against all of them
//! (a key unique in any backend counts).

use std::collections::HashMap;

use crate::dialect::folder_dialect;
use crate::frontend::sql::Dialect;
use crate::model::{DdlChange, DdlFact};

#[derive(Clone, Debug, Default)]
struct Table {
    /// Unique keys (primary key included): (constraint or index name, columns).
    keys: Vec<(String, Vec<String>)>,
    /// Where the key was declared: (path, line).
    origin: Vec<(String, u32)>,
    /// Indexes that are not unique: (name, columns). A column `*` stands for
    /// an index whose columns were not read (it may serve any query).
    indexes: Vec<(String, Vec<String>)>,
    /// Created by DDL in a migration (not only restated by a `table!` macro).
    from_ddl: bool,
    /// Created twice without a drop in between (`CREATE TABLE IF NOT
    /// EXISTS` in two schema files, one per database): the leading columns
    /// of the earlier definitions' keys and indexes, any of which may hold.
    prior: Vec<String>,
    /// A view whose query returns one row (an aggregate, or a SELECT with
    /// no FROM: `SELECT NOW(), JSON_BUILD_OBJECT(..)`).
    one_row: bool,
}

/// One backend's tables.
#[derive(Debug, Default)]
pub struct Tables {
    tables: HashMap<String, Table>,
}

#[derive(Debug, Default)]
pub struct Schema {
    /// One per database a folder is named for (`None` when no folder is).
    backends: Vec<(Option<Dialect>, Tables)>,
}

/// The schemas one file's queries are checked against.
pub struct View<'a> {
    tables: Vec<&'a Tables>,
}

impl Schema {
    /// Replay DDL facts given as (path, fact) in migration order.
    pub fn build<'a>(facts: impl IntoIterator<Item = (&'a str, &'a DdlFact)>) -> Schema {
        let facts: Vec<(&str, &DdlFact, Option<Dialect>)> = facts
            .into_iter()
            .map(|(p, f)| (p, f, folder_dialect(p)))
            .collect();
        let mut dialects: Vec<Dialect> = facts.iter().filter_map(|x| x.2).collect();
        dialects.sort_by_key(|d| *d as u8);
        dialects.dedup();
        let mut s = Schema {
            backends: if dialects.is_empty() {
                vec![(None, Tables::default())]
            } else {
                dialects
                    .into_iter()
                    .map(|d| (Some(d), Tables::default()))
                    .collect()
            },
        };
        for (path, f, d) in facts {
            for (bd, t) in &mut s.backends {
                if d.is_none() || d == *bd {
                    t.apply(path, f);
                }
            }
        }
        s
    }

    /// The schemas for queries in `path`: its backend's when it sits under a
    /// folder named for one, all of them otherwise.
    pub fn view(&self, path: &str) -> View<'_> {
        let own = folder_dialect(path);
        let mine: Vec<&Tables> = self
            .backends
            .iter()
            .filter(|(d, _)| own.is_some() && *d == own)
            .map(|(_, t)| t)
            .collect();
        View {
            tables: if mine.is_empty() {
                self.backends.iter().map(|(_, t)| t).collect()
            } else {
                mine
            },
        }
    }

    fn all(&self) -> View<'_> {
        View {
            tables: self.backends.iter().map(|(_, t)| t).collect(),
        }
    }

    pub fn knows(&self, table: &str) -> bool {
        self.all().knows(table)
    }

    pub fn natural_key(&self, table: &str) -> Option<&[String]> {
        self.all().natural_key(table)
    }

    pub fn unique_key_within(
        &self,
        table: &str,
        pinned: &[String],
    ) -> Option<(Vec<String>, (String, u32))> {
        self.all().unique_key_within(table, pinned)
    }
}

impl<'a> View<'a> {
    pub fn knows(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t.knows(table))
    }

    /// Is `table` a view whose query returns a single row?
    pub fn one_row_view(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t.one_row(table))
    }

    /// Is a lookup on any of `cols` served by an index, primary key or
    /// unique constraint of `table` whose leading column is one of them?
    /// `None` when no schema declares the table with a key (a table whose
    /// DDL archlint did not read in full is not judged).
    pub fn leading_covered(&self, table: &str, cols: &[String]) -> Option<bool> {
        let known: Vec<&Table> = self
            .tables
            .iter()
            .filter_map(|t| t.tables.get(table))
            .filter(|t| !t.keys.is_empty() && t.from_ddl)
            .collect();
        if known.is_empty() {
            return None;
        }
        Some(known.iter().any(|t| {
            t.prior.iter().any(|c| c == "*" || cols.contains(c))
                || t.keys
                    .iter()
                    .chain(t.indexes.iter())
                    .any(|(_, k)| k.first().is_some_and(|c| c == "*" || cols.contains(c)))
        }))
    }

    /// A natural key of `table` in any of the schemas.
    pub fn natural_key(&self, table: &str) -> Option<&'a [String]> {
        self.tables.iter().find_map(|t| t.natural_key(table))
    }

    /// A unique key within `pinned` in any of the schemas.
    pub fn unique_key_within(
        &self,
        table: &str,
        pinned: &[String],
    ) -> Option<(Vec<String>, (String, u32))> {
        self.tables
            .iter()
            .find_map(|t| t.unique_key_within(table, pinned))
    }
}

impl Tables {
    fn apply(&mut self, path: &str, f: &DdlFact) {
        let line = f.pos.line;
        match &f.change {
            DdlChange::CreateTable { keys } => {
                // diesel's `table!` restates a table the migrations made: add, never replace.
                let restated = path.ends_with(".rs") && self.tables.contains_key(&f.table);
                let t = self.tables.entry(f.table.clone()).or_default();
                if restated {
                    for k in keys {
                        if !t.keys.iter().any(|(_, x)| x == k) {
                            t.keys
                                .push((format!("{}_{}_key", f.table, k.join("_")), k.clone()));
                            t.origin.push((path.to_string(), line));
                        }
                    }
                    return;
                }
                if t.from_ddl {
                    let lead: Vec<String> = t
                        .keys
                        .iter()
                        .chain(t.indexes.iter())
                        .filter_map(|(_, k)| k.first().cloned())
                        .collect();
                    t.prior.extend(lead);
                }
                t.keys.clear();
                t.origin.clear();
                t.indexes.clear();
                t.from_ddl = !path.ends_with(".rs");
                for (i, k) in keys.iter().enumerate() {
                    let name = if i == 0 && k.len() == 1 && k[0] == "id" {
                        format!("{}_pkey", f.table)
                    } else {
                        format!("{}_{}_key", f.table, k.join("_"))
                    };
                    t.keys.push((name, k.clone()));
                    t.origin.push((path.to_string(), line));
                }
            }
            DdlChange::DropTable => {
                self.tables.remove(&f.table);
            }
            DdlChange::RenameTable { to } => {
                if let Some(t) = self.tables.remove(&f.table) {
                    self.tables.insert(to.clone(), t);
                }
            }
            DdlChange::RenameColumn { from, to } => {
                if let Some(t) = self.tables.get_mut(&f.table) {
                    for (_, cols) in t.keys.iter_mut().chain(t.indexes.iter_mut()) {
                        for c in cols.iter_mut() {
                            if c == from {
                                *c = to.clone();
                            }
                        }
                    }
                }
            }
            DdlChange::DropColumn(c) => {
                if let Some(t) = self.tables.get_mut(&f.table) {
                    let keep: Vec<bool> = t.keys.iter().map(|(_, k)| !k.contains(c)).collect();
                    retain_with(&mut t.keys, &mut t.origin, &keep);
                    t.indexes.retain(|(_, k)| !k.contains(c));
                }
            }
            DdlChange::AddUnique(cols) => {
                let t = self.tables.entry(f.table.clone()).or_default();
                t.keys
                    .push((format!("{}_{}_key", f.table, cols.join("_")), cols.clone()));
                t.origin.push((path.to_string(), line));
            }
            DdlChange::CreateIndex {
                name,
                columns,
                unique,
            } => {
                if *unique {
                    let t = self.tables.entry(f.table.clone()).or_default();
                    t.keys.push((name.clone(), columns.clone()));
                    t.origin.push((path.to_string(), line));
                } else if let Some(t) = self.tables.get_mut(&f.table) {
                    t.indexes.push((name.clone(), columns.clone()));
                }
            }
            DdlChange::DropConstraint(name) | DdlChange::DropIndex(name) => {
                for t in self.tables.values_mut() {
                    let keep: Vec<bool> = t.keys.iter().map(|(n, _)| n != name).collect();
                    retain_with(&mut t.keys, &mut t.origin, &keep);
                    if !name.is_empty() {
                        t.indexes.retain(|(n, _)| n != name);
                    }
                }
            }
            DdlChange::RenameIndex { from, to } => {
                for t in self.tables.values_mut() {
                    for (n, _) in t.keys.iter_mut().chain(t.indexes.iter_mut()) {
                        if n == from {
                            *n = to.clone();
                        }
                    }
                }
            }
            DdlChange::CreateView(Some(v)) => {
                let one = v.branches.is_empty()
                    && (v.no_from || (v.aggregate_only && !v.group_by) || v.limited);
                if one {
                    self.tables.entry(f.table.clone()).or_default().one_row = true;
                } else if let Some(t) = self.tables.get_mut(&f.table) {
                    t.one_row = false;
                }
            }
            DdlChange::AddColumn(_)
            | DdlChange::AlterColumn(_)
            | DdlChange::AddConstraint(_)
            | DdlChange::CreateView(None) => {}
        }
    }

    pub fn knows(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    fn one_row(&self, table: &str) -> bool {
        self.tables.get(table).is_some_and(|t| t.one_row)
    }

    /// A unique key of `table` on its data rather than a surrogate id (`id`,
    /// `uuid`, `<table>_id`): what makes a repeated insert fail instead of
    /// creating a duplicate.
    pub fn natural_key(&self, table: &str) -> Option<&[String]> {
        let t = self.tables.get(table)?;
        let singular = table.strip_suffix('s').unwrap_or(table);
        let surrogate = |c: &str| {
            matches!(c, "id" | "uuid" | "pk")
                || c.strip_suffix("_id")
                    .is_some_and(|s| s == table || s == singular)
        };
        t.keys
            .iter()
            .find(|(_, k)| !(k.len() == 1 && surrogate(&k[0])))
            .map(|(_, k)| k.as_slice())
    }

    /// A unique key of `table` all of whose columns are in `pinned`, with where it was declared.
    pub fn unique_key_within(
        &self,
        table: &str,
        pinned: &[String],
    ) -> Option<(Vec<String>, (String, u32))> {
        let t = self.tables.get(table)?;
        t.keys
            .iter()
            .zip(&t.origin)
            .find(|((_, k), _)| !k.is_empty() && k.iter().all(|c| pinned.contains(c)))
            .map(|((_, k), o)| (k.clone(), o.clone()))
    }
}

fn retain_with<A, B>(a: &mut Vec<A>, b: &mut Vec<B>, keep: &[bool]) {
    let mut i = 0;
    a.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    let mut j = 0;
    b.retain(|_| {
        j += 1;
        keep[j - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::sql::{analyze, Dialect};
    use crate::model::SqlFacts;

    fn facts(sql: &str) -> Vec<DdlFact> {
        analyze(sql, Dialect::Postgres)
            .into_iter()
            .flat_map(|s| match s.facts {
                Ok(SqlFacts::Ddl(d)) => d,
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn natural_keys_are_unique_keys_other_than_surrogate_ids() {
        let f = facts(
            "CREATE TABLE subscriptions (id uuid NOT NULL, PRIMARY KEY (id), email TEXT NOT NULL UNIQUE, name TEXT);
             CREATE TABLE orders (order_id BIGSERIAL PRIMARY KEY, total INT);
             CREATE TABLE likes (user_id INT, post_id INT, PRIMARY KEY (user_id, post_id));",
        );
        let s = Schema::build(f.iter().map(|f| ("1.sql", f)));
        assert_eq!(
            s.natural_key("subscriptions"),
            Some(&["email".to_string()][..])
        );
        assert_eq!(s.natural_key("orders"), None);
        assert_eq!(s.natural_key("likes").map(|k| k.len()), Some(2));
        assert_eq!(s.natural_key("unknown"), None);
    }

    #[test]
    fn replays_migrations_with_renames_and_dropped_constraints() {
        let m1 =
            facts("CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT UNIQUE, handle TEXT);");
        let m2 = facts("ALTER TABLE users RENAME COLUMN email TO mail; CREATE UNIQUE INDEX users_handle_idx ON users (handle);");
        let m3 = facts("DROP INDEX users_handle_idx; ALTER TABLE users RENAME TO accounts;");
        let all: Vec<(&str, &DdlFact)> = m1
            .iter()
            .map(|f| ("1.sql", f))
            .chain(m2.iter().map(|f| ("2.sql", f)))
            .chain(m3.iter().map(|f| ("3.sql", f)))
            .collect();
        let s = Schema::build(all);
        assert!(!s.knows("users"));
        assert!(s.unique_key_within("accounts", &["id".into()]).is_some());
        assert!(s.unique_key_within("accounts", &["mail".into()]).is_some());
        assert!(s.unique_key_within("accounts", &["email".into()]).is_none());
        assert!(s
            .unique_key_within("accounts", &["handle".into()])
            .is_none());
    }

    #[test]
    fn dropped_unique_constraint_is_no_longer_a_key() {
        let m1 = facts(
            "CREATE TABLE t (id INT PRIMARY KEY, code TEXT, CONSTRAINT t_code_key UNIQUE (code));",
        );
        let m2 = facts("ALTER TABLE t DROP CONSTRAINT t_code_key;");
        let all: Vec<(&str, &DdlFact)> = m1.iter().chain(m2.iter()).map(|f| ("m.sql", f)).collect();
        let s = Schema::build(all);
        assert!(s.unique_key_within("t", &["code".into()]).is_none());
        assert!(s.unique_key_within("t", &["id".into()]).is_some());
    }

    #[test]
    fn one_schema_per_database_folder() {
        let my = facts("CREATE TABLE t (id INT PRIMARY KEY, code TEXT UNIQUE);");
        let pg = facts("CREATE TABLE t (id INT PRIMARY KEY, code TEXT);");
        let shared = facts("CREATE TABLE s (id INT PRIMARY KEY, slug TEXT UNIQUE);");
        let all: Vec<(&str, &DdlFact)> = my
            .iter()
            .map(|f| ("migrations/mysql/1/up.sql", f))
            .chain(pg.iter().map(|f| ("migrations/postgresql/1/up.sql", f)))
            .chain(shared.iter().map(|f| ("schema/common.sql", f)))
            .collect();
        let s = Schema::build(all);
        let code = ["code".to_string()];
        assert!(s
            .view("queries/mysql/q.sql")
            .unique_key_within("t", &code)
            .is_some());
        assert!(s
            .view("queries/pg/q.sql")
            .unique_key_within("t", &code)
            .is_none());
        // Code that belongs to no backend: a key in any of them.
        assert!(s.view("src/db.rs").unique_key_within("t", &code).is_some());
        // DDL outside the database folders is in every backend.
        let slug = ["slug".to_string()];
        assert!(s
            .view("queries/pg/q.sql")
            .unique_key_within("s", &slug)
            .is_some());
        assert!(s
            .view("queries/mysql/q.sql")
            .unique_key_within("s", &slug)
            .is_some());
    }

    #[test]
    fn leading_columns_of_indexes_keys_and_earlier_definitions() {
        let m1 = facts(
            "CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, customer_id BIGINT, status TEXT, sku TEXT);
             CREATE INDEX orders_status ON orders (status, customer_id);
             CREATE INDEX orders_sku ON orders (sku);",
        );
        let m2 = facts("DROP INDEX orders_sku; ALTER TABLE orders RENAME COLUMN status TO state;");
        let all: Vec<(&str, &DdlFact)> = m1
            .iter()
            .map(|f| ("1.sql", f))
            .chain(m2.iter().map(|f| ("2.sql", f)))
            .collect();
        let s = Schema::build(all);
        let v = s.view("src/db.rs");
        let c = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(v.leading_covered("orders", &c(&["id"])), Some(true));
        assert_eq!(v.leading_covered("orders", &c(&["state"])), Some(true));
        assert_eq!(
            v.leading_covered("orders", &c(&["customer_id"])),
            Some(false)
        );
        assert_eq!(
            v.leading_covered("orders", &c(&["sku"])),
            Some(false),
            "dropped"
        );
        assert_eq!(v.leading_covered("unknown", &c(&["id"])), None);
        // The same table in two schema files: any definition may hold.
        let a = facts("CREATE TABLE IF NOT EXISTS posts (id TEXT PRIMARY KEY, slug TEXT);");
        let b = facts("CREATE TABLE IF NOT EXISTS posts (id TEXT, slug TEXT, UNIQUE (slug));");
        let all: Vec<(&str, &DdlFact)> = a
            .iter()
            .map(|f| ("mysql.sql", f))
            .chain(b.iter().map(|f| ("sqlite.sql", f)))
            .collect();
        let s = Schema::build(all);
        assert_eq!(
            s.view("x.go").leading_covered("posts", &c(&["id"])),
            Some(true)
        );
    }
}
