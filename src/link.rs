//! Cross-file linking: one symbol table, call resolution and function
//! summaries ("runs a query", "may block"), computed once for the whole scan
//! and shared by every rule.
//!
//! Summaries propagate backwards over the call graph with a worklist, so the
//! cost is linear in the number of call edges, whatever the depth of helpers.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::knowledge::Knowledge;
use crate::model::{ArgKind, CallId, CallKind, FileModel, SqlFacts};
use crate::schema::Schema;
use crate::semantics;

/// A function: (file index, function index).
pub type FnRef = (usize, usize);

/// Why a function has a property: the call in it that has it directly, or the
/// call to the function that has it.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub call: CallId,
    pub via: Option<FnRef>,
    /// Runs only when the parameter of this index is `None`.
    pub only_if_none: Option<usize>,
    pub write: bool,
}

pub struct Linked {
    by_name: HashMap<String, Vec<FnRef>>,
    local_modules: HashSet<String>,
    /// The crate (package folder) of each file: free functions resolve within it.
    pub crates: Vec<String>,
    pub queries: HashMap<FnRef, Step>,
    pub blocks: HashMap<FnRef, Step>,
    /// Named string constants: name -> (file, literal).
    pub consts: HashMap<String, Vec<(usize, usize)>>,
    pub schema: Schema,
}

/// The package folder of a file: the path before its `src/`, `tests/`, ... folder.
pub fn crate_of(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').collect();
    match segs
        .iter()
        .rposition(|s| matches!(*s, "src" | "tests" | "benches" | "examples"))
    {
        Some(i) => segs[..i].join("/"),
        None => segs[..segs.len().saturating_sub(1)].join("/"),
    }
}

pub struct Unit<'a> {
    pub path: &'a str,
    pub model: &'a FileModel,
}

impl Linked {
    pub fn build(units: &[Unit], k: &Knowledge) -> Linked {
        let mut by_name: HashMap<String, Vec<FnRef>> = HashMap::new();
        let mut local_modules = HashSet::new();
        let mut consts: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (fi, u) in units.iter().enumerate() {
            for (gi, f) in u.model.functions.iter().enumerate() {
                if !f.is_test {
                    by_name.entry(f.name.clone()).or_default().push((fi, gi));
                }
            }
            for m in &u.model.module {
                local_modules.insert(m.clone());
            }
            for f in &u.model.functions {
                if let Some(im) = &f.inline_mod {
                    local_modules.insert(im.clone());
                }
            }
            for c in &u.model.consts {
                consts
                    .entry(c.name.clone())
                    .or_default()
                    .push((fi, c.literal));
            }
        }
        // Schema: DDL in migration order (path order), diesel's table! macros too.
        let mut ddl: Vec<(&str, &crate::model::DdlFact)> = Vec::new();
        let mut order: Vec<usize> = (0..units.len()).collect();
        order.sort_by(|a, b| units[*a].path.cmp(units[*b].path));
        for fi in order {
            let m = units[fi].model;
            // Tests break the schema on purpose (`ALTER TABLE .. DROP COLUMN` to
            // force an error); down migrations undo it.
            if m.kind.test || m.kind.rollback {
                continue;
            }
            for s in &m.sql {
                if s.call.is_some_and(|c| m.calls[c].in_test) {
                    continue;
                }
                if let SqlFacts::Ddl(ds) = &s.facts {
                    for d in ds {
                        ddl.push((units[fi].path, d));
                    }
                }
            }
        }
        let schema = Schema::build(ddl);
        let mut l = Linked {
            by_name,
            local_modules,
            crates: units.iter().map(|u| crate_of(u.path)).collect(),
            queries: HashMap::new(),
            blocks: HashMap::new(),
            consts,
            schema,
        };
        l.summarise(units, k);
        l
    }

    /// Every function of this name in the tree.
    pub fn functions_named(&self, name: &str) -> Vec<FnRef> {
        self.by_name.get(name).cloned().unwrap_or_default()
    }

    /// The crate's own functions a call may reach.
    pub fn resolve(&self, units: &[Unit], fi: usize, id: CallId, k: &Knowledge) -> Vec<FnRef> {
        let m = units[fi].model;
        let c = &m.calls[id];
        let Some(cands) = self.by_name.get(&c.name) else {
            return Vec::new();
        };
        let caller = c.func.map(|f| &m.functions[f]);
        match c.kind {
            CallKind::Macro => Vec::new(),
            CallKind::Path => {
                let full = m.resolve_path(&c.path);
                let segs: Vec<&str> = full.split("::").collect();
                if segs.len() >= 2 {
                    let first = segs[0];
                    let local = matches!(first, "crate" | "self" | "super" | "Self")
                        || self.local_modules.contains(first)
                        || first
                            .chars()
                            .next()
                            .is_some_and(|ch| ch.is_ascii_uppercase());
                    if !local {
                        return Vec::new();
                    }
                    let qual = segs[segs.len() - 2];
                    let owner = if qual == "Self" {
                        caller.and_then(|f| f.owner.as_deref())
                    } else {
                        Some(qual)
                    };
                    if qual
                        .chars()
                        .next()
                        .is_some_and(|ch| ch.is_ascii_uppercase())
                    {
                        return cands
                            .iter()
                            .copied()
                            .filter(|&(f, g)| {
                                let fun = &units[f].model.functions[g];
                                fun.owner.as_deref() == owner || fun.trait_name.as_deref() == owner
                            })
                            .collect();
                    }
                    if !matches!(qual, "crate" | "self" | "super") {
                        return cands
                            .iter()
                            .copied()
                            .filter(|&(f, g)| {
                                let fun = &units[f].model.functions[g];
                                fun.owner.is_none()
                                    && (units[f].model.module.iter().any(|s| s == qual)
                                        || fun.inline_mod.as_deref() == Some(qual))
                            })
                            .collect();
                    }
                }
                // An unqualified or `crate::` function: one of this crate's.
                let mine = &self.crates[fi];
                let free: Vec<FnRef> = cands
                    .iter()
                    .copied()
                    .filter(|&(f, g)| {
                        units[f].model.functions[g].owner.is_none() && &self.crates[f] == mine
                    })
                    .collect();
                // Prefer a definition in the same file (a private helper).
                let here: Vec<FnRef> = free.iter().copied().filter(|&(f, _)| f == fi).collect();
                if here.is_empty() {
                    free
                } else {
                    here
                }
            }
            CallKind::Method => {
                let methods = cands
                    .iter()
                    .copied()
                    .filter(|&(f, g)| units[f].model.functions[g].has_self);
                let on_self = c.prev.is_none() && c.root == "self";
                if on_self {
                    let own = caller.and_then(|f| f.owner.clone());
                    let mine: Vec<FnRef> = methods
                        .clone()
                        .filter(|&(f, g)| {
                            let fun = &units[f].model.functions[g];
                            fun.owner == own
                                || (fun.trait_name.is_some()
                                    && fun.trait_name == caller.and_then(|x| x.trait_name.clone()))
                        })
                        .collect();
                    // The same method from several trait impls of one type
                    // (`IntoResource<String>` and `IntoResource<PgPool>`): which one
                    // runs depends on types we do not see.
                    let same_type = mine
                        .iter()
                        .filter(|&&(f, g)| units[f].model.functions[g].owner == own)
                        .count();
                    if same_type > 1 {
                        return Vec::new();
                    }
                    if !mine.is_empty() {
                        return mine;
                    }
                }
                // Without types, a method name alone is weak evidence: resolve it when
                // the receiver names the type (`self.user_repo` ~ `UserRepo`), or when
                // the name is specific (`find_user_by_email`), never for `get`/`verify`.
                let recv = semantics::handle_name(if c.prev.is_none() { &c.root } else { "" })
                    .replace('_', "")
                    .to_ascii_lowercase();
                let by_type: Vec<FnRef> = if recv.is_empty() {
                    Vec::new()
                } else {
                    methods
                        .clone()
                        .filter(|&(f, g)| {
                            let fun = &units[f].model.functions[g];
                            let o = fun.owner.as_deref().unwrap_or("").to_ascii_lowercase();
                            !o.is_empty()
                                && (o == recv
                                    || (recv.len() >= 4
                                        && (o.ends_with(&recv) || recv.ends_with(&o))))
                        })
                        .collect()
                };
                // `serializer.response()` with `TagSerializer` and `ArticleSerializer`
                // both in the crate: without the variable's type, it is ambiguous.
                let exact: Vec<FnRef> = by_type
                    .iter()
                    .copied()
                    .filter(|&(f, g)| {
                        units[f].model.functions[g]
                            .owner
                            .as_deref()
                            .unwrap_or("")
                            .to_ascii_lowercase()
                            == recv
                    })
                    .collect();
                let owners: HashSet<&str> = by_type
                    .iter()
                    .filter_map(|&(f, g)| units[f].model.functions[g].owner.as_deref())
                    .collect();
                let by_type = if !exact.is_empty() {
                    exact
                } else if owners.len() > 1 {
                    Vec::new()
                } else {
                    by_type
                };
                if !by_type.is_empty()
                    || k.common_methods.contains(&c.name)
                    || !c.name.contains('_')
                {
                    return by_type;
                }
                methods.collect()
            }
        }
    }

    fn summarise(&mut self, units: &[Unit], k: &Knowledge) {
        // Direct facts.
        let mut queue: VecDeque<FnRef> = VecDeque::new();
        let mut bqueue: VecDeque<FnRef> = VecDeque::new();
        // Reverse edges: callee -> (caller, call).
        let mut rev: HashMap<FnRef, Vec<(FnRef, CallId)>> = HashMap::new();
        for (fi, u) in units.iter().enumerate() {
            let m = u.model;
            for (id, c) in m.calls.iter().enumerate() {
                let Some(g) = c.func else { continue };
                let fun = &m.functions[g];
                if fun.is_test || c.in_test {
                    continue;
                }
                let me = (fi, g);
                if !fun.cached && !c.in_cache_closure {
                    if let Some(hit) = semantics::query_at(m, id, k) {
                        if hit.how != semantics::QueryHow::PassesHandle
                            || self.resolve(units, fi, id, k).is_empty()
                        {
                            let step = Step {
                                call: id,
                                via: None,
                                only_if_none: c.none_guard,
                                write: hit.write,
                            };
                            let e = self.queries.entry(me);
                            match e {
                                std::collections::hash_map::Entry::Vacant(v) => {
                                    v.insert(step);
                                    queue.push_back(me);
                                }
                                std::collections::hash_map::Entry::Occupied(mut o) => {
                                    if o.get().only_if_none.is_some() && step.only_if_none.is_none()
                                    {
                                        o.insert(step);
                                    }
                                }
                            }
                        }
                    }
                }
                if !fun.is_async
                    && !c.offloaded
                    && !self.blocks.contains_key(&me)
                    && semantics::blocking_at(m, id, k).is_some()
                {
                    self.blocks.insert(
                        me,
                        Step {
                            call: id,
                            via: None,
                            only_if_none: None,
                            write: false,
                        },
                    );
                    bqueue.push_back(me);
                }
                if matches!(c.kind, CallKind::Path | CallKind::Method) {
                    for callee in self.resolve(units, fi, id, k) {
                        if callee != me {
                            rev.entry(callee).or_default().push((me, id));
                        }
                    }
                }
            }
        }
        while let Some(g) = queue.pop_front() {
            let gs = self.queries[&g];
            let Some(callers) = rev.get(&g) else { continue };
            for &(f, call) in callers {
                let m = units[f.0].model;
                let c = &m.calls[call];
                let fun = &m.functions[f.1];
                if fun.cached
                    || c.in_cache_closure
                    || self
                        .queries
                        .get(&f)
                        .is_some_and(|s| s.only_if_none.is_none())
                {
                    continue;
                }
                // The callee queries only on the None path and this call passes Some(..).
                if let Some(i) = gs.only_if_none {
                    if matches!(c.args.get(i).map(|a| &a.kind), Some(ArgKind::Some)) {
                        continue;
                    }
                }
                self.queries.insert(
                    f,
                    Step {
                        call,
                        via: Some(g),
                        only_if_none: c.none_guard,
                        write: gs.write,
                    },
                );
                queue.push_back(f);
            }
        }
        while let Some(g) = bqueue.pop_front() {
            let Some(callers) = rev.get(&g) else { continue };
            for &(f, call) in callers {
                let m = units[f.0].model;
                let c = &m.calls[call];
                if m.functions[f.1].is_async || c.offloaded || self.blocks.contains_key(&f) {
                    continue;
                }
                self.blocks.insert(
                    f,
                    Step {
                        call,
                        via: None.or(Some(g)),
                        only_if_none: None,
                        write: false,
                    },
                );
                bqueue.push_back(f);
            }
        }
    }

    /// The chain of steps from `f` down to the call that has the property.
    pub fn witness(&self, map: &HashMap<FnRef, Step>, start: FnRef) -> Vec<(FnRef, CallId)> {
        let mut out = Vec::new();
        let mut cur = start;
        let mut seen = HashSet::new();
        while let Some(s) = map.get(&cur) {
            if !seen.insert(cur) {
                break;
            }
            out.push((cur, s.call));
            match s.via {
                Some(n) => cur = n,
                None => break,
            }
        }
        out
    }
}
