//! The rule registry. One rule = one file here; its doc comment is the text
//! of `archlint explain RULE` (captured by [`declare_rule!`], as clippy does).
//!
//! A rule reads the model, never a syntax tree. It may check one file at a
//! time (with the file's text, for secrets) or the linked program (with the
//! call graph and summaries shared by every rule).

use crate::finding::{Finding, Severity};
use crate::knowledge::Knowledge;
use crate::link::{Linked, Unit};
use crate::model::FileModel;
use crate::secrets::SecretKnowledge;

pub mod blocking_call_in_async;
pub mod hardcoded_secret;
pub mod missing_health_check;
pub mod missing_input_validation;
pub mod missing_observability;
pub mod missing_rate_limit;
pub mod n_plus_one_query;
pub mod non_idempotent_mutation;
pub mod shared_database;
pub mod stateful_service;
pub mod unbounded_query;
pub mod unhandled_external_call;
pub mod unindexed_query;
pub mod unused_suppression;

/// A rule's identity and documentation.
#[derive(Debug)]
pub struct RuleMeta {
    pub id: &'static str,
    pub default_severity: Severity,
    pub summary: &'static str,
    pub doc: &'static str,
}

impl RuleMeta {
    /// The documentation as users read it (examples are not doctests there).
    pub fn text(&self) -> String {
        // Doc comments keep the space after `///`: drop it from every line.
        self.doc
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("```rust,ignore", "```rust")
    }
}

/// Declare a rule's metadata; the doc comment becomes its `explain` text.
#[macro_export]
macro_rules! declare_rule {
    ($(#[doc = $doc:expr])* $vis:vis static $name:ident = ($id:literal, $sev:ident, $summary:literal);) => {
        $(#[doc = $doc])*
        $vis static $name: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            id: $id,
            default_severity: $crate::finding::Severity::$sev,
            summary: $summary,
            doc: concat!($($doc, "\n"),*),
        };
    };
}

/// What a per-file check sees.
pub struct FileCtx<'a> {
    pub path: &'a str,
    pub text: &'a str,
    pub model: &'a FileModel,
    pub k: &'a Knowledge,
    pub secrets: &'a SecretKnowledge,
}

/// What a program-wide check sees.
pub struct ProgramCtx<'a> {
    pub units: &'a [Unit<'a>],
    /// The HTTP routes of each unit, computed once.
    pub endpoints: &'a [Vec<crate::architecture::Endpoint>],
    pub linked: &'a Linked,
    pub k: &'a Knowledge,
    /// Every dependency the tree's manifests declare.
    pub deps: &'a [crate::manifest::Dep],
    /// The services of the tree ([`crate::services`]).
    pub services: &'a [crate::services::Service],
    /// Tree-wide facts rules ask for from every file, computed once.
    pub memo: std::sync::Mutex<std::collections::HashMap<&'static str, Option<String>>>,
}

impl ProgramCtx<'_> {
    /// Service-wide rules report once per scanned tree: from the first file
    /// (in path order) that declares routes, since the routes of one server
    /// are often spread over the crates or packages of a workspace. Gives the
    /// tree's routes when `fi` is that file.
    pub fn service_anchor(&self, fi: usize) -> Option<Vec<&crate::architecture::Endpoint>> {
        self.endpoints[fi].first()?;
        let me = self.units[fi].path;
        let mut all = Vec::new();
        for (o, eps) in self.endpoints.iter().enumerate() {
            if !eps.is_empty() && self.units[o].path < me {
                return None;
            }
            all.extend(eps.iter());
        }
        Some(all)
    }

    /// The services whose service-wide findings go in unit `fi`.
    pub fn services_anchored(&self, fi: usize) -> Vec<&crate::services::Service> {
        let me = self.units[fi].path;
        self.services.iter().filter(|s| s.anchor.0 == me).collect()
    }

    /// The first dependency, import or call path of service `s` that `ev` names.
    pub fn evidence_in(
        &self,
        s: &crate::services::Service,
        ev: &crate::knowledge::Evidence,
    ) -> Option<String> {
        let g = &self.linked.packages;
        if let Some(d) = self
            .deps
            .iter()
            .find(|d| ev.matches(&d.name) && crate::services::owns_manifest(s, g, &d.file))
        {
            return Some(format!("{} ({}:{})", d.name, d.file, d.line));
        }
        code_evidence(s.files.iter().map(|&fi| &self.units[fi]), ev)
    }

    /// `start` and the functions it calls, to `depth` calls away (handler ->
    /// service -> repository), breadth first.
    pub fn reachable(&self, start: crate::link::FnRef, depth: usize) -> Vec<crate::link::FnRef> {
        let mut seen = std::collections::HashSet::from([start]);
        let mut out = vec![start];
        let mut frontier = vec![start];
        for _ in 0..depth {
            let mut next = Vec::new();
            for (ui, f) in frontier {
                let m = self.units[ui].model;
                for (ci, c) in m.calls.iter().enumerate() {
                    if c.func != Some(f) || c.in_test {
                        continue;
                    }
                    for r in self.linked.resolve(self.units, ui, ci, self.k) {
                        if seen.insert(r) {
                            next.push(r);
                            out.push(r);
                        }
                    }
                }
            }
            frontier = next;
        }
        out
    }

    /// A tree-wide fact, computed by the first file that asks for it.
    pub fn memo(&self, key: &'static str, f: impl FnOnce() -> Option<String>) -> Option<String> {
        if let Some(v) = self.memo.lock().ok().and_then(|m| m.get(key).cloned()) {
            return v;
        }
        let v = f();
        if let Ok(mut m) = self.memo.lock() {
            m.insert(key, v.clone());
        }
        v
    }

    /// The first dependency, import or call path in the tree that `ev` names.
    pub fn evidence(&self, ev: &crate::knowledge::Evidence) -> Option<String> {
        if let Some(d) = self.deps.iter().find(|d| ev.matches(&d.name)) {
            return Some(format!("{} ({}:{})", d.name, d.file, d.line));
        }
        code_evidence(self.units.iter(), ev)
    }
}

pub trait Rule: Sync + Send {
    fn meta(&self) -> &'static RuleMeta;
    fn check_file(&self, _ctx: &FileCtx, _out: &mut Vec<Finding>) {}
    fn check_program(&self, _ctx: &ProgramCtx, _file: usize, _out: &mut Vec<Finding>) {}
}

/// Every rule, in id order.
pub fn all() -> Vec<&'static dyn Rule> {
    let mut v: Vec<&'static dyn Rule> = vec![
        &blocking_call_in_async::BlockingCallInAsync,
        &hardcoded_secret::HardcodedSecret,
        &missing_health_check::MissingHealthCheck,
        &missing_input_validation::MissingInputValidation,
        &missing_observability::MissingObservability,
        &missing_rate_limit::MissingRateLimit,
        &shared_database::SharedDatabase,
        &stateful_service::StatefulService,
        &n_plus_one_query::NPlusOneQuery,
        &non_idempotent_mutation::NonIdempotentMutation,
        &unbounded_query::UnboundedQuery,
        &unhandled_external_call::UnhandledExternalCall,
        &unindexed_query::UnindexedQuery,
        &unused_suppression::UnusedSuppression,
    ];
    v.sort_by_key(|r| r.meta().id);
    v
}

pub fn find(id: &str) -> Option<&'static dyn Rule> {
    all().into_iter().find(|r| r.meta().id == id)
}

/// Helpers rules share.
pub mod util {
    use crate::link::Unit;
    use crate::model::{CallId, FileModel};

    /// `Type::name` or `name` of the function a call is in.
    pub fn fn_label(m: &FileModel, call: CallId) -> String {
        match m.calls[call].func {
            Some(f) => {
                let fun = &m.functions[f];
                match &fun.owner {
                    Some(o) => format!("{o}::{}", fun.name),
                    None => fun.name.clone(),
                }
            }
            None => String::new(),
        }
    }

    /// Is the innermost branch around a call the handling of an error:
    /// `if let Err(e) = ..`, `if r.is_err()`, the `Err(..)` arm of a match,
    /// a Python `except` clause, a JS `catch`?
    pub fn in_error_branch(branch: Option<&str>) -> bool {
        branch.is_some_and(|b| {
            b.starts_with("let Err(")
                || (!b.starts_with("else of ") && b.ends_with(".is_err()"))
                || b.split_once(" => ")
                    .is_some_and(|(_, pat)| pat.starts_with("Err("))
                || b == "catch"
                || b == "except"
                || b.starts_with("except ")
        })
    }

    /// Does the innermost branch around a call run once a batch is full
    /// (`if len(bucket) >= BULK_SIZE:`, `if (batch.length === 100)`,
    /// `if i % 500 == 0`): once per chunk, not once per element?
    pub fn in_chunk_branch(branch: Option<&str>) -> bool {
        static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let re = RE.get_or_init(|| {
            regex::Regex::new(
                r"(?x)^(?:
                    (?:len\(\s*[\w.]+\s*\)|[\w.]+\.(?:length|len\(\)|size\(\)|count\(\)))\s*(?:>=|==|===|>)\s*[\w.]+
                  | [\w.]+\s*%\s*[\w.]+\s*(?:==|===)\s*0
                )\s*$",
            )
            .expect("chunk pattern")
        });
        branch.is_some_and(|b| re.is_match(b.trim_start_matches('(').trim_end_matches(')')))
    }

    /// Is the call in a function whose name says it migrates data
    /// (`migrateFrom1`, `migrate_users`, `MigrateV2`): code an upgrade runs
    /// once, whatever calls it.
    pub fn in_migration_fn(m: &FileModel, call: CallId) -> bool {
        m.calls[call].func.is_some_and(|f| {
            let n = m.functions[f].name.to_ascii_lowercase();
            n.starts_with("migrat") || n.starts_with("run_migration")
        })
    }

    pub fn fn_label_of(u: &Unit, f: usize) -> String {
        let fun = &u.model.functions[f];
        match &fun.owner {
            Some(o) => format!("{o}::{}", fun.name),
            None => fun.name.clone(),
        }
    }

    /// Short text for a call in messages: `sqlx::query_as`, `.fetch_all`, `find_user`.
    pub fn call_label(m: &FileModel, call: CallId) -> String {
        let c = &m.calls[call];
        match c.kind {
            crate::model::CallKind::Path => c.full_path(),
            crate::model::CallKind::Macro => format!("{}!", c.full_path()),
            crate::model::CallKind::Method => {
                let chain = m.chain(call);
                let first = &m.calls[chain[0]];
                if first.kind == crate::model::CallKind::Macro {
                    format!("{}!(..).{}", first.full_path(), c.name)
                } else if first.kind == crate::model::CallKind::Method && !first.root.is_empty() {
                    let root = if first.root.len() > 30 {
                        "..".to_string()
                    } else {
                        first.root.clone()
                    };
                    format!("{root}.{}", c.name)
                } else {
                    format!("{}(..).{}", first.full_path(), c.name)
                }
            }
        }
    }

    pub fn is_test_path(u: &Unit) -> bool {
        u.model.kind.test
    }
}

/// The first import or call of `units` (test code aside) that `ev` names,
/// with where it is.
fn code_evidence<'a>(
    units: impl Iterator<Item = &'a Unit<'a>>,
    ev: &crate::knowledge::Evidence,
) -> Option<String> {
    for u in units {
        let m = u.model;
        if m.kind.test {
            continue;
        }
        if let Some(i) = m.imports.iter().find(|i| ev.matches(&i.path)) {
            return Some(format!("{} ({})", i.path, u.path));
        }
        for c in &m.calls {
            if c.in_test {
                continue;
            }
            let hit = (!c.path.is_empty() && ev.matches(&c.path.join("::")))
                || ev.matches(&c.name)
                || (c.prev.is_none() && !c.root.is_empty() && ev.matches(&c.root));
            if hit {
                return Some(format!("{} ({}:{})", c.name, u.path, c.span.start.line));
            }
        }
    }
    None
}
