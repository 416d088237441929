//! Services as the unit of the architecture review: a tree of two services
//! (one healthy and observable, one with neither) plus a queue worker, and a
//! Rust workspace whose two binaries serve one library's routes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/services")
        .join(name)
}

fn run(name: &str, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_archlint"))
        .env("ARCHLINT_NO_CACHE", "1")
        .args(["check", "--format", format, "--fail-on", "never"])
        .arg(dir(name))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn report(name: &str) -> serde_json::Value {
    serde_json::from_str(&run(name, "json")).unwrap()
}

/// (rule, path, message) of the findings of `rules`.
fn findings(r: &serde_json::Value, rules: &[&str]) -> Vec<(String, String, String)> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| rules.contains(&f["rule"].as_str().unwrap()))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_healthy_service_does_not_hide_its_neighbour() {
    let r = report("two-services");
    let got = findings(&r, &["missing-health-check", "missing-observability"]);
    let at: Vec<(&str, &str)> = got
        .iter()
        .map(|(r, p, _)| (r.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        at,
        vec![
            ("missing-health-check", "billing/src/main.rs"),
            ("missing-observability", "billing/src/main.rs"),
            ("missing-observability", "mailer/main.go"),
        ],
        "{got:?}"
    );
    assert!(got[0].2.contains("service `billing`"), "{got:?}");
    assert!(got[2].2.contains("consumes a queue"), "{got:?}");
    // The finding underlines the router composition, not column 1 of a route.
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "missing-health-check")
        .unwrap();
    assert!(f["end_line"].as_u64() > f["line"].as_u64(), "{f}");
    assert!(f["column"].as_u64() > Some(1), "{f}");
    let services = r["stats"]["services"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = services
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("billing", "http"),
            ("mailer", "worker"),
            ("orders", "http")
        ]
    );
    // Endpoint ids point into endpoints_created.
    let eps = r["endpoints_created"].as_array().unwrap();
    for s in services {
        for i in s["endpoints"].as_array().unwrap() {
            let e = &eps[i.as_u64().unwrap() as usize];
            assert!(
                e["file"]
                    .as_str()
                    .unwrap()
                    .starts_with(s["root"].as_str().unwrap()),
                "{e} not in {}",
                s["name"]
            );
        }
    }
    insta::assert_json_snapshot!("two_services_map", r["stats"]["services"]);
}

#[test]
fn workspace_binaries_share_library_routes() {
    let r = report("workspace");
    let got = findings(&r, &["missing-health-check", "missing-observability"]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, "crates/routes/src/lib.rs");
    assert!(
        got[0].2.contains("service `public` exposes 2 HTTP routes"),
        "{got:?}"
    );
    let services = r["stats"]["services"].as_array().unwrap();
    let routes: Vec<(&str, usize)> = services
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["endpoints"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(routes, vec![("admin", 3), ("public", 2)]);
}

#[test]
fn mermaid_draws_services_databases_and_external_systems() {
    insta::assert_snapshot!("two_services_mermaid", run("two-services", "mermaid"));
}

#[test]
fn text_report_ends_with_the_service_summary() {
    let text = run("two-services", "text");
    let tail: Vec<&str> = text.lines().rev().take(7).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    insta::assert_snapshot!("two_services_text_tail", tail[..tail.len() - 1].join("\n"));
}

/// Sub-apps built in several files of one package and mounted on one root
/// are one service, entered at the root: one finding, not one per file.
#[test]
fn sub_apps_of_one_package_are_one_service() {
    let r = report("hono-subapps");
    let services = r["stats"]["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "{services:#?}");
    assert!(services[0]["entry"]
        .as_str()
        .unwrap()
        .starts_with("src/server.ts"));
    let health = findings(&r, &["missing-health-check"]);
    assert_eq!(health.len(), 1, "{health:?}");
}
