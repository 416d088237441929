//! Configuration and other text: `.env`, TOML, YAML, JSON, INI, properties,
//! Dockerfiles, shell, Terraform, XML. Lowered to (name, value) pairs with
//! exact positions, which is what the secret rule needs from them.
//!
//! The grammars of these formats agree on one thing that matters here, a key
//! bound to a scalar on one line, so one line-oriented reader serves them all
//! and never fails on a file a strict parser would reject (templated YAML,
//! Helm charts, `.env` files with shell syntax).

use regex::Regex;
use std::sync::OnceLock;

use crate::model::{FileModel, Lang, Literal, PathKind};
use crate::source::{LineIndex, Span};

struct Res {
    assign_typed: Regex,
    assign: Regex,
    quoted_pair: Regex,
    kwarg: Regex,
    xml: Regex,
    flag: Regex,
    sql_pw: Regex,
    header: Regex,
}

fn res() -> &'static Res {
    static R: OnceLock<Res> = OnceLock::new();
    R.get_or_init(|| Res {
        // const key: Type = "v" (TypeScript, Go, Kotlin)
        assign_typed: Regex::new(
            r#"^\s*(?:(?:export|const|let|var|val|final|private|public|static|readonly|declare)\s+)+([A-Za-z_][\w]*)\s*:\s*[A-Za-z_][\w\[\]<>|.]*\s*(=)\s*(.*)$"#,
        )
        .unwrap(),
        // KEY=value, key: value, key = "value", ENV KEY value, export KEY=value, key := "v"
        assign: Regex::new(
            r#"^\s*(?:-\s+)?(?:(?:export|ENV|ARG|env|set|const|let|var|val|final|private|public|static|readonly|declare)\s+)*["']?([A-Za-z_][\w.\-\[\]]*)["']?\s*(:=|=|:|\s)\s*(.*)$"#,
        )
        .unwrap(),
        quoted_pair: Regex::new(r#"["']([\w.\-]+)["']\s*(?::|=>|,)\s*["']([^"'\\]*(?:\\.[^"'\\]*)*)["']"#).unwrap(),
        kwarg: Regex::new(r#"\b([A-Za-z_]\w*)\s*(?:=|:)\s*(?:b|r|f)?["']([^"'\\]*(?:\\.[^"'\\]*)*)["']"#).unwrap(),
        xml: Regex::new(r#"<([\w.\-:]*(?i:pass|secret|token|key|credential)[\w.\-:]*)>([^<]+)</"#).unwrap(),
        flag: Regex::new(r#"(?i)--?(password|passwd|requirepass|pass|token|api-key|apikey|secret|auth-token)(?:=|\s+)["']?([^\s"']+)"#).unwrap(),
        sql_pw: Regex::new(r#"(?i)\b(PASSWORD|IDENTIFIED\s+BY)\s+'([^']+)'"#).unwrap(),
        header: Regex::new(r#"(?i)\b(authorization|x-api-key|api-key|x-auth-token|private-token)\s*:\s*((?:Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]{12,}|[A-Za-z0-9._~+/=\-]{20,})"#).unwrap(),
    })
}

/// Strip quotes from a value (returning the offset of the content), or take an
/// unquoted scalar up to a trailing comment.
fn scalar(v: &str, allow_unquoted: bool) -> Option<(usize, &str)> {
    let t = v.trim_end();
    let t = t.strip_suffix(',').unwrap_or(t).trim_end();
    let t = t.strip_suffix(';').unwrap_or(t).trim_end();
    let first = t.chars().next()?;
    if first == '"' || first == '\'' || first == '`' {
        let rest = &t[1..];
        let end = rest.find(first)?;
        return Some((1, &rest[..end]));
    }
    if !allow_unquoted {
        return None;
    }
    let end = t.find(" #").or_else(|| t.find(" //")).unwrap_or(t.len());
    let s = t[..end].trim_end();
    if s.is_empty() || s.contains(' ') && !s.contains("://") {
        return None;
    }
    Some((0, s))
}

/// Lower a text file into named literals.
pub fn lower(text: &str, kind: PathKind, lang: Lang, path: &str) -> FileModel {
    let mut m = FileModel::new(lang, kind);
    extract_pairs(
        text,
        &mut m.literals,
        lang == Lang::Text && is_config(path),
        kind.test,
    );
    m
}

/// Formats where `key = value` holds an unquoted scalar (elsewhere an unquoted
/// right-hand side is an expression, not a literal).
pub fn is_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    name.starts_with(".env")
        || name.starts_with("dockerfile")
        || name.ends_with(".dockerfile")
        || matches!(
            name.as_str(),
            ".npmrc" | ".pypirc" | ".netrc" | ".pgpass" | "credentials" | "config"
        )
        || matches!(
            ext,
            "env"
                | "ini"
                | "cfg"
                | "conf"
                | "properties"
                | "toml"
                | "yaml"
                | "yml"
                | "hjson"
                | "sh"
                | "bash"
                | "zsh"
                | "envrc"
                | "tfvars"
                | "hcl"
                | "tf"
                | "md"
                | "markdown"
                | "rst"
                | "txt"
                | "example"
                | "sample"
                | "template"
                | "dist"
                | "local"
                | "rc"
        )
}

/// Name/value pairs of every line of `text`, appended to `out`.
pub fn extract_pairs(text: &str, out: &mut Vec<Literal>, config: bool, in_test: bool) {
    let idx = LineIndex::new(text);
    let r = res();
    // Lines end at LF, CRLF or a lone CR (old Mac files).
    for raw_line in text.split_inclusive(['\n', '\r']) {
        if raw_line == "\n"
            && raw_line.as_ptr() > text.as_ptr()
            && text.as_bytes()[raw_line.as_ptr() as usize - text.as_ptr() as usize - 1] == b'\r'
        {
            continue; // the LF of a CRLF
        }
        let line_start = raw_line.as_ptr() as usize - text.as_ptr() as usize;
        let line = raw_line.trim_end_matches(['\n', '\r']);
        if line.len() > 4096 || line.trim().is_empty() {
            continue;
        }
        let trimmed = line.trim_start();
        let in_comment = trimmed.starts_with('#') && !trimmed.starts_with("#!")
            || trimmed.starts_with("//")
            || trimmed.starts_with(';')
            || trimmed.starts_with("--")
            || trimmed.starts_with('*');
        let mut push = |name: &str, start: usize, value: &str| {
            if value.is_empty() {
                return;
            }
            let s = line_start + start;
            if out.iter().any(|l| l.raw_offset == Some(s)) {
                return;
            }
            out.push(Literal {
                value: value.to_string(),
                span: Span::new(idx.pos(s), idx.pos(s + value.len())),
                raw_offset: Some(s),
                name: Some(name.to_string()),
                sink: None,
                in_test,
                in_comment,
            });
        };
        for c in r.quoted_pair.captures_iter(line) {
            let v = c.get(2).unwrap();
            push(&c[1], v.start(), v.as_str());
        }
        for c in r.kwarg.captures_iter(line) {
            let v = c.get(2).unwrap();
            push(&c[1], v.start(), v.as_str());
        }
        let body = if in_comment {
            trimmed.trim_start_matches(['#', '/', ';', '-', '*', ' '])
        } else {
            line
        };
        let body_off = line.len() - body.len();
        if let Some(c) = r
            .assign_typed
            .captures(body)
            .or_else(|| r.assign.captures(body))
        {
            let sep = c.get(2).unwrap().as_str();
            let v = c.get(3).unwrap();
            // In code only quoted values are literals; `key value` only in config.
            let unquoted_ok = config
                && (sep != " "
                    || body.trim_start().starts_with("ENV")
                    || body.trim_start().starts_with("ARG"));
            if sep != " " || unquoted_ok {
                if let Some((q, val)) = scalar(v.as_str(), unquoted_ok) {
                    push(&c[1], body_off + v.start() + q, val);
                }
            }
        }
        for c in r.xml.captures_iter(line) {
            let v = c.get(2).unwrap();
            push(&c[1], v.start(), v.as_str().trim());
        }
        for c in r.flag.captures_iter(line) {
            let v = c.get(2).unwrap();
            push(&c[1], v.start(), v.as_str());
        }
        for c in r.header.captures_iter(line) {
            let v = c.get(2).unwrap();
            push(&c[1], v.start(), v.as_str());
        }
        for c in r.sql_pw.captures_iter(line) {
            let v = c.get(2).unwrap();
            push("password", v.start(), v.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str, config: bool) -> Vec<(String, String, u32, u32)> {
        let mut out = Vec::new();
        extract_pairs(text, &mut out, config, false);
        out.into_iter()
            .map(|l| {
                (
                    l.name.unwrap(),
                    l.value,
                    l.span.start.line,
                    l.span.start.col,
                )
            })
            .collect()
    }

    #[test]
    fn reads_the_common_config_forms() {
        let p = pairs(
            "DB_PASSWORD=s3cr3t\nexport API_KEY=\"abc\"\npassword: hunter2 # c\n[db]\npass = 'x'\n",
            true,
        );
        assert!(p.contains(&("DB_PASSWORD".into(), "s3cr3t".into(), 1, 13)));
        assert!(p.contains(&("API_KEY".into(), "abc".into(), 2, 17)));
        assert!(p.contains(&("password".into(), "hunter2".into(), 3, 11)));
        assert!(p.contains(&("pass".into(), "x".into(), 5, 9)));
    }

    #[test]
    fn json_and_keyword_arguments() {
        let p = pairs(r#"{"password": "abc", "user": "u"}"#, true);
        assert!(p.iter().any(|x| x.0 == "password" && x.1 == "abc"));
        let p = pairs(r#"connect(host="h", password="pw")"#, false);
        assert!(p.iter().any(|x| x.0 == "password" && x.1 == "pw"));
    }

    #[test]
    fn unquoted_code_is_not_a_literal() {
        let p = pairs("password = os.environ['PW']\n", false);
        assert!(p.iter().all(|x| x.0 != "password"));
    }
}
