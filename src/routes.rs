//! HTTP routes: where each is declared, and its full path once routers are
//! composed.
//!
//! A route's path as written is rarely its path as served: axum routers are
//! `nest`ed under prefixes and `merge`d, often across functions and files
//! (`Router::new().nest("/api", users::routes())`), and actix-web scopes
//! (`web::scope("/api").service(list)`) prefix the routes they hold. Routes
//! are first read per file, then every router chain is placed in a tree of
//! mounts (the `nest`/`merge`/`service` call that holds it, the variable it
//! is bound to, or the function that returns it) and each route gets the
//! prefixes of its ancestors.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::link::Unit;
use crate::model::{ArgKind, CallId, CallKind, FileModel, Lang};

#[derive(Serialize, Clone, Debug)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
    pub handler: String,
    pub file: String,
    pub line: u32,
    pub framework: String,
    /// What it hangs on, to find the prefixes of.
    #[serde(skip)]
    pub anchor: Anchor,
}

/// What a declared route hangs on.
#[derive(Clone, Debug)]
pub enum Anchor {
    /// The `route` call of a Rust router chain.
    Chain(CallId),
    /// A router variable (Python, JavaScript/TypeScript, Go), in a function
    /// or at module level (`None`).
    Router(Option<usize>, String),
    /// Its handler: Rust attribute routes, registered by `.service(handler)`
    /// (NestJS decorator routes too, which carry their whole path).
    Handler,
}

/// Every unit's routes with their full paths, indexed like `units`.
pub fn endpoints(units: &[Unit]) -> Vec<Vec<Endpoint>> {
    let mut per_unit: Vec<Vec<Endpoint>> =
        units.iter().map(|u| declared(u.path, u.model)).collect();
    let tree = MountTree::build(units);
    for (ui, eps) in per_unit.iter_mut().enumerate() {
        let m = units[ui].model;
        let mut out = Vec::with_capacity(eps.len());
        for e in eps.drain(..) {
            let groups = match &e.anchor {
                Anchor::Chain(c) => vec![tree.group_of(ui, m, *c)],
                Anchor::Handler if m.lang == Lang::Rust => tree.services_of(&e.handler),
                // NestJS controllers carry their whole path.
                Anchor::Handler => Vec::new(),
                Anchor::Router(scope, r) => vec![Group::Named(ui, *scope, r.clone())],
            };
            let prefixes: std::collections::BTreeSet<String> =
                groups.iter().flat_map(|g| tree.prefixes(g, 0)).collect();
            if prefixes.is_empty() {
                out.push(e);
                continue;
            }
            for p in prefixes.iter().take(MAX_PREFIXES) {
                let mut e = e.clone();
                e.path = join(p, &e.path);
                out.push(e);
            }
        }
        for e in &mut out {
            if e.path.is_empty() {
                e.path = "/".into();
            }
        }
        *eps = out;
    }
    // utoipa's attribute documents a route that a router may also declare
    // (then the router, not the documentation, says where it is served).
    let key = |e: &Endpoint| {
        let handler = e
            .handler
            .rsplit("::")
            .next()
            .unwrap_or_default()
            .to_string();
        (e.method.clone(), handler)
    };
    let routed: HashSet<(String, String)> = per_unit
        .iter()
        .flatten()
        .filter(|e| e.framework != "utoipa")
        .map(key)
        .collect();
    for eps in &mut per_unit {
        eps.retain(|e| e.framework != "utoipa" || !routed.contains(&key(e)));
    }
    per_unit
}

/// A route mounted in several places is listed once per place, up to this many.
const MAX_PREFIXES: usize = 4;
/// Mounts deeper than this are cut (and cycles with them).
const MAX_DEPTH: usize = 12;

/// `"/api" + "/users"` = `/api/users`; a nested `"/"` is the prefix itself.
fn join(prefix: &str, path: &str) -> String {
    let p = prefix.trim_end_matches('/');
    if p.is_empty() {
        return path.to_string();
    }
    if path == "/" || path.is_empty() {
        return p.to_string();
    }
    if path.starts_with('/') {
        format!("{p}{path}")
    } else {
        format!("{p}/{path}")
    }
}

/// A router value: a chain inside a mount call's arguments, a local variable
/// of a function, or the value a function returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Group {
    Inline(usize, CallId),
    Var(usize, usize, String),
    Returned(usize, usize),
    /// A chain outside any function (statics, tests' helpers): never mounted.
    Loose(usize, CallId),
    /// A router variable of a Python, JavaScript/TypeScript or Go file: of
    /// a function (a local or a parameter), or of the module (`None`).
    Named(usize, Option<usize>, String),
}

struct Mount {
    prefix: String,
    parent: Group,
}

#[derive(Default)]
struct MountTree {
    /// Child router -> where it is mounted.
    parents: HashMap<Group, Vec<Mount>>,
    /// A chain's own prefix (`web::scope("/api")...`).
    own: HashMap<Group, String>,
    /// actix `.service(handler)`: handler name -> the groups registering it.
    services: HashMap<String, Vec<Group>>,
    /// Per unit, its mount calls (few per file: looked up for every route).
    mount_calls: Vec<Vec<CallId>>,
}

const MOUNTS: &[&str] = &["nest", "merge", "service", "mount"];

impl MountTree {
    fn build(units: &[Unit]) -> MountTree {
        let mut t = MountTree {
            mount_calls: units
                .iter()
                .map(|u| {
                    let m = u.model;
                    if m.lang != Lang::Rust || m.kind.test {
                        return Vec::new();
                    }
                    (0..m.calls.len())
                        .filter(|&i| {
                            let c = &m.calls[i];
                            c.kind == CallKind::Method && MOUNTS.contains(&c.name.as_str())
                        })
                        .collect()
                })
                .collect(),
            ..MountTree::default()
        };
        // Functions by name, for `nest("/x", users::routes())`.
        let mut fns: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
        for (ui, u) in units.iter().enumerate() {
            if u.model.lang != Lang::Rust || u.model.kind.test {
                continue;
            }
            for (fi, f) in u.model.functions.iter().enumerate() {
                fns.entry(f.name.as_str()).or_default().push((ui, fi));
            }
        }
        for (ui, u) in units.iter().enumerate() {
            let m = u.model;
            if m.lang != Lang::Rust || m.kind.test {
                continue;
            }
            for (ci, c) in m.calls.iter().enumerate() {
                if c.in_test {
                    continue;
                }
                // web::scope("/api"): the chain's own prefix.
                if c.kind == CallKind::Path
                    && matches!(c.name.as_str(), "scope" | "resource")
                    && c.prev.is_none()
                {
                    if let Some(&ArgKind::Str(li)) = c.args.first().map(|a| &a.kind) {
                        t.own
                            .insert(t.group_of(ui, m, ci), m.literals[li].value.clone());
                    }
                }
                if c.kind != CallKind::Method || !MOUNTS.contains(&c.name.as_str()) {
                    continue;
                }
                let (prefix, child) = match (c.name.as_str(), c.args.as_slice()) {
                    ("nest" | "mount", [p, child]) => match p.kind {
                        ArgKind::Str(li) => (m.literals[li].value.clone(), child),
                        _ => continue,
                    },
                    ("merge" | "service", [child]) => (String::new(), child),
                    _ => continue,
                };
                let parent = t.group_of(ui, m, ci);
                let mut children = vec![Group::Inline(ui, ci)];
                let text = child
                    .text
                    .trim_start_matches('&')
                    .trim_end_matches(".clone()");
                if let (Some(f), true) = (c.func, is_ident(text)) {
                    children.push(Group::Var(ui, f, text.to_string()));
                    if c.name == "service" {
                        t.services
                            .entry(text.to_string())
                            .or_default()
                            .push(parent.clone());
                    }
                } else if let Some(list) = text
                    .strip_prefix("routes![")
                    .and_then(|r| r.strip_suffix(']'))
                {
                    // rocket: .mount("/api", routes![a, b])
                    for h in list.split(',').filter_map(|h| h.rsplit("::").next()) {
                        t.services
                            .entry(h.to_string())
                            .or_default()
                            .push(Group::Inline(ui, ci));
                    }
                } else if let Some((qual, name)) = called_fn(text) {
                    let cands = fns.get(name).map(Vec::as_slice).unwrap_or_default();
                    // `users::routes()`: the function of module `users`, if there is one.
                    let in_module: Vec<(usize, usize)> = cands
                        .iter()
                        .copied()
                        .filter(|&(fu, _)| {
                            qual.is_some_and(|q| {
                                units[fu].model.module.last().is_some_and(|l| l == q)
                            })
                        })
                        .collect();
                    let chosen = if in_module.is_empty() {
                        cands
                    } else {
                        &in_module
                    };
                    for &(fu, ff) in chosen {
                        children.push(Group::Returned(fu, ff));
                    }
                }
                for ch in children {
                    t.parents.entry(ch).or_default().push(Mount {
                        prefix: prefix.clone(),
                        parent: parent.clone(),
                    });
                }
            }
        }
        let mut script_fns: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
        for (ui, u) in units.iter().enumerate() {
            if u.model.lang == Lang::Rust || u.model.kind.test {
                continue;
            }
            for (fi, f) in u.model.functions.iter().enumerate() {
                if f.params.iter().any(|p| is_ident(&p.name)) {
                    script_fns
                        .entry(f.name.as_str())
                        .or_default()
                        .push((ui, fi));
                }
            }
        }
        t.add_script_mounts(units, &script_fns);
        t
    }

    /// Router composition in Python, JavaScript/TypeScript and Go, through
    /// variables: `APIRouter(prefix=..)`, `Blueprint(url_prefix=..)`,
    /// `include_router`/`register_blueprint`, Express `app.use("/api", r)`,
    /// chi `Mount`, gin/echo `Group`. Routers imported from another file are
    /// followed through the import.
    fn add_script_mounts(&mut self, units: &[Unit], fns: &HashMap<&str, Vec<(usize, usize)>>) {
        let by_module = ModuleIndex::new(units);
        // Prefixes kept in named constants (`API_V1_STR: str = "/api/v1"`,
        // `const API_PREFIX = "/api"`), used when exactly one value has the name.
        let mut named: HashMap<&str, HashSet<&str>> = HashMap::new();
        for u in units {
            if u.model.lang == Lang::Rust || u.model.kind.test {
                continue;
            }
            for l in &u.model.literals {
                if let Some(n) = &l.name {
                    if l.value.starts_with('/') && !l.in_test {
                        named
                            .entry(n.as_str())
                            .or_default()
                            .insert(l.value.as_str());
                    }
                }
            }
        }
        let constant = |text: &str| -> Option<String> {
            let name = text.rsplit('=').next()?.trim().rsplit('.').next()?;
            match named
                .get(name)
                .map(|v| v.iter().collect::<Vec<_>>())
                .as_deref()
            {
                Some([one]) => Some(one.to_string()),
                _ => None,
            }
        };
        for (ui, u) in units.iter().enumerate() {
            let m = u.model;
            if m.lang == Lang::Rust || m.kind.test {
                continue;
            }
            let django = is_django_urlconf(u.path, m);
            for c in &m.calls {
                if c.in_test {
                    continue;
                }
                // Django: path("api/", include("shop.urls")) mounts shop/urls.py.
                if django {
                    if let Some(DjangoPath::Include(route, target)) = django_path(m, c) {
                        // include(router.urls): a DRF router of this file.
                        if let Some(var) = target.strip_suffix(".urls").filter(|v| is_ident(v)) {
                            self.parents
                                .entry(Group::Named(ui, None, var.to_string()))
                                .or_default()
                                .push(Mount {
                                    prefix: route,
                                    parent: Group::Named(ui, None, URLPATTERNS.into()),
                                });
                            continue;
                        }
                        let module = target.trim_matches(|c| c == '"' || c == '\'');
                        let module = m
                            .imports
                            .iter()
                            .find(|i| i.alias == module)
                            .map(|i| i.path.as_str())
                            .unwrap_or(module);
                        if let Some(cu) = by_module.unit(u.path, module) {
                            self.parents
                                .entry(Group::Named(cu, None, URLPATTERNS.into()))
                                .or_default()
                                .push(Mount {
                                    prefix: route,
                                    parent: Group::Named(ui, None, URLPATTERNS.into()),
                                });
                        }
                    }
                    continue;
                }
                let root = c.root.rsplit('.').next().unwrap_or(&c.root).to_string();
                let kw = |names: &[&str]| {
                    c.args.iter().find_map(|a| {
                        let (k, _) = a.text.split_once('=')?;
                        if !names.contains(&k.trim()) {
                            return None;
                        }
                        match a.kind {
                            ArgKind::Str(li) => Some(m.literals[li].value.clone()),
                            _ => constant(&a.text),
                        }
                    })
                };
                let first_str = || match c.args.first().map(|a| &a.kind) {
                    Some(&ArgKind::Str(li)) => Some(m.literals[li].value.clone()),
                    _ => None,
                };
                match (c.name.as_str(), &c.bound_to) {
                    ("APIRouter" | "Blueprint" | "Router", Some(v)) => {
                        if let Some(p) = kw(&["prefix", "url_prefix"]) {
                            self.own.insert(Group::Named(ui, c.func, v.clone()), p);
                        }
                    }
                    ("Group" | "group", Some(v)) if !root.is_empty() => {
                        if let Some(p) = first_str() {
                            self.parents
                                .entry(Group::Named(ui, c.func, v.clone()))
                                .or_default()
                                .push(Mount {
                                    prefix: p,
                                    parent: Group::Named(ui, c.func, root.clone()),
                                });
                        }
                    }
                    ("include_router" | "register_blueprint", _) if !root.is_empty() => {
                        let Some(child) = c.args.first() else {
                            continue;
                        };
                        let explicit = kw(&["prefix", "url_prefix"]);
                        let prefix = explicit.clone().unwrap_or_default();
                        for g in by_module.resolve(units, ui, c.func, &child.text) {
                            // Flask: the url_prefix given at registration replaces the blueprint's.
                            if c.name == "register_blueprint" && explicit.is_some() {
                                self.own.remove(&g);
                            }
                            self.parents.entry(g).or_default().push(Mount {
                                prefix: prefix.clone(),
                                parent: Group::Named(ui, c.func, root.clone()),
                            });
                        }
                    }
                    ("use" | "Mount" | "mount", _) => {
                        let (prefix, child) = match c.args.as_slice() {
                            [p, child, ..] => match p.kind {
                                ArgKind::Str(li) => (m.literals[li].value.clone(), child),
                                _ => match constant(&p.text) {
                                    Some(v) => (v, child),
                                    None => continue,
                                },
                            },
                            [child] => (String::new(), child),
                            _ => continue,
                        };
                        if !prefix.is_empty() && !prefix.starts_with('/') {
                            continue;
                        }
                        // `app.use(..)`; `const api = Router().use(..)`; an
                        // unbound chain is what the module exports.
                        let parent = if !root.is_empty() {
                            Group::Named(ui, c.func, root.clone())
                        } else {
                            let mut tail = c;
                            while let Some(n) = tail.next {
                                tail = &m.calls[n];
                            }
                            match &tail.bound_to {
                                Some(v) => Group::Named(ui, c.func, v.clone()),
                                None => Group::Named(ui, None, String::new()),
                            }
                        };
                        for g in by_module.resolve(units, ui, c.func, &child.text) {
                            self.parents.entry(g).or_default().push(Mount {
                                prefix: prefix.clone(),
                                parent: parent.clone(),
                            });
                        }
                    }
                    _ => self.add_parameter_mounts(units, ui, c, fns),
                }
            }
        }
    }

    /// gin's `articles.Register(v1.Group("/articles"))` and Express's
    /// `registerRoutes(router)`: a router passed to a function, which
    /// declares routes on its parameter.
    fn add_parameter_mounts(
        &mut self,
        units: &[Unit],
        ui: usize,
        c: &crate::model::Call,
        fns: &HashMap<&str, Vec<(usize, usize)>>,
    ) {
        let Some(callees) = fns.get(c.name.as_str()) else {
            return;
        };
        // Only a router passed on: `v1.Group("/x")`, or a variable the file
        // declares routes on, mounts, or builds as a router.
        let m = units[ui].model;
        let routerish = |t: &str| {
            let t = t.trim().trim_start_matches('&');
            t.contains(".Group(")
                || t.contains(".group(")
                || m.calls.iter().any(|o| {
                    (o.root == t && ROUTER_METHODS.contains(&o.name.as_str()))
                        || (o.bound_to.as_deref() == Some(t)
                            && ROUTER_CONSTRUCTORS.contains(&o.name.as_str()))
                })
        };
        if !c.args.iter().any(|a| routerish(&a.text)) {
            return;
        }
        // A name many files define (`register`) with no package to pick one by.
        let qual = c.root.rsplit(['.', '/']).next().unwrap_or_default();
        if qual.is_empty() && callees.len() > 4 {
            return;
        }
        for &(fu, ff) in callees {
            let f = &units[fu].model.functions[ff];
            // `articles.Register(..)` is the Register of package `articles`.
            if !qual.is_empty() && fu != ui && !units[fu].path.contains(&format!("{qual}/")) {
                continue;
            }
            for (i, a) in c.args.iter().enumerate() {
                let Some(param) = f.params.get(i) else { break };
                if !routerish(&a.text) {
                    continue;
                }
                let Some((base, prefix)) = group_arg(&a.text) else {
                    continue;
                };
                self.parents
                    .entry(Group::Named(fu, Some(ff), param.name.clone()))
                    .or_default()
                    .push(Mount {
                        prefix,
                        parent: Group::Named(ui, c.func, base),
                    });
            }
        }
    }

    /// The router the chain holding call `c` builds.
    fn group_of(&self, ui: usize, m: &FileModel, c: CallId) -> Group {
        let mut head = c;
        while let Some(p) = m.calls[head].prev {
            head = p;
        }
        let mut tail = c;
        while let Some(n) = m.calls[tail].next {
            tail = n;
        }
        let Some(f) = m.calls[head].func else {
            return Group::Loose(ui, head);
        };
        // Innermost mount call (of another chain) whose arguments hold this chain.
        let span = m.calls[head].span;
        let holder = self
            .mount_calls
            .get(ui)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| {
                let o = &m.calls[i];
                o.func == Some(f)
                    && !same_chain(m, i, head)
                    && o.span.start <= span.start
                    && span.end <= o.span.end
            })
            .min_by_key(|&i| m.calls[i].span.end);
        if let Some(h) = holder {
            return Group::Inline(ui, h);
        }
        let root = m.calls[head].root.as_str();
        if is_ident(root) && root != "self" {
            return Group::Var(ui, f, root.to_string());
        }
        if let Some(v) = &m.calls[tail].bound_to {
            return Group::Var(ui, f, v.clone());
        }
        Group::Returned(ui, f)
    }

    /// The groups that register actix handler `name` with `.service(name)`.
    fn services_of(&self, name: &str) -> Vec<Group> {
        self.services.get(name).cloned().unwrap_or_default()
    }

    /// Every full prefix of router `g`.
    fn prefixes(&self, g: &Group, depth: usize) -> Vec<String> {
        let own = self.own.get(g).cloned().unwrap_or_default();
        // A local router with no mount of its own is what its function
        // returns (`let mut r = Router::new()...; r`).
        let mut parents: Vec<&Mount> = match (self.parents.get(g), g) {
            (None, Group::Var(u, f, _)) => self.parents.get(&Group::Returned(*u, *f)),
            (p, _) => p,
        }
        .map(|v| v.iter().collect())
        .unwrap_or_default();
        if let Group::Named(u, scope, v) = g {
            // A function's use of a module-level router.
            if scope.is_some() && parents.is_empty() && !self.own.contains_key(g) {
                return self.prefixes(&Group::Named(*u, None, v.clone()), depth + 1);
            }
            // A whole module mounted (`app.use("/api", require("./users"))`):
            // its routers that are not mounted on their own.
            if !v.is_empty() && parents.is_empty() {
                if let Some(ms) = self.parents.get(&Group::Named(*u, None, String::new())) {
                    parents.extend(ms.iter());
                }
            }
        }
        let above: Vec<String> = match Some(&parents).filter(|p| !p.is_empty()) {
            Some(ms) if depth < MAX_DEPTH => ms
                .iter()
                .flat_map(|mt| {
                    self.prefixes(&mt.parent, depth + 1)
                        .into_iter()
                        .map(|p| join(&p, &mt.prefix))
                        .collect::<Vec<_>>()
                })
                .collect(),
            _ => vec![String::new()],
        };
        above.into_iter().map(|p| join(&p, &own)).collect()
    }
}

/// Files by module path, to follow `include_router(items.router)` or
/// `app.use("/api", require("./routes/articles"))` to the file that builds
/// the router.
struct ModuleIndex {
    /// Path without extension (and without a trailing `/index` or
    /// `/__init__`) -> unit.
    by_stem: HashMap<String, usize>,
    /// Every trailing part of those paths (`routes/items`, `items`) -> units.
    by_suffix: HashMap<String, Vec<usize>>,
}

impl ModuleIndex {
    fn new(units: &[Unit]) -> ModuleIndex {
        let mut by_stem = HashMap::new();
        for (ui, u) in units.iter().enumerate() {
            if u.model.lang == Lang::Rust || u.model.kind.test {
                continue;
            }
            let stem = u.path.rsplit_once('.').map(|(s, _)| s).unwrap_or(u.path);
            let stem = stem
                .strip_suffix("/index")
                .or_else(|| stem.strip_suffix("/__init__"))
                .unwrap_or(stem);
            by_stem.insert(stem.to_string(), ui);
        }
        let mut by_suffix: HashMap<String, Vec<usize>> = HashMap::new();
        for (stem, &ui) in &by_stem {
            by_suffix.entry(stem.clone()).or_default().push(ui);
            for (i, _) in stem.match_indices('/') {
                by_suffix
                    .entry(stem[i + 1..].to_string())
                    .or_default()
                    .push(ui);
            }
        }
        ModuleIndex { by_stem, by_suffix }
    }

    /// The unit a module path names, seen from the file at `from`: a
    /// relative path (`./routes/articles`, `../db`) from that file's folder, a
    /// package path (`app.api.routes.items`) by the file whose path ends with it.
    fn unit(&self, from: &str, module: &str) -> Option<usize> {
        let strip_index = |k: &str| -> String {
            k.strip_suffix("/index")
                .or_else(|| k.strip_suffix("/__init__"))
                .unwrap_or(k)
                .to_string()
        };
        if module.starts_with("./") || module.starts_with("../") {
            let mut parts: Vec<&str> = from.split('/').collect();
            parts.pop(); // the importing file
            for seg in module.split('/') {
                match seg {
                    "." | "" => {}
                    ".." => {
                        parts.pop()?;
                    }
                    s => parts.push(s),
                }
            }
            return self.by_stem.get(&strip_index(&parts.join("/"))).copied();
        }
        // A path keeps its dots (`tag.controller`); a Python module path uses them as separators.
        let key = if module.contains('/') {
            module.to_string()
        } else {
            module.trim_start_matches('.').replace('.', "/")
        };
        let key = strip_index(key.trim_start_matches('/'));
        if key.is_empty() {
            return None;
        }
        // Ambiguous (two `routes/users`): follow neither.
        match self.by_suffix.get(key.as_str()).map(Vec::as_slice) {
            Some([one]) => Some(*one),
            _ => None,
        }
    }

    /// The routers an argument names: a local variable, `module.var`, an
    /// imported name, or an imported module (then every router it builds).
    fn resolve(&self, units: &[Unit], ui: usize, scope: Option<usize>, text: &str) -> Vec<Group> {
        let m = units[ui].model;
        let text = text.trim();
        let ident = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        };
        // require("./routes/articles")
        if let Some(inner) = text
            .strip_prefix("require(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let module = inner.trim_matches(|c| c == '"' || c == '\'' || c == '`');
            return self
                .unit(units[ui].path, module)
                .map(|u| vec![Group::Named(u, None, String::new())])
                .unwrap_or_default();
        }
        if let Some((module, var)) = text.rsplit_once('.') {
            if ident(var) {
                let import = m.imports.iter().find(|i| i.alias == module);
                let target = match import {
                    Some(i) => self.unit(units[ui].path, &i.path),
                    None => self.unit(units[ui].path, module),
                };
                if let Some(u) = target {
                    return vec![Group::Named(u, None, var.to_string())];
                }
            }
            return Vec::new();
        }
        if !ident(text) {
            return Vec::new();
        }
        // const api = require("./routes")
        let required = m.calls.iter().find_map(|c| {
            if c.name != "require" || c.bound_to.as_deref() != Some(text) {
                return None;
            }
            match c.args.first().map(|a| &a.kind) {
                Some(&ArgKind::Str(li)) => Some(m.literals[li].value.clone()),
                _ => None,
            }
        });
        if let Some(module) = required {
            return self
                .unit(units[ui].path, &module)
                .map(|u| vec![Group::Named(u, None, String::new())])
                .unwrap_or_default();
        }
        if let Some(i) = m.imports.iter().find(|i| i.alias == text) {
            // `from .routes import router as users` or `import users from "./users"`.
            if let Some(u) = self.unit(units[ui].path, &i.path) {
                return vec![Group::Named(u, None, String::new())];
            }
            if let Some((module, var)) = i.path.rsplit_once(['.', '/']) {
                if let Some(u) = self.unit(units[ui].path, module) {
                    let mut gs = vec![Group::Named(u, None, var.to_string())];
                    // `import users from "./users"` reads as a name `users` of
                    // the module: it may be the default export, the module's router.
                    if var == text {
                        gs.push(Group::Named(u, None, String::new()));
                    }
                    return gs;
                }
            }
        }
        vec![Group::Named(ui, scope, text.to_string())]
    }
}

/// `v1.Group("/users")` -> (`v1`, `/users`); `router` -> (`router`, ``).
fn group_arg(text: &str) -> Option<(String, String)> {
    let t = text.trim().trim_start_matches('&');
    if is_ident(t) {
        return Some((t.to_string(), String::new()));
    }
    let (base, rest) = t.split_once('.')?;
    let inner = rest
        .strip_prefix("Group(")
        .or_else(|| rest.strip_prefix("group("))?
        .strip_suffix(')')?;
    let prefix = inner
        .trim()
        .trim_matches(|c| c == '"' || c == '\'' || c == '`');
    (is_ident(base) && prefix.starts_with('/')).then(|| (base.to_string(), prefix.to_string()))
}

fn same_chain(m: &FileModel, a: CallId, head: CallId) -> bool {
    let mut x = a;
    while let Some(p) = m.calls[x].prev {
        x = p;
    }
    x == head
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// `users::routes()` -> (`users`, `routes`); `routes(state.clone())` -> (None, `routes`).
fn called_fn(text: &str) -> Option<(Option<&str>, &str)> {
    let open = text.find('(')?;
    if !text.ends_with(')') {
        return None;
    }
    let mut segs = text[..open].rsplit("::");
    let name = segs.next()?;
    let qual = segs
        .next()
        .filter(|q| is_ident(q) && !matches!(*q, "Self" | "self" | "crate" | "super"));
    is_ident(name).then_some((qual, name))
}

/// The HTTP routes one file declares, with paths as written there.
fn declared(rel: &str, m: &crate::model::FileModel) -> Vec<Endpoint> {
    let mut out = Vec::new();
    if m.kind.test {
        return out;
    }
    for rt in &m.routes {
        out.push(Endpoint {
            method: rt.method.clone(),
            path: rt.path.clone(),
            handler: rt.handler.clone(),
            file: rel.to_string(),
            line: rt.pos.line,
            framework: rt.framework.clone(),
            anchor: match &rt.router {
                Some(r) => Anchor::Router(None, r.clone()),
                None => Anchor::Handler,
            },
        });
    }
    if m.lang != Lang::Rust {
        router_calls(rel, m, &mut out);
        if is_django_urlconf(rel, m) {
            django_paths(rel, m, &mut out);
        }
        return out;
    }
    // axum: .route("/path", get(handler).post(other)); actix: .route("/p", web::get().to(h))
    for (id, c) in m.calls.iter().enumerate() {
        if c.in_test || c.kind != CallKind::Method || c.name != "route" {
            continue;
        }
        // `.route("/p", get(h))`, or actix's `resource("/p").route(web::get().to(h))`
        // whose path is the resource's (a chain prefix, joined later).
        let (path, line, methods) = match c.args.as_slice() {
            [p, methods] => {
                let ArgKind::Str(li) = p.kind else {
                    continue;
                };
                let lit = &m.literals[li];
                (lit.value.clone(), lit.span.start.line, &methods.text)
            }
            [methods] if methods.text.contains(".to(") => {
                (String::new(), c.span.end.line, &methods.text)
            }
            _ => continue,
        };
        // A `format!` template or a relative path is not a route we can name;
        // "" is actix's scope root.
        if !(path.is_empty() || path.starts_with('/')) {
            continue;
        }
        for cap in method_re().captures_iter(methods) {
            out.push(Endpoint {
                method: cap[1].to_ascii_uppercase(),
                path: path.clone(),
                handler: if &cap[2] == "|" {
                    "(inline handler)".to_string()
                } else {
                    cap[2].to_string()
                },
                file: rel.to_string(),
                line,
                framework: if methods.contains(".to(") {
                    "actix-web".into()
                } else {
                    "axum".into()
                },
                anchor: Anchor::Chain(id),
            });
        }
    }
    out
}

fn is_django_urlconf(rel: &str, m: &FileModel) -> bool {
    m.lang == Lang::Python && (rel == "urls.py" || rel.ends_with("/urls.py"))
}

/// A Django `path("route/", view)`/`re_path(r"^route/$", view)` in a URLconf:
/// (the route as a URL path, the view), or `include(..)`'s argument.
enum DjangoPath<'a> {
    View(String, &'a str),
    Include(String, &'a str),
}

fn django_path<'a>(m: &'a FileModel, c: &'a crate::model::Call) -> Option<DjangoPath<'a>> {
    if c.kind != CallKind::Path
        || !matches!(c.name.as_str(), "path" | "re_path" | "url")
        || c.prev.is_some()
        || c.args.len() < 2
    {
        return None;
    }
    let ArgKind::Str(li) = c.args[0].kind else {
        return None;
    };
    let route = m.literals[li]
        .value
        .trim_start_matches('^')
        .trim_end_matches('$')
        .to_string();
    let route = format!("/{}", route.trim_start_matches('/'));
    let view = c.args[1].text.as_str();
    match view.strip_prefix("include(") {
        Some(inner) => Some(DjangoPath::Include(
            route,
            inner
                .trim_end_matches(')')
                .split(',')
                .next()
                .unwrap_or_default()
                .trim(),
        )),
        None => Some(DjangoPath::View(route, view)),
    }
}

/// The views of a Django URLconf; `include(..)`s become mounts. Django REST
/// framework's `router.register("articles", ArticleViewSet)` is a route on
/// `router`, served where `include(router.urls)` puts it.
fn django_paths(file: &str, m: &FileModel, out: &mut Vec<Endpoint>) {
    for c in &m.calls {
        if c.name == "register" && !c.root.is_empty() && c.args.len() >= 2 {
            if let ArgKind::Str(li) = c.args[0].kind {
                out.push(Endpoint {
                    method: "ANY".into(),
                    path: format!("/{}", m.literals[li].value.trim_matches(['^', '$', '/'])),
                    handler: c.args[1].text.chars().take(80).collect(),
                    file: file.to_string(),
                    line: c.span.start.line,
                    framework: "django-rest-framework".into(),
                    anchor: Anchor::Router(None, c.root.clone()),
                });
            }
            continue;
        }
        if let Some(DjangoPath::View(route, view)) = django_path(m, c) {
            out.push(Endpoint {
                method: "ANY".into(),
                path: route,
                handler: view.chars().take(80).collect(),
                file: file.to_string(),
                line: c.span.start.line,
                framework: "django".into(),
                anchor: Anchor::Router(None, URLPATTERNS.into()),
            });
        }
    }
}

const URLPATTERNS: &str = "urlpatterns";

/// Calls that declare routes or mount routers on their receiver.
const ROUTER_METHODS: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "all",
    "use",
    "route",
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "Any",
    "Handle",
    "HandleFunc",
    "Group",
    "group",
    "Mount",
    "Route",
    "include_router",
    "register_blueprint",
];

/// Calls whose value is a router.
const ROUTER_CONSTRUCTORS: &[&str] = &[
    "Router",
    "APIRouter",
    "Blueprint",
    "Group",
    "group",
    "Default",
    "New",
    "NewRouter",
    "NewServeMux",
    "express",
    "Flask",
    "FastAPI",
    "fastify",
];

/// Express/Koa/Fastify `app.get("/x", h)`, gin `r.GET("/x", h)`, chi `r.Get`,
/// echo `e.POST`, net/http `mux.HandleFunc("GET /x", h)`.
fn router_calls(file: &str, m: &crate::model::FileModel, out: &mut Vec<Endpoint>) {
    const ROUTERS: &[&str] = &[
        "app",
        "router",
        "r",
        "e",
        "api",
        "server",
        "mux",
        "g",
        "group",
        "v1",
        "v2",
        "routes",
        "engine",
        "fastify",
        "http",
        "route",
        "rg",
        "authorized",
        "admin",
        "public",
        "private",
    ];
    for c in &m.calls {
        if c.in_test || c.kind != CallKind::Method || c.args.len() < 2 || c.prev.is_some() {
            continue;
        }
        let root = c.root.rsplit('.').next().unwrap_or(&c.root);
        if !ROUTERS.contains(&root) && !root.ends_with("Router") && !root.ends_with("router") {
            continue;
        }
        let ArgKind::Str(li) = c.args[0].kind else {
            continue;
        };
        let path = &m.literals[li].value;
        let name = c.name.to_ascii_lowercase();
        let (method, path) = match name.as_str() {
            "get" | "post" | "put" | "patch" | "delete" | "head" | "options" | "all" => {
                (name.to_ascii_uppercase(), path.clone())
            }
            "handlefunc" | "handle" => match path.split_once(' ') {
                Some((verb, p)) if verb.chars().all(|ch| ch.is_ascii_uppercase()) => {
                    (verb.to_string(), p.to_string())
                }
                _ => ("ANY".to_string(), path.clone()),
            },
            _ => continue,
        };
        if !path.starts_with('/') {
            continue;
        }
        let framework = match m.lang {
            Lang::Go => "go",
            Lang::Python => "python",
            _ => "express",
        };
        out.push(Endpoint {
            method,
            path,
            handler: match c.args.last() {
                Some(a)
                    if a.kind == ArgKind::Closure
                        || a.text.contains("=>")
                        || a.text.starts_with("func") =>
                {
                    "(inline handler)".into()
                }
                Some(a) => a.text.chars().take(80).collect(),
                None => String::new(),
            },
            file: file.to_string(),
            line: c.span.start.line,
            framework: framework.into(),
            anchor: Anchor::Router(c.func, root.to_string()),
        });
    }
}

fn method_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"(?:^|[.:])(get|post|put|patch|delete|head|options)\((?:\)\.to\()?([\w:]+|\|)",
        )
        .unwrap()
    })
}
