//! End-to-end and per-frontend benchmarks over a generated backend tree.
//!
//! Every figure is relative to a baseline measured in the same run:
//! - the **parse floor** (read every file, `syn` with span locations,
//!   `sqlparser`, tree-sitter and one secret regex, on as many threads as
//!   the audit, nothing kept) is the baseline of the whole audit (every
//!   rule, JSON report): `audit/floor` is the figure to bring down;
//! - the cold run with the re-run cache (empty cache, written) is the
//!   baseline of the warm run (every file reused) and of the run after
//!   editing one file: `warm/cold` should stay under 0.2;
//! - the parse-only scan (read + parse + lower + link, no rules) is the
//!   baseline of the full scan, and the 1x tree is the baseline of the 5x tree.
//!
//! Set `ARCHLINT_BENCH_DIR` to also measure a checkout of your own (read
//! only: its cache goes to a temporary folder), and `ARCHLINT_BENCH_KEEP=DIR`
//! to keep the generated trees for profiling.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use archlint::config::Config;
use archlint::engine::{self, Options};
use archlint::report::{json, Report};
use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/generator.rs"]
mod generator;

fn options(path: &Path, rules: bool) -> Options {
    Options {
        paths: vec![path.to_path_buf()],
        jobs: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        no_ignore: false,
        include_vendored: false,
        max_file_size: 4 << 20,
        file_time_budget: None,
        select: if rules { None } else { Some(Vec::new()) },
        ignore: Vec::new(),
        config: Config::default(),
        baseline: None,
        only_paths: None,
    }
}

fn scan(path: &Path, rules: bool) -> usize {
    let a = engine::run(&options(path, rules)).expect("scan");
    let r = Report::build(&a, 0);
    json::render(&r).len()
}

/// The whole audit with the re-run cache in `cache`.
fn scan_cached(path: &Path, cache: &Path) -> engine::Analysis {
    engine::run_cached(&options(path, true), Some(cache)).expect("scan")
}

/// The parse floor: what reading and parsing the files the audit reads
/// costs, with nothing kept: every file read, Rust through `syn` (span
/// locations on, as archlint builds it), SQL files through `sqlparser`,
/// Python, TypeScript, JavaScript and Go through tree-sitter, and one
/// secret regex over every text, on the audit's thread count. Files the
/// audit skips unread (known binaries, vendored paths, lock files, over the
/// size limit) are skipped here too.
fn floor(path: &Path) -> usize {
    use archlint::model::Lang;
    use rayon::prelude::*;
    static SECRET: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let secret = SECRET.get_or_init(|| {
        regex::Regex::new(r#"(?i)(?-u:\b)([a-z][a-z0-9]*(?:[+.\-][a-z0-9]+)*://)([^:/\s@'"`<>{}\\]{0,64}):([^@/\s'"`\\]{1,128})@([^/\s'"`\\?#,;)\]]+)"#).unwrap()
    });
    let roles = archlint::roles::Roles::load(None).unwrap();
    let o = options(path, true);
    let files = archlint::discover::walk(path, false, &[]).files;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(o.jobs)
        .stack_size(256 << 20)
        .build()
        .unwrap();
    pool.install(|| {
        files
            .par_iter()
            .map(|c| {
                if archlint::frontend::is_known_binary(&c.rel) {
                    return 0;
                }
                let k = archlint::frontend::path_kind(&c.rel);
                let role = roles.of_path(&c.rel, k.test, k.example, k.migration);
                let name = c.rel.rsplit('/').next().unwrap_or(&c.rel);
                if role == archlint::roles::Role::Vendored
                    || name.ends_with(".lock")
                    || name == "package-lock.json"
                {
                    return 0;
                }
                let Ok(bytes) = std::fs::read(&c.abs) else {
                    return 0;
                };
                if bytes.len() as u64 > o.max_file_size {
                    return 0;
                }
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    return 0;
                };
                let hits = secret.find_iter(text).count();
                let lang = archlint::frontend::lang_of(&c.rel);
                let ts: Option<tree_sitter::Language> = match lang {
                    Lang::Python => Some(tree_sitter_python::LANGUAGE.into()),
                    Lang::Go => Some(tree_sitter_go::LANGUAGE.into()),
                    Lang::JavaScript => Some(tree_sitter_javascript::LANGUAGE.into()),
                    Lang::TypeScript if c.rel.ends_with(".tsx") => {
                        Some(tree_sitter_typescript::LANGUAGE_TSX.into())
                    }
                    Lang::TypeScript => Some(tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into()),
                    _ => None,
                };
                let nodes = match (lang, ts) {
                    (Lang::Rust, _) => syn::parse_file(text).map(|f| f.items.len()).unwrap_or(0),
                    (Lang::Sql, _) => sqlparser::parser::Parser::parse_sql(
                        &sqlparser::dialect::PostgreSqlDialect {},
                        text,
                    )
                    .map(|v| v.len())
                    .unwrap_or(0),
                    (_, Some(l)) => {
                        let mut p = tree_sitter::Parser::new();
                        p.set_language(&l).unwrap();
                        p.parse(text, None)
                            .map(|t| t.root_node().child_count())
                            .unwrap_or(0)
                    }
                    _ => 0,
                };
                hits + nodes + 1
            })
            .sum()
    })
}

/// Best of `n` runs of `f`, each after `before` (not timed).
fn best_of(n: usize, mut before: impl FnMut(), f: impl Fn()) -> Duration {
    (0..n)
        .map(|_| {
            before();
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

/// The figures of the issue on one tree: the audit against the parse floor,
/// and the warm runs against the cold one. `edit`: a file to touch for the
/// run after one edit (not on a checkout, which is read only).
fn figures(label: &str, path: &Path, edit: Option<&Path>) {
    let n = 3;
    let floor_t = best_of(
        n,
        || {},
        || {
            std::hint::black_box(floor(path));
        },
    );
    let audit_t = best_of(
        n,
        || {},
        || {
            scan(path, true);
        },
    );
    let a = engine::run(&options(path, true)).expect("scan");
    let t = &a.timings;
    eprintln!(
        "{label}: {} files, {:.1} MB: parse floor {:.3}s, audit {:.3}s: audit/floor = {:.2}x (audit phases: discover {} ms, parse {} ms, link {} ms, rules {} ms)",
        a.files_scanned,
        a.bytes as f64 / 1e6,
        floor_t.as_secs_f64(),
        audit_t.as_secs_f64(),
        audit_t.as_secs_f64() / floor_t.as_secs_f64(),
        t.discover_ms,
        t.parse_ms,
        t.link_ms,
        t.rules_ms
    );
    let cache = tempfile::tempdir().unwrap();
    let clear = || {
        let _ = std::fs::remove_dir_all(cache.path());
    };
    let cold = best_of(n, clear, || {
        std::hint::black_box(scan_cached(path, cache.path()).findings.len());
    });
    let warm = best_of(
        n,
        || {},
        || {
            std::hint::black_box(scan_cached(path, cache.path()).findings.len());
        },
    );
    let mut line = format!(
        "{label}: cache: cold {:.3}s, warm {:.3}s: warm/cold = {:.2}x",
        cold.as_secs_f64(),
        warm.as_secs_f64(),
        warm.as_secs_f64() / cold.as_secs_f64()
    );
    if let Some(file) = edit {
        let original = std::fs::read_to_string(file).unwrap();
        let mut i = 0;
        let one = best_of(
            n,
            || {
                i += 1;
                std::fs::write(file, format!("{original}\n// edit {i}\n")).unwrap();
            },
            || {
                std::hint::black_box(scan_cached(path, cache.path()).findings.len());
            },
        );
        std::fs::write(file, original).unwrap();
        line.push_str(&format!(
            ", one file edited {:.3}s: edited/cold = {:.2}x",
            one.as_secs_f64(),
            one.as_secs_f64() / cold.as_secs_f64()
        ));
    }
    eprintln!("{line}");
}

/// `--select hardcoded-secret`: the secrets-only path.
fn scan_secrets(path: &Path) -> usize {
    let mut o = options(path, true);
    o.select = Some(vec!["hardcoded-secret".to_string()]);
    let a = engine::run(&o).expect("scan");
    let r = Report::build(&a, 0);
    json::render(&r).len()
}

fn time(f: impl Fn()) -> Duration {
    // Best of five: the machines are shared and noisy.
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn tree(services: usize) -> (tempfile::TempDir, usize, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (files, bytes) = generator::generate(dir.path(), services, 42);
    // ARCHLINT_BENCH_KEEP=DIR also writes the tree to DIR/<services>, to
    // profile a scan of it with the release binary (`archlint check --timings`).
    if let Some(keep) = std::env::var_os("ARCHLINT_BENCH_KEEP") {
        generator::generate(
            &PathBuf::from(keep).join(services.to_string()),
            services,
            42,
        );
    }
    (dir, files, bytes)
}

fn summary(label: &str, path: &Path, files: usize, bytes: u64) -> Duration {
    let parse = time(|| {
        scan(path, false);
    });
    let full = time(|| {
        scan(path, true);
    });
    let s = full.as_secs_f64();
    eprintln!(
        "{label}: {files} files, {:.1} MB: parse-only {:.3}s, full {:.3}s ({:.0} files/s, {:.1} MB/s), full/parse-only = {:.2}x",
        bytes as f64 / 1e6,
        parse.as_secs_f64(),
        s,
        files as f64 / s,
        bytes as f64 / 1e6 / s,
        s / parse.as_secs_f64()
    );
    full
}

fn end_to_end(c: &mut Criterion) {
    let (one, files1, bytes1) = tree(200);
    let (five, files5, bytes5) = tree(1000);
    let edit = walk(one.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .min()
        .unwrap();
    figures("generated 1x", one.path(), Some(&edit));
    if let Some(dir) = std::env::var_os("ARCHLINT_BENCH_DIR").map(PathBuf::from) {
        figures(&dir.display().to_string(), &dir, None);
    }
    let t1 = summary("generated 1x", one.path(), files1, bytes1);
    let t5 = summary("generated 5x", five.path(), files5, bytes5);
    eprintln!(
        "scaling: 5x tree takes {:.2}x the time of the 1x tree",
        t5.as_secs_f64() / t1.as_secs_f64()
    );
    if let Some(dir) = std::env::var_os("ARCHLINT_BENCH_DIR").map(PathBuf::from) {
        let a = engine::run(&options(&dir, true)).expect("scan");
        summary(
            &format!("{}", dir.display()),
            &dir,
            a.files_scanned,
            a.bytes,
        );
    }
    let mut g = c.benchmark_group("scan");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("parse_only_1x", |b| b.iter(|| scan(one.path(), false)));
    g.bench_function("full_1x", |b| b.iter(|| scan(one.path(), true)));
    g.bench_function("parse_floor_1x", |b| b.iter(|| floor(one.path())));
    let cache = tempfile::tempdir().unwrap();
    scan_cached(one.path(), cache.path());
    g.bench_function("warm_cache_1x", |b| {
        b.iter(|| scan_cached(one.path(), cache.path()).findings.len())
    });
    g.finish();
}

fn frontends(c: &mut Criterion) {
    let (dir, _, _) = tree(20);
    let read = |ext: &str| -> Vec<String> {
        walk(dir.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(ext))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    };
    let rust = read(".rs");
    let sqls = read(".sql");
    let py = read(".py");
    let ts = read(".ts");
    let mut g = c.benchmark_group("frontend");
    g.sample_size(20);
    g.bench_function("syn", |b| {
        b.iter(|| {
            rust.iter()
                .map(|t| syn::parse_file(t).map(|f| f.items.len()).unwrap_or(0))
                .sum::<usize>()
        })
    });
    g.bench_function("sqlparser", |b| {
        b.iter(|| {
            sqls.iter()
                .map(|t| archlint::frontend::sql::analyze(t, Default::default()).len())
                .sum::<usize>()
        })
    });
    let k = archlint::knowledge::Knowledge::load(None).unwrap();
    for (name, lang, path, files) in [
        (
            "tree_sitter_python",
            archlint::model::Lang::Python,
            "a.py",
            &py,
        ),
        (
            "tree_sitter_typescript",
            archlint::model::Lang::TypeScript,
            "a.ts",
            &ts,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                files
                    .iter()
                    .map(|t| {
                        archlint::frontend::treesitter::lower(
                            t,
                            lang,
                            path,
                            Default::default(),
                            &k,
                            Default::default(),
                            &archlint::budget::Budget::unlimited(),
                        )
                        .map(|m| m.calls.len())
                        .unwrap_or(0)
                    })
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

/// One large file per language, at 1x and 4x: lowering must stay linear in
/// the file's size (a per-function scan over all calls once made 40,000
/// small functions cost 10x the time of 10,000). The 1x file is the
/// baseline; the printed ratio should stay near 4.
fn large_files(c: &mut Criterion) {
    let k = archlint::knowledge::Knowledge::load(None).unwrap();
    let rust = |n: usize| -> String {
        (0..n)
            .map(|i| format!("fn f{i}(x: u32) -> u32 {{ x.wrapping_add({i}) }}\n"))
            .collect()
    };
    let python = |n: usize| -> String {
        (0..n)
            .map(|i| format!("def f{i}(x):\n    return x.add({i})\n"))
            .collect()
    };
    let lower_rust = |t: &str| {
        archlint::frontend::rust::lower(
            t,
            Default::default(),
            Vec::new(),
            &k,
            Default::default(),
            &archlint::budget::Budget::unlimited(),
        )
        .map(|m| m.functions.len())
        .unwrap_or(0)
    };
    let lower_python = |t: &str| {
        archlint::frontend::treesitter::lower(
            t,
            archlint::model::Lang::Python,
            "a.py",
            Default::default(),
            &k,
            Default::default(),
            &archlint::budget::Budget::unlimited(),
        )
        .map(|m| m.functions.len())
        .unwrap_or(0)
    };
    let mut g = c.benchmark_group("large_file");
    g.sample_size(10);
    type Lower<'a> = &'a dyn Fn(&str) -> usize;
    let cases: [(&str, String, String, Lower); 2] = [
        ("rust", rust(10_000), rust(40_000), &lower_rust),
        ("python", python(10_000), python(40_000), &lower_python),
    ];
    for (name, small, big, lower) in &cases {
        let time = |t: &str| {
            let s = Instant::now();
            std::hint::black_box(lower(t));
            s.elapsed()
        };
        let ratio = time(big).as_secs_f64() / time(small).as_secs_f64().max(1e-9);
        eprintln!("large_file/{name}: 4x the size took {ratio:.2}x the time");
        g.bench_function(format!("{name}_1x"), |b| b.iter(|| lower(small)));
        g.bench_function(format!("{name}_4x"), |b| b.iter(|| lower(big)));
    }
    g.finish();
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

/// The secrets-only path against the parse-everything scan of the same tree,
/// measured in the same run: the ratio is the figure (it should stay well
/// under 1: most files mention no credential and are never parsed).
fn secrets_only(c: &mut Criterion) {
    let (one, files, bytes) = tree(200);
    let mut dirs = vec![(
        format!("generated 1x ({files} files, {bytes} bytes)"),
        one.path().to_path_buf(),
    )];
    if let Some(dir) = std::env::var_os("ARCHLINT_BENCH_DIR").map(PathBuf::from) {
        dirs.push((dir.display().to_string(), dir));
    }
    for (label, dir) in &dirs {
        let parse = time(|| {
            scan(dir, false);
        });
        let secrets = time(|| {
            scan_secrets(dir);
        });
        eprintln!(
            "{label}: parse-everything {:.3}s, secrets-only {:.3}s, secrets-only/parse-everything = {:.2}x",
            parse.as_secs_f64(),
            secrets.as_secs_f64(),
            secrets.as_secs_f64() / parse.as_secs_f64()
        );
    }
    let mut g = c.benchmark_group("secrets");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("parse_everything_1x", |b| {
        b.iter(|| scan(one.path(), false))
    });
    g.bench_function("secrets_only_1x", |b| b.iter(|| scan_secrets(one.path())));
    g.finish();
}

criterion_group!(benches, end_to_end, frontends, large_files, secrets_only);
criterion_main!(benches);
