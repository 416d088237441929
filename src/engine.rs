//! The pipeline: discover -> read and parse (parallel, one pass per file) ->
//! link (once) -> rules -> findings. Everything a file could not give is a
//! blocker; nothing on one file stops the scan.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use regex::Regex;
use std::sync::OnceLock;

use crate::budget::Budget;
use crate::cache::{Cache, Stored};
use crate::config::Config;
use crate::discover::{self, glob_lite::Glob, Candidate};
use crate::finding::{Finding, Severity};
use crate::frontend;
use crate::knowledge::Knowledge;
use crate::link::{Linked, Unit};
use crate::manifest::{self, Dep};
use crate::model::{FileModel, Lang, PathKind, Suppression};
use crate::packages::PackageGraph;
use crate::roles::{Role, Roles};
use crate::rules::{self, FileCtx, ProgramCtx, Rule};
use crate::secrets::SecretKnowledge;

pub struct Options {
    pub paths: Vec<PathBuf>,
    pub jobs: usize,
    pub no_ignore: bool,
    /// Analyse vendored, minified and generated files too.
    pub include_vendored: bool,
    pub max_file_size: u64,
    /// Per-file analysis time budget; `None` is unlimited.
    pub file_time_budget: Option<Duration>,
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub config: Config,
    /// Report only findings whose fingerprint is not in this set (a baseline).
    pub baseline: Option<std::collections::HashSet<String>>,
    /// Report only findings in these paths (`--changed-since`); the analysis
    /// still sees the whole repository.
    pub only_paths: Option<std::collections::HashSet<String>>,
}

/// What one file gave.
pub struct FileResult {
    pub rel: String,
    pub model: Option<FileModel>,
    pub findings: Vec<Finding>,
    pub blockers: Vec<String>,
    pub deps: Vec<Dep>,
    /// The package this file declares, when it is a manifest.
    pub package: Option<crate::manifest::PackageDecl>,
    pub bytes: u64,
    pub parse_time: Duration,
    pub role: Role,
}

#[derive(Default, Debug, Clone, serde::Serialize)]
pub struct Timings {
    pub discover_ms: u64,
    pub parse_ms: u64,
    pub link_ms: u64,
    pub rules_ms: u64,
    pub slowest: Vec<(String, u64)>,
}

/// SQL archlint did not read in full, over the whole scan.
#[derive(Default, Debug, Clone, serde::Serialize)]
pub struct SqlStats {
    /// Statements of `.sql` files.
    pub statements: usize,
    /// Statements of `.sql` files sqlparser rejected (salvaged or not).
    pub skipped: usize,
    /// Of those, the ones whose form the token reader knows (schema changes kept).
    pub salvaged: usize,
    /// Routine bodies and `DO` blocks, skipped as bodies.
    pub bodies: usize,
    /// SQL-looking literals at query calls that do not parse.
    pub fragments: usize,
    /// Every skipped statement and fragment: file, line, kind, parser message.
    pub skipped_sql: Vec<SkippedEntry>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedEntry {
    pub file: String,
    pub line: u32,
    pub kind: crate::model::SkipKind,
    pub message: String,
}

impl SqlStats {
    fn of(results: &[FileResult]) -> SqlStats {
        use crate::model::SkipKind;
        let mut s = SqlStats::default();
        for r in results {
            let Some(m) = &r.model else { continue };
            if m.lang == Lang::Sql {
                s.statements += m.sql.len()
                    + m.sql_skipped
                        .iter()
                        .filter(|k| k.kind == SkipKind::Rejected)
                        .count();
            }
            for k in &m.sql_skipped {
                match k.kind {
                    SkipKind::Salvaged => {
                        s.skipped += 1;
                        s.salvaged += 1;
                    }
                    SkipKind::Rejected => s.skipped += 1,
                    SkipKind::Body => {
                        s.bodies += 1;
                        continue;
                    }
                    SkipKind::Fragment => s.fragments += 1,
                }
                s.skipped_sql.push(SkippedEntry {
                    file: r.rel.clone(),
                    line: k.line,
                    kind: k.kind,
                    message: k.message.clone(),
                });
            }
        }
        s
    }
}

pub struct Analysis {
    pub results: Vec<FileResult>,
    pub findings: Vec<Finding>,
    /// Findings silenced by an inline suppression (kept for SARIF).
    pub suppressed: Vec<Finding>,
    pub blockers: Vec<String>,
    pub files_scanned: usize,
    pub bytes: u64,
    pub timings: Timings,
    pub rules: Vec<&'static dyn Rule>,
    /// Every HTTP route with its full path, by file and line.
    pub endpoints: Vec<crate::routes::Endpoint>,
    /// The services of the tree, for the report's service map.
    pub services: Vec<crate::services::Summary>,
    /// Files per role (`vendored` ones were not analysed).
    pub roles: std::collections::BTreeMap<&'static str, usize>,
    pub sql: SqlStats,
    /// Every secret's span, by path, including those of findings suppressed
    /// inline or left out by a baseline: no source snippet may show them.
    pub masks: Vec<(String, crate::source::Span)>,
    /// With the re-run cache on: files read from it, files analysed anew.
    pub cache: Option<(usize, usize)>,
}

struct Shared<'a> {
    k: &'a Knowledge,
    sk: &'a SecretKnowledge,
    /// Only the secret rule runs: a file is parsed only when the rule needs
    /// its tree (names bound to values), and nothing is linked.
    secrets_only: bool,
    rules: &'a [&'static dyn Rule],
    roles: &'a Roles,
    include_vendored: bool,
    max: u64,
    budget: Option<Duration>,
    dialects: crate::dialect::Dialects,
    /// The re-run cache, when on.
    cache: Option<Cache>,
}

fn enabled_rules(opts: &Options) -> Vec<&'static dyn Rule> {
    let cfg = &opts.config;
    let select = opts.select.clone().or_else(|| cfg.select.clone());
    rules::all()
        .into_iter()
        .filter(|r| {
            let id = r.meta().id;
            select.as_ref().is_none_or(|s| s.iter().any(|x| x == id))
                && !opts.ignore.iter().any(|x| x == id)
                && !cfg.ignore.iter().any(|x| x == id)
        })
        .collect()
}

pub fn run(opts: &Options) -> Result<Analysis, String> {
    run_rules(opts, enabled_rules(opts), None)
}

/// [`run`] with the re-run cache in `cache_dir` ([`crate::cache`]): per-file
/// results of unchanged files are read from it, and it is rewritten with this
/// run's. The findings are the same as [`run`]'s.
pub fn run_cached(opts: &Options, cache_dir: Option<&std::path::Path>) -> Result<Analysis, String> {
    run_rules(opts, enabled_rules(opts), cache_dir)
}

/// What a file's analysis depends on besides its path and bytes.
fn cache_config(opts: &Options, rules: &[&'static dyn Rule]) -> crate::cache::Key {
    let ids: Vec<&str> = rules.iter().map(|r| r.meta().id).collect();
    crate::cache::config_key(&[
        &format!("{:?}", opts.config),
        &ids.join(","),
        &format!(
            "{} {} {:?}",
            opts.include_vendored, opts.max_file_size, opts.file_time_budget
        ),
    ])
}

/// [`run`] with an explicit rule set (tests inject faulty rules through it).
fn run_rules(
    opts: &Options,
    rules: Vec<&'static dyn Rule>,
    cache_dir: Option<&std::path::Path>,
) -> Result<Analysis, String> {
    let k = Knowledge::load(opts.config.knowledge.as_ref())?;
    let sk = SecretKnowledge::load(opts.config.secrets.as_ref())?;
    let roles = Roles::load(opts.config.roles.as_ref())?;
    let exclude: Vec<Glob> = opts
        .config
        .exclude
        .iter()
        .map(|g| Glob::new(g))
        .collect::<Result<_, _>>()?;
    let t0 = Instant::now();
    let mut cands: Vec<Candidate> = Vec::new();
    let mut blockers = Vec::new();
    let multi = opts.paths.len() > 1;
    for p in &opts.paths {
        if !p.exists() {
            return Err(format!("{}: no such file or directory", p.display()));
        }
        let w = discover::walk(p, opts.no_ignore, &exclude);
        for mut c in w.files {
            if multi {
                c.rel = format!(
                    "{}/{}",
                    p.display().to_string().trim_end_matches('/'),
                    c.rel
                );
            }
            cands.push(c);
        }
        blockers.extend(w.blockers);
    }
    let discover_ms = t0.elapsed().as_millis() as u64;
    let cache = cache_dir.and_then(|d| Cache::open(d, cache_config(opts, &rules)));
    let mut shared = Shared {
        k: &k,
        sk: &sk,
        secrets_only: !rules.is_empty()
            && rules
                .iter()
                .all(|r| r.meta().id == crate::rules::hardcoded_secret::META.id),
        rules: &rules,
        roles: &roles,
        include_vendored: opts.include_vendored,
        max: opts.max_file_size,
        budget: opts.file_time_budget,
        dialects: crate::dialect::Dialects::build(&cands, opts.config.dialect),
        cache,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .stack_size(256 << 20)
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    let t1 = Instant::now();
    let (results, stored): (Vec<FileResult>, Vec<Stored>) =
        pool.install(|| cands.par_iter().map(|c| analyse_cached(c, &shared)).unzip());
    let mut cache_use = None;
    let mut saving = None;
    if let Some(cache) = shared.cache.take() {
        let hits = stored
            .iter()
            .filter(|s| matches!(s, Stored::Kept(_)))
            .count();
        let fresh = stored
            .iter()
            .filter(|s| matches!(s, Stored::New(..)))
            .count();
        cache_use = Some((hits, fresh));
        // Written beside the link step; joined before the findings are final.
        saving = Some(std::thread::spawn(move || cache.save(stored)));
    }
    let parse_ms = t1.elapsed().as_millis() as u64;

    // Secrets only: nothing to link, no routes, no program-wide rule.
    let (endpoints, program, link_ms, rules_ms, mut services) = if shared.secrets_only {
        (Vec::new(), Vec::new(), 0, 0, Vec::new())
    } else {
        // Link once, then the program-wide rules, file by file in parallel.
        let t2 = Instant::now();
        let unit_of: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.model.is_some())
            .map(|(i, _)| i)
            .collect();
        let units: Vec<Unit> = unit_of
            .iter()
            .map(|&i| Unit {
                path: &results[i].rel,
                model: results[i].model.as_ref().unwrap(),
            })
            .collect();
        let decls: Vec<crate::manifest::PackageDecl> =
            results.iter().filter_map(|r| r.package.clone()).collect();
        let files: Vec<(&str, Lang)> = units.iter().map(|u| (u.path, u.model.lang)).collect();
        let mut graph = PackageGraph::build(&decls, &files, &roles);
        graph.mark_serving(|fi| {
            !units[fi].model.routes.is_empty()
                || crate::semantics::starts_http_server(units[fi].model)
        });
        // A bug in linking must not lose the per-file findings: fall back to no summaries.
        // Routes are resolved beside the link step: neither reads the other.
        let (linked, endpoints) = pool.install(|| {
            rayon::join(
                || {
                    catch_unwind(AssertUnwindSafe(|| {
                        Linked::build(&units, &k, graph.clone())
                    }))
                },
                || catch_unwind(AssertUnwindSafe(|| crate::routes::endpoints(&units))),
            )
        });
        let linked = match linked {
            Ok(l) => l,
            Err(p) => {
                blockers.push(format!(
                    "internal error while linking (cross-file analysis disabled): {}",
                    panic_text(&p)
                ));
                Linked::build(&[], &k, PackageGraph::build(&[], &files, &roles))
            }
        };
        let endpoints = match endpoints {
            Ok(e) => e,
            Err(p) => {
                blockers.push(format!(
                    "internal error while resolving routes (endpoints omitted): {}",
                    panic_text(&p)
                ));
                vec![Vec::new(); units.len()]
            }
        };
        let link_ms = t2.elapsed().as_millis() as u64;
        let t3 = Instant::now();
        let deps: Vec<crate::manifest::Dep> = results
            .iter()
            .flat_map(|r| r.deps.iter().cloned())
            .collect();
        let services = crate::services::build(&units, &endpoints, &linked.packages);
        let ctx = ProgramCtx {
            units: &units,
            endpoints: &endpoints,
            linked: &linked,
            k: &k,
            deps: &deps,
            services: &services,
            memo: Default::default(),
        };
        let program: Vec<(Vec<Finding>, Vec<String>)> = pool.install(|| {
            (0..units.len())
                .into_par_iter()
                .map(|fi| {
                    let mut out = Vec::new();
                    let mut errs = Vec::new();
                    for r in &rules {
                        let mut local = Vec::new();
                        match catch_unwind(AssertUnwindSafe(|| {
                            r.check_program(&ctx, fi, &mut local)
                        })) {
                            Ok(()) => out.extend(local.into_iter().filter_map(|f| {
                                in_context(f, units[fi].model.kind.role, fi, &linked.packages)
                            })),
                            Err(p) => errs.push(format!(
                                "{}: internal error in rule {}: {}",
                                units[fi].path,
                                r.meta().id,
                                panic_text(&p)
                            )),
                        }
                    }
                    (out, errs)
                })
                .collect()
        });
        let rules_ms = t3.elapsed().as_millis() as u64;
        let summaries: Vec<crate::services::Summary> = services
            .iter()
            .map(|s| crate::services::summarize(&units, s, &linked.packages, &deps))
            .collect();
        drop(units);
        (endpoints, program, link_ms, rules_ms, summaries)
    };

    if let Some(h) = saving {
        let _ = h.join();
    }
    let mut findings: Vec<Finding> = Vec::new();
    for r in &results {
        findings.extend(r.findings.iter().cloned());
        blockers.extend(r.blockers.iter().cloned());
    }
    for (f, e) in program {
        findings.extend(f);
        blockers.extend(e);
    }
    let sup: std::collections::HashMap<&str, &[Suppression]> = results
        .iter()
        .filter_map(|r| {
            r.model
                .as_ref()
                .map(|m| (r.rel.as_str(), m.suppressions.as_slice()))
        })
        .collect();
    let enabled: Vec<&str> = rules.iter().map(|r| r.meta().id).collect();
    let finished = finish(findings, &opts.config, &sup, &enabled)?;
    let masks: Vec<(String, crate::source::Span)> = finished
        .iter()
        .filter_map(|f| f.mask.map(|m| (f.path.clone(), m)))
        .collect();
    let (suppressed, mut findings): (Vec<Finding>, Vec<Finding>) =
        finished.into_iter().partition(|f| f.suppressed.is_some());
    if let Some(base) = &opts.baseline {
        findings.retain(|f| !base.contains(&f.fingerprint));
    }
    if let Some(only) = &opts.only_paths {
        findings.retain(|f| only.contains(&f.path));
    }
    let mut slowest: Vec<(String, u64)> = results
        .iter()
        .map(|r| (r.rel.clone(), r.parse_time.as_micros() as u64))
        .collect();
    slowest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    slowest.truncate(5);
    let bytes = results.iter().map(|r| r.bytes).sum();
    blockers.sort();
    blockers.dedup();
    let mut all_endpoints: Vec<crate::routes::Endpoint> = endpoints.into_iter().flatten().collect();
    all_endpoints.sort_by(|a, b| {
        (&a.file, a.line, &a.method, &a.path).cmp(&(&b.file, b.line, &b.method, &b.path))
    });
    let mut roles = std::collections::BTreeMap::new();
    for r in &results {
        *roles.entry(r.role.as_str()).or_insert(0) += 1;
    }
    let sql = SqlStats::of(&results);
    crate::services::finish(&mut services, &all_endpoints, &findings);
    Ok(Analysis {
        services,
        roles,
        sql,
        files_scanned: results.len(),
        results,
        findings,
        suppressed,
        blockers,
        bytes,
        timings: Timings {
            discover_ms,
            parse_ms,
            link_ms,
            rules_ms,
            slowest,
        },
        rules,
        endpoints: all_endpoints,
        masks,
        cache: cache_use,
    })
}

/// Rules judge code as if it served requests; where a file stands says how
/// much a finding there matters. A browser application, a vendored bundle or
/// a catalog is not the backend (dropped); a one-off script's or an
/// example's N+1 is a note, not an outage (info); a blocking call in async code of a package that
/// neither serves HTTP nor is used by one that does stalls no request
/// (info, and the message says so).
fn in_context(mut f: Finding, role: Role, fi: usize, graph: &PackageGraph) -> Option<Finding> {
    let pkg = graph.package(fi);
    if pkg.client || matches!(role, Role::Vendored | Role::Locale) {
        return None;
    }
    let request_rules = [
        "n-plus-one-query",
        "unbounded-query",
        "blocking-call-in-async",
        "unhandled-external-call",
    ];
    let role = if role == Role::Source && (graph.in_script_dir(&f.path) || graph.stray(fi, &f.path))
    {
        Role::Script
    } else {
        role
    };
    let off_path = match role {
        Role::Script => Some("in a one-off script"),
        Role::Example => Some("in example code"),
        _ => None,
    };
    if let Some(what) = off_path.filter(|_| request_rules.contains(&f.rule.as_str())) {
        f.severity = Severity::Info;
        f.message
            .push_str(&format!(" ({what}, not on a request path)"));
        return Some(f);
    }
    if request_rules.contains(&f.rule.as_str()) && !graph.request_path(graph.of_file[fi]) {
        // A command-line tool that panics on a database error reports it to
        // its user; one blocked or slow stalls only itself: a note, not an
        // outage (the automatic failures are about the request path).
        f.severity = Severity::Info;
        f.message.push_str(&format!(
            " (package `{}` neither serves HTTP nor is used by a package that does: not on a request path)",
            pkg.name
        ));
    }
    Some(f)
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Severity overrides, per-path ignores, inline suppressions, order and fingerprints.
fn finish(
    mut findings: Vec<Finding>,
    cfg: &Config,
    sup: &std::collections::HashMap<&str, &[Suppression]>,
    enabled: &[&str],
) -> Result<Vec<Finding>, String> {
    let per_path: Vec<(Glob, &Vec<String>)> = cfg
        .per_path_ignores
        .iter()
        .map(|(g, r)| Glob::new(g).map(|g| (g, r)))
        .collect::<Result<_, _>>()?;
    findings.retain(|f| {
        !per_path
            .iter()
            .any(|(g, r)| r.contains(&f.rule) && g.matches(&f.path))
    });
    // Inline suppressions: each must silence something it names.
    let mut used: std::collections::HashSet<(String, u32)> = std::collections::HashSet::new();
    // Suppressed findings are kept, marked, for SARIF's `suppressions`; the
    // other reports leave them out.
    for f in findings.iter_mut() {
        let Some(list) = sup.get(f.path.as_str()) else {
            continue;
        };
        if let Some(s) = list.iter().find(|s| {
            (s.line == f.line || s.line + 1 == f.line)
                && s.rules.iter().any(|r| r == &f.rule || r == "all")
        }) {
            used.insert((f.path.clone(), s.line));
            f.suppressed = Some(if s.reason.is_empty() {
                "suppressed inline".to_string()
            } else {
                s.reason.clone()
            });
        }
    }
    if enabled.contains(&"unused-suppression") {
        let mut paths: Vec<&&str> = sup.keys().collect();
        paths.sort();
        for path in paths {
            for s in sup[*path] {
                if s.reason == "secret scanner allowlist"
                    || used.contains(&(path.to_string(), s.line))
                {
                    continue;
                }
                let unknown: Vec<&String> = s
                    .rules
                    .iter()
                    .filter(|r| *r != "all" && crate::rules::find(r).is_none())
                    .collect();
                // A suppression for a rule this run does not check may well be in use.
                if unknown.is_empty()
                    && s.rules
                        .iter()
                        .any(|r| r != "all" && !enabled.contains(&r.as_str()))
                {
                    continue;
                }
                let why = if unknown.is_empty() {
                    format!(
                        "`archlint: allow({})` silences nothing on this line or the next",
                        s.rules.join(", ")
                    )
                } else {
                    format!(
                        "`archlint: allow({})` names no archlint rule",
                        s.rules.join(", ")
                    )
                };
                let pos = crate::source::Pos::new(s.line, 1);
                findings.push(
                    Finding::new(
                        "unused-suppression",
                        crate::finding::Severity::Info,
                        path,
                        crate::source::Span::new(pos, pos),
                        why,
                    )
                    .help("delete the comment, or fix the rule id it names (see `archlint rules`)")
                    .key(s.rules.join(",")),
                );
            }
        }
    }
    for f in &mut findings {
        if let Some(s) = cfg.severity.get(&f.rule) {
            f.severity = *s;
        }
    }
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule, &a.message)
            .cmp(&(&b.path, b.line, b.column, &b.rule, &b.message))
    });
    findings.dedup_by(|a, b| {
        a.path == b.path
            && a.line == b.line
            && a.column == b.column
            && a.rule == b.rule
            && a.message == b.message
    });
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for f in &mut findings {
        let base = format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            f.rule,
            f.path,
            f.function,
            if f.key.is_empty() { &f.message } else { &f.key }
        );
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let h = blake3::hash(format!("{base}\u{0}{n}").as_bytes());
        f.fingerprint = h.to_hex()[..16].to_string();
    }
    Ok(findings)
}

fn suppressions(text: &str) -> Vec<Suppression> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"archlint:\s*allow\(([\w\-, ]+)\)\s*(.*)|(gitleaks:allow|pragma:\s*allowlist\s+secret)").unwrap());
    if !text.contains("archlint:")
        && !text.contains("gitleaks:allow")
        && !text.contains("allowlist")
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = re.captures(line) {
            let (rules, reason) = match c.get(1) {
                Some(r) => (
                    r.as_str()
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                    c.get(2)
                        .map(|m| m.as_str().trim().to_string())
                        .unwrap_or_default(),
                ),
                None => (
                    vec!["hardcoded-secret".to_string()],
                    "secret scanner allowlist".to_string(),
                ),
            };
            out.push(Suppression {
                line: i as u32 + 1,
                rules,
                reason,
            });
        }
    }
    out
}

/// Deepest bracket nesting, to refuse inputs that would overflow a recursive parser.
fn max_nesting(text: &str) -> usize {
    let (mut d, mut max) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                d += 1;
                max = max.max(d);
            }
            b')' | b']' | b'}' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

const MAX_NESTING: usize = 2000;

#[cfg(test)]
fn analyse_file(c: &Candidate, s: &Shared) -> FileResult {
    analyse_cached(c, s).0
}

/// One file's result, and what the re-run cache should keep of it.
fn analyse_cached(c: &Candidate, s: &Shared) -> (FileResult, Stored) {
    let start = Instant::now();
    let mut r = FileResult {
        rel: c.rel.clone(),
        model: None,
        findings: Vec::new(),
        blockers: Vec::new(),
        deps: Vec::new(),
        package: None,
        bytes: 0,
        parse_time: Duration::ZERO,
        role: Role::Source,
    };
    if frontend::is_known_binary(&c.rel) {
        return (r, Stored::None);
    }
    let k = frontend::path_kind(&c.rel);
    r.role = s.roles.of_path(&c.rel, k.test, k.example, k.migration);
    if r.role == Role::Vendored && !s.include_vendored {
        return (r, Stored::None);
    }
    let name = c.rel.rsplit('/').next().unwrap_or(&c.rel);
    if s.sk.lock_files.contains(name) {
        return (r, Stored::None);
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| analyse_inner(c, s, &mut r)));
    let stored = match outcome {
        Ok(CacheUse::Off) => Stored::None,
        Ok(CacheUse::Hit) => Stored::Kept(c.rel.clone()),
        Ok(CacheUse::Miss(key)) => Cache::encode(
            &r.rel,
            key,
            r.model.as_ref(),
            &r.findings,
            &r.blockers,
            &r.deps,
            r.package.as_ref(),
            r.role,
        ),
        Err(p) => {
            r.blockers.push(format!(
                "{}: internal error while analysing: {}",
                c.rel,
                panic_text(&p)
            ));
            Stored::None
        }
    };
    r.parse_time = start.elapsed();
    (r, stored)
}

/// Whether the cache served a file, or what to store it under.
enum CacheUse {
    Off,
    Hit,
    Miss(crate::cache::Key),
}

fn analyse_inner(c: &Candidate, s: &Shared, r: &mut FileResult) -> CacheUse {
    let meta = match std::fs::metadata(&c.abs) {
        Ok(m) => m,
        Err(e) => {
            r.blockers.push(format!("{}: cannot read: {e}", c.rel));
            return CacheUse::Off;
        }
    };
    if meta.len() > s.max {
        r.blockers.push(format!(
            "{}: skipped: {} bytes is over the size limit of {} bytes (--max-file-size)",
            c.rel,
            meta.len(),
            s.max
        ));
        return CacheUse::Off;
    }
    let bytes = match read_capped(&c.abs, s.max) {
        Ok(b) => b,
        Err(e) => {
            r.blockers.push(format!("{}: cannot read: {e}", c.rel));
            return CacheUse::Off;
        }
    };
    r.bytes = bytes.len() as u64;
    if bytes[..bytes.len().min(8192)].contains(&0) {
        r.blockers.push(format!("{}: skipped: binary file", c.rel));
        return CacheUse::Off;
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            r.blockers
                .push(format!("{}: skipped: not valid UTF-8 ({e})", c.rel));
            return CacheUse::Off;
        }
    };
    let lang = frontend::lang_of(&c.rel);
    let dialect = s.dialects.for_file(&c.rel, text, lang);
    let key = s
        .cache
        .as_ref()
        .map(|cache| cache.key(&c.rel, &format!("{dialect:?}"), &bytes));
    if let (Some(cache), Some(key)) = (&s.cache, &key) {
        if let Some(hit) = cache.get(&c.rel, key) {
            r.model = hit.model;
            r.findings = hit.findings;
            r.blockers = hit.blockers;
            r.deps = hit.deps;
            r.package = hit.package;
            r.role = hit.role;
            return CacheUse::Hit;
        }
    }
    if r.role != Role::Vendored && s.roles.vendored_content(&c.rel, text) {
        r.role = Role::Vendored;
        if !s.include_vendored {
            return CacheUse::Off;
        }
    }
    if r.role == Role::Source && crate::roles::script_content(&c.rel, text) {
        r.role = Role::Script;
    }
    let kind = PathKind {
        role: r.role,
        ..frontend::path_kind(&c.rel)
    };
    let skip_tree = s.secrets_only
        && !crate::rules::hardcoded_secret::needs_model(text, s.sk, lang != Lang::Text);
    let deep = !skip_tree && lang != Lang::Text && max_nesting(text) > MAX_NESTING;
    let budget = Budget::starting_now(s.budget);
    let mut model = match lang {
        _ if skip_tree => crate::model::FileModel::new(lang, kind),
        Lang::Rust if !deep => {
            match frontend::rust::lower(
                text,
                kind,
                frontend::rust_module(&c.rel),
                s.k,
                dialect,
                &budget,
            ) {
                Ok(m) => m,
                Err(e) => {
                    r.blockers.push(format!("{}: {e}", c.rel));
                    frontend::text::lower(text, kind, Lang::Rust, &c.rel)
                }
            }
        }
        Lang::Sql => {
            let mut m = frontend::sql::lower_file(text, kind, dialect, &budget);
            frontend::text::extract_pairs(text, &mut m.literals, false, kind.test);
            m
        }
        Lang::Text => frontend::text::lower(text, kind, Lang::Text, &c.rel),
        other if deep => {
            r.blockers.push(format!(
                "{}: not parsed: brackets nest deeper than {MAX_NESTING} levels",
                c.rel
            ));
            frontend::text::lower(text, kind, other, &c.rel)
        }
        other => {
            match frontend::treesitter::lower(text, other, &c.rel, kind, s.k, dialect, &budget) {
                Ok(m) => m,
                Err(e) => {
                    r.blockers.push(format!("{}: {e}", c.rel));
                    frontend::text::lower(text, kind, other, &c.rel)
                }
            }
        }
    };
    if deep && lang == Lang::Rust {
        r.blockers.push(format!(
            "{}: not parsed: brackets nest deeper than {MAX_NESTING} levels",
            c.rel
        ));
    }
    for e in model.parse_errors.drain(..) {
        r.blockers.push(format!("{}: {e}", c.rel));
    }
    model.suppressions = suppressions(text);
    if !s.secrets_only {
        r.deps = manifest::deps(&c.rel, text);
        r.package = manifest::package(&c.rel, text);
    }
    let ctx = FileCtx {
        path: &c.rel,
        text,
        model: &model,
        k: s.k,
        secrets: s.sk,
    };
    for rule in s.rules {
        let mut local = Vec::new();
        match catch_unwind(AssertUnwindSafe(|| rule.check_file(&ctx, &mut local))) {
            Ok(()) => r.findings.extend(local),
            Err(p) => r.blockers.push(format!(
                "{}: internal error in rule {}: {}",
                c.rel,
                rule.meta().id,
                panic_text(&p)
            )),
        }
    }
    shrink(&mut model);
    r.model = Some(model);
    match key {
        // A file that ran out of time may not do so next time: not kept.
        Some(key) if !budget.ran_out() => CacheUse::Miss(key),
        _ => CacheUse::Off,
    }
}

/// Give back the spare capacity the frontends' vectors grew: every model is
/// kept until the link step, so slack is paid once per file of the tree.
fn shrink(m: &mut FileModel) {
    for c in &mut m.calls {
        c.path.shrink_to_fit();
        c.args.shrink_to_fit();
        c.loops.shrink_to_fit();
    }
    for f in &mut m.functions {
        f.params.shrink_to_fit();
        f.checked.shrink_to_fit();
    }
    m.module.shrink_to_fit();
    m.functions.shrink_to_fit();
    m.calls.shrink_to_fit();
    m.loops.shrink_to_fit();
    m.literals.shrink_to_fit();
    m.imports.shrink_to_fit();
    m.consts.shrink_to_fit();
    m.sql.shrink_to_fit();
    m.sql_refs.shrink_to_fit();
    m.guards.shrink_to_fit();
    m.suppressions.shrink_to_fit();
    m.routes.shrink_to_fit();
    m.statics.shrink_to_fit();
    m.offload_macros.shrink_to_fit();
    m.sql_skipped.shrink_to_fit();
}

/// Read at most `max` bytes: a file that grows during the scan cannot exhaust memory.
fn read_capped(p: &std::path::Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(p)?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleMeta;

    crate::declare_rule! {
        /// Panics on every file, in both phases: a stand-in for a rule bug.
        static FAULTY = ("faulty-rule", Error, "always panics");
    }

    struct Faulty;

    impl Rule for Faulty {
        fn meta(&self) -> &'static RuleMeta {
            &FAULTY
        }
        fn check_file(&self, _: &FileCtx, _: &mut Vec<Finding>) {
            panic!("injected fault in check_file");
        }
        fn check_program(&self, _: &ProgramCtx, _: usize, _: &mut Vec<Finding>) {
            panic!("injected fault in check_program");
        }
    }

    fn options(path: &std::path::Path) -> Options {
        Options {
            paths: vec![path.to_path_buf()],
            jobs: 2,
            no_ignore: false,
            include_vendored: false,
            max_file_size: 1 << 20,
            file_time_budget: None,
            select: None,
            ignore: Vec::new(),
            config: Config::default(),
            baseline: None,
            only_paths: None,
        }
    }

    #[test]
    fn a_panicking_rule_is_a_blocker_and_the_other_rules_findings_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("handlers.rs"),
            "async fn list(pool: &PgPool, ids: Vec<i64>) {\n    for id in ids {\n        sqlx::query(\"SELECT name FROM users WHERE id = $1\").bind(id).fetch_one(pool).await.ok();\n    }\n}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(".env"), "DB_PASSWORD=Zq8vN3kL5pW2xRt7\n").unwrap();
        let mut rules = rules::all();
        rules.insert(0, &Faulty);
        let a = run_rules(&options(dir.path()), rules, None).unwrap();
        let ids: Vec<&str> = a.findings.iter().map(|f| f.rule.as_str()).collect();
        assert!(ids.contains(&"n-plus-one-query"), "{ids:?}");
        assert!(ids.contains(&"hardcoded-secret"), "{ids:?}");
        for (file, phase) in [
            ("handlers.rs", "check_file"),
            (".env", "check_file"),
            ("handlers.rs", "check_program"),
        ] {
            assert!(
                a.blockers.iter().any(|b| b
                    .starts_with(&format!("{file}: internal error in rule faulty-rule"))
                    && b.contains(phase)),
                "no blocker for {file} in {phase}: {:?}",
                a.blockers
            );
        }
    }

    #[test]
    fn a_file_gone_between_discovery_and_reading_is_a_blocker() {
        let k = Knowledge::load(None).unwrap();
        let sk = SecretKnowledge::load(None).unwrap();
        let rules = rules::all();
        let roles = Roles::load(None).unwrap();
        let shared = Shared {
            secrets_only: false,
            k: &k,
            sk: &sk,
            rules: &rules,
            roles: &roles,
            include_vendored: false,
            max: 1 << 20,
            budget: None,
            dialects: Default::default(),
            cache: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let c = Candidate {
            abs: dir.path().join("vanished.py"),
            rel: "vanished.py".into(),
        };
        let r = analyse_file(&c, &shared);
        assert!(r.model.is_none());
        assert_eq!(r.blockers.len(), 1, "{:?}", r.blockers);
        assert!(
            r.blockers[0].starts_with("vanished.py: cannot read"),
            "{:?}",
            r.blockers
        );
    }
}
