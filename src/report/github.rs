//! GitHub workflow commands: `::error file=..,line=..::message`.
//! GitHub shows at most 10 annotations per level per step and 50 per job, so
//! the most severe come first and a closing line says how many were not shown.

use super::Report;
use crate::finding::Severity;

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_prop(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(r: &Report, full_report: Option<&str>) -> String {
    let mut out = String::new();
    let mut fs: Vec<_> = r.findings.iter().collect();
    fs.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then((&a.path, a.line).cmp(&(&b.path, b.line)))
    });
    let mut shown = [0usize; 3];
    let mut hidden = 0usize;
    for f in fs {
        let (cmd, slot) = match f.severity {
            Severity::Error => ("error", 0),
            Severity::Warning => ("warning", 1),
            Severity::Info => ("notice", 2),
        };
        if shown[slot] >= 10 || shown.iter().sum::<usize>() >= 50 {
            hidden += 1;
            continue;
        }
        shown[slot] += 1;
        let mut props = format!(
            "file={},line={},endLine={}",
            escape_prop(&f.path),
            f.line,
            f.end_line
        );
        if f.line == f.end_line {
            props.push_str(&format!(",col={},endColumn={}", f.column, f.end_column));
        }
        props.push_str(&format!(
            ",title={}",
            escape_prop(&format!("archlint {}", f.rule))
        ));
        let mut msg = f.message.clone();
        if let Some(h) = &f.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        out.push_str(&format!("::{cmd} {props}::{}\n", escape_data(&msg)));
    }
    let total = r.findings.len();
    if hidden > 0 {
        out.push_str(&format!(
            "archlint: {total} findings, {hidden} not shown as annotations (GitHub shows at most 10 per level and 50 per job); the full report is in {}\n",
            full_report.unwrap_or("the JSON or SARIF output (`archlint check --format sarif --output archlint.sarif`)")
        ));
    } else {
        out.push_str(&format!("archlint: {total} findings\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_workflow_command_data() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_prop("a:b,c"), "a%3Ab%2Cc");
    }
}
