//! Call resolution: which functions of the tree a call may reach.
//!
//! Scoped by the [package graph](crate::packages): a call only resolves into
//! its own language and into packages its manifest reaches, through paths and
//! imports first; a method needs evidence of its receiver's type, or a name
//! that is specific and defined in one reachable package. When in doubt the
//! call stays unresolved: a missed hop costs less than an invented one.

use std::collections::HashSet;

use super::{FnRef, Linked, Unit};
use crate::knowledge::Knowledge;
use crate::model::{CallId, CallKind, Family, FileModel};
use crate::semantics;

impl Linked {
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
        // Methods. Rust has no overloading nor default arguments: a method
        // takes as many arguments as it declares (`o.to_json()` is not
        // `Cipher::to_json(host, user, sync, conn)`).
        let arity = |r: FnRef| {
            fun(r)
                .params
                .iter()
                .filter(|p| p.ty != crate::model::CALLBACK_CONNECTION)
                .count()
        };
        let methods: Vec<FnRef> = cands
            .iter()
            .copied()
            .filter(|&r| fun(r).has_self && arity(r) == c.args.len())
            .collect();
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
                    .find(|p| {
                        p.name == c.root
                            && !p.ty.is_empty()
                            && p.ty != crate::model::CALLBACK_CONNECTION
                    })
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
                .filter(|&r| receiver_names_type(&recv, fun(r).owner.as_deref().unwrap_or("")))
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
        // A Python or JS function takes at most as many arguments as it
        // declares, unless it gathers the rest (`*args`, `**kw`, `...rest`)
        // or the call spreads some in. (Go: `a, b int` is one declaration.)
        let spreads = c
            .args
            .iter()
            .any(|a| a.text.starts_with('*') || a.text.starts_with("..."));
        let mut cands = cands;
        if matches!(family, Family::Python | Family::Js) && !spreads {
            cands.retain(|&r| {
                let ps = &fun(r).params;
                ps.iter()
                    .any(|p| p.name.starts_with('*') || p.name.starts_with("..."))
                    || c.args.len() <= ps.len()
            });
            if cands.is_empty() {
                return Vec::new();
            }
        }
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
        if family == Family::Python {
            return self.python_method(units, fi, id, methods, k);
        }
        self.by_receiver_name(units, fi, id, methods, k)
    }

    /// A Python method call on an untyped receiver. A container protocol
    /// name (`hint.get("content")`, `row.items()`) is a dict's or a list's
    /// far more often than a same-named class's, so it never resolves by the
    /// receiver's name. A method several classes define (`to_dict`) resolves
    /// only to the class the receiver names (`channel.to_dict()` ->
    /// `Channel.to_dict`), never by the bare name.
    fn python_method(
        &self,
        units: &[Unit],
        fi: usize,
        id: CallId,
        methods: Vec<FnRef>,
        k: &Knowledge,
    ) -> Vec<FnRef> {
        let m = units[fi].model;
        let c = &m.calls[id];
        if matches!(
            c.name.as_str(),
            "get"
                | "items"
                | "keys"
                | "values"
                | "pop"
                | "popitem"
                | "setdefault"
                | "copy"
                | "append"
                | "extend"
                | "clear"
        ) {
            return Vec::new();
        }
        let fun = |(f, g): FnRef| &units[f].model.functions[g];
        let owners: HashSet<&str> = methods
            .iter()
            .filter_map(|&r| fun(r).owner.as_deref())
            .collect();
        let found = self.by_receiver_name(units, fi, id, methods.clone(), k);
        if owners.len() <= 1 {
            return found;
        }
        let recv = semantics::handle_name(if c.prev.is_none() { &c.root } else { "" })
            .rsplit('.')
            .next()
            .unwrap_or("")
            .replace('_', "")
            .to_ascii_lowercase();
        let named = |r: FnRef| {
            !recv.is_empty() && receiver_names_type(&recv, fun(r).owner.as_deref().unwrap_or(""))
        };
        let named_found: Vec<FnRef> = found.into_iter().filter(|&r| named(r)).collect();
        if !named_found.is_empty() || recv.len() < 4 {
            return named_found;
        }
        // `self.repos.recipes.get_one(..)`: the receiver names a class of the
        // tree (`RepositoryRecipes`) that inherits the method: the nearest
        // base class defining it.
        let names = |c: &str| {
            let o = c.to_ascii_lowercase();
            o == recv || o.ends_with(&recv)
        };
        let classes: Vec<&crate::model::ClassDef> = units
            .iter()
            .filter(|u| u.model.lang == m.lang && !u.model.kind.test)
            .flat_map(|u| u.model.classes.iter())
            .collect();
        // Of the classes the receiver names, the one that inherits the
        // method; two that do is a choice made by types not seen.
        let inherited = |start: &str| -> Vec<FnRef> {
            let mut queue = vec![start];
            let mut seen: Vec<&str> = Vec::new();
            while !queue.is_empty() && seen.len() < 16 {
                let cls = queue.remove(0);
                if seen.contains(&cls) {
                    continue;
                }
                seen.push(cls);
                let defined: Vec<FnRef> = methods
                    .iter()
                    .copied()
                    .filter(|&r| fun(r).owner.as_deref() == Some(cls))
                    .collect();
                if !defined.is_empty() {
                    return defined;
                }
                if let Some(c) = classes.iter().find(|c| c.name == cls) {
                    for b in &c.bases {
                        let b = b.split('[').next().unwrap_or(b);
                        queue.push(b.rsplit('.').next().unwrap_or(b).trim());
                    }
                }
            }
            Vec::new()
        };
        let mut hits = classes
            .iter()
            .filter(|c| names(&c.name))
            .map(|c| inherited(&c.name))
            .filter(|v| !v.is_empty());
        match (hits.next(), hits.next()) {
            (Some(one), None) => one,
            _ => Vec::new(),
        }
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

/// Does a receiver's name (lower case, no `_`: `userrepo`) name the type
/// `owner` (`UserRepo`; `repo` for `UserRepo` when four letters or more)?
fn receiver_names_type(recv: &str, owner: &str) -> bool {
    let o = owner.to_ascii_lowercase();
    !o.is_empty() && (o == recv || (recv.len() >= 4 && (o.ends_with(recv) || recv.ends_with(&o))))
}
