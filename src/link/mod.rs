//! Cross-file linking: symbols per package, call resolution and function
//! summaries ("runs a query", "may block"), computed once for the whole scan
//! and shared by every rule.
//!
//! Resolution is scoped by the [package graph](crate::packages): a call only
//! resolves into its own language and into packages its manifest reaches,
//! through paths and imports first; a method needs evidence of its receiver's
//! type, or a name that is specific and unique among the reachable packages.
//! An unresolved call costs a missed hop; a wrong one invents findings.
//!
//! Summaries propagate backwards over the call graph with a worklist, so the
//! cost is linear in the number of call edges, whatever the depth of helpers.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::knowledge::{path_matches, Knowledge};
use crate::model::{ArgKind, CallId, CallKind, FileModel, SqlFacts};
use crate::packages::PackageGraph;
use crate::schema::Schema;
use crate::semantics;
use rayon::prelude::*;

mod resolve;

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

/// [`Linked::direct_facts`] of one file.
struct DirectFacts {
    queries: HashMap<FnRef, Step>,
    queue: Vec<FnRef>,
    blocks: HashMap<FnRef, Step>,
    bqueue: Vec<FnRef>,
    rev: Vec<(FnRef, (FnRef, CallId))>,
    deferred: Vec<(FnRef, CallId, Vec<FnRef>, bool)>,
    module_callees: Vec<FnRef>,
}

pub struct Linked {
    by_name: HashMap<String, Vec<FnRef>>,
    local_modules: HashSet<String>,
    /// Packages, the package of each file, and what each package reaches.
    pub packages: PackageGraph,
    pub queries: HashMap<FnRef, Step>,
    pub blocks: HashMap<FnRef, Step>,
    /// Functions that run a closure they are given off the async executor
    /// (`fn run(&self, f: F) { block_in_place(move || f(conn)) }`).
    offloaders: HashSet<FnRef>,
    /// `macro_rules!` macros handing a fragment to a call as a closure: (file, callee).
    offload_macros: HashMap<String, Vec<(usize, String)>>,
    /// Named string constants: name -> (file, literal).
    pub consts: HashMap<String, Vec<(usize, usize)>>,
    pub schema: Schema,
    /// Reverse call edges outside tests: callee -> (caller, call).
    callers: HashMap<FnRef, Vec<(FnRef, CallId)>>,
    /// Functions a module calls from its top level, once, as it loads
    /// (`start()` at the bottom of `server.ts`, `main()` under
    /// `if __name__ == "__main__":`): start-up callers like `main`.
    module_callees: HashSet<FnRef>,
}

pub struct Unit<'a> {
    pub path: &'a str,
    pub model: &'a FileModel,
}

impl Linked {
    pub fn build(units: &[Unit], k: &Knowledge, packages: PackageGraph) -> Linked {
        let mut by_name: HashMap<String, Vec<FnRef>> = HashMap::new();
        let mut local_modules = HashSet::new();
        let mut consts: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        let mut offload_macros: HashMap<String, Vec<(usize, String)>> = HashMap::new();
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
            for (name, callee) in &u.model.offload_macros {
                offload_macros
                    .entry(name.clone())
                    .or_default()
                    .push((fi, callee.clone()));
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
            packages,
            queries: HashMap::new(),
            blocks: HashMap::new(),
            offloaders: HashSet::new(),
            offload_macros,
            consts,
            schema,
            callers: HashMap::new(),
            module_callees: HashSet::new(),
        };
        l.infer_offloaders(units, k);
        l.summarise(units, k);
        l
    }

    /// Does the call run off the async executor: inside a closure given to
    /// an offloader (known, or one of the tree's own, like a connection
    /// wrapper's `run(|conn| ..)`), or in a macro whose expansion does that?
    pub fn offloaded(&self, units: &[Unit], fi: usize, id: CallId, k: &Knowledge) -> bool {
        let m = units[fi].model;
        if m.calls[id].offloaded {
            return true;
        }
        let mut cur = m.calls[id].closure_of;
        let mut hops = 0;
        while let Some(x) = cur {
            hops += 1;
            if hops > 16 {
                break;
            }
            let xc = &m.calls[x];
            if xc.offloaded {
                return true;
            }
            if xc.kind == CallKind::Macro {
                let macro_offloads = self.offload_macros.get(&xc.name).is_some_and(|defs| {
                    defs.iter().any(|(df, callee)| {
                        self.packages.visible(fi, *df)
                            && (is_offload_name(callee, k)
                                || self
                                    .functions_named(fi, callee)
                                    .iter()
                                    .any(|r| self.offloaders.contains(r)))
                    })
                });
                if macro_offloads {
                    return true;
                }
            } else if self
                .resolve(units, fi, x, k)
                .iter()
                .any(|r| self.offloaders.contains(r))
            {
                return true;
            }
            cur = xc.closure_of;
        }
        false
    }

    /// A function offloads its callback when it calls a closure parameter
    /// inside an offloader (`block_in_place(move || f(conn))`), hands it to
    /// one (`spawn_blocking(f)`), or hands it to another such function.
    fn infer_offloaders(&mut self, units: &[Unit], k: &Knowledge) {
        for _round in 0..4 {
            // Per file in parallel (read only), gathered in file order.
            let this = &*self;
            let found: Vec<FnRef> = (0..units.len())
                .into_par_iter()
                .flat_map_iter(|fi| this.offloaders_of(units, fi, k))
                .collect();
            if found.is_empty() {
                break;
            }
            self.offloaders.extend(found);
        }
    }

    /// The functions of file `fi` that run a parameter off the executor.
    fn offloaders_of(&self, units: &[Unit], fi: usize, k: &Knowledge) -> Vec<FnRef> {
        let mut found = Vec::new();
        let m = units[fi].model;
        if m.lang != crate::model::Lang::Rust {
            return found;
        }
        for (id, c) in m.calls.iter().enumerate() {
            let Some(g) = c.func else { continue };
            if self.offloaders.contains(&(fi, g)) || m.functions[g].is_test {
                continue;
            }
            let params = &m.functions[g].params;
            let is_param = |t: &str| params.iter().any(|p| p.name == t);
            let calls_param = c.kind == CallKind::Path
                && c.path.len() == 1
                && is_param(&c.path[0])
                && self.offloaded(units, fi, id, k);
            let passes_param = c.args.iter().any(|a| {
                matches!(&a.kind, ArgKind::Path(p) if is_param(p))
                    || (a.kind == ArgKind::Other && is_param(&a.text))
            }) && (crate::semantics::is_offload(m, c, k)
                || self
                    .resolve(units, fi, id, k)
                    .iter()
                    .any(|r| self.offloaders.contains(r)));
            if calls_param || passes_param {
                found.push((fi, g));
            }
        }
        found
    }

    fn summarise(&mut self, units: &[Unit], k: &Knowledge) {
        // Direct facts.
        let mut queue: VecDeque<FnRef> = VecDeque::new();
        let mut bqueue: VecDeque<FnRef> = VecDeque::new();
        // Reverse edges: callee -> (caller, call).
        let mut rev: HashMap<FnRef, Vec<(FnRef, CallId)>> = HashMap::new();
        // Calls handing a database handle to a function of the tree.
        let mut deferred: Vec<(FnRef, CallId, Vec<FnRef>, bool)> = Vec::new();
        // Per file in parallel (read only), merged in file order: the same
        // maps, queues and edge order as one pass over the files.
        let this = &*self;
        let facts: Vec<DirectFacts> = (0..units.len())
            .into_par_iter()
            .map(|fi| this.direct_facts(units, fi, k))
            .collect();
        for f in facts {
            for me in f.queue {
                self.queries.insert(me, f.queries[&me]);
                queue.push_back(me);
            }
            for me in f.bqueue {
                self.blocks.insert(me, f.blocks[&me]);
                bqueue.push_back(me);
            }
            self.module_callees.extend(f.module_callees);
            for (callee, e) in f.rev {
                rev.entry(callee).or_default().push(e);
            }
            deferred.extend(f.deferred);
        }
        self.propagate_queries(units, &rev, queue);
        // A helper handed a database handle whose body shows no query (its
        // queries come from a macro, a trait default, a library): the handle
        // it is given is the evidence, as for an unresolved helper.
        let mut queue = VecDeque::new();
        for (me, id, callees, write) in deferred {
            let m = units[me.0].model;
            if callees.iter().any(|g| self.queries.contains_key(g))
                || self.queries.contains_key(&me)
            {
                continue;
            }
            self.queries.insert(
                me,
                Step {
                    call: id,
                    via: None,
                    only_if_none: m.calls[id].none_guard,
                    write,
                },
            );
            queue.push_back(me);
        }
        self.propagate_queries(units, &rev, queue);
        self.propagate_blocks(units, k, &rev, bqueue);
        self.callers = rev;
    }

    /// What the calls of file `fi` say directly: its functions that query
    /// or block (in the order found), its call edges, and its calls handing a
    /// database handle to a function of the tree.
    fn direct_facts(&self, units: &[Unit], fi: usize, k: &Knowledge) -> DirectFacts {
        let mut queries: HashMap<FnRef, Step> = HashMap::new();
        let mut queue: Vec<FnRef> = Vec::new();
        let mut blocks: HashMap<FnRef, Step> = HashMap::new();
        let mut bqueue: Vec<FnRef> = Vec::new();
        let mut rev: Vec<(FnRef, (FnRef, CallId))> = Vec::new();
        let mut deferred: Vec<(FnRef, CallId, Vec<FnRef>, bool)> = Vec::new();
        let mut module_callees: Vec<FnRef> = Vec::new();
        let m = units[fi].model;
        for (id, c) in m.calls.iter().enumerate() {
            let Some(g) = c.func else {
                let once = !c.in_test && c.loops.is_empty() && c.closure_of.is_none();
                if once && matches!(c.kind, CallKind::Path | CallKind::Method) {
                    module_callees.extend(self.resolve(units, fi, id, k));
                }
                continue;
            };
            let fun = &m.functions[g];
            if fun.is_test || c.in_test {
                continue;
            }
            let me = (fi, g);
            if !fun.cached && !c.in_cache_closure {
                if let Some(hit) = semantics::query_at(m, id, k) {
                    let callees = if hit.how == semantics::QueryHow::PassesHandle {
                        self.resolve(units, fi, id, k)
                    } else {
                        Vec::new()
                    };
                    if !callees.is_empty() {
                        // Judged by the callees' summaries once known.
                        deferred.push((me, id, callees, hit.write));
                    } else {
                        let step = Step {
                            call: id,
                            via: None,
                            only_if_none: c.none_guard,
                            write: hit.write,
                        };
                        let e = queries.entry(me);
                        match e {
                            std::collections::hash_map::Entry::Vacant(v) => {
                                v.insert(step);
                                queue.push(me);
                            }
                            std::collections::hash_map::Entry::Occupied(mut o) => {
                                if o.get().only_if_none.is_some() && step.only_if_none.is_none() {
                                    o.insert(step);
                                }
                            }
                        }
                    }
                }
            }
            if !fun.is_async
                && !blocks.contains_key(&me)
                && semantics::blocking_at(m, id, k).is_some()
                && !self.offloaded(units, fi, id, k)
            {
                blocks.insert(
                    me,
                    Step {
                        call: id,
                        via: None,
                        only_if_none: None,
                        write: false,
                    },
                );
                bqueue.push(me);
            }
            if matches!(c.kind, CallKind::Path | CallKind::Method) {
                for callee in self.resolve(units, fi, id, k) {
                    if callee != me {
                        rev.push((callee, (me, id)));
                    }
                }
            }
        }
        DirectFacts {
            queries,
            queue,
            blocks,
            bqueue,
            rev,
            deferred,
            module_callees,
        }
    }

    /// "Runs a query" backwards over the call graph, from the functions in `queue`.
    fn propagate_queries(
        &mut self,
        units: &[Unit],
        rev: &HashMap<FnRef, Vec<(FnRef, CallId)>>,
        mut queue: VecDeque<FnRef>,
    ) {
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
                // `helper(x, sync_data, conn)` where `helper` queries only when
                // its `sync_data` is None and `sync_data` is our own parameter,
                // passed on unchanged: we query only when ours is None.
                let passed_on = gs.only_if_none.and_then(|i| {
                    let t = c.args.get(i)?.text.trim_start_matches('&');
                    fun.params.iter().position(|p| p.name == t)
                });
                self.queries.insert(
                    f,
                    Step {
                        call,
                        via: Some(g),
                        only_if_none: c.none_guard.or(passed_on),
                        write: gs.write,
                    },
                );
                queue.push_back(f);
            }
        }
    }

    /// "May block" backwards over the call graph, stopping at async functions
    /// and offloaded calls.
    fn propagate_blocks(
        &mut self,
        units: &[Unit],
        k: &Knowledge,
        rev: &HashMap<FnRef, Vec<(FnRef, CallId)>>,
        mut bqueue: VecDeque<FnRef>,
    ) {
        while let Some(g) = bqueue.pop_front() {
            let Some(callers) = rev.get(&g) else { continue };
            for &(f, call) in callers {
                let m = units[f.0].model;
                let c = &m.calls[call];
                if m.functions[f.1].is_async
                    || self.blocks.contains_key(&f)
                    || self.offloaded(units, f.0, call, k)
                {
                    let _ = c;
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

    /// Does `f` run only at start-up: is every chain of calls into it one
    /// that starts in `main` (or a free `start`/`bootstrap`, or a module's
    /// top level as it loads)? (A handler or a task has no caller we see, so
    /// a function without callers is never start-up only.)
    pub fn startup_only(&self, units: &[Unit], f: FnRef) -> bool {
        let is_main = |(fi, g): FnRef| {
            let fun = &units[fi].model.functions[g];
            (fun.owner.is_none() && ENTRY_NAMES.contains(&fun.name.as_str()))
                || (!fun.handler_like && (setup_named(&fun.name) || fun.name == "start"))
        };
        if is_main(f) {
            return true;
        }
        let mut seen = HashSet::from([f]);
        let mut frontier = vec![f];
        while let Some(cur) = frontier.pop() {
            let Some(callers) = self.callers.get(&cur) else {
                if self.module_callees.contains(&cur) {
                    continue; // called as its module loads
                }
                return false; // reached without main: a handler, a task, an export
            };
            for &(caller, call) in callers {
                let cm = units[caller.0].model;
                if cm.functions[caller.1].handler_like {
                    return false;
                }
                // Inside a closure (a scheduled job, a route, a callback) or a
                // serving loop (`loop { accept().. }`) it runs at any time, not
                // once. A closure handed to a thread or runtime that runs it
                // once (`thread::spawn(move || shard_main())`,
                // `rt.block_on(async { .. })`) and a `for` over a finite
                // collection (`for p in partitions { load(p) }`) stay start-up.
                let c = &cm.calls[call];
                if !runs_once_per_call(cm, call) {
                    return false;
                }
                if c.loops.iter().any(|&l| !finite_iteration(&cm.loops[l])) {
                    return false;
                }
                if is_main(caller) || !seen.insert(caller) {
                    continue;
                }
                if seen.len() > 64 {
                    return false;
                }
                frontier.push(caller);
            }
        }
        true
    }

    /// Does this call run only at start-up: its function is
    /// [`startup_only`](Self::startup_only) and the call is not repeated by a
    /// polling `loop` or a `while` inside it? (A closure around the call is
    /// let be: `Option::map`, `unwrap_or_else` and a spawned task run it once.)
    pub fn call_at_startup(&self, units: &[Unit], fi: usize, call: CallId) -> bool {
        let m = units[fi].model;
        let c = &m.calls[call];
        c.func.is_some_and(|f| self.startup_only(units, (fi, f)))
            && c.loops.iter().all(|&l| finite_iteration(&m.loops[l]))
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

/// Free functions that are a program's entry point by name: `main`, and the
/// `start`/`bootstrap` a launcher (a cluster module, a process manager) calls
/// once per process.
const ENTRY_NAMES: &[&str] = &[
    "main",
    "start",
    "bootstrap",
    "startup",
    "startServer",
    "start_server",
];

/// Does a function's name say it sets the process up, once, before it
/// serves: `init`, `initialize_db`, `initDataDir`, `setup_sink_consumers`,
/// `bootstrap`, `on_startup`, `lifespan`? (`initiate_payment` does not:
/// the prefix must end the name or be followed by `_` or a capital.)
pub fn setup_named(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "initialize",
        "initialise",
        "init",
        "setup",
        "set_up",
        "bootstrap",
        "startup",
        "on_startup",
        "lifespan",
    ];
    let lower = name.trim_start_matches('_').to_ascii_lowercase();
    let orig = name.trim_start_matches('_');
    PREFIXES.iter().any(|p| {
        lower.starts_with(p) && {
            let rest = &orig[p.len()..];
            rest.is_empty()
                || rest.starts_with('_')
                || rest.starts_with(|c: char| c.is_ascii_uppercase())
        }
    })
}

/// Calls that run the closure they are given once, right away or on a
/// thread or task of its own: a start-up sequence written inside one is still
/// a start-up sequence.
const RUNS_CLOSURE_ONCE: &[&str] = &[
    "spawn",
    "spawn_local",
    "spawn_blocking",
    "block_on",
    "block_in_place",
    "scope",
    "run_until",
];

/// Is every closure around `call` one that runs once per call of its
/// function (a thread spawn, a `block_on`, a macro body)?
fn runs_once_per_call(m: &FileModel, call: CallId) -> bool {
    let mut cur = m.calls[call].closure_of;
    let mut hops = 0;
    while let Some(x) = cur {
        hops += 1;
        let xc = &m.calls[x];
        let once = xc.kind == CallKind::Macro || RUNS_CLOSURE_ONCE.contains(&xc.name.as_str());
        if !once || hops > 16 {
            return false;
        }
        cur = xc.closure_of;
    }
    true
}

/// A `for` over a collection or an iterator closure ends; a `loop`, a
/// `while`, or a `for` over incoming connections is how a server serves.
fn finite_iteration(l: &crate::model::Loop) -> bool {
    use crate::model::LoopKind;
    match l.kind {
        LoopKind::For | LoopKind::IterClosure => {
            !(l.over.contains("incoming") || l.over.contains("accept"))
        }
        LoopKind::While | LoopKind::Loop => false,
    }
}

/// Is `name` a known offloader (`spawn_blocking`, `web::block`)?
fn is_offload_name(name: &str, k: &Knowledge) -> bool {
    k.offload_calls
        .iter()
        .any(|p| p == name || path_matches(name, p) || p.ends_with(&format!("::{name}")))
}
