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
    /// The `route` call that declares it (Rust router chains).
    #[serde(skip)]
    pub origin: Option<CallId>,
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
            let groups = match e.origin {
                Some(c) => vec![tree.group_of(ui, m, c)],
                None if m.lang == Lang::Rust => tree.services_of(&e.handler),
                None => Vec::new(),
            };
            let prefixes: Vec<String> = groups
                .iter()
                .flat_map(|g| tree.prefixes(g, 0))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            if prefixes.is_empty() {
                out.push(e);
                continue;
            }
            let mut prefixes = prefixes;
            prefixes.sort();
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
        t
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
        let parents = match (self.parents.get(g), g) {
            (None, Group::Var(u, f, _)) => self.parents.get(&Group::Returned(*u, *f)),
            (p, _) => p,
        };
        let above: Vec<String> = match parents {
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
            origin: None,
        });
    }
    if m.lang != Lang::Rust {
        router_calls(rel, m, &mut out);
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
                origin: Some(id),
            });
        }
    }
    out
}

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
            origin: None,
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
