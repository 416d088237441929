//! Services: the unit of the architecture review. A service is a deployable
//! entry point with the code it runs:
//!
//! - Rust: a binary target (`src/main.rs`, `src/bin/*.rs`, a `[[bin]]`: a
//!   file with `fn main`) with its crate and the workspace crates the crate
//!   depends on (path dependencies), so routes declared in a library crate
//!   count for every binary that depends on it;
//! - Go: a `package main` with the folders of the module it imports;
//! - Python: a file that makes an ASGI/WSGI application (`FastAPI()`,
//!   `Flask(__name__)`, Django's `get_wsgi_application`), with its package;
//! - JavaScript/TypeScript: a server entry (`express()`, `fastify()`,
//!   `NestFactory.create`, `new Koa()`, `http.createServer`), with its package.
//!
//! A package that declares routes but is run by no entry archlint sees is a
//! service of its own, anchored at its first route. A service with routes is
//! an HTTP service; one without is a worker (when it consumes a queue) or a
//! command-line tool.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::link::Unit;
use crate::model::{CallKind, FileModel, Lang, SqlFacts};
use crate::packages::{PackageGraph, PkgId};
use crate::routes::{Anchor, Endpoint};
use crate::source::{Pos, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Serves HTTP routes.
    Http,
    /// Consumes a queue or a stream, no routes.
    Worker,
    /// Neither: a command-line tool or a one-shot job.
    Cli,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    /// The folder of its manifest (or of its entry, without one).
    pub root: String,
    /// The entry file (a `main`, an app factory, or the first route's file).
    pub entry: String,
    pub entry_line: u32,
    pub language: Lang,
    pub kind: Kind,
    /// Units (indices into the linked units) that belong to it.
    pub files: Vec<usize>,
    /// Packages whose manifests are its own.
    pub packages: Vec<PkgId>,
    /// Some of its code is under no manifest.
    pub undeclared: bool,
    /// Where a service-wide finding goes: the router composition (the whole
    /// chain underlined) or the entry point.
    pub anchor: (String, Span),
    /// Its routes, in path and line order.
    pub endpoints: Vec<Endpoint>,
}

impl Service {
    pub fn has(&self, unit: usize) -> bool {
        self.files.binary_search(&unit).is_ok()
    }
}

/// Every service of the tree, in entry path order.
pub fn build(units: &[Unit], endpoints: &[Vec<Endpoint>], g: &PackageGraph) -> Vec<Service> {
    let mut out: Vec<Service> = Vec::new();
    let source = |u: &Unit| !u.model.kind.test && u.model.kind.role == crate::roles::Role::Source;
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|a, b| units[*a].path.cmp(units[*b].path));
    // A JS/TS package is one server however many files build an app object
    // (Hono and Koa sub-apps mounted on one root): its entry is the file
    // named like one (`server`, `index`, `app`, `main`, `router`), else the first.
    let mut js_entry: HashMap<PkgId, usize> = HashMap::new();
    for &fi in &order {
        let u = &units[fi];
        let js = matches!(u.model.lang, Lang::JavaScript | Lang::TypeScript);
        if !js || !source(u) || g.package(fi).client || entry_line(u.path, u.model).is_none() {
            continue;
        }
        let named = |f: usize| {
            let file = units[f].path.rsplit('/').next().unwrap_or(units[f].path);
            matches!(
                file.split('.').next().unwrap_or(file),
                "server" | "index" | "app" | "main" | "router"
            )
        };
        let e = js_entry.entry(g.of_file[fi]).or_insert(fi);
        if !named(*e) && named(fi) {
            *e = fi;
        }
    }
    for &fi in &order {
        let u = &units[fi];
        if !source(u) || g.package(fi).client || g.in_script_dir(u.path) {
            continue;
        }
        let Some(line) = entry_line(u.path, u.model) else {
            continue;
        };
        if js_entry.get(&g.of_file[fi]).is_some_and(|&e| e != fi) {
            continue;
        }
        let p = g.of_file[fi];
        let files: Vec<usize> = match u.model.lang {
            Lang::Rust => rust_files(units, g, fi),
            Lang::Go => go_files(units, g, fi),
            _ => (0..units.len())
                .filter(|&o| {
                    units[o].model.lang.family() == u.model.lang.family()
                        && g.reaches(p, g.of_file[o])
                })
                .collect(),
        };
        let pkg = g.package(fi);
        let name = if u.model.lang == Lang::Rust && u.path.contains("/bin/") || !pkg.declared {
            stem(u.path)
        } else if u.model.lang == Lang::Go && pkg.declared {
            // `cmd/api/main.go` -> `api`; a main at the module's top -> the module.
            let dir = u.path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            if dir == pkg.dir {
                pkg.name.rsplit('/').next().unwrap_or(&pkg.name).to_string()
            } else {
                dir.rsplit('/').next().unwrap_or(dir).to_string()
            }
        } else {
            pkg.name.clone()
        };
        out.push(new_service(
            name,
            if pkg.declared {
                pkg.dir.clone()
            } else {
                dir_of(u.path)
            },
            (u.path.to_string(), line),
            u.model.lang,
            files,
            units,
            endpoints,
            g,
        ));
    }
    // Packages with routes that no entry runs: a service each; in a
    // language with no entry archlint recognises, one service for all of
    // them (the routes of one server are often spread over packages).
    let covered: HashSet<usize> = out
        .iter()
        .filter(|s| s.kind == Kind::Http)
        .flat_map(|s| s.files.iter().copied())
        .collect();
    let entry_families: HashSet<crate::model::Family> =
        out.iter().map(|s| s.language.family()).collect();
    let mut orphan_pkgs: Vec<PkgId> = Vec::new();
    let mut merged: HashSet<crate::model::Family> = HashSet::new();
    for &fi in &order {
        if endpoints[fi].is_empty() || covered.contains(&fi) || units[fi].model.kind.test {
            continue;
        }
        let p = g.of_file[fi];
        if g.packages[p].client || orphan_pkgs.contains(&p) {
            continue;
        }
        let pkg = &g.packages[p];
        let family = pkg.family;
        let whole_family = !entry_families.contains(&family);
        if whole_family && !merged.insert(family) {
            continue;
        }
        orphan_pkgs.push(p);
        let files: Vec<usize> = (0..units.len())
            .filter(|&o| {
                units[o].model.lang.family() == family
                    && (g.reaches(p, g.of_file[o])
                        || whole_family
                            && !g.packages[g.of_file[o]].client
                            && !covered.contains(&o))
            })
            .collect();
        let first = &endpoints[fi][0];
        out.push(new_service(
            if pkg.declared {
                pkg.name.clone()
            } else {
                dir_name(&dir_of(units[fi].path))
            },
            if pkg.declared {
                pkg.dir.clone()
            } else {
                String::new()
            },
            (first.file.clone(), first.line),
            units[fi].model.lang,
            files,
            units,
            endpoints,
            g,
        ));
    }
    // Two services of one name (two `main.go` in folders named alike): the root tells them apart.
    let names: Vec<String> = out.iter().map(|s| s.name.clone()).collect();
    for s in &mut out {
        if names.iter().filter(|n| **n == s.name).count() > 1 {
            s.name = format!("{} ({})", s.name, s.entry);
        }
    }
    out.sort_by(|a, b| a.entry.cmp(&b.entry));
    out
}

#[allow(clippy::too_many_arguments)]
fn new_service(
    name: String,
    root: String,
    (entry, entry_line): (String, u32),
    language: Lang,
    mut files: Vec<usize>,
    units: &[Unit],
    endpoints: &[Vec<Endpoint>],
    g: &PackageGraph,
) -> Service {
    files.sort_unstable();
    files.dedup();
    let mut packages: Vec<PkgId> = files.iter().map(|&f| g.of_file[f]).collect();
    packages.sort_unstable();
    packages.dedup();
    let undeclared = packages.iter().any(|&p| !g.packages[p].declared);
    let mut by_path: Vec<usize> = files.clone();
    by_path.sort_by(|a, b| units[*a].path.cmp(units[*b].path));
    let eps: Vec<Endpoint> = by_path
        .iter()
        .filter(|&&f| !units[f].model.kind.test)
        .flat_map(|&f| endpoints[f].iter().cloned())
        .collect();
    let kind = if !eps.is_empty() {
        Kind::Http
    } else if files.iter().any(|&f| consumes_queue(units[f].model)) {
        Kind::Worker
    } else {
        Kind::Cli
    };
    // The anchor: the first route file's router composition, else the entry.
    let anchor = by_path
        .iter()
        .find(|&&f| !endpoints[f].is_empty() && !units[f].model.kind.test)
        .map(|&f| {
            let e = &endpoints[f][0];
            let m = units[f].model;
            let span = match e.anchor {
                Anchor::Chain(c) if c < m.calls.len() => {
                    let chain = m.chain(c);
                    let end = m.chain_end(c);
                    Span::new(m.calls[chain[0]].span.start, m.calls[end].span.end)
                }
                _ => Span::point(Pos::new(e.line, 1)),
            };
            (e.file.clone(), span)
        })
        .unwrap_or_else(|| {
            let span = units
                .iter()
                .find(|u| u.path == entry)
                .and_then(|u| {
                    u.model
                        .functions
                        .iter()
                        .find(|f| f.name == "main" && f.owner.is_none())
                        .map(|f| f.span)
                })
                .unwrap_or(Span::point(Pos::new(entry_line.max(1), 1)));
            (entry.clone(), span)
        });
    Service {
        name,
        root,
        entry,
        entry_line,
        language,
        kind,
        files,
        packages,
        undeclared,
        anchor,
        endpoints: eps,
    }
}

fn stem(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    if matches!(
        stem,
        "main" | "index" | "app" | "server" | "mod" | "wsgi" | "asgi"
    ) {
        dir_name(&dir_of(path))
    } else {
        stem.to_string()
    }
}

fn dir_of(path: &str) -> String {
    path.rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
}

fn dir_name(dir: &str) -> String {
    let d = dir
        .trim_end_matches("/src")
        .trim_end_matches("/bin")
        .trim_end_matches("/cmd");
    match d.rsplit('/').next() {
        Some(n) if !n.is_empty() && n != "src" => n.to_string(),
        _ => "app".into(),
    }
}

/// The line of the entry point a file declares, if it is one.
fn entry_line(path: &str, m: &FileModel) -> Option<u32> {
    let file = path.rsplit('/').next().unwrap_or(path);
    match m.lang {
        Lang::Rust | Lang::Go => {
            if file == "build.rs" || file.ends_with("_test.go") {
                return None;
            }
            m.functions
                .iter()
                .find(|f| f.name == "main" && f.owner.is_none() && !f.is_test)
                .map(|f| f.span.start.line)
        }
        Lang::Python => m
            .calls
            .iter()
            .find(|c| {
                !c.in_test
                    && c.prev.is_none()
                    && matches!(
                        c.name.as_str(),
                        "FastAPI"
                            | "Flask"
                            | "Starlette"
                            | "Quart"
                            | "Sanic"
                            | "Litestar"
                            | "get_wsgi_application"
                            | "get_asgi_application"
                    )
            })
            .map(|c| c.span.start.line),
        Lang::JavaScript | Lang::TypeScript => m
            .calls
            .iter()
            .find(|c| {
                !c.in_test
                    && (matches!(
                        c.name.as_str(),
                        "express" | "fastify" | "Fastify" | "Koa" | "Hono"
                    ) && c.kind == CallKind::Path
                        && c.prev.is_none()
                        || c.name == "createServer" && c.root == "http"
                        || c.name == "create" && c.root == "NestFactory")
            })
            .map(|c| c.span.start.line),
        _ => None,
    }
}

/// A Rust binary's files: its crate and the crates it reaches. A binary under
/// `src/bin/` does not take the other binaries' files, nor the modules of
/// `src/main.rs` (without a module tree, a crate's other files are the main
/// binary's when it has one).
fn rust_files(units: &[Unit], g: &PackageGraph, fi: usize) -> Vec<usize> {
    let p = g.of_file[fi];
    let dir = &g.packages[p].dir;
    let rel = |path: &str| -> String {
        if dir.is_empty() {
            path.to_string()
        } else {
            path.strip_prefix(dir.as_str())
                .map(|r| r.trim_start_matches('/').to_string())
                .unwrap_or_else(|| path.to_string())
        }
    };
    let me = rel(units[fi].path);
    let bin_unit = |r: &str| r.starts_with("src/bin/");
    let my_bin_dir = me
        .strip_suffix(".rs")
        .map(|s| format!("{s}/"))
        .unwrap_or_default();
    let crate_has_main = units
        .iter()
        .enumerate()
        .any(|(o, u)| g.of_file[o] == p && rel(u.path) == "src/main.rs");
    (0..units.len())
        .filter(|&o| {
            let u = &units[o];
            if u.model.lang != Lang::Rust || !g.reaches(p, g.of_file[o]) {
                return false;
            }
            if g.of_file[o] != p || o == fi {
                return true;
            }
            let r = rel(u.path);
            if bin_unit(&r) {
                // Its own folder (`src/bin/x/`), or the folder of the bin it is in.
                return bin_unit(&me) && r.starts_with(&my_bin_dir);
            }
            if r == "src/main.rs" {
                return false;
            }
            !bin_unit(&me) || !crate_has_main
        })
        .collect()
}

/// A Go `main`'s files: its folder and the folders of the module it imports, transitively.
fn go_files(units: &[Unit], g: &PackageGraph, fi: usize) -> Vec<usize> {
    let mut dirs: BTreeSet<String> = BTreeSet::from([dir_of(units[fi].path)]);
    let mut queue = vec![dir_of(units[fi].path)];
    while let Some(d) = queue.pop() {
        for (o, u) in units.iter().enumerate() {
            if u.model.lang != Lang::Go || dir_of(u.path) != d {
                continue;
            }
            for i in &u.model.imports {
                if let Some(nd) = g.go_import_dir(o, &i.path) {
                    if dirs.insert(nd.clone()) {
                        queue.push(nd);
                    }
                }
            }
        }
    }
    (0..units.len())
        .filter(|&o| units[o].model.lang == Lang::Go && dirs.contains(&dir_of(units[o].path)))
        .collect()
}

/// Does the code consume a queue or a stream (a worker)?
pub fn consumes_queue(m: &FileModel) -> bool {
    !m.kind.test
        && m.calls.iter().any(|c| {
            !c.in_test
                && matches!(
                    c.name.as_str(),
                    "basic_consume"
                        | "consume"
                        | "start_consuming"
                        | "subscribe"
                        | "receive_message"
                        | "receive_messages"
                        | "xreadgroup"
                        | "XReadGroup"
                        | "ReadMessage"
                        | "FetchMessage"
                        | "Consume"
                        | "QueueSubscribe"
                        | "Subscribe"
                        | "consumer"
                )
        })
}

/// The tables a service reads and writes (SQL outside migrations and tests).
pub fn tables(units: &[Unit], s: &Service) -> (Vec<String>, Vec<String>) {
    let mut read = BTreeSet::new();
    let mut written = BTreeSet::new();
    for &f in &s.files {
        let m = units[f].model;
        if m.kind.test || m.kind.migration {
            continue;
        }
        for st in &m.sql {
            if st.call.is_some_and(|c| m.calls[c].in_test) {
                continue;
            }
            match &st.facts {
                SqlFacts::Select(sel) => {
                    for b in std::iter::once(sel).chain(sel.branches.iter()) {
                        for (t, _) in &b.tables {
                            if !t.starts_with('(') && !b.ctes.contains(t) {
                                read.insert(t.clone());
                            }
                        }
                        for j in &b.joins {
                            if !j.table.starts_with('(') && !b.ctes.contains(&j.table) {
                                read.insert(j.table.clone());
                            }
                        }
                    }
                }
                SqlFacts::Write { table, .. } if !table.is_empty() => {
                    written.insert(table.clone());
                }
                _ => {}
            }
        }
    }
    (read.into_iter().collect(), written.into_iter().collect())
}

/// External systems by the client libraries a manifest declares: (dependency, system).
const EXTERNAL: &[(&str, &str)] = &[
    ("reqwest", "HTTP (reqwest)"),
    ("ureq", "HTTP (ureq)"),
    ("surf", "HTTP (surf)"),
    ("awc", "HTTP (awc)"),
    ("axios", "HTTP (axios)"),
    ("node-fetch", "HTTP (node-fetch)"),
    ("got", "HTTP (got)"),
    ("undici", "HTTP (undici)"),
    ("requests", "HTTP (requests)"),
    ("httpx", "HTTP (httpx)"),
    ("aiohttp", "HTTP (aiohttp)"),
    ("github.com/go-resty/resty/v2", "HTTP (resty)"),
    ("redis", "Redis"),
    ("deadpool-redis", "Redis"),
    ("bb8-redis", "Redis"),
    ("fred", "Redis"),
    ("ioredis", "Redis"),
    ("github.com/redis/go-redis/v9", "Redis"),
    ("github.com/go-redis/redis/v8", "Redis"),
    ("memcache", "Memcached"),
    ("rdkafka", "Kafka"),
    ("kafkajs", "Kafka"),
    ("confluent-kafka", "Kafka"),
    ("kafka-python", "Kafka"),
    ("github.com/segmentio/kafka-go", "Kafka"),
    ("github.com/IBM/sarama", "Kafka"),
    ("lapin", "RabbitMQ"),
    ("amqplib", "RabbitMQ"),
    ("pika", "RabbitMQ"),
    ("aio-pika", "RabbitMQ"),
    ("github.com/rabbitmq/amqp091-go", "RabbitMQ"),
    ("async-nats", "NATS"),
    ("nats", "NATS"),
    ("github.com/nats-io/nats.go", "NATS"),
    ("celery", "Celery broker"),
    ("bullmq", "Redis queue (BullMQ)"),
    ("aws-sdk-s3", "S3"),
    ("rust-s3", "S3"),
    ("object_store", "object store"),
    ("boto3", "AWS (boto3)"),
    ("@aws-sdk/client-s3", "S3"),
    ("aws-sdk", "AWS"),
    ("minio", "S3 (MinIO)"),
    ("github.com/aws/aws-sdk-go-v2", "AWS"),
    ("github.com/minio/minio-go/v7", "S3 (MinIO)"),
    ("lettre", "SMTP"),
    ("nodemailer", "SMTP"),
    ("stripe", "Stripe"),
    ("elasticsearch", "Elasticsearch"),
    ("@elastic/elasticsearch", "Elasticsearch"),
    ("meilisearch-sdk", "Meilisearch"),
    ("mongodb", "MongoDB"),
    ("mongoose", "MongoDB"),
    ("pymongo", "MongoDB"),
];

/// Is the manifest `file` one of the service's (or may it be, for code under no manifest)?
pub fn owns_manifest(s: &Service, g: &PackageGraph, file: &str) -> bool {
    let dir = dir_of(file);
    s.undeclared || s.packages.iter().any(|&p| g.packages[p].dir == dir)
}

/// The external systems a service calls, from its manifests.
pub fn externals(s: &Service, g: &PackageGraph, deps: &[crate::manifest::Dep]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for d in deps {
        if !owns_manifest(s, g, &d.file) {
            continue;
        }
        if let Some((_, sys)) = EXTERNAL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&d.name))
        {
            out.insert(sys.to_string());
        }
    }
    out.into_iter().collect()
}

/// The service's framework: its routes', else its manifests' web framework.
pub fn framework(s: &Service) -> String {
    s.endpoints
        .first()
        .map(|e| e.framework.clone())
        .unwrap_or_default()
}

/// A service as the report shows it (`stats.services`).
#[derive(Serialize, Clone, Debug)]
pub struct Summary {
    pub name: String,
    pub root: String,
    pub entry: String,
    pub kind: Kind,
    pub language: String,
    pub framework: String,
    /// Indices into `endpoints_created`.
    pub endpoints: Vec<usize>,
    pub tables_read: Vec<String>,
    pub tables_written: Vec<String>,
    pub external_systems: Vec<String>,
    /// The card's critical rules (stateless, own database, observable,
    /// health) this service passes, and those it fails; a rule that does not
    /// apply (a health check for a command-line tool) is in neither.
    pub critical_rules_passed: Vec<String>,
    pub critical_rules_failed: Vec<String>,
    #[serde(skip)]
    pub files: Vec<String>,
    #[serde(skip)]
    routes: Vec<(String, u32, String, String)>,
}

pub const CRITICAL: &[&str] = &[
    "stateful-service",
    "shared-database",
    "missing-observability",
    "missing-health-check",
];

pub fn summarize(
    units: &[Unit],
    s: &Service,
    g: &PackageGraph,
    deps: &[crate::manifest::Dep],
) -> Summary {
    let (tables_read, tables_written) = tables(units, s);
    Summary {
        name: s.name.clone(),
        root: s.root.clone(),
        entry: s.entry.clone(),
        kind: s.kind,
        language: s.language.name().to_string(),
        framework: framework(s),
        endpoints: Vec::new(),
        tables_read,
        tables_written,
        external_systems: externals(s, g, deps),
        critical_rules_passed: Vec::new(),
        critical_rules_failed: Vec::new(),
        files: s.files.iter().map(|&f| units[f].path.to_string()).collect(),
        routes: s
            .endpoints
            .iter()
            .map(|e| (e.file.clone(), e.line, e.method.clone(), e.path.clone()))
            .collect(),
    }
}

/// Fill in the endpoint indices and the critical rules, once the endpoints
/// are sorted and the findings final.
pub fn finish(sums: &mut [Summary], endpoints: &[Endpoint], findings: &[crate::finding::Finding]) {
    for s in sums.iter_mut() {
        s.endpoints = endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                s.routes
                    .iter()
                    .any(|r| r.0 == e.file && r.1 == e.line && r.2 == e.method && r.3 == e.path)
            })
            .map(|(i, _)| i)
            .collect();
        let files: HashSet<&str> = s.files.iter().map(String::as_str).collect();
        let named = format!("service `{}`", s.name);
        for rule in CRITICAL {
            let applies = match *rule {
                "missing-health-check" => s.kind == Kind::Http,
                "missing-observability" => s.kind != Kind::Cli,
                _ => true,
            };
            if !applies {
                continue;
            }
            let service_wide = matches!(*rule, "missing-observability" | "missing-health-check");
            let failed = findings.iter().any(|f| {
                f.rule == *rule
                    && if service_wide {
                        f.message.contains(&named)
                    } else {
                        files.contains(f.path.as_str())
                    }
            });
            if failed {
                s.critical_rules_failed.push(rule.to_string());
            } else {
                s.critical_rules_passed.push(rule.to_string());
            }
        }
    }
}
