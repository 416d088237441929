//! End-to-end and per-frontend benchmarks over a generated backend tree.
//!
//! Every figure is relative to a baseline measured in the same run: the
//! parse-only scan (read + parse + lower + link, no rules) is the baseline of
//! the full scan, and the 1x tree is the baseline of the 5x tree. Set
//! `ARCHLINT_BENCH_DIR` to also scan a checkout of your own, and
//! `ARCHLINT_BENCH_KEEP=DIR` to keep the generated trees for profiling.

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
