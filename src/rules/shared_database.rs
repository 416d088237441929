use std::collections::BTreeMap;

use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::model::{DdlChange, SqlFacts};
use crate::rules::{ProgramCtx, Rule, RuleMeta};

declare_rule! {
    /// ## What it catches
    /// In a repository with several services, a table written by more than
    /// one of them. A service is a folder with its own manifest (Cargo.toml,
    /// package.json, go.mod, pyproject.toml, requirements.txt) and an entry
    /// point (`main`, or HTTP routes). The finding is on the writes of every
    /// service but the table's owner: the one whose migrations create it
    /// (or, without one, the first in path order).
    ///
    /// ## Why it matters
    /// A table written by two services is a contract nobody owns: a column
    /// renamed for one breaks the other, a lock taken by one stalls the other,
    /// and neither can be deployed, scaled or migrated on its own. Bounded
    /// contexts own their data and share it through APIs or events.
    ///
    /// ## Example
    /// ```rust,ignore
    /// // services/orders/src/main.rs
    /// sqlx::query("UPDATE inventory SET stock = stock - 1 WHERE sku = $1")
    /// // services/inventory owns `inventory` (its migrations create it)
    /// ```
    ///
    /// ## How to fix
    /// Let the owning service expose the change (an endpoint, a command on a
    /// queue) and call it; or move the table to the service that writes it.
    ///
    /// Writes seen: SQL in code and in query files (migrations excluded).
    /// Services that share a table only through a common library crate are
    /// not told apart.
    ///
    /// Also reported: two services ([`crate::services`]: deployable entry
    /// points with their code and the configuration under their folder)
    /// whose code or configuration holds the same literal database URL
    /// (same engine, host, port and database).
    pub static META = ("shared-database", Warning, "a table written by more than one service");
}

pub struct SharedDatabase;

const MANIFESTS: &[&str] = &[
    "Cargo.toml",
    "package.json",
    "go.mod",
    "pyproject.toml",
    "requirements.txt",
    "setup.py",
];

struct Write<'a> {
    path: &'a str,
    line: u32,
}

impl Rule for SharedDatabase {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        // Program-wide: computed once, from the first file.
        if fi != 0 {
            return;
        }
        same_database_url(ctx, out);
        let roots: Vec<&str> = {
            let mut v: Vec<&str> = ctx
                .units
                .iter()
                .filter_map(|u| {
                    let (dir, name) = u.path.rsplit_once('/').unwrap_or(("", u.path));
                    MANIFESTS.contains(&name).then_some(dir)
                })
                .collect();
            v.sort();
            v.dedup();
            v
        };
        if roots.len() < 2 {
            return;
        }
        let root_index: std::collections::HashMap<&str, usize> =
            roots.iter().enumerate().map(|(i, r)| (*r, i)).collect();
        // The nearest folder with a manifest, walking up from the file.
        let service_of = |path: &str| -> Option<usize> {
            let mut dir = path;
            while let Some((parent, _)) = dir.rsplit_once('/') {
                if let Some(&i) = root_index.get(parent) {
                    return Some(i);
                }
                dir = parent;
            }
            root_index.get("").copied()
        };
        // Which services have an entry point.
        let mut entry = vec![false; roots.len()];
        for (ui, u) in ctx.units.iter().enumerate() {
            if u.model.kind.test {
                continue;
            }
            let Some(s) = service_of(u.path) else {
                continue;
            };
            if !ctx.endpoints[ui].is_empty()
                || u.model
                    .functions
                    .iter()
                    .any(|f| f.name == "main" && !f.is_test)
            {
                entry[s] = true;
            }
        }
        if entry.iter().filter(|e| **e).count() < 2 {
            return;
        }
        // table -> service -> first write; table -> creating service.
        let mut writes: BTreeMap<&str, BTreeMap<usize, Write>> = BTreeMap::new();
        let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
        for u in ctx.units {
            let m = u.model;
            if m.kind.test {
                continue;
            }
            let Some(s) = service_of(u.path) else {
                continue;
            };
            for st in &m.sql {
                match &st.facts {
                    SqlFacts::Ddl(ds) => {
                        for d in ds {
                            if matches!(d.change, DdlChange::CreateTable { .. }) {
                                owner.entry(d.table.as_str()).or_insert(s);
                            }
                        }
                    }
                    SqlFacts::Write { table, .. } if !m.kind.migration && !table.is_empty() => {
                        if st.call.is_some_and(|c| m.calls[c].in_test) || !entry[s] {
                            continue;
                        }
                        writes
                            .entry(table.as_str())
                            .or_default()
                            .entry(s)
                            .or_insert(Write {
                                path: u.path,
                                line: st.span.start.line,
                            });
                    }
                    _ => {}
                }
            }
        }
        let name = |s: usize| if roots[s].is_empty() { "." } else { roots[s] };
        for (table, by) in &writes {
            if by.len() < 2 {
                continue;
            }
            let own = owner
                .get(table)
                .copied()
                .filter(|o| by.contains_key(o))
                .unwrap_or_else(|| *by.keys().next().unwrap());
            let ow = &by[&own];
            for (&s, w) in by {
                if s == own {
                    continue;
                }
                out.push(
                    Finding::new(
                        META.id,
                        Severity::Warning,
                        w.path,
                        crate::source::Span::point(crate::source::Pos::new(w.line, 1)),
                        format!(
                            "service `{}` writes table `{table}`, which service `{}` also writes: services should not share a database",
                            name(s),
                            name(own)
                        ),
                    )
                    .help("let the owning service expose this change (an API call or a message) instead of writing its table")
                    .related(ow.path, ow.line, format!("`{}` writes `{table}` here", name(own)))
                    .key(*table),
                );
            }
        }
    }
}

/// `postgres://user:pw@host:5432/app` -> `postgres://host:5432/app`.
fn database_key(url: &str) -> Option<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"^(postgres|postgresql|mysql|mariadb|mongodb|mongodb\+srv)://(?:[^@/\s]*@)?([A-Za-z0-9_.\-]+)(?::(\d+))?/([A-Za-z0-9_\-]+)").unwrap()
    });
    let c = re.captures(url.trim())?;
    let engine = match &c[1] {
        "postgresql" => "postgres",
        "mariadb" => "mysql",
        e => e,
    };
    Some(format!(
        "{engine}://{}:{}/{}",
        &c[2],
        c.get(3).map(|p| p.as_str()).unwrap_or("default"),
        &c[4]
    ))
}

/// Two services whose code or configuration names the same literal database.
fn same_database_url(ctx: &ProgramCtx, out: &mut Vec<Finding>) {
    let services: Vec<&crate::services::Service> =
        ctx.services.iter().filter(|s| !s.root.is_empty()).collect();
    if services.len() < 2 {
        return;
    }
    // database -> service index -> first place.
    let mut seen: BTreeMap<String, BTreeMap<usize, (&str, u32)>> = BTreeMap::new();
    for (si, s) in services.iter().enumerate() {
        let prefix = format!("{}/", s.root);
        for (ui, u) in ctx.units.iter().enumerate() {
            let m = u.model;
            if m.kind.test || m.kind.example || !(s.has(ui) || u.path.starts_with(&prefix)) {
                continue;
            }
            for l in &m.literals {
                if l.in_test || l.in_comment {
                    continue;
                }
                if let Some(k) = database_key(&l.value) {
                    seen.entry(k)
                        .or_default()
                        .entry(si)
                        .or_insert((u.path, l.span.start.line));
                }
            }
        }
    }
    for (db, by) in &seen {
        if by.len() < 2 {
            continue;
        }
        let (&first, &(fp, fl)) = by.iter().next().unwrap();
        for (&si, &(p, line)) in by.iter().skip(1) {
            out.push(
                Finding::new(
                    META.id,
                    Severity::Warning,
                    p,
                    crate::source::Span::point(crate::source::Pos::new(line, 1)),
                    format!(
                        "service `{}` connects to database `{db}`, which service `{}` also uses: services should not share a database",
                        services[si].name, services[first].name
                    ),
                )
                .help("give each service its own database (or schema and credentials), and share data through APIs or events")
                .related(fp, fl, format!("`{}` connects to it here", services[first].name))
                .key(db.clone()),
            );
        }
    }
}
