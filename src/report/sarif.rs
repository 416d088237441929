//! SARIF 2.1.0 for GitHub code scanning: rules with their documentation,
//! results with repository-relative locations, related locations and
//! partial fingerprints.

use serde_json::{json, Value};

use super::Report;
use crate::finding::Severity;
use crate::rules::Rule;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Percent-encode what a relative URI cannot hold.
fn uri(path: &str) -> String {
    let mut s = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                s.push(b as char)
            }
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

/// SARIF for the report's findings and the inline-suppressed ones (kept with a
/// `suppressions` entry, as code scanning expects).
pub fn render(
    r: &Report,
    rules: &[&'static dyn Rule],
    suppressed: &[crate::finding::Finding],
) -> String {
    let mut all = crate::rules::all();
    all.retain(|x| {
        rules.iter().any(|y| y.meta().id == x.meta().id)
            || r.findings.iter().any(|f| f.rule == x.meta().id)
    });
    let rule_objs: Vec<Value> = all
        .iter()
        .map(|x| {
            let m = x.meta();
            json!({
                "id": m.id,
                "name": m.id,
                "shortDescription": {"text": m.summary},
                "fullDescription": {"text": m.text().trim()},
                "help": {"text": m.text().trim(), "markdown": m.text().trim()},
                "defaultConfiguration": {"level": level(m.default_severity)}
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .chain(suppressed.iter())
        .map(|f| {
            let idx = all.iter().position(|x| x.meta().id == f.rule).unwrap_or(0);
            let related: Vec<Value> = f
                .related
                .iter()
                .enumerate()
                .map(|(i, rel)| {
                    json!({
                        "id": i,
                        "message": {"text": rel.message},
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri(&rel.path), "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": rel.line}
                        }
                    })
                })
                .collect();
            let mut msg = f.message.clone();
            if let Some(h) = &f.help {
                msg.push_str("\nhelp: ");
                msg.push_str(h);
            }
            let mut res = json!({
                "ruleId": f.rule,
                "ruleIndex": idx,
                "level": level(f.severity),
                "message": {"text": msg},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&f.path), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column
                        }
                    }
                }],
                "partialFingerprints": {"archlint/v1": f.fingerprint}
            });
            if !related.is_empty() {
                res["relatedLocations"] = Value::Array(related);
            }
            if let Some(why) = &f.suppressed {
                res["suppressions"] = json!([{"kind": "inSource", "justification": why}]);
            }
            res
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "archlint",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/archlint/archlint",
                "rules": rule_objs
            }},
            "columnKind": "unicodeCodePoints",
            "results": results
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
