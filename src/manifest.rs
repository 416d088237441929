//! Dependencies declared in manifests (Cargo.toml, package.json,
//! requirements.txt, pyproject.toml, go.mod): the evidence for the report's
//! architecture decisions.

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Dep {
    pub name: String,
    /// The manifest line that declares it, for the decision's rationale.
    pub line_text: String,
    pub file: String,
    pub line: u32,
}

pub fn deps(rel: &str, text: &str) -> Vec<Dep> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let mut out = Vec::new();
    let mut push = |n: &str, i: usize, l: &str| {
        out.push(Dep {
            name: n.to_ascii_lowercase(),
            line_text: l.trim().chars().take(120).collect(),
            file: rel.to_string(),
            line: i as u32 + 1,
        })
    };
    match name {
        "Cargo.toml" => {
            let mut in_deps = false;
            for (i, l) in text.lines().enumerate() {
                let t = l.trim();
                if t.starts_with('[') {
                    in_deps = t.contains("dependencies");
                    if let Some(rest) = t
                        .strip_prefix("[dependencies.")
                        .or_else(|| t.strip_prefix("[workspace.dependencies."))
                    {
                        push(rest.trim_end_matches(']'), i, l);
                    }
                    continue;
                }
                if in_deps {
                    if let Some((k, _)) = t.split_once('=') {
                        let k = k.trim().trim_matches('"');
                        if !k.is_empty() && !k.starts_with('#') {
                            push(k, i, l);
                        }
                    }
                }
            }
        }
        "package.json" => {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
                for sec in ["dependencies", "devDependencies"] {
                    if let Some(o) = v.get(sec).and_then(|d| d.as_object()) {
                        for k in o.keys() {
                            let (i, l) = text
                                .lines()
                                .enumerate()
                                .find(|(_, l)| l.contains(&format!("\"{k}\"")))
                                .unwrap_or((0, ""));
                            push(k, i, l);
                        }
                    }
                }
            }
        }
        "requirements.txt" | "pyproject.toml" | "Pipfile" | "setup.py" | "setup.cfg" => {
            for (i, l) in text.lines().enumerate() {
                let t = l.trim().trim_start_matches('"');
                let n: String = t
                    .chars()
                    .take_while(|c| {
                        c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.'
                    })
                    .collect();
                if !n.is_empty()
                    && (name == "requirements.txt"
                        || l.contains('"')
                        || l.contains("==")
                        || l.contains(">="))
                {
                    push(&n, i, l);
                }
            }
        }
        "go.mod" => {
            for (i, l) in text.lines().enumerate() {
                let t = l.trim().trim_start_matches("require").trim();
                if let Some(path) = t.split_whitespace().next() {
                    if path.contains('/') && path.contains('.') {
                        push(path, i, l);
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// What a manifest says about the package it declares: its name, the
/// packages it depends on (as its code names them) and, for Go, the module
/// path its imports start with. The package graph is built from these.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PackageDecl {
    /// The folder of the manifest, relative to the scanned root ("" at the top).
    pub dir: String,
    pub family: crate::model::Family,
    pub name: String,
    /// Dependencies by the name the code uses (`my_crate` for `my-crate`,
    /// renames through `package = ".."` undone), and by the registry name.
    pub deps: Vec<(String, String)>,
    /// Go: `module example.com/app`.
    pub go_module: Option<String>,
    /// Go: `replace example.com/lib => ../lib`, as (module path, folder).
    pub go_replaces: Vec<(String, String)>,
    /// A Cargo workspace root without a `[package]` of its own: not a package.
    pub virtual_workspace: bool,
    /// Dependencies only a feature turns on (`axum = { optional = true }`):
    /// an integration a library offers, not what it is.
    pub optional_deps: Vec<String>,
    /// Folders of the one-off programs `package.json` scripts run (`"release":
    /// "node extra/release/release.mjs"`), never the folder of the server's.
    pub script_dirs: Vec<String>,
}

/// The package a manifest declares, if `rel` is a manifest.
pub fn package(rel: &str, text: &str) -> Option<PackageDecl> {
    use crate::model::Family;
    let (dir, name) = match rel.rsplit_once('/') {
        Some((d, n)) => (d.to_string(), n),
        None => (String::new(), rel),
    };
    let folder = || dir.rsplit('/').next().unwrap_or("").to_string();
    match name {
        "Cargo.toml" => {
            let v: toml::Table = text.parse().ok()?;
            let mut d = PackageDecl {
                dir: dir.clone(),
                family: Family::Rust,
                ..Default::default()
            };
            let Some(pkg) = v.get("package").and_then(|p| p.as_table()) else {
                d.virtual_workspace = true;
                return Some(d);
            };
            d.name = pkg
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_string();
            let mut tables: Vec<&toml::Table> = Vec::new();
            // What the crate's own code can call: not dev-dependencies (tests
            // only) nor build-dependencies (build.rs only).
            if let Some(t) = v.get("dependencies").and_then(|t| t.as_table()) {
                tables.push(t);
            }
            if let Some(targets) = v.get("target").and_then(|t| t.as_table()) {
                for t in targets.values().filter_map(|t| t.as_table()) {
                    for sec in ["dependencies"] {
                        if let Some(t) = t.get(sec).and_then(|t| t.as_table()) {
                            tables.push(t);
                        }
                    }
                }
            }
            for t in tables {
                for (key, spec) in t {
                    let real = spec.get("package").and_then(|p| p.as_str()).unwrap_or(key);
                    if spec.get("optional").and_then(|o| o.as_bool()) == Some(true) {
                        d.optional_deps.push(real.to_string());
                    }
                    d.deps.push((key.replace('-', "_"), real.to_string()));
                }
            }
            Some(d)
        }
        "go.mod" => {
            let mut d = PackageDecl {
                dir: dir.clone(),
                family: Family::Go,
                ..Default::default()
            };
            let mut in_replace = false;
            for l in text.lines() {
                let t = l.trim();
                if let Some(m) = t.strip_prefix("module ") {
                    let m = m.trim().trim_matches('"').to_string();
                    // `heckel.io/ntfy/v2` is the package `ntfy`: a major
                    // version suffix names no package.
                    let mut segs = m.rsplit('/');
                    let last = segs.next().unwrap_or(&m);
                    let major = last.len() > 1
                        && last.starts_with('v')
                        && last[1..].bytes().all(|b| b.is_ascii_digit());
                    d.name = match segs.next() {
                        Some(prev) if major => prev,
                        _ => last,
                    }
                    .to_string();
                    d.go_module = Some(m);
                    continue;
                }
                if t.starts_with("replace (") {
                    in_replace = true;
                    continue;
                }
                if in_replace && t == ")" {
                    in_replace = false;
                    continue;
                }
                let r = t.strip_prefix("replace ").or(in_replace.then_some(t));
                if let Some((from, to)) = r.and_then(|r| r.split_once("=>")) {
                    let from = from.split_whitespace().next().unwrap_or("");
                    let to = to.split_whitespace().next().unwrap_or("");
                    if to.starts_with('.') {
                        d.go_replaces.push((from.to_string(), join_rel(&dir, to)));
                    }
                }
                let req = t.strip_prefix("require ").unwrap_or(t);
                if let Some(p) = req.split_whitespace().next() {
                    if p.contains('/') && p.contains('.') && !t.starts_with("module") {
                        d.deps.push((p.to_string(), p.to_string()));
                    }
                }
            }
            d.go_module.as_ref()?;
            Some(d)
        }
        "package.json" => {
            let v: serde_json::Value = serde_json::from_str(text).ok()?;
            let mut d = PackageDecl {
                dir: dir.clone(),
                family: Family::Js,
                name: v
                    .get("name")
                    .and_then(|n| n.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(folder),
                ..Default::default()
            };
            for sec in ["dependencies", "devDependencies", "peerDependencies"] {
                if let Some(o) = v.get(sec).and_then(|d| d.as_object()) {
                    for k in o.keys() {
                        d.deps.push((k.clone(), k.clone()));
                    }
                }
            }
            d.script_dirs = npm_script_dirs(&dir, &v);
            Some(d)
        }
        "pyproject.toml" | "setup.py" | "setup.cfg" | "requirements.txt" | "Pipfile" => {
            let mut d = PackageDecl {
                dir: dir.clone(),
                family: Family::Python,
                name: folder(),
                ..Default::default()
            };
            if name == "pyproject.toml" {
                if let Ok(v) = text.parse::<toml::Table>() {
                    let n = v
                        .get("project")
                        .and_then(|p| p.get("name"))
                        .or_else(|| {
                            v.get("tool")
                                .and_then(|t| t.get("poetry"))
                                .and_then(|p| p.get("name"))
                        })
                        .and_then(|n| n.as_str());
                    if let Some(n) = n {
                        d.name = n.to_string();
                    }
                }
            }
            for dep in deps(rel, text) {
                let n = dep.name.replace('-', "_");
                d.deps.push((n.clone(), n));
            }
            Some(d)
        }
        _ => None,
    }
}

/// The folders of the files `package.json` scripts run with node, except
/// those of the scripts that start the server (`start`, `serve`, `dev`) and
/// the package's own folder.
fn npm_script_dirs(dir: &str, v: &serde_json::Value) -> Vec<String> {
    let Some(scripts) = v.get("scripts").and_then(|s| s.as_object()) else {
        return Vec::new();
    };
    let (mut tools, mut servers) = (Vec::new(), Vec::new());
    for (name, cmd) in scripts {
        let Some(cmd) = cmd.as_str() else { continue };
        let serves = name.contains("start") || name.contains("serve") || name == "dev";
        for tok in cmd.split_whitespace() {
            let tok = tok.trim_matches(['"', '\'']);
            let code = [".js", ".mjs", ".cjs", ".ts", ".mts"]
                .iter()
                .any(|e| tok.ends_with(e));
            if !code || tok.contains('*') {
                continue;
            }
            let file = join_rel(dir, tok);
            let folder = file
                .rsplit_once('/')
                .map(|(d, _)| d.to_string())
                .unwrap_or_default();
            if serves {
                servers.push(folder);
            } else {
                tools.push(folder);
            }
        }
    }
    tools.sort();
    tools.dedup();
    tools.retain(|t| {
        t.as_str() != dir
            && !t.is_empty()
            && !servers
                .iter()
                .any(|s| s == t || s.starts_with(&format!("{t}/")))
    });
    tools
}

/// `a/b` joined with `../c` -> `a/c`.
fn join_rel(dir: &str, rel: &str) -> String {
    let mut segs: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for s in rel.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    segs.join("/")
}
