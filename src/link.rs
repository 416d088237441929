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
use crate::model::{ArgKind, CallId, CallKind, Family, FileModel, SqlFacts};
use crate::packages::PackageGraph;
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
        };
        l.infer_offloaders(units, k);
        l.summarise(units, k);
        l
    }

    /// Every function of this name that code in unit `fi` can reach.
    pub fn functions_named(&self, fi: usize, name: &str) -> Vec<FnRef> {
        self.by_name
            .get(name)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|&(f, _)| self.packages.visible(fi, f))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The functions of the tree a call may reach: within its language, in
    /// packages its own reaches, and only with evidence.
    pub fn resolve(&self, units: &[Unit], fi: usize, id: CallId, k: &Knowledge) -> Vec<FnRef> {
        let m = units[fi].model;
        let c = &m.calls[id];
        if c.kind == CallKind::Macro {
            return Vec::new();
        }
        let cands = self.functions_named(fi, &c.name);
        if cands.is_empty() {
            return Vec::new();
        }
        match m.lang.family() {
            Family::Rust => self.resolve_rust(units, fi, id, cands, k),
            Family::Python | Family::Js | Family::Go => {
                self.resolve_dynamic(units, fi, id, cands, k)
            }
            Family::Other => Vec::new(),
        }
    }

    fn resolve_rust(
        &self,
        units: &[Unit],
        fi: usize,
        id: CallId,
        mut cands: Vec<FnRef>,
        k: &Knowledge,
    ) -> Vec<FnRef> {
        let m = units[fi].model;
        let c = &m.calls[id];
        let caller = c.func.map(|f| &m.functions[f]);
        let fun = |(f, g): FnRef| &units[f].model.functions[g];
        let mine = self.packages.of_file[fi];
        if c.kind == CallKind::Path {
            let full = m.resolve_path(&c.path);
            let mut segs: Vec<&str> = full.split("::").collect();
            // The crate the path starts in: `other_crate::db::find` names one
            // of the tree's crates (the callee is there or nowhere).
            let mut home = mine;
            if segs.len() >= 2 {
                if let Some(p) = self.packages.crate_named(fi, segs[0]) {
                    home = p;
                    cands.retain(|&(f, _)| self.packages.of_file[f] == p);
                    segs[0] = "crate";
                } else if segs[0] == "crate" || segs[0] == "self" || segs[0] == "super" {
                    cands.retain(|&(f, _)| self.packages.of_file[f] == mine);
                }
            }
            let mine = home;
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
                    let typed: Vec<FnRef> = cands
                        .iter()
                        .copied()
                        .filter(|&r| {
                            fun(r).owner.as_deref() == owner
                                || fun(r).trait_name.as_deref() == owner
                        })
                        .collect();
                    // `Default::default()`, `From::from(x)`: the trait is named,
                    // the implementing type is inferred; with several impls,
                    // which one runs is a type we do not see.
                    let by_trait_only = !typed.iter().any(|&r| fun(r).owner.as_deref() == owner);
                    let impls: HashSet<&str> = typed
                        .iter()
                        .filter_map(|&r| fun(r).owner.as_deref())
                        .collect();
                    if by_trait_only && impls.len() > 1 {
                        return Vec::new();
                    }
                    return self.one_package(typed, mine);
                }
                if !matches!(qual, "crate" | "self" | "super") {
                    let in_module: Vec<FnRef> = cands
                        .iter()
                        .copied()
                        .filter(|&(f, g)| {
                            let fun = &units[f].model.functions[g];
                            fun.owner.is_none()
                                && (units[f].model.module.iter().any(|s| s == qual)
                                    || fun.inline_mod.as_deref() == Some(qual))
                        })
                        .collect();
                    return self.one_package(in_module, mine);
                }
            }
            // An unqualified or `crate::` function: one of this crate's.
            let free: Vec<FnRef> = cands
                .iter()
                .copied()
                .filter(|&(f, g)| {
                    units[f].model.functions[g].owner.is_none() && self.packages.of_file[f] == mine
                })
                .collect();
            // Prefer a definition in the same file (a private helper).
            let here: Vec<FnRef> = free.iter().copied().filter(|&(f, _)| f == fi).collect();
            return if here.is_empty() { free } else { here };
        }
        // Methods.
        let methods: Vec<FnRef> = cands.iter().copied().filter(|&r| fun(r).has_self).collect();
        let on_self = c.prev.is_none() && c.root == "self";
        if on_self {
            let own = caller.and_then(|f| f.owner.clone());
            let mine_: Vec<FnRef> = methods
                .iter()
                .copied()
                .filter(|&r| {
                    fun(r).owner == own
                        || (fun(r).trait_name.is_some()
                            && fun(r).trait_name == caller.and_then(|x| x.trait_name.clone()))
                })
                .collect();
            // The same method from several trait impls of one type
            // (`IntoResource<String>` and `IntoResource<PgPool>`): which one
            // runs depends on types we do not see.
            let same_type = mine_.iter().filter(|&&r| fun(r).owner == own).count();
            if same_type > 1 {
                return Vec::new();
            }
            if !mine_.is_empty() {
                return mine_;
            }
        }
        // The receiver's type: a parameter's (`conn: &DbConn`) or a
        // constructor's (`let comm = Comment::insert(..)?`). A generic
        // parameter (`h: &H`) says nothing by itself.
        if c.prev.is_none() {
            let declared = caller.and_then(|f| {
                f.params
                    .iter()
                    // (not a callback's connection parameter the frontend adds)
                    .find(|p| p.name == c.root && !p.ty.is_empty() && p.ty != "Connection")
                    .map(|p| type_name(&p.ty))
            });
            let ty = declared
                .filter(|t| t.len() > 2)
                .or_else(|| constructed_type(m, id));
            if let Some(ty) = ty {
                return self.of_type(units, &methods, &ty, mine);
            }
        }
        // `CollectionGroup::new(..).save(..)`: the chain starts with a constructor.
        if let Some(p) = c.prev {
            let pc = &m.calls[p];
            let q = pc.path.len().checked_sub(2).map(|i| pc.path[i].as_str());
            if pc.kind == CallKind::Path
                && pc.prev.is_none()
                && matches!(pc.name.as_str(), "new" | "default" | "create" | "builder")
            {
                if let Some(q) =
                    q.filter(|q| *q != "Self" && q.starts_with(|ch: char| ch.is_ascii_uppercase()))
                {
                    return self.of_type(units, &methods, q, mine);
                }
            }
        }
        self.by_receiver_name(units, fi, id, methods, k)
    }

    /// The methods of type (or trait) `ty`, from one package. Empty for a
    /// type of a library (`SelectStatement`): not ours to resolve.
    fn of_type(
        &self,
        units: &[Unit],
        methods: &[FnRef],
        ty: &str,
        mine: crate::packages::PkgId,
    ) -> Vec<FnRef> {
        let typed: Vec<FnRef> = methods
            .iter()
            .copied()
            .filter(|&(f, g)| {
                let fun = &units[f].model.functions[g];
                fun.owner.as_deref() == Some(ty) || fun.trait_name.as_deref() == Some(ty)
            })
            .collect();
        self.one_package(typed, mine)
    }

    /// Without types, a method name alone is weak evidence: resolve it when
    /// the receiver names the type (`self.user_repo` ~ `UserRepo`), or when the
    /// name is specific (`find_user_by_email`) and one type (or one trait)
    /// of the reachable packages defines it; never for `get`/`build`/`run`.
    fn by_receiver_name(
        &self,
        units: &[Unit],
        fi: usize,
        id: CallId,
        methods: Vec<FnRef>,
        k: &Knowledge,
    ) -> Vec<FnRef> {
        let m = units[fi].model;
        let c = &m.calls[id];
        let fun = |(f, g): FnRef| &units[f].model.functions[g];
        let mine = self.packages.of_file[fi];
        let recv = semantics::handle_name(if c.prev.is_none() { &c.root } else { "" })
            .replace('_', "")
            .to_ascii_lowercase();
        let by_type: Vec<FnRef> = if recv.is_empty() {
            Vec::new()
        } else {
            methods
                .iter()
                .copied()
                .filter(|&r| {
                    let o = fun(r).owner.as_deref().unwrap_or("").to_ascii_lowercase();
                    !o.is_empty()
                        && (o == recv
                            || (recv.len() >= 4 && (o.ends_with(&recv) || recv.ends_with(&o))))
                })
                .collect()
        };
        // `serializer.response()` with `TagSerializer` and `ArticleSerializer`
        // both in the crate: without the variable's type, it is ambiguous.
        let exact: Vec<FnRef> = by_type
            .iter()
            .copied()
            .filter(|&r| fun(r).owner.as_deref().unwrap_or("").to_ascii_lowercase() == recv)
            .collect();
        let owners: HashSet<&str> = by_type
            .iter()
            .filter_map(|&r| fun(r).owner.as_deref())
            .collect();
        let by_type = if !exact.is_empty() {
            exact
        } else if owners.len() > 1 {
            Vec::new()
        } else {
            by_type
        };
        if !by_type.is_empty() {
            return self.one_package(by_type, mine);
        }
        if k.common_methods.contains(&c.name) || !c.name.contains('_') {
            return Vec::new();
        }
        // A specific name (`find_user_by_email`) defined in one package: any
        // of its definitions may run (overrides, implementations of a trait).
        // A field's method is not the caller's own (`self.inner.create_stream()`
        // in a wrapper's `create_stream` calls the wrapped client).
        let own = c.func.and_then(|f| m.functions[f].owner.as_deref());
        let methods: Vec<FnRef> = if c.root.starts_with("self.") || c.root.starts_with("this.") {
            methods
                .into_iter()
                .filter(|&r| fun(r).owner.as_deref() != own)
                .collect()
        } else {
            methods
        };
        self.one_package(methods, mine)
    }

    /// Candidates defined in one package: the caller's own when it has one,
    /// else the single other package; several packages defining a same-named
    /// type's method is a choice the code makes by types we do not see.
    fn one_package(&self, cands: Vec<FnRef>, mine: crate::packages::PkgId) -> Vec<FnRef> {
        let pkgs: HashSet<usize> = cands
            .iter()
            .map(|&(f, _)| self.packages.of_file[f])
            .collect();
        if pkgs.len() <= 1 {
            return cands;
        }
        if pkgs.contains(&mine) {
            return cands
                .into_iter()
                .filter(|&(f, _)| self.packages.of_file[f] == mine)
                .collect();
        }
        Vec::new()
    }

    /// Python, TypeScript/JavaScript and Go: names come into a file by
    /// definition, import or (Go) package, so a call resolves through those.
    fn resolve_dynamic(
        &self,
        units: &[Unit],
        fi: usize,
        id: CallId,
        cands: Vec<FnRef>,
        k: &Knowledge,
    ) -> Vec<FnRef> {
        let m = units[fi].model;
        let c = &m.calls[id];
        let fun = |(f, g): FnRef| &units[f].model.functions[g];
        let dir_of = |p: &str| {
            p.rsplit_once('/')
                .map(|(d, _)| d.to_string())
                .unwrap_or_default()
        };
        let family = m.lang.family();
        let free = |r: FnRef| !fun(r).has_self;
        if c.kind == CallKind::Path {
            // Defined in this file.
            let here: Vec<FnRef> = cands
                .iter()
                .copied()
                .filter(|&r| r.0 == fi && free(r))
                .collect();
            if !here.is_empty() {
                return here;
            }
            if family == Family::Go {
                // Same Go package: the same folder.
                let dir = dir_of(units[fi].path);
                return cands
                    .into_iter()
                    .filter(|&r| free(r) && dir_of(units[r.0].path) == dir)
                    .collect();
            }
            // Imported by name: `from app.crud import create_user`, `import { f } from './crud'`.
            let Some(imp) = m.imports.iter().find(|i| i.alias == c.name) else {
                return Vec::new();
            };
            return self.in_module(units, fi, &imp.path, true, cands);
        }
        // `module.f()`: the receiver is an imported module or Go package.
        if c.prev.is_none() {
            if let Some(imp) = m.imports.iter().find(|i| i.alias == c.root) {
                if family == Family::Go {
                    let Some(dir) = self.packages.go_import_dir(fi, &imp.path) else {
                        return Vec::new();
                    };
                    return cands
                        .into_iter()
                        .filter(|&r| free(r) && dir_of(units[r.0].path) == dir)
                        .collect();
                }
                return self.in_module(units, fi, &imp.path, false, cands);
            }
        }
        let methods: Vec<FnRef> = cands.iter().copied().filter(|&r| !free(r)).collect();
        let caller = c.func.map(|f| &m.functions[f]);
        if c.prev.is_none() && matches!(c.root.as_str(), "self" | "this" | "cls") {
            let own = caller.and_then(|f| f.owner.clone());
            return methods
                .into_iter()
                .filter(|&r| r.0 == fi && fun(r).owner == own)
                .collect();
        }
        self.by_receiver_name(units, fi, id, methods, k)
    }

    /// Candidates defined in the module an import names. `by_name`: the import
    /// names the function itself (`app.crud.create_user`), not its module.
    fn in_module(
        &self,
        units: &[Unit],
        fi: usize,
        import: &str,
        by_name: bool,
        cands: Vec<FnRef>,
    ) -> Vec<FnRef> {
        let module = if by_name {
            match import.rsplit_once('.') {
                Some((m, _)) if !m.ends_with('.') && !m.is_empty() => m,
                _ => return Vec::new(),
            }
        } else {
            import
        };
        // A relative import keeps its dots: `./lib/password`.
        let module = module.trim_end_matches('/');
        let here = units[fi]
            .path
            .rsplit_once('/')
            .map(|(d, _)| d)
            .unwrap_or("");
        let target: Vec<String> = if module.starts_with("./") || module.starts_with("../") {
            // A relative JS/TS import: a path from this file's folder.
            let mut segs: Vec<String> = here
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            for s in module.split('/') {
                match s {
                    "." | "" => {}
                    ".." => {
                        segs.pop();
                    }
                    s => segs.push(s.to_string()),
                }
            }
            segs
        } else if module.starts_with('.') {
            // A relative Python import: `.crud` is a sibling module.
            let ups = module.chars().take_while(|&c| c == '.').count();
            let mut segs: Vec<String> = here
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            for _ in 1..ups {
                segs.pop();
            }
            segs.extend(
                module[ups..]
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            segs
        } else if module.contains('/') {
            // A JS/TS module path: a package of the tree or a path alias of the
            // project root (`@/lib/password`, `~/lib/password`): its tail is a file.
            module
                .trim_start_matches(['@', '~', '#'])
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        } else {
            module
                .split('.')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        // `./password.js` names the file `password.ts` as often as `password.js`.
        let mut target = target;
        if let Some(last) = target.last_mut() {
            for ext in [".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx", ".py"] {
                if let Some(stem) = last.strip_suffix(ext) {
                    *last = stem.to_string();
                    break;
                }
            }
        }
        if target.is_empty() {
            return Vec::new();
        }
        cands
            .into_iter()
            .filter(|&(f, g)| {
                if units[f].model.functions[g].has_self {
                    return false;
                }
                let p = units[f].path;
                let stem = p.rsplit_once('.').map(|(s, _)| s).unwrap_or(p);
                let stem = stem
                    .strip_suffix("/__init__")
                    .or_else(|| stem.strip_suffix("/index"))
                    .unwrap_or(stem);
                let segs: Vec<&str> = stem.split('/').collect();
                segs.len() >= target.len()
                    && segs[segs.len() - target.len()..]
                        .iter()
                        .zip(&target)
                        .all(|(a, b)| a == b)
            })
            .collect()
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
            let mut found = Vec::new();
            for (fi, u) in units.iter().enumerate() {
                let m = u.model;
                if m.lang != crate::model::Lang::Rust {
                    continue;
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
            }
            if found.is_empty() {
                break;
            }
            self.offloaders.extend(found);
        }
    }

    fn summarise(&mut self, units: &[Unit], k: &Knowledge) {
        // Direct facts.
        let mut queue: VecDeque<FnRef> = VecDeque::new();
        let mut bqueue: VecDeque<FnRef> = VecDeque::new();
        // Reverse edges: callee -> (caller, call).
        let mut rev: HashMap<FnRef, Vec<(FnRef, CallId)>> = HashMap::new();
        // Calls handing a database handle to a function of the tree.
        let mut deferred: Vec<(FnRef, CallId, Vec<FnRef>, bool)> = Vec::new();
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
                    && !self.blocks.contains_key(&me)
                    && semantics::blocking_at(m, id, k).is_some()
                    && !self.offloaded(units, fi, id, k)
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
    /// that starts in `main`? (A handler or a task has no caller we see, so
    /// a function without callers is never start-up only.)
    pub fn startup_only(&self, units: &[Unit], f: FnRef) -> bool {
        let is_main = |(fi, g): FnRef| {
            let fun = &units[fi].model.functions[g];
            fun.name == "main" && fun.owner.is_none()
        };
        if is_main(f) {
            return true;
        }
        let mut seen = HashSet::from([f]);
        let mut frontier = vec![f];
        while let Some(cur) = frontier.pop() {
            let Some(callers) = self.callers.get(&cur) else {
                return false; // reached without main: a handler, a task, an export
            };
            for &(caller, call) in callers {
                let cm = units[caller.0].model;
                if cm.functions[caller.1].handler_like {
                    return false;
                }
                // Inside a closure (a spawned task, a scheduled job, a route) or
                // a loop (`loop { accept().. }`) it runs at any time, not once.
                let c = &cm.calls[call];
                if c.closure_of.is_some() || !c.loops.is_empty() {
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

/// Is `name` a known offloader (`spawn_blocking`, `web::block`)?
fn is_offload_name(name: &str, k: &Knowledge) -> bool {
    k.offload_calls
        .iter()
        .any(|p| p == name || path_matches(name, p) || p.ends_with(&format!("::{name}")))
}

/// The type of the value a `let` binds from a constructor-like path call of
/// the same function: `let comm = Comment::insert(&conn, ..)?` -> `Comment`.
fn constructed_type(m: &FileModel, id: CallId) -> Option<String> {
    let c = &m.calls[id];
    let root = c.root.as_str();
    if root.is_empty() || c.func.is_none() {
        return None;
    }
    m.calls
        .iter()
        .enumerate()
        .take(id)
        .rev()
        .find(|(_, b)| b.func == c.func && b.bound_to.as_deref() == Some(root))
        .and_then(|(x, _)| {
            let first = &m.calls[m.chain(x)[0]];
            let q = first
                .path
                .len()
                .checked_sub(2)
                .map(|i| first.path[i].as_str())?;
            (first.kind == CallKind::Path
                && q.starts_with(|ch: char| ch.is_ascii_uppercase())
                && q != "Self")
                .then(|| q.to_string())
        })
}

/// The type a parameter's type names: `&mut DbConn` -> `DbConn`,
/// `Arc<AppState>` -> `AppState`, `web::Data<Pool>` -> `Pool`.
fn type_name(ty: &str) -> String {
    let t = ty.trim().trim_start_matches('&').trim();
    let t = t.strip_prefix("mut ").unwrap_or(t).trim();
    let t = t
        .strip_prefix("dyn ")
        .or_else(|| t.strip_prefix("impl "))
        .unwrap_or(t);
    // Wrappers that deref to what they hold.
    let mut t = t.to_string();
    for w in [
        "Arc<",
        "Rc<",
        "Box<",
        "Data<",
        "State<",
        "Extension<",
        "Option<",
    ] {
        if let Some(i) = t.find(w) {
            if t.ends_with('>') && (i == 0 || t[..i].ends_with("::")) {
                t = t[i + w.len()..t.len() - 1].trim().to_string();
            }
        }
    }
    let t = t.trim_start_matches('&').trim();
    let t = t.strip_prefix("mut ").unwrap_or(t);
    let base = t.split('<').next().unwrap_or(t);
    base.rsplit("::").next().unwrap_or(base).trim().to_string()
}
