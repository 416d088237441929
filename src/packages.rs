//! The package graph: which package each file belongs to and which packages
//! its code can reach, read from the manifests (`Cargo.toml`, `go.mod`,
//! `package.json`, `pyproject.toml`/`setup.py`/`requirements.txt`).
//!
//! Call resolution ([`crate::link`]) only looks for a callee in packages the
//! caller can reach: its own and those its manifest depends on, transitively.
//! Two crates of one repository that do not depend on each other never see
//! each other's functions, and a Rust method never resolves to a Python one.
//! Services (the unit of the architecture rules) are built on this graph too.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::manifest::PackageDecl;
use crate::model::{Family, Lang};

pub type PkgId = usize;

#[derive(Clone, Debug)]
pub struct Package {
    /// The manifest's name (`my-crate`, `example.com/app`'s last segment, the
    /// folder for a Python project), or `(root)` for files under no manifest.
    pub name: String,
    /// The manifest's folder, relative to the scanned root ("" at the top).
    pub dir: String,
    pub family: Family,
    /// Packages of this tree the manifest depends on.
    pub deps: Vec<PkgId>,
    /// How the code names each dependency of this tree (`my_crate`), itself included.
    pub idents: HashMap<String, PkgId>,
    /// Go: the module path imports start with.
    pub go_module: Option<String>,
    /// Declared by a manifest (not the catch-all package of unowned files).
    pub declared: bool,
    /// Depends on an HTTP server framework, or declares routes.
    pub serves: bool,
    /// A browser application (React, Vue, ...) and no server: not the backend.
    pub client: bool,
    /// Its only database drivers are in-process ones (SQLite).
    pub embedded_db: bool,
}

#[derive(Clone, Debug, Default)]
pub struct PackageGraph {
    pub packages: Vec<Package>,
    /// The package of each unit.
    pub of_file: Vec<PkgId>,
    /// Packages each package reaches (itself included).
    reach: Vec<HashSet<PkgId>>,
    /// Folders of one-off programs the manifests run (npm scripts).
    pub script_dirs: Vec<String>,
}

impl PackageGraph {
    /// `files`: each unit's path and language; `decls`: every manifest read;
    /// `roles` says which dependencies make a server or a browser application.
    pub fn build(
        decls: &[PackageDecl],
        files: &[(&str, Lang)],
        roles: &crate::roles::Roles,
    ) -> PackageGraph {
        let mut g = PackageGraph::default();
        let mut by_dir: HashMap<(Family, String), PkgId> = HashMap::new();
        g.script_dirs = decls.iter().flat_map(|d| d.script_dirs.clone()).collect();
        let mut decls: Vec<&PackageDecl> = decls.iter().filter(|d| !d.virtual_workspace).collect();
        decls.sort_by(|a, b| (a.family, &a.dir).cmp(&(b.family, &b.dir)));
        // The declaration behind each package, for its dependencies.
        let mut own: Vec<Vec<&PackageDecl>> = Vec::new();
        for d in decls {
            if let Some(&i) = by_dir.get(&(d.family, d.dir.clone())) {
                own[i].push(d); // requirements.txt beside pyproject.toml: one package
                continue;
            }
            by_dir.insert((d.family, d.dir.clone()), g.packages.len());
            own.push(vec![d]);
            let has = |list: &[String]| {
                d.deps.iter().any(|(_, real)| {
                    !d.optional_deps.contains(real)
                        && list.iter().any(|x| x.eq_ignore_ascii_case(real))
                })
            };
            let serves = has(&roles.server_deps);
            g.packages.push(Package {
                serves,
                client: !serves && has(&roles.client_deps),
                embedded_db: has(&roles.embedded_db_deps) && !has(&roles.networked_db_deps),
                name: if d.name.is_empty() {
                    d.dir.rsplit('/').next().unwrap_or("").to_string()
                } else {
                    d.name.clone()
                },
                dir: d.dir.clone(),
                family: d.family,
                deps: Vec::new(),
                idents: HashMap::new(),
                go_module: d.go_module.clone(),
                declared: true,
            });
        }
        // Dependency edges: a dependency named like a package of the tree.
        let mut by_name: HashMap<(Family, String), Vec<PkgId>> = HashMap::new();
        for (i, p) in g.packages.iter().enumerate() {
            by_name
                .entry((p.family, norm(&p.name)))
                .or_default()
                .push(i);
            if let Some(m) = &p.go_module {
                by_name.entry((p.family, m.clone())).or_default().push(i);
            }
        }
        for (i, decls) in own.iter().enumerate() {
            let fam = g.packages[i].family;
            let me = norm(&g.packages[i].name);
            g.packages[i].idents.insert(me, i);
            for d in decls {
                for (ident, real) in &d.deps {
                    let target = by_name
                        .get(&(fam, norm(real)))
                        .or_else(|| by_name.get(&(fam, norm(ident))));
                    // Two packages of one name: which one is meant is unknown.
                    if let Some([t]) = target.map(Vec::as_slice) {
                        if *t != i {
                            g.packages[i].deps.push(*t);
                            g.packages[i].idents.insert(norm(ident), *t);
                        }
                    }
                }
                for (module, dir) in &d.go_replaces {
                    if let Some(&t) = by_dir.get(&(fam, dir.clone())) {
                        g.packages[i].deps.push(t);
                        g.packages[i].idents.insert(module.clone(), t);
                    }
                }
            }
            g.packages[i].deps.sort_unstable();
            g.packages[i].deps.dedup();
        }
        // Files: the package of the nearest manifest of their language above
        // them; files under none share one package per language.
        let mut orphan: HashMap<Family, PkgId> = HashMap::new();
        for &(path, lang) in files {
            let fam = lang.family();
            let mut dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            let found = loop {
                if let Some(&p) = by_dir.get(&(fam, dir.to_string())) {
                    break Some(p);
                }
                if dir.is_empty() {
                    break None;
                }
                dir = dir.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            };
            let id = match found {
                Some(p) => p,
                None => *orphan.entry(fam).or_insert_with(|| {
                    g.packages.push(Package {
                        serves: false,
                        client: false,
                        embedded_db: false,
                        name: "(root)".into(),
                        dir: String::new(),
                        family: fam,
                        deps: Vec::new(),
                        idents: HashMap::new(),
                        go_module: None,
                        declared: false,
                    });
                    g.packages.len() - 1
                }),
            };
            g.of_file.push(id);
        }
        // Transitive closure, breadth first from each package.
        g.reach = (0..g.packages.len())
            .map(|start| {
                let mut seen = HashSet::from([start]);
                let mut q = VecDeque::from([start]);
                while let Some(p) = q.pop_front() {
                    for &d in &g.packages[p].deps {
                        if seen.insert(d) {
                            q.push_back(d);
                        }
                    }
                }
                seen
            })
            .collect();
        g
    }

    /// Packages with a unit that declares routes serve HTTP too.
    pub fn mark_serving(&mut self, declares_routes: impl Fn(usize) -> bool) {
        for fi in 0..self.of_file.len() {
            if declares_routes(fi) {
                let p = self.of_file[fi];
                self.packages[p].serves = true;
                self.packages[p].client = false;
            }
        }
    }

    /// Is code of package `p` on an HTTP request path: the package serves,
    /// a serving package depends on it, or no manifest says otherwise?
    pub fn request_path(&self, p: PkgId) -> bool {
        !self.packages[p].declared
            || (0..self.packages.len())
                .any(|s| self.packages[s].serves && self.reach[s].contains(&p))
    }

    /// Is `path` in a folder of one-off programs a manifest runs?
    pub fn in_script_dir(&self, path: &str) -> bool {
        self.script_dirs
            .iter()
            .any(|d| path.starts_with(d.as_str()) && path[d.len()..].starts_with('/'))
    }

    /// Is unit `fi` (at `path`) a stray file of a language no manifest of
    /// the tree declares, inside a Rust crate or Go module (a Python helper
    /// script in a Cargo workspace)? Such files are tooling, not the service.
    /// (A root `package.json` of formatting tools does not make a manifest-less
    /// Python app stray.)
    pub fn stray(&self, fi: usize, path: &str) -> bool {
        use crate::model::Family;
        let p = self.package(fi);
        p.family != Family::Other
            && !p.declared
            && !self
                .packages
                .iter()
                .any(|q| q.declared && q.family == p.family)
            && self.packages.iter().any(|q| {
                q.declared
                    && matches!(q.family, Family::Rust | Family::Go)
                    && (q.dir.is_empty()
                        || path.starts_with(q.dir.as_str()) && path[q.dir.len()..].starts_with('/'))
            })
    }

    /// The package of unit `fi`.
    pub fn package(&self, fi: usize) -> &Package {
        &self.packages[self.of_file[fi]]
    }

    /// Can code in unit `from` call a function defined in unit `to`? Only in
    /// its own language family, and only into a package its manifest reaches.
    pub fn visible(&self, from: usize, to: usize) -> bool {
        let (a, b) = (self.of_file[from], self.of_file[to]);
        self.packages[a].family == self.packages[b].family && self.reach[a].contains(&b)
    }

    /// Does package `from` reach package `to`?
    pub fn reaches(&self, from: PkgId, to: PkgId) -> bool {
        self.reach[from].contains(&to)
    }

    /// The package a Rust path's first segment names from unit `fi`
    /// (`my_crate::db::find`), if it is one of the tree's.
    pub fn crate_named(&self, fi: usize, ident: &str) -> Option<PkgId> {
        self.package(fi).idents.get(ident).copied()
    }

    /// The folder a Go import path stands for, if it is a package of this tree
    /// that unit `fi` can reach (`example.com/app/internal/store` -> `internal/store`).
    pub fn go_import_dir(&self, fi: usize, import: &str) -> Option<String> {
        let me = self.of_file[fi];
        for &p in &self.reach[me] {
            let pkg = &self.packages[p];
            let Some(m) = &pkg.go_module else { continue };
            let rest = if import == m.as_str() {
                Some("")
            } else {
                import
                    .strip_prefix(m.as_str())
                    .and_then(|r| r.strip_prefix('/'))
            };
            if let Some(rest) = rest {
                return Some(join(&pkg.dir, rest));
            }
        }
        None
    }
}

fn join(dir: &str, rest: &str) -> String {
    match (dir.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{rest}"),
    }
}

fn norm(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::package;

    fn graph(manifests: &[(&str, &str)], files: &[(&str, Lang)]) -> PackageGraph {
        let decls: Vec<PackageDecl> = manifests
            .iter()
            .filter_map(|(p, t)| package(p, t))
            .collect();
        PackageGraph::build(&decls, files, &crate::roles::Roles::load(None).unwrap())
    }

    #[test]
    fn crates_see_only_their_dependencies() {
        let g = graph(
            &[
                ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n"),
                (
                    "crates/api/Cargo.toml",
                    "[package]\nname = \"api\"\n[dependencies]\ndb-core = { path = \"../db\" }\n",
                ),
                ("crates/db/Cargo.toml", "[package]\nname = \"db-core\"\n"),
                (
                    "crates/migrate/Cargo.toml",
                    "[package]\nname = \"migrate\"\n",
                ),
            ],
            &[
                ("crates/api/src/main.rs", Lang::Rust),
                ("crates/db/src/lib.rs", Lang::Rust),
                ("crates/migrate/src/lib.rs", Lang::Rust),
                ("sdk/python/client.py", Lang::Python),
            ],
        );
        assert!(g.visible(0, 1), "api depends on db-core");
        assert!(!g.visible(1, 0), "db-core does not depend on api");
        assert!(!g.visible(0, 2), "api does not depend on migrate");
        assert!(!g.visible(0, 3), "never across languages");
        assert_eq!(g.crate_named(0, "db_core"), Some(g.of_file[1]));
        let g = graph(
            &[
                (
                    "server/Cargo.toml",
                    "[package]\nname = \"server\"\n[dev-dependencies]\nclient = { path = \"../client\" }\n",
                ),
                ("client/Cargo.toml", "[package]\nname = \"client\"\n"),
            ],
            &[("server/src/main.rs", Lang::Rust), ("client/src/lib.rs", Lang::Rust)],
        );
        assert!(!g.visible(0, 1), "a dev-dependency is for the tests only");
    }

    #[test]
    fn folders_of_npm_scripts_are_one_off_programs_but_not_the_servers() {
        let pkg = r#"{"name": "app", "scripts": {
            "start-server": "node server/server.js",
            "release": "node ./extra/release/release.mjs --beta",
            "reset-password": "node extra/reset-password.js",
            "seed": "node server/seed.js",
            "test": "node --test \"test/**/*.js\""
        }}"#;
        let g = graph(
            &[("package.json", pkg)],
            &[("server/server.js", Lang::JavaScript)],
        );
        assert!(g.in_script_dir("extra/release/build-images.mjs"));
        assert!(g.in_script_dir("extra/remove-2fa.js"));
        assert!(
            !g.in_script_dir("server/server.js"),
            "the server's own folder"
        );
        assert!(!g.in_script_dir("extras/x.js"));
    }

    #[test]
    fn a_server_is_a_package_with_a_framework_it_always_builds() {
        let g = graph(
            &[
                (
                    "api/Cargo.toml",
                    "[package]\nname = \"api\"\n[dependencies]\naxum = \"0.8\"\ncore = { path = \"../core\" }\n",
                ),
                (
                    "domain/Cargo.toml",
                    "[package]\nname = \"domain\"\n[dependencies]\naxum = { version = \"0.8\", optional = true }\nclient = { path = \"../client\" }\n",
                ),
                ("core/Cargo.toml", "[package]\nname = \"core\"\n"),
                ("client/Cargo.toml", "[package]\nname = \"client\"\n"),
            ],
            &[
                ("api/src/main.rs", Lang::Rust),
                ("domain/src/lib.rs", Lang::Rust),
                ("core/src/lib.rs", Lang::Rust),
                ("client/src/lib.rs", Lang::Rust),
            ],
        );
        assert!(g.request_path(g.of_file[0]));
        assert!(g.request_path(g.of_file[2]), "a library the server uses");
        assert!(
            !g.request_path(g.of_file[1]),
            "an optional axum integration"
        );
        assert!(!g.request_path(g.of_file[3]));
    }

    #[test]
    fn go_imports_map_to_folders_of_the_module() {
        let g = graph(
            &[("go.mod", "module example.com/app\n\ngo 1.22\n")],
            &[
                ("internal/store/db.go", Lang::Go),
                ("cmd/main.go", Lang::Go),
            ],
        );
        assert_eq!(
            g.go_import_dir(1, "example.com/app/internal/store")
                .as_deref(),
            Some("internal/store")
        );
        assert_eq!(g.go_import_dir(1, "github.com/yuin/goldmark/text"), None);
    }
}
