//! archlint: a static analyzer that reviews a backend codebase the way a
//! senior backend architect would.
//!
//! The pipeline, one module per stage:
//! [`discover`] -> [`frontend`] (lower each file into the [`model`]) ->
//! [`link`] (symbols, call graph, summaries) -> [`rules`] -> [`report`].

pub mod architecture;
pub mod budget;
pub mod cache;
pub mod cli;
pub mod config;
pub mod dialect;
pub mod discover;
pub mod engine;
pub mod finding;
pub mod frontend;
pub mod knowledge;
pub mod link;
pub mod manifest;
pub mod mcp;
pub mod model;
pub mod packages;
pub mod report;
pub mod roles;
pub mod routes;
pub mod rules;
pub mod schema;
pub mod secrets;
pub mod semantics;
pub mod services;
pub mod source;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cli::{CheckArgs, FailOn};
use finding::Severity;
use report::{Format, Report};

/// The engine's options for `archlint check` arguments: paths, rules,
/// configuration, baseline and `--changed-since` (also used by `archlint mcp`).
pub fn options(args: &CheckArgs) -> Result<engine::Options, String> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    for p in &paths {
        if !p.exists() {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    for id in args.select.iter().flatten().chain(args.ignore.iter()) {
        if rules::find(id).is_none() {
            return Err(format!("unknown rule `{id}` (see `archlint rules`)"));
        }
    }
    let config = match &args.config {
        Some(p) => config::Config::load(p, 0)?,
        None => config::Config::discover(&paths[0])?,
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let only_paths = match &args.changed_since {
        Some(rev) => Some(changed_files(&paths[0], rev)?),
        None => None,
    };
    Ok(engine::Options {
        paths,
        jobs,
        no_ignore: args.no_ignore,
        include_vendored: args.include_vendored,
        max_file_size: args.max_file_size,
        file_time_budget: (args.file_time_budget > 0)
            .then(|| std::time::Duration::from_millis(args.file_time_budget)),
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        config,
        baseline: match &args.baseline {
            Some(p) => Some(read_baseline(p)?),
            None => None,
        },
        only_paths,
    })
}

/// Run `archlint check`; returns the exit code (0, 1) or an error (exit 2).
pub fn check(args: &CheckArgs) -> Result<i32, String> {
    let start = Instant::now();
    let opts = options(args)?;
    if args.show_config {
        println!("{}", show_config(&opts.config));
        return Ok(0);
    }
    let analysis = engine::run_cached(&opts, cache_dir(args, &opts.paths).as_deref())?;
    if let Some(p) = &args.write_baseline {
        let fps: Vec<&str> = analysis
            .findings
            .iter()
            .map(|f| f.fingerprint.as_str())
            .collect();
        let doc = serde_json::json!({"archlint_baseline": 1, "fingerprints": fps});
        write_atomically(
            p,
            &format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ),
        )?;
    }
    let report = Report::build(&analysis, start.elapsed().as_millis() as u64);
    let format = args.format.unwrap_or_else(|| {
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            Format::Github
        } else if args.output.is_none() && std::io::stdout().is_terminal() {
            Format::Text
        } else {
            Format::Json
        }
    });
    let roots: Vec<PathBuf> = opts.paths.clone();
    let load = |rel: &str| -> Option<String> {
        if roots.len() == 1 {
            let base = if roots[0].is_file() {
                roots[0].parent().unwrap_or(Path::new(".")).to_path_buf()
            } else {
                roots[0].clone()
            };
            std::fs::read_to_string(base.join(rel)).ok()
        } else {
            std::fs::read_to_string(rel).ok()
        }
    };
    let color = format == Format::Text
        && args.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let rendered = match format {
        Format::Json => report::json::render(&report),
        Format::Text => report::text::render(&report, color, &load),
        Format::Sarif => report::sarif::render(&report, &analysis.rules, &analysis.suppressed),
        Format::Mermaid => report::mermaid::render(&report),
        Format::Github => {
            report::github::render(&report, args.output.as_ref().and_then(|p| p.to_str()))
        }
        Format::Markdown => report::markdown::render(
            &report,
            opts.only_paths.as_ref(),
            report::markdown::link_base_from_env().as_deref(),
        ),
    };
    match &args.output {
        Some(p) => write_atomically(p, &rendered)?,
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(rendered.as_bytes());
        }
    }
    if args.timings {
        eprint!("{}", report::text::timings(&report));
        if let Some((hits, fresh)) = analysis.cache {
            eprintln!("cache: {hits} files reused, {fresh} analysed and stored");
        }
    }
    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    let failed = threshold.is_some_and(|t| report.findings.iter().any(|f| f.severity >= t));
    Ok(if failed { 1 } else { 0 })
}

/// Where the re-run cache lives: `--cache-dir`, else `.archlint_cache` in
/// the scanned folder when one folder is scanned; none with `--no-cache` or
/// `ARCHLINT_NO_CACHE` (set to anything but `0` or empty).
fn cache_dir(args: &CheckArgs, paths: &[PathBuf]) -> Option<PathBuf> {
    let off = std::env::var_os("ARCHLINT_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0");
    if args.no_cache || off {
        return None;
    }
    if let Some(d) = &args.cache_dir {
        return Some(d.clone());
    }
    match paths {
        [p] if p.is_dir() => Some(p.join(cache::DIR_NAME)),
        _ => None,
    }
}

/// The fingerprints recorded by `--write-baseline`.
fn read_baseline(p: &Path) -> Result<std::collections::HashSet<String>, String> {
    let text = std::fs::read_to_string(p)
        .map_err(|e| format!("cannot read baseline {}: {e}", p.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not an archlint baseline: {e}", p.display()))?;
    let fps = v["fingerprints"].as_array().ok_or_else(|| {
        format!(
            "{}: not an archlint baseline (no `fingerprints`)",
            p.display()
        )
    })?;
    Ok(fps
        .iter()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect())
}

/// Files changed since `rev` (committed, staged or not), relative to the scanned root.
fn changed_files(root: &Path, rev: &str) -> Result<std::collections::HashSet<String>, String> {
    let dir = if root.is_file() {
        root.parent().unwrap_or(Path::new("."))
    } else {
        root
    };
    let git = |args: &[&str]| -> Result<String, String> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("--changed-since needs git: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "--changed-since {rev}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    // Paths from git are relative to the repository top; findings are relative to `dir`.
    let prefix = git(&["rev-parse", "--show-prefix"])?.trim().to_string();
    let mut set = std::collections::HashSet::new();
    for args in [
        vec!["diff", "--name-only", rev],
        vec!["ls-files", "--others", "--exclude-standard", "--full-name"],
    ] {
        for line in git(&args)?.lines() {
            if let Some(rel) = line.strip_prefix(prefix.as_str()) {
                set.insert(rel.to_string());
            }
        }
    }
    Ok(set)
}

/// Write to a temporary file beside `path`, then rename: never a half-written report.
fn write_atomically(path: &Path, content: &str) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.archlint-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into())
    ));
    std::fs::write(&tmp, content).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

fn show_config(c: &config::Config) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "source = {:?}\n",
        c.source
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(defaults)".into())
    ));
    s.push_str(&format!(
        "select = {:?}\nignore = {:?}\nexclude = {:?}\n",
        c.select, c.ignore, c.exclude
    ));
    s.push_str(&format!(
        "severity = {:?}\nper-path-ignores = {:?}\ndialect = {:?}\n",
        c.severity,
        c.per_path_ignores,
        c.dialect.unwrap_or_default()
    ));
    s.push_str(&format!(
        "extra knowledge = {}\nextra secret patterns = {}",
        c.knowledge.is_some(),
        c.secrets.as_ref().map(|s| s.provider.len()).unwrap_or(0)
    ));
    s
}

/// `archlint rules`
pub fn list_rules() -> String {
    rules::all()
        .iter()
        .map(|r| {
            format!(
                "{:<26} {:<8} {}\n",
                r.meta().id,
                r.meta().default_severity.as_str(),
                r.meta().summary
            )
        })
        .collect()
}

/// `archlint explain RULE`
pub fn explain(id: &str) -> Result<String, String> {
    let r = rules::find(id).ok_or_else(|| format!("unknown rule `{id}` (see `archlint rules`)"))?;
    Ok(format!(
        "# {} ({})\n\n{}\n",
        r.meta().id,
        r.meta().summary,
        r.meta().text().trim_end()
    ))
}

/// The rules' data version: a hash of the knowledge files embedded from `rules/`.
pub fn rules_version() -> String {
    let mut h = blake3::Hasher::new();
    for t in [
        knowledge::RUST_TOML,
        knowledge::ARCHITECTURE_TOML,
        knowledge::PYTHON_TOML,
        knowledge::TYPESCRIPT_TOML,
        knowledge::GO_TOML,
        secrets::SECRETS_TOML,
        roles::ROLES_TOML,
    ] {
        h.update(t.as_bytes());
        h.update(&[0]);
    }
    h.finalize().to_hex()[..12].to_string()
}

/// `archlint --version`: the crate's version and the rules' data version.
pub fn version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| format!("{} (rules {})", env!("CARGO_PKG_VERSION"), rules_version()))
}

/// `archlint rules --format json`
pub fn rules_json() -> String {
    let rules: Vec<serde_json::Value> = rules::all()
        .iter()
        .map(|r| {
            let m = r.meta();
            serde_json::json!({
                "id": m.id,
                "default_severity": m.default_severity.as_str(),
                "summary": m.summary,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "rules_version": rules_version(),
        "rules": rules,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}
