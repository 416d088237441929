//! `--format markdown`: the review a bot posts on a pull request.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_archlint"));
    c.env("ARCHLINT_NO_CACHE", "1")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1");
    c
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo")
}

fn markdown(dir: &Path, extra: &[&str]) -> String {
    let out = bin()
        .current_dir(dir)
        .args(["check", "--format", "markdown"])
        .args(extra)
        .arg(".")
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn demo_markdown_review_snapshot() {
    let md = markdown(&demo(), &[]);
    // Never a secret: the demo's credentials appear masked only.
    for secret in [
        "Vq7!rT2#pLm9xZ",
        "sk_live_9fKx2LmQ7vR4tB8nW1cZ5yH3jD6gP0sA",
        "9fKx2LmQ",
    ] {
        assert!(!md.contains(secret), "{secret} in the review");
    }
    insta::assert_snapshot!("demo_markdown", md);
}

#[test]
fn findings_beyond_twenty_are_collapsed_and_no_secret_shows() {
    let dir = tempfile::tempdir().unwrap();
    let mut secrets = Vec::new();
    for i in 0..25 {
        let s = format!("Hq8vT2zLm4xK9wQp{i:02}Zr");
        std::fs::write(
            dir.path().join(format!("svc{i:02}.env")),
            format!("DB_PASSWORD={s}\n"),
        )
        .unwrap();
        secrets.push(s);
    }
    let md = markdown(dir.path(), &[]);
    assert!(md.contains("25 findings"), "{md}");
    let (shown, collapsed) = md.split_once("<details>").expect("collapsed findings");
    assert_eq!(shown.matches("\n- [").count(), 20, "{md}");
    assert!(collapsed.starts_with("\n<summary>5 more findings</summary>"));
    assert_eq!(collapsed.matches("\n- [").count(), 5);
    for s in &secrets {
        assert!(!md.contains(s.as_str()), "{s} in the review");
    }
}

#[test]
fn with_changed_since_the_review_lists_the_changes_endpoints_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let git = |args: &[&str]| Command::new("git").args(args).current_dir(p).output();
    if git(&["init", "-q"])
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("skipped: no git");
        return;
    }
    std::fs::create_dir_all(p.join("migrations")).unwrap();
    std::fs::write(
        p.join("migrations/001_init.sql"),
        "CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL);\n",
    )
    .unwrap();
    git(&["add", "."]).unwrap();
    git(&[
        "-c",
        "user.email=a@b",
        "-c",
        "user.name=a",
        "commit",
        "-qm",
        "base",
    ])
    .unwrap();
    std::fs::write(
        p.join("migrations/002_orders.sql"),
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL);\n",
    )
    .unwrap();
    std::fs::write(
        p.join("app.py"),
        "from fastapi import FastAPI\napp = FastAPI()\n\n@app.get(\"/orders\")\ndef list_orders():\n    return []\n",
    )
    .unwrap();
    let md = markdown(p, &["--changed-since", "HEAD"]);
    assert!(md.contains("changed by this pull request"), "{md}");
    assert!(
        md.contains("### Schema changes in the changed files"),
        "{md}"
    );
    assert!(md.contains("`orders`: create table"), "{md}");
    assert!(
        !md.contains("`users`"),
        "the base's table is not the change's: {md}"
    );
    assert!(md.contains("### Endpoints in the changed files"), "{md}");
    assert!(md.contains("`GET /orders`"), "{md}");
}
