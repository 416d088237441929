//! The command line end to end: the contract's exit codes, the JSON schema,
//! blockers for bad input, determinism, and snapshots of the outputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_archlint"));
    // No test writes a re-run cache into testdata/ (the cache tests use temp dirs).
    c.env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1")
        .env("ARCHLINT_NO_CACHE", "1");
    c
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Drop what legitimately differs between runs: timing.
/// The report's endpoints as `METHOD PATH HANDLER` lines, with `FILE:LINE` when asked.
fn endpoint_lines(r: &serde_json::Value, with_location: bool) -> Vec<String> {
    r["endpoints_created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let line = format!(
                "{} {} {}",
                e["method"].as_str().unwrap(),
                e["path"].as_str().unwrap(),
                e["handler"].as_str().unwrap()
            );
            if with_location {
                format!("{line} {}:{}", e["file"].as_str().unwrap(), e["line"])
            } else {
                line
            }
        })
        .collect()
}

fn stable(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("stats");
    v
}

#[test]
fn demo_report_validates_against_the_schema_and_has_every_rule() {
    let out = run(&["check", "--format", "json", demo().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "errors in the demo give exit 1");
    let report = json(&out);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schema/agent-output.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "schema errors: {errors:?}");
    for rule in [
        "n-plus-one-query",
        "unbounded-query",
        "hardcoded-secret",
        "unhandled-external-call",
        "blocking-call-in-async",
    ] {
        assert!(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == rule),
            "demo lacks {rule}"
        );
    }
    assert_eq!(report["status"], "failure");
    assert!(!report["endpoints_created"].as_array().unwrap().is_empty());
    assert!(!report["schemas_modified"].as_array().unwrap().is_empty());
    assert!(!report["architecture_decisions"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn exit_codes_follow_the_contract() {
    let clean = tempfile::tempdir().unwrap();
    std::fs::write(
        clean.path().join("lib.rs"),
        "pub fn add(a: u32, b: u32) -> u32 { a + b }\n",
    )
    .unwrap();
    assert_eq!(
        run(&["check", "--format", "json", clean.path().to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["check", "--format", "json", demo().to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&[
            "check",
            "--format",
            "json",
            "--fail-on",
            "never",
            demo().to_str().unwrap()
        ])
        .status
        .code(),
        Some(0)
    );
    let missing = run(&["check", "/no/such/path/anywhere"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no such file"));
    assert_eq!(
        run(&["check", "--format", "yaml", "."]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["check", "--select", "no-such-rule", "."])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(&["explain", "no-such-rule"]).status.code(), Some(2));
}

#[test]
fn bad_files_become_blockers_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("blob.data"), b"abc\0def\0").unwrap();
    std::fs::write(p.join("latin1.rs"), b"const X: &str = \"caf\xe9\";\n").unwrap();
    std::fs::write(p.join("broken.rs"), "fn main( {\n").unwrap();
    std::fs::write(p.join("big.sql"), "SELECT 1;\n".repeat(1_100_000)).unwrap();
    std::fs::write(
        p.join("deep.rs"),
        format!(
            "fn f() {{ let x = {}1{}; }}\n",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
    )
    .unwrap();
    std::fs::write(
        p.join("ok.rs"),
        "const DB_PASSWORD: &str = \"Zq8!vN3#kL5@pW2x\";\n",
    )
    .unwrap();
    let out = run(&[
        "check",
        "--format",
        "json",
        "--max-file-size",
        "10000000",
        p.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the secret in ok.rs is still found"
    );
    let r = json(&out);
    let blockers: Vec<String> = r["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .collect();
    let has = |name: &str, why: &str| {
        blockers
            .iter()
            .any(|b| b.starts_with(name) && b.contains(why))
    };
    assert!(has("blob.data", "binary"), "{blockers:?}");
    assert!(has("latin1.rs", "UTF-8"), "{blockers:?}");
    assert!(has("broken.rs", "syntax error"), "{blockers:?}");
    assert!(has("big.sql", "size limit"), "{blockers:?}");
    assert!(has("deep.rs", "nest"), "{blockers:?}");
    assert_eq!(r["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn reports_are_identical_across_job_counts() {
    let d = demo();
    let a = stable(json(&run(&[
        "check",
        "--format",
        "json",
        "--jobs",
        "1",
        d.to_str().unwrap(),
    ])));
    let b = stable(json(&run(&[
        "check",
        "--format",
        "json",
        "--jobs",
        "2",
        d.to_str().unwrap(),
    ])));
    let c = stable(json(&run(&[
        "check",
        "--format",
        "json",
        "--jobs",
        "8",
        d.to_str().unwrap(),
    ])));
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn no_output_shows_a_whole_secret() {
    let d = demo();
    let env = std::fs::read_to_string(d.join(".env")).unwrap();
    let stripe = env
        .lines()
        .find_map(|l| l.strip_prefix("STRIPE_SECRET_KEY="))
        .unwrap()
        .to_string();
    for fmt in ["json", "text", "sarif", "github"] {
        let out = run(&["check", "--format", fmt, d.to_str().unwrap()]);
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(!s.contains(&stripe), "{fmt} output leaks the secret");
        assert!(
            !s.contains(&stripe[4..]),
            "{fmt} output leaks the secret's tail"
        );
    }
}

#[test]
fn text_output_snapshot() {
    let out = bin()
        .current_dir(demo())
        .args(["check", "--format", "text", "."])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The summary's time varies: cut it.
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("archlint:") {
                l.split(" in ").next().unwrap()
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("demo_text", text);
}

#[test]
fn json_findings_snapshot() {
    let out = bin()
        .current_dir(demo())
        .args(["check", "--format", "json", "."])
        .output()
        .unwrap();
    let r = json(&out);
    insta::assert_json_snapshot!("demo_findings", r["findings"]);
}

/// The report's other keys, whole: the architect's view of the demo.
#[test]
fn json_architecture_snapshot() {
    let out = bin()
        .current_dir(demo())
        .args(["check", "--format", "json", "."])
        .output()
        .unwrap();
    let r = json(&out);
    let keys = serde_json::json!({
        "status": r["status"],
        "architecture_decisions": r["architecture_decisions"],
        "endpoints_created": r["endpoints_created"],
        "schemas_modified": r["schemas_modified"],
        "recommendations": r["recommendations"],
        "blockers": r["blockers"],
    });
    insta::assert_json_snapshot!("demo_architecture", keys);
}

#[test]
fn rules_and_explain() {
    let out = run(&["rules"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(s.lines().count(), 14);
    let out = run(&["explain", "n-plus-one-query"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("## Why it matters") && s.contains("## How to fix"));
    // Markdown as written: headings start their line.
    assert!(s.lines().any(|l| l == "## What it catches"), "{s}");
    for rule in [
        "shared-database",
        "missing-observability",
        "non-idempotent-mutation",
    ] {
        let out = run(&["explain", rule]);
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("## How to fix"));
    }
}

#[test]
fn output_file_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.json");
    let out = run(&[
        "check",
        "--format",
        "json",
        "--output",
        target.to_str().unwrap(),
        demo().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(v["agent"], "backend-architect");
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/contract/sarif-schema-2.1.0.json");
    let Ok(text) = std::fs::read_to_string(&schema_path) else {
        eprintln!("skipped: {} is absent", schema_path.display());
        return;
    };
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let out = run(&["check", "--format", "sarif", demo().to_str().unwrap()]);
    let sarif = json(&out);
    let validator = jsonschema::options()
        .should_validate_formats(false)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .take(10)
        .collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:?}");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
}

#[test]
fn github_annotations() {
    let out = run(&["check", "--format", "github", demo().to_str().unwrap()]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.lines().any(
            |l| l.starts_with("::error file=") && l.contains("title=archlint n-plus-one-query")
        ),
        "{s}"
    );
    // Multi-line ranges carry no column fields.
    for l in s.lines().filter(|l| l.starts_with("::")) {
        let line = l
            .split("line=")
            .nth(1)
            .and_then(|x| x.split(',').next())
            .unwrap();
        let end = l
            .split("endLine=")
            .nth(1)
            .and_then(|x| x.split([',', ':']).next())
            .unwrap();
        assert_eq!(line != end, !l.contains(",col="), "{l}");
    }
}

#[test]
fn baseline_survives_moved_code_and_reports_only_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let body = "pub async fn load(pool: &sqlx::PgPool, ids: &[i64]) -> sqlx::Result<()> {\n    for id in ids {\n        sqlx::query(\"DELETE FROM s WHERE id = $1\").bind(id).execute(pool).await?;\n    }\n    Ok(())\n}\n";
    std::fs::write(src.join("lib.rs"), body).unwrap();
    let base = dir.path().join("baseline.json");
    let out = run(&[
        "check",
        "--format",
        "json",
        "--write-baseline",
        base.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    // Lines added above and an unrelated function renamed: the finding is not new.
    let moved = format!("// a new comment\n\npub fn renamed_helper() {{}}\n\n{body}");
    std::fs::write(src.join("lib.rs"), &moved).unwrap();
    let out = run(&[
        "check",
        "--format",
        "json",
        "--baseline",
        base.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(
        json(&out)["findings"].as_array().unwrap().len(),
        0,
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(out.status.code(), Some(0));
    // A second N+1 is new.
    let more = format!("{moved}\npub async fn again(pool: &sqlx::PgPool, ids: &[i64]) -> sqlx::Result<()> {{\n    for id in ids {{\n        sqlx::query(\"DELETE FROM t WHERE id = $1\").bind(id).execute(pool).await?;\n    }}\n    Ok(())\n}}\n");
    std::fs::write(src.join("lib.rs"), more).unwrap();
    let out = run(&[
        "check",
        "--format",
        "json",
        "--baseline",
        base.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    let r = json(&out);
    assert_eq!(r["findings"].as_array().unwrap().len(), 1);
    assert!(
        r["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("DELETE")
            || r["findings"][0]["line"].as_u64().unwrap() > 10
    );
}

#[test]
fn suppressions_silence_one_line_and_unused_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        "# archlint: allow(hardcoded-secret) rotated, kept for the legacy importer\nAPI_SECRET = \"Zq8vN3kL5pW2xRt7Yb4M\"\nDB_PASSWORD = \"Hq8vT2zLm4xK9\"  # archlint: allow(hardcoded-secret) local only\nOTHER = 1  # archlint: allow(n-plus-one-query) nothing here\nX = 2  # archlint: allow(no-such-rule)\n",
    )
    .unwrap();
    let out = run(&["check", "--format", "json", dir.path().to_str().unwrap()]);
    let r = json(&out);
    let rules: Vec<(String, u64)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            ("unused-suppression".to_string(), 4),
            ("unused-suppression".to_string(), 5)
        ],
        "{rules:?}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "info findings do not fail the run"
    );
    // SARIF keeps the silenced findings, marked as suppressed in source with the reason.
    let sarif = json(&run(&[
        "check",
        "--format",
        "sarif",
        dir.path().to_str().unwrap(),
    ]));
    let suppressed: Vec<&serde_json::Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 2);
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
    assert!(suppressed
        .iter()
        .any(|r| r["suppressions"][0]["justification"] == "rotated, kept for the legacy importer"));
}

#[test]
fn config_file_is_discovered_and_bad_config_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.py"),
        "SECRET_KEY = \"Zq8vN3kL5pW2xRt7Yb4Mc9Qd\"\n",
    )
    .unwrap();
    assert_eq!(
        run(&["check", "--format", "json", dir.path().to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    std::fs::write(
        dir.path().join("archlint.toml"),
        "[severity]\nhardcoded-secret = \"warning\"\n",
    )
    .unwrap();
    assert_eq!(
        run(&["check", "--format", "json", dir.path().to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    std::fs::write(
        dir.path().join("archlint.toml"),
        "[severity]\nhardcoded-secret = \"loud\"\n",
    )
    .unwrap();
    let out = run(&["check", "--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("archlint.toml:2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An unknown rule: a clear message, exit 2, and no report file at all.
    std::fs::write(
        dir.path().join("archlint.toml"),
        "ignore = [\"no-such-rule\"]\n",
    )
    .unwrap();
    let report = dir.path().join("out").join("report.json");
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    let out = run(&[
        "check",
        "--format",
        "json",
        "--output",
        report.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-rule"));
    assert!(!report.exists());
    assert_eq!(
        std::fs::read_dir(report.parent().unwrap()).unwrap().count(),
        0
    );
    // An invalid --format is a usage error: exit 2.
    let out = run(&["check", "--format", "yaml", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("yaml"));
}

#[test]
fn endpoints_from_every_framework() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/endpoints");
    let r = json(&run(&["check", "--format", "json", dir.to_str().unwrap()]));
    let mut got = endpoint_lines(&r, false);
    got.sort();
    assert_eq!(
        got,
        vec![
            "DELETE /sessions/{id} deleteSession",
            "GET /articles/:slug ArticleRetrieve",
            "GET /health (inline handler)",
            "GET /items/{item_id} read_item",
            "GET /orders list_orders",
            "GET /ping ping",
            "GET /status status",
            "POST /orders create_order",
            "POST /users createUser",
        ]
    );
}

#[test]
fn a_service_with_a_health_route_is_silent() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/health-ok");
    let r = json(&run(&[
        "check",
        "--format",
        "json",
        "--select",
        "missing-health-check",
        dir.to_str().unwrap(),
    ]));
    assert_eq!(
        r["findings"].as_array().unwrap().len(),
        0,
        "{}",
        r["findings"]
    );
}

#[test]
fn sql_dialect_is_guessed_from_the_driver() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[dependencies]\nsqlx = { version = \"0.8\", features = [\"mysql\"] }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("q.sql"),
        "SELECT `id` FROM `users` LIMIT 10, 20;\nSELECT * FROM `users`;\n",
    )
    .unwrap();
    let r = json(&run(&[
        "check",
        "--format",
        "json",
        dir.path().to_str().unwrap(),
    ]));
    assert!(
        r["blockers"].as_array().unwrap().is_empty(),
        "{}",
        r["blockers"]
    );
    let lines: Vec<u64> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![2]);
}

#[test]
fn changed_since_reports_only_changed_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(p)
            .output()
    };
    if git(&["init", "-q"])
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("skipped: no git");
        return;
    }
    std::fs::write(p.join("old.env"), "API_SECRET=Zq8vN3kL5pW2xRt7Yb4Mc9Qd\n").unwrap();
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
    std::fs::write(p.join("new.env"), "DB_PASSWORD=Hq8vT2zLm4xK9wQp\n").unwrap();
    let r = json(&run(&[
        "check",
        "--format",
        "json",
        "--changed-since",
        "HEAD",
        p.to_str().unwrap(),
    ]));
    let paths: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["new.env"]);
    assert_eq!(
        run(&[
            "check",
            "--changed-since",
            "no-such-rev",
            p.to_str().unwrap()
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn endpoints_get_the_prefixes_of_nested_and_merged_routers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/endpoints-nested");
    let r = json(&run(&["check", "--format", "json", dir.to_str().unwrap()]));
    let got = endpoint_lines(&r, true);
    assert_eq!(
        got,
        vec![
            "GET /api/v1/admin/stats admin_stats src/admin.rs:6",
            "GET /api/v1/admin admin_home src/admin.rs:7",
            "GET /api/v1/reports/daily daily_report src/main.rs:12",
            "GET /api/v1/orders list_orders src/main.rs:20",
            "GET /api/v1/orders/:id show_order src/main.rs:21",
            "GET /health health src/main.rs:27",
            "GET /shop/items list_items src/shop.rs:3",
            "POST /shop/items create_item src/shop.rs:8",
            "GET /shop/cart cart src/shop.rs:18",
            "GET /shop shop_home src/shop.rs:19",
            "POST /shop/checkout checkout src/shop.rs:20",
            "GET /api/v1/summary get_summary src/summary.rs:3",
            "GET /api/v1/users list_users src/users.rs:6",
            "POST /api/v1/users create_user src/users.rs:6",
            "GET /api/v1/users/:id get_user src/users.rs:7",
        ]
    );
}

/// What counts as a rate limiter is data a user extends in archlint.toml.
#[test]
fn architecture_knowledge_is_extended_from_archlint_toml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.rs"),
        "fn app() -> Router {\n    Router::new().route(\"/signup\", post(signup)).layer(bouncer::Layer::new())\n}\n",
    )
    .unwrap();
    let count = |r: &serde_json::Value| {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "missing-rate-limit")
            .count()
    };
    let p = dir.path().to_str().unwrap();
    let before = json(&run(&["check", "--format", "json", p]));
    assert_eq!(count(&before), 1, "{}", before["findings"]);
    std::fs::write(
        dir.path().join("archlint.toml"),
        "[knowledge.architecture]\nrate_limit = [\"bouncer\"]\n",
    )
    .unwrap();
    let after = json(&run(&["check", "--format", "json", p]));
    assert_eq!(count(&after), 0, "{}", after["findings"]);
}

#[test]
fn endpoints_get_the_prefixes_of_routers_in_python_javascript_and_go() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/endpoints-scripts");
    let r = json(&run(&["check", "--format", "json", dir.to_str().unwrap()]));
    let got = endpoint_lines(&r, false);
    assert_eq!(
        got,
        vec![
            // Django: include("shop.urls") prefixes the included URLconf.
            "ANY /admin/ admin.site.urls",
            "ANY / views.home",
            // Django REST framework: a router's registrations where include(router.urls) puts them.
            "ANY /shop/api/orders views.OrderViewSet",
            "ANY /shop/products/ views.product_list",
            "ANY /shop/products/(?P<pk>[0-9]+)/ views.ProductDetail.as_view()",
            // Flask: the url_prefix given at registration replaces the blueprint's.
            "GET /admin/daily daily",
            "GET /ping ping",
            // gin: a group passed to a function of another package.
            "GET /api/v1/users List",
            "POST /api/v1/users/:id/follow Follow",
            // Express: require() and a default import, across three files.
            "POST /api/comments createComment",
            "GET /api/comments/:id getComment",
            "GET /api/status status",
            // NestJS: @Controller prefix and method decorators.
            "GET /orders findAll",
            "GET /orders/:id findOne",
            "POST /orders create",
            // FastAPI: APIRouter(prefix=..) included from another module.
            "GET /healthz healthz",
            "GET /api/v1/items list_items",
            "DELETE /api/v1/items/{item_id} delete_item",
        ]
    );
}

/// What each up migration does, whatever the migration tool: SQL (down
/// migrations left out), sea-orm (its `down` left out) and Django.
#[test]
fn schema_changes_from_sql_sea_orm_and_django_migrations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/schemas");
    let r = json(&run(&["check", "--format", "json", dir.to_str().unwrap()]));
    let got: Vec<String> = r["schemas_modified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{}:{} {} {}",
                x["file"].as_str().unwrap(),
                x["line"],
                x["table"].as_str().unwrap(),
                x["change"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            "migration/src/m20240101_000001_posts.rs:8 blog_post create table",
            "migration/src/m20240101_000001_posts.rs:16 blog_post add column published_at",
            "migrations/2024-01-01-000000_users/up.sql:1 users create table",
            "migrations/2024-01-01-000000_users/up.sql:2 users add unique (email)",
            "migrations/2024-01-01-000000_users/up.sql:3 users add constraint email_length",
            "shop/migrations/0001_initial.py:8 shop_product create table",
            "shop/migrations/0001_initial.py:12 shop_product add column price",
            "shop/migrations/0001_initial.py:13 shop_product rename column title to name",
        ]
    );
}

fn fixture(rule: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fixtures")
        .join(rule)
}

/// A finding's severity and message, by path suffix and line.
fn finding_at<'a>(r: &'a serde_json::Value, path: &str, line: u64) -> &'a serde_json::Value {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(path) && f["line"] == line)
        .unwrap_or_else(|| panic!("no finding at {path}:{line}: {}", r["findings"]))
}

#[test]
fn where_a_file_stands_sets_how_much_a_finding_matters() {
    let dir = fixture("n-plus-one-query");
    let r = json(&run(&["check", "--format", "json", dir.to_str().unwrap()]));
    // So is a data migration only `main` runs, once, at boot.
    assert_eq!(finding_at(&r, "src/bounded.rs", 51)["severity"], "info");
    // A one-off script's N+1 is a note, not a request-path error.
    let f = finding_at(&r, "scripts/backfill_customers.py", 8);
    assert_eq!(f["severity"], "info");
    assert!(f["message"].as_str().unwrap().contains("one-off script"));
    // The vendored bundle is counted, not analysed.
    assert_eq!(r["stats"]["roles"]["vendored"], 1);
    assert!(!r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"].as_str().unwrap().contains("static/")));
    // Unless asked for.
    let r = json(&run(&[
        "check",
        "--format",
        "json",
        "--include-vendored",
        dir.to_str().unwrap(),
    ]));
    assert!(r["stats"]["roles"]["vendored"] == 1);

    // A CLI crate nothing serving depends on: blocking is a note that says why.
    let ws = fixture("blocking-call-in-async").join("workspace");
    let r = json(&run(&["check", "--format", "json", ws.to_str().unwrap()]));
    let f = finding_at(&r, "crates/cli/src/main.rs", 7);
    assert_eq!(f["severity"], "info");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("not on a request path"));
    // Code only `main` reaches runs once, before serving: info.
    let f = finding_at(&r, "crates/server/src/main.rs", 72);
    assert_eq!(f["severity"], "info");
    assert!(f["message"].as_str().unwrap().contains("start-up"));
    // The server's own blocking call through its dependency stays an error.
    assert_eq!(
        finding_at(&r, "crates/server/src/main.rs", 31)["severity"],
        "error"
    );
}

#[test]
fn sql_the_parser_rejects_is_counted_in_stats_and_never_a_blocker() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("migrations")).unwrap();
    std::fs::write(
        p.join("migrations/001_init.sql"),
        "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT);\n\
         REINDEX TABLE users;\n\
         DO $$ BEGIN PERFORM 1; END $$;\n\
         FROBNICATE users;\n\
         CREATE UNIQUE INDEX users_email ON users (lower(email));\n",
    )
    .unwrap();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(
        p.join("src/lib.rs"),
        "pub async fn f(pool: &sqlx::PgPool, col: &str) {\n    let q = format!(\"UPDATE users SET {col} = 1\");\n    sqlx::query(&q).execute(pool).await.ok();\n    sqlx::query(\"SELECT id FROM users WHERE id IN (\").execute(pool).await.ok();\n}\n",
    )
    .unwrap();
    std::fs::write(p.join("src/broken.rs"), "fn main( {\n").unwrap();
    // One rule that finds nothing here: the status then says what the blockers say.
    let out = run(&[
        "check",
        "--format",
        "json",
        "--timings",
        "--select",
        "unbounded-query",
        p.to_str().unwrap(),
    ]);
    let r = json(&out);
    assert_eq!(r["findings"], serde_json::json!([]));
    let blockers: Vec<&str> = r["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    // Only the file whose syntax tree cannot be built.
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert!(blockers[0].starts_with("src/broken.rs"), "{blockers:?}");
    assert_eq!(r["status"], "partial");
    let sql = &r["stats"]["sql"];
    assert_eq!(sql["statements"], 5, "{sql}");
    assert_eq!(sql["skipped"], 2, "{sql}");
    assert_eq!(sql["salvaged"], 1, "{sql}");
    assert_eq!(sql["bodies"], 1, "{sql}");
    assert_eq!(sql["fragments"], 1, "{sql}");
    let timings = String::from_utf8_lossy(&out.stderr);
    assert!(
        timings.contains("migrations/001_init.sql:4: rejected: sql parser error"),
        "{timings}"
    );
    assert!(
        timings.contains("migrations/001_init.sql:2: salvaged:"),
        "{timings}"
    );
    assert!(timings.contains("src/lib.rs:4: fragment:"), "{timings}");
}

#[test]
fn each_database_folder_is_read_in_its_own_dialect() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures/unbounded-query/multidb");
    let r = json(&run(&["check", "--format", "json", dir.to_str().unwrap()]));
    assert_eq!(r["blockers"], serde_json::json!([]));
    assert_eq!(r["stats"]["sql"]["skipped"], 0, "{}", r["stats"]["sql"]);
    let changes: Vec<String> = r["schemas_modified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["file"].as_str().unwrap(),
                c["change"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "migrations/mysql/001_accounts/up.sql create table",
        "migrations/sqlite/001_accounts/up.sql create table",
        "migrations/postgresql/001_accounts/up.sql create unique index accounts_email (email)",
    ] {
        assert!(
            changes.iter().any(|c| c == want),
            "{want} not in {changes:?}"
        );
    }
}

#[test]
fn archlint_toml_dialect_wins_over_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mysql")).unwrap();
    std::fs::write(
        dir.path().join("mysql/q.sql"),
        "SELECT `id` FROM `t` LIMIT 1;\n",
    )
    .unwrap();
    let r = json(&run(&[
        "check",
        "--format",
        "json",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(r["stats"]["sql"]["skipped"], 0);
    std::fs::write(dir.path().join("archlint.toml"), "dialect = \"postgres\"\n").unwrap();
    let r = json(&run(&[
        "check",
        "--format",
        "json",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(r["stats"]["sql"]["skipped"], 1, "{}", r["stats"]["sql"]);
}

#[test]
fn statements_sqlparser_rejects_still_change_the_schema() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures/unbounded-query/salvage");
    let r = json(&run(&["check", "--format", "json", dir.to_str().unwrap()]));
    assert_eq!(r["blockers"], serde_json::json!([]));
    let sql = &r["stats"]["sql"];
    assert_eq!(
        (&sql["skipped"], &sql["salvaged"], &sql["bodies"]),
        (
            &serde_json::json!(11),
            &serde_json::json!(11),
            &serde_json::json!(2)
        ),
        "{sql}"
    );
    let got: Vec<String> = r["schemas_modified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{} {} {}",
                x["line"],
                x["table"].as_str().unwrap(),
                x["change"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            "20 members create table",
            "29 members create unique index members_handle (handle)",
            "31 members alter column email",
            "31 members add unique (email)",
            "33 members add constraint members_team_fk",
            "35 members alter column nick",
            "35 members alter column nick",
            "45 members create unique index members_nick (nick)",
            "47 (index) drop index members_nick",
            "49 (index) rename index members_handle to members_handle_lower",
            "51 old_things create table",
            "58 old_things rename table to things",
            "60 ghosts create table",
            "62 ghosts drop table",
        ]
    );
}

/// `--select hardcoded-secret` takes the secrets-only path (a file is parsed
/// only when the rule needs its tree, nothing is linked): it must report
/// exactly the secrets the full audit reports.
#[test]
fn the_secrets_only_path_finds_what_the_full_audit_finds() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures/hardcoded-secret");
    for dir in [demo(), fixture] {
        let secrets = |args: &[&str]| -> Vec<String> {
            let mut a = vec!["check", "--format", "json", "--fail-on", "never"];
            a.extend_from_slice(args);
            a.push(dir.to_str().unwrap());
            let mut v: Vec<String> = json(&run(&a))["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["rule"] == "hardcoded-secret")
                .map(|f| {
                    format!(
                        "{}:{}:{} {} {}",
                        f["path"], f["line"], f["column"], f["severity"], f["fingerprint"]
                    )
                })
                .collect();
            v.sort();
            v
        };
        let fast = secrets(&["--select", "hardcoded-secret"]);
        assert!(!fast.is_empty());
        assert_eq!(fast, secrets(&[]), "{}", dir.display());
    }
}
