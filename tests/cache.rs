//! The re-run cache: a warm report is byte for byte the cold one, after
//! edits, renames and deletions, and a bad cache is never an error.
//!
//! Every scan here runs on a copy of testdata/ in a temporary folder: no
//! test writes a cache into the repository (the other test binaries set
//! `ARCHLINT_NO_CACHE`).

use std::path::Path;
use std::process::Command;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// The JSON report less its timings, and the `cache:` line of `--timings`.
fn scan(dir: &Path, extra: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_archlint"))
        .env_remove("ARCHLINT_NO_CACHE")
        .args(["check", "--format", "json", "--timings"])
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let stats = v["stats"].as_object_mut().unwrap();
    stats.remove("timings");
    stats.remove("elapsed_ms");
    let cache = stderr
        .lines()
        .find(|l| l.starts_with("cache: "))
        .unwrap_or("no cache")
        .to_string();
    (serde_json::to_string_pretty(&v).unwrap(), cache)
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    for sub in ["demo", "endpoints", "fixtures/hardcoded-secret"] {
        copy_tree(&data.join(sub), &dir.path().join(sub));
    }
    dir
}

fn assert_same(cold: &str, warm: &str, when: &str) {
    if cold != warm {
        let first = cold
            .lines()
            .zip(warm.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{when}: the warm report differs from the cold one at line {first}:\ncold: {:?}\nwarm: {:?}",
            cold.lines().nth(first),
            warm.lines().nth(first)
        );
    }
}

#[test]
fn warm_reports_are_the_cold_ones_after_edits_renames_and_deletions() {
    let dir = tree();
    let root = dir.path();
    let (cold, none) = scan(root, &["--no-cache"]);
    assert_eq!(none, "no cache");
    assert!(
        !root.join(".archlint_cache").exists(),
        "--no-cache wrote a cache"
    );

    let (first, c1) = scan(root, &[]);
    assert_same(&cold, &first, "first run");
    assert!(c1.starts_with("cache: 0 files reused"), "{c1}");
    let cache = root.join(".archlint_cache");
    assert_eq!(
        std::fs::read_to_string(cache.join(".gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*")
    );
    let stored: usize = c1
        .split(", ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(stored > 10, "{c1}");

    let (second, c2) = scan(root, &[]);
    assert_same(&cold, &second, "unchanged tree");
    assert_eq!(
        c2,
        format!("cache: {stored} files reused, 0 analysed and stored")
    );

    // One edit that adds a finding, one rename, one deletion, one new file.
    let orders = root.join("demo/src/repo/orders.rs");
    let mut text = std::fs::read_to_string(&orders).unwrap();
    text.push_str(
        "\npub async fn purge(pool: &sqlx::PgPool, ids: &[i64]) -> sqlx::Result<()> {\n    for id in ids {\n        sqlx::query(\"DELETE FROM orders WHERE id = $1\").bind(id).execute(pool).await?;\n    }\n    Ok(())\n}\n",
    );
    std::fs::write(&orders, text).unwrap();
    std::fs::rename(root.join("endpoints/app.py"), root.join("endpoints/api.py")).unwrap();
    std::fs::remove_file(root.join("demo/queries.sql")).unwrap();
    std::fs::write(
        root.join("endpoints/.env"),
        "STRIPE_SECRET=sk_live_4eC39HqLyjWDarjtT1zdp7dc\n",
    )
    .unwrap();
    let (cold, _) = scan(root, &["--no-cache"]);
    let (warm, c3) = scan(root, &[]);
    assert_same(&cold, &warm, "after edits");
    assert_ne!(cold, second, "the edits changed the report");
    // Re-analysed: the edited, the renamed and the new file; nothing else.
    assert_eq!(
        c3,
        format!("cache: {} files reused, 3 analysed and stored", stored - 3)
    );
    let (again, c4) = scan(root, &[]);
    assert_same(&cold, &again, "after edits, warm");
    assert_eq!(
        c4,
        format!("cache: {stored} files reused, 0 analysed and stored")
    );

    // A corrupt cache file is ignored and rewritten.
    for e in std::fs::read_dir(&cache).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "bin") {
            let b = std::fs::read(&p).unwrap();
            std::fs::write(&p, &b[..b.len() / 3]).unwrap();
        }
    }
    let (warm, c5) = scan(root, &[]);
    assert_same(&cold, &warm, "corrupt cache");
    assert_eq!(
        c5,
        format!("cache: 0 files reused, {stored} analysed and stored")
    );
    let (_, c6) = scan(root, &[]);
    assert_eq!(
        c6,
        format!("cache: {stored} files reused, 0 analysed and stored")
    );
}

#[test]
fn another_configuration_does_not_reuse_entries_and_a_bad_cache_dir_is_no_error() {
    let dir = tree();
    let root = dir.path();
    let (_, c1) = scan(root, &[]);
    assert!(c1.starts_with("cache: 0 files reused"), "{c1}");
    // Fewer rules: per-file findings differ, so nothing is reused.
    let (cold, _) = scan(root, &["--no-cache", "--select", "hardcoded-secret"]);
    let (warm, c2) = scan(root, &["--select", "hardcoded-secret"]);
    assert_same(&cold, &warm, "another rule set");
    assert!(c2.starts_with("cache: 0 files reused"), "{c2}");
    // A cache folder that cannot be created: the scan runs without a cache.
    let file = root.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let (cold, _) = scan(root, &["--no-cache"]);
    let (warm, c3) = scan(root, &["--cache-dir", file.join("c").to_str().unwrap()]);
    assert_same(&cold, &warm, "unwritable cache folder");
    assert_eq!(c3, "no cache");
    // --cache-dir elsewhere: nothing is written into the scanned tree.
    let other = tempfile::tempdir().unwrap();
    std::fs::remove_dir_all(root.join(".archlint_cache")).unwrap();
    let (_, c4) = scan(root, &["--cache-dir", other.path().to_str().unwrap()]);
    assert!(c4.starts_with("cache: 0 files reused"), "{c4}");
    let (warm, c5) = scan(root, &["--cache-dir", other.path().to_str().unwrap()]);
    assert!(c5.ends_with(", 0 analysed and stored"), "{c5}");
    assert_same(&cold, &warm, "--cache-dir");
    assert!(!root.join(".archlint_cache").exists());
}
