//! Human diagnostics with `codespan-reporting`: the source snippet with the
//! finding labelled, help and related places as notes, then a summary line.
//! Secrets are masked in the snippet, not only in the message.

use std::collections::HashMap;

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::Buffer, Config};

use super::Report;
use crate::finding::Severity;
use crate::source::{LineIndex, Span};

/// Replace all but the first four characters of every masked span with `*`.
fn mask_source(text: &str, spans: &[Span]) -> String {
    if spans.is_empty() {
        return text.to_string();
    }
    let idx = LineIndex::new(text);
    let mut ranges: Vec<(usize, usize)> = spans
        .iter()
        .map(|s| {
            let a = idx.offset(s.start);
            let b = idx.offset(s.end).max(a);
            let keep = text[a..b]
                .char_indices()
                .nth(4)
                .map(|(i, _)| a + i)
                .unwrap_or(b);
            (keep, b)
        })
        .collect();
    ranges.sort();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (a, b) in ranges {
        if a < pos {
            continue;
        }
        out.push_str(&text[pos..a]);
        for ch in text[a..b].chars() {
            out.push(if ch == '\n' || ch == '\r' { ch } else { '*' });
        }
        pos = b;
    }
    out.push_str(&text[pos..]);
    out
}

pub fn render(r: &Report, color: bool, load: &dyn Fn(&str) -> Option<String>) -> String {
    let mut files = SimpleFiles::new();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    // Masks of every secret, reported or not (suppressed, baselined).
    let mut by_path: HashMap<&str, Vec<Span>> = HashMap::new();
    for (p, m) in &r.masks {
        by_path.entry(p.as_str()).or_default().push(*m);
    }
    for f in &r.findings {
        if let Some(m) = f.mask {
            by_path.entry(f.path.as_str()).or_default().push(m);
        }
    }
    let config = Config::default();
    let mut out = String::new();
    let mut buf = if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    for f in &r.findings {
        let id = *ids.entry(f.path.as_str()).or_insert_with(|| {
            let src = load(&f.path).unwrap_or_default();
            let masks = by_path
                .get(f.path.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            files.add(f.path.clone(), mask_source(&src, masks))
        });
        let src = files
            .get(id)
            .map(|x| x.source().clone())
            .unwrap_or_default();
        let idx = LineIndex::new(&src);
        let start = idx.offset(f.span().start);
        let end = idx.offset(f.span().end).max(start);
        let sev = match f.severity {
            Severity::Error => codespan_reporting::diagnostic::Severity::Error,
            Severity::Warning => codespan_reporting::diagnostic::Severity::Warning,
            Severity::Info => codespan_reporting::diagnostic::Severity::Note,
        };
        let mut notes = Vec::new();
        if let Some(h) = &f.help {
            notes.push(format!("help: {h}"));
        }
        for rel in &f.related {
            notes.push(format!("{}:{}: {}", rel.path, rel.line, rel.message));
        }
        let mut labels = Vec::new();
        if !src.is_empty() {
            labels.push(Label::primary(id, start..end));
        }
        let d = Diagnostic::new(sev)
            .with_code(f.rule.clone())
            .with_message(f.message.clone())
            .with_labels(labels)
            .with_notes(notes);
        if src.is_empty() {
            out.push_str(&format!(
                "{}[{}]: {}\n  --> {}:{}:{}\n\n",
                f.severity.as_str(),
                f.rule,
                f.message,
                f.path,
                f.line,
                f.column
            ));
            continue;
        }
        if term::emit_to_write_style(&mut buf, &config, &files, &d).is_err() {
            out.push_str(&format!(
                "{}:{}:{}: {} [{}]\n",
                f.path, f.line, f.column, f.message, f.rule
            ));
        }
    }
    out.insert_str(0, &String::from_utf8_lossy(buf.as_slice()));
    for b in &r.blockers {
        out.push_str(&format!("blocker: {b}\n"));
    }
    out.push_str(&services(r));
    let s = &r.stats;
    out.push_str(&format!(
        "archlint: {} files scanned, {} errors, {} warnings, {} infos, {} blockers in {:.2}s\n",
        s.files_scanned,
        s.errors,
        s.warnings,
        s.infos,
        r.blockers.len(),
        s.elapsed_ms as f64 / 1000.0
    ));
    out
}

/// Services shown in full in the summary; the rest are counted.
const MAX_SERVICES: usize = 12;

/// The per-service summary that ends the text report: one line per service
/// and one for the critical rules it fails.
fn services(r: &Report) -> String {
    use crate::services::Kind;
    let list = &r.stats.services;
    if list.is_empty() {
        return String::new();
    }
    let mut s = format!("services ({}):\n", list.len());
    for svc in list.iter().take(MAX_SERVICES) {
        let what = match svc.kind {
            Kind::Http => format!("{} routes", svc.endpoints.len()),
            Kind::Worker => "queue worker".into(),
            Kind::Cli => "no routes".into(),
        };
        let fw = if svc.framework.is_empty() {
            svc.language.clone()
        } else {
            format!("{}, {}", svc.language, svc.framework)
        };
        let count = |v: &[String], verb: &str| {
            (!v.is_empty()).then(|| {
                format!(
                    "{verb} {} table{}",
                    v.len(),
                    if v.len() == 1 { "" } else { "s" }
                )
            })
        };
        let mut facts: Vec<String> = vec![what];
        facts.extend(count(&svc.tables_read, "reads"));
        facts.extend(count(&svc.tables_written, "writes"));
        if !svc.external_systems.is_empty() {
            facts.push(format!("calls {}", svc.external_systems.join(", ")));
        }
        s.push_str(&format!(
            "  {} ({fw}) at {}: {}\n",
            svc.name,
            svc.entry,
            facts.join(", ")
        ));
        if !svc.critical_rules_failed.is_empty() {
            s.push_str(&format!(
                "    fails: {}\n",
                svc.critical_rules_failed.join(", ")
            ));
        }
    }
    if list.len() > MAX_SERVICES {
        s.push_str(&format!(
            "  ... and {} more services\n",
            list.len() - MAX_SERVICES
        ));
    }
    s
}

/// The `--timings` table: time per phase and the slowest files.
pub fn timings(r: &Report) -> String {
    let t = &r.stats.timings;
    let mut s = format!(
        "timings: discover {} ms, read+parse+file rules {} ms, link {} ms, program rules {} ms\n",
        t.discover_ms, t.parse_ms, t.link_ms, t.rules_ms
    );
    let roles: Vec<String> = r
        .stats
        .roles
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    s.push_str(&format!("files by role: {}\n", roles.join(", ")));
    for (p, us) in &t.slowest {
        s.push_str(&format!("  {:>8.2} ms  {p}\n", *us as f64 / 1000.0));
    }
    let q = &r.stats.sql;
    s.push_str(&format!(
        "sql: {} statements in .sql files, {} skipped by the parser ({} salvaged by the token reader), {} bodies, {} fragments in code\n",
        q.statements, q.skipped, q.salvaged, q.bodies, q.fragments
    ));
    for e in &q.skipped_sql {
        s.push_str(&format!(
            "  {}:{}: {}: {}\n",
            e.file,
            e.line,
            serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            e.message.replace('\n', " ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Pos;

    #[test]
    fn masks_all_but_four_characters() {
        let m = Span::new(Pos::new(1, 8), Pos::new(1, 18));
        let out = mask_source("key = \"abcdefghij\"\nnext", &[m]);
        assert_eq!(out, "key = \"abcd******\"\nnext");
    }

    #[test]
    fn masks_a_block_over_lines_and_keeps_line_breaks() {
        let m = Span::new(Pos::new(1, 7), Pos::new(3, 4));
        let out = mask_source("key = ABCDEFG\nHIJKLMN\nOPQ rest\n", &[m]);
        assert_eq!(out, "key = ABCD***\n*******\n*** rest\n");
    }
}
