//! A review in Markdown, for a bot to post as a pull-request comment: a
//! summary line, the findings grouped by severity and rule with `path:line`
//! links, the endpoints and schema changes of the change, and the findings
//! beyond the first 20 collapsed. Messages carry masked secrets only (a
//! finding never holds a secret's value), and no source text is quoted.

use std::collections::HashSet;

use super::Report;
use crate::finding::{Finding, Severity};

/// Findings shown before the rest is collapsed.
const SHOWN: usize = 20;

/// Where `path#Lline` links point: the commit's blob URL under GitHub
/// Actions, relative to the repository otherwise.
pub fn link_base_from_env() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if var("GITHUB_ACTIONS").as_deref() != Some("true") {
        return None;
    }
    Some(format!(
        "{}/{}/blob/{}/",
        var("GITHUB_SERVER_URL")?,
        var("GITHUB_REPOSITORY")?,
        var("GITHUB_SHA")?
    ))
}

/// `changed`: the files of `--changed-since` (endpoints and schema changes
/// declared there are the change's); `base`: a prefix for links.
pub fn render(r: &Report, changed: Option<&HashSet<String>>, base: Option<&str>) -> String {
    let mut out = String::from("## archlint review\n\n");
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let files: HashSet<&str> = r.findings.iter().map(|f| f.path.as_str()).collect();
    let icon = match r.status {
        "failure" => "❌",
        "partial" => "⚠️",
        _ => "✅",
    };
    out.push_str(&format!(
        "{icon} **{}**: {} ({}, {}, {}) in {}",
        r.status,
        plural(r.findings.len(), "finding", "findings"),
        plural(r.stats.errors, "error", "errors"),
        plural(r.stats.warnings, "warning", "warnings"),
        plural(r.stats.infos, "info", "infos"),
        plural(files.len(), "file", "files"),
    ));
    if changed.is_some() {
        out.push_str(" changed by this pull request");
    }
    if !r.blockers.is_empty() {
        out.push_str(&format!(
            "; {} not analysed in full",
            plural(r.blockers.len(), "blocker", "blockers")
        ));
    }
    out.push_str(".\n");

    let mut fs: Vec<&Finding> = r.findings.iter().collect();
    fs.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule.cmp(&b.rule))
            .then((&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)))
    });
    if !fs.is_empty() {
        let (first, rest) = fs.split_at(fs.len().min(SHOWN));
        out.push_str("\n### Findings\n");
        findings(&mut out, first, base);
        if !rest.is_empty() {
            out.push_str(&format!(
                "\n<details>\n<summary>{} more {}</summary>\n",
                rest.len(),
                if rest.len() == 1 {
                    "finding"
                } else {
                    "findings"
                }
            ));
            findings(&mut out, rest, base);
            out.push_str("\n</details>\n");
        }
    }

    let in_change = |file: &str| changed.is_none_or(|c| c.contains(file));
    let endpoints: Vec<String> = r
        .endpoints_created
        .iter()
        .filter(|e| in_change(&e.file))
        .map(|e| {
            format!(
                "- `{} {}` → `{}` ({})\n",
                e.method,
                e.path,
                e.handler,
                link(&e.file, e.line, base)
            )
        })
        .collect();
    let schema: Vec<String> = r
        .schemas_modified
        .iter()
        .filter(|s| in_change(&s.file))
        .map(|s| {
            format!(
                "- `{}`: {} ({})\n",
                s.table,
                escape(&s.change),
                link(&s.file, s.line, base)
            )
        })
        .collect();
    match changed {
        Some(_) => {
            for (title, items) in [
                ("Endpoints in the changed files", &endpoints),
                ("Schema changes in the changed files", &schema),
            ] {
                if items.is_empty() {
                    continue;
                }
                out.push_str(&format!("\n### {title}\n\n"));
                out.extend(items.iter().cloned());
            }
        }
        None => {
            for (title, items) in [("Endpoints", &endpoints), ("Schema changes", &schema)] {
                if items.is_empty() {
                    continue;
                }
                out.push_str(&format!(
                    "\n<details>\n<summary>{title} ({})</summary>\n\n",
                    items.len()
                ));
                out.extend(items.iter().cloned());
                out.push_str("\n</details>\n");
            }
        }
    }
    out.push_str(
        "\n<sub>`archlint explain RULE` tells what a rule catches and how to fix it.</sub>\n",
    );
    out
}

fn findings(out: &mut String, fs: &[&Finding], base: Option<&str>) {
    let mut severity: Option<Severity> = None;
    let mut rule: Option<&str> = None;
    for (i, f) in fs.iter().enumerate() {
        if severity != Some(f.severity) {
            severity = Some(f.severity);
            rule = None;
            let n = fs[i..]
                .iter()
                .take_while(|g| g.severity == f.severity)
                .count();
            let title = match f.severity {
                Severity::Error => "Errors",
                Severity::Warning => "Warnings",
                Severity::Info => "Info",
            };
            out.push_str(&format!("\n#### {title} ({n})\n"));
        }
        if rule != Some(f.rule.as_str()) {
            rule = Some(f.rule.as_str());
            let n = fs[i..]
                .iter()
                .take_while(|g| g.severity == f.severity && g.rule == f.rule)
                .count();
            out.push_str(&format!("\n**{}** ({n})\n\n", f.rule));
        }
        out.push_str(&format!(
            "- {} {}\n",
            link(&f.path, f.line, base),
            escape(&f.message)
        ));
    }
}

fn link(path: &str, line: u32, base: Option<&str>) -> String {
    let target = format!("{}{}#L{line}", base.unwrap_or(""), path.replace(' ', "%20"));
    format!("[{path}:{line}]({target})")
}

/// Outside code spans, `<`, `>` and `|` would be read as HTML or tables.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut code = false;
    for c in s.chars() {
        match c {
            '`' => {
                code = !code;
                out.push(c);
            }
            '<' if !code => out.push_str("&lt;"),
            '>' if !code => out.push_str("&gt;"),
            '|' if !code => out.push_str("\\|"),
            '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_outside_code_spans_only() {
        assert_eq!(escape("a<b> `Json<T>` |x"), "a&lt;b&gt; `Json<T>` \\|x");
    }

    #[test]
    fn links_are_relative_unless_a_base_is_given() {
        assert_eq!(link("src/a.rs", 3, None), "[src/a.rs:3](src/a.rs#L3)");
        assert_eq!(
            link("src/a.rs", 3, Some("https://github.com/o/r/blob/abc/")),
            "[src/a.rs:3](https://github.com/o/r/blob/abc/src/a.rs#L3)"
        );
    }
}
