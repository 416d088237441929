//! Rule fixtures: each folder under `testdata/fixtures/<rule>/` is a small
//! project. A line is expected to carry a finding of the rule when it ends
//! with a comment `expect: <rule>`, or when the line above is a comment
//! holding only that marker. Every other line must stay silent: the
//! look-alikes next to the true positives are what keeps precision honest.
//! A severity after the marker (`expect: <rule> info`) is checked too; in
//! expected.txt it follows the line number (`path:line info`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn expected(dir: &Path, rule: &str) -> BTreeSet<(String, u32)> {
    expected_with_severity(dir, rule).into_keys().collect()
}

/// Expected findings, with the severity a marker asks for, if any.
fn expected_with_severity(
    dir: &Path,
    rule: &str,
) -> std::collections::BTreeMap<(String, u32), Option<String>> {
    let mut out = std::collections::BTreeMap::new();
    // Formats without comments (JSON, key files) list their lines in expected.txt.
    if let Ok(list) = std::fs::read_to_string(dir.join("expected.txt")) {
        for l in list
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let mut words = l.split_whitespace();
            let loc = words.next().unwrap_or_default();
            let (p, n) = loc.rsplit_once(':').expect("path:line");
            out.insert(
                (p.to_string(), n.parse().unwrap()),
                words.next().map(str::to_string),
            );
        }
    }
    let marker = format!("expect: {rule}");
    for entry in walk(dir) {
        if entry.file_name().is_some_and(|n| n == "expected.txt") {
            continue;
        }
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        let rel = entry
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for (i, line) in text.lines().enumerate() {
            if let Some(pos) = line.find(&marker) {
                let before = line[..pos].trim();
                let comment_only = before
                    .trim_start_matches(['/', '#', '-', ' ', '*'])
                    .is_empty();
                let n = if comment_only {
                    i as u32 + 2
                } else {
                    i as u32 + 1
                };
                let sev = line[pos + marker.len()..]
                    .split_whitespace()
                    .next()
                    .filter(|w| matches!(*w, "info" | "warning" | "error"))
                    .map(str::to_string);
                out.insert((rel.clone(), n), sev);
            }
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

fn actual(dir: &Path, rule: &str) -> (BTreeSet<(String, u32)>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_archlint"))
        .env("ARCHLINT_NO_CACHE", "1")
        .args(["check", "--format", "json", "--select", rule])
        .arg(dir)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let found = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap() as u32,
            )
        })
        .collect();
    (found, report)
}

fn check_rule(rule: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fixtures")
        .join(rule);
    let want_sev = expected_with_severity(&dir, rule);
    let want: BTreeSet<(String, u32)> = want_sev.keys().cloned().collect();
    assert!(
        !want.is_empty(),
        "fixture for {rule} has no expected findings"
    );
    let (got, report) = actual(&dir, rule);
    let wrong_severity: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            let key = (f["path"].as_str()?.to_string(), f["line"].as_u64()? as u32);
            let want = want_sev.get(&key)?.as_deref()?;
            let got = f["severity"].as_str()?;
            (want != got).then(|| format!("{}:{}: {got}, want {want}", key.0, key.1))
        })
        .collect();
    assert!(
        wrong_severity.is_empty(),
        "{rule}: wrong severity {wrong_severity:?}"
    );
    let missed: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    let details: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}:{}: {}", f["path"], f["line"], f["message"]))
        .collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "{rule}: missed {missed:?}, unexpected {extra:?}\nall findings:\n{}",
        details.join("\n")
    );
}

/// Service-wide rules report once per scanned tree: each subfolder of the
/// fixture is scanned as a service of its own.
fn check_rule_per_service(rule: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fixtures")
        .join(rule);
    let mut expected_any = false;
    let mut failures = Vec::new();
    let mut services: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    services.sort();
    for svc in services {
        let want = expected(&svc, rule);
        expected_any |= !want.is_empty();
        let (got, report) = actual(&svc, rule);
        if want != got {
            failures.push(format!(
                "{}: want {want:?}, got {got:?}: {}",
                svc.display(),
                report["findings"]
            ));
        }
    }
    assert!(expected_any, "fixture for {rule} has no expected findings");
    assert!(failures.is_empty(), "{rule}:\n{}", failures.join("\n"));
}

#[test]
fn missing_observability() {
    check_rule_per_service("missing-observability");
}

#[test]
fn missing_rate_limit() {
    check_rule_per_service("missing-rate-limit");
}

#[test]
fn missing_input_validation() {
    check_rule_per_service("missing-input-validation");
}

#[test]
fn shared_database() {
    check_rule("shared-database");
}

#[test]
fn non_idempotent_mutation() {
    check_rule("non-idempotent-mutation");
}

#[test]
fn n_plus_one_query() {
    check_rule("n-plus-one-query");
}

#[test]
fn unbounded_query() {
    check_rule("unbounded-query");
}

#[test]
fn hardcoded_secret() {
    check_rule("hardcoded-secret");
}

#[test]
fn unhandled_external_call() {
    check_rule("unhandled-external-call");
}

#[test]
fn blocking_call_in_async() {
    check_rule("blocking-call-in-async");
}

#[test]
fn missing_health_check() {
    check_rule("missing-health-check");
}

#[test]
fn stateful_service() {
    check_rule("stateful-service");
}

#[test]
fn unindexed_query() {
    check_rule("unindexed-query");
}
