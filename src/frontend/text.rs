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
    env_inline: Regex,
    mysql_p: Regex,
    npmrc: Regex,
    netrc: Regex,
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
        kwarg: Regex::new(r#"(?-u:\b)([A-Za-z_]\w*)\s*(?:=|:)\s*(?:b|r|f)?["']([^"'\\]*(?:\\.[^"'\\]*)*)["']"#).unwrap(),
        xml: Regex::new(r#"<([\w.\-:]*(?i:pass|secret|token|key|credential)[\w.\-:]*)>([^<]+)</"#).unwrap(),
        // `--requirepass v`, `--password=v`, and the exec form `"--requirepass", "v"`.
        flag: Regex::new(r#"(?i)--?(password|passwd|requirepass|masterauth|pass|token|api-key|apikey|secret|auth-token)(?:=|\s+|["']\s*,\s*)["']?([^\s"',\]]+)"#).unwrap(),
        // `PGPASSWORD=v psql ...`, `RUN MYSQL_PWD=v mysql ...`: an environment
        // assignment in the middle of a command line.
        env_inline: Regex::new(r#"(?:^|[\s;&|(\[,"'])([A-Z][A-Z0-9_]*(?:PASSWORD|PASSWD|_PASS|_PWD|PGPASS|TOKEN|SECRET|_API_KEY))=([^\s"';&|)\],]+)"#).unwrap(),
        // `mysql -u root -pS3cret`: the password glued to -p.
        mysql_p: Regex::new(r#"(?-u:\b)mysql(?:dump|admin|sh|import|slap)?(?-u:\b)[^\n]*?\s-p([^\s"';&|)\],]+)"#).unwrap(),
        // .npmrc / .yarnrc(.yml): `//registry/:_authToken=v`, `_auth=`, `npmAuthToken: v`.
        npmrc: Regex::new(r#"(?:^|[\s:])(_authToken|_auth|_password|npmAuthToken|npmAuthIdent)\s*[=:]\s*["']?([^\s"'#;]+)"#).unwrap(),
        // .netrc: `machine host login user password v` (on one line or many).
        netrc: Regex::new(r#"(?:^|\s)(password|passwd)\s+([^\s]+)"#).unwrap(),
        sql_pw: Regex::new(r#"(?i)(?-u:\b)(PASSWORD|IDENTIFIED\s+BY)\s+'([^']+)'"#).unwrap(),
        header: Regex::new(r#"(?i)(?-u:\b)(authorization|x-api-key|api-key|x-auth-token|private-token)\s*:\s*((?:Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]{12,}|[A-Za-z0-9._~+/=\-]{20,})"#).unwrap(),
    })
}

enum YamlRef {
    /// `*name`: the whole value is a reference to an anchored one.
    Alias,
    /// `&name value`: the value starts this many bytes in.
    Anchor(usize),
}

/// A YAML anchor or alias at the start of a value (YAML files only).
fn yaml_ref(v: &str, yaml: bool) -> Option<YamlRef> {
    if !yaml {
        return None;
    }
    let name_len = |s: &str| {
        s.find(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}'))
            .unwrap_or(s.len())
    };
    if let Some(rest) = v.strip_prefix('*') {
        let n = name_len(rest);
        let after = rest[n..].trim_start();
        return (n > 0 && (after.is_empty() || after.starts_with('#'))).then_some(YamlRef::Alias);
    }
    let rest = v.strip_prefix('&')?;
    let n = name_len(rest);
    if n == 0 {
        return None;
    }
    let after = &rest[n..];
    let ws = after.len() - after.trim_start().len();
    Some(YamlRef::Anchor(1 + n + ws))
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
        // A backslash escapes the quote in double-quoted and backquoted values.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' && first != '\'' {
                escaped = true;
            } else if c == first {
                end = Some(i);
                break;
            }
        }
        let end = end?;
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
///
/// The generic name/value reader runs only in formats archlint reads: code it
/// parses (here as a fallback when its parser failed) and configuration. In
/// other languages (C#, Java, PHP, Ruby, templates) a `Secret` next to a
/// string is a property declaration or UI text as often as a credential, so
/// only fixed-shape provider formats, key blocks and URL passwords (the
/// rule's own passes over the text) are looked for there.
pub fn lower(text: &str, kind: PathKind, lang: Lang, path: &str) -> FileModel {
    let mut m = FileModel::new(lang, kind);
    if lang != Lang::Text || reads_pairs(path) {
        extract_pairs_in(
            text,
            &mut m.literals,
            lang == Lang::Text && is_config(path),
            kind.test,
            path,
        );
    }
    m
}

/// Text formats whose name/value pairs archlint reads: configuration, plus
/// JSON and XML (quoted and element values only).
pub fn reads_pairs(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    is_config(path)
        || matches!(
            ext,
            "json" | "jsonc" | "json5" | "xml" | "config" | "plist" | "tfstate"
        )
        || name == ".yarnrc"
        || name == "_netrc"
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
    extract_pairs_in(text, out, config, in_test, "");
}

/// [`extract_pairs`] knowing the file's name (`.npmrc`, `.netrc`, YAML and
/// TOML multi-line strings are read by name).
pub fn extract_pairs_in(
    text: &str,
    out: &mut Vec<Literal>,
    config: bool,
    in_test: bool,
    path: &str,
) {
    let idx = LineIndex::new(text);
    let r = res();
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let npmrc = name == ".npmrc" || name.starts_with(".yarnrc");
    let netrc = name == ".netrc" || name == "_netrc";
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let yaml = matches!(ext, "yaml" | "yml");
    if config && matches!(ext, "yaml" | "yml" | "toml") {
        multiline_pairs(text, &idx, out, in_test);
    }
    // Offsets already read (one value, one literal), in constant time.
    let mut seen: std::collections::HashSet<usize> =
        out.iter().filter_map(|l| l.raw_offset).collect();
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
            || trimmed.starts_with("//") && !npmrc
            || trimmed.starts_with(';')
            || trimmed.starts_with("--")
            || trimmed.starts_with('*');
        let mut push = |name: &str, start: usize, value: &str| {
            if value.is_empty() {
                return;
            }
            let s = line_start + start;
            if !seen.insert(s) {
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
            // YAML: `&name value` anchors a value (the value is what follows),
            // `*name` refers to one: an alias is a name, and the value it
            // stands for is judged where the anchor binds it.
            let (anchor_len, vs) = match yaml_ref(v.as_str(), yaml) {
                Some(YamlRef::Alias) => (None, ""),
                Some(YamlRef::Anchor(n)) => (Some(n), &v.as_str()[n..]),
                None => (Some(0), v.as_str()),
            };
            if let Some(anchor_len) = anchor_len.filter(|_| sep != " " || unquoted_ok) {
                if let Some((q, val)) = scalar(vs, unquoted_ok) {
                    let q = q + anchor_len;
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
        if config {
            for c in r.env_inline.captures_iter(line) {
                let v = c.get(2).unwrap();
                push(&c[1], v.start(), v.as_str());
            }
            for c in r.mysql_p.captures_iter(line) {
                let v = c.get(1).unwrap();
                push("password", v.start(), v.as_str());
            }
        }
        if npmrc {
            for c in r.npmrc.captures_iter(line) {
                let v = c.get(2).unwrap();
                push(&c[1], v.start(), v.as_str());
            }
        }
        if netrc {
            for c in r.netrc.captures_iter(line) {
                let v = c.get(2).unwrap();
                push(&c[1], v.start(), v.as_str());
            }
        }
    }
}

/// YAML block scalars (`key: |`, `key: >-`) and TOML multi-line strings
/// (`key = """`): the value is the block's text, positioned exactly, so that a
/// secret written over several lines is judged and masked whole.
fn multiline_pairs(text: &str, idx: &LineIndex, out: &mut Vec<Literal>, in_test: bool) {
    static RE: OnceLock<(Regex, Regex)> = OnceLock::new();
    let (yaml, toml) = RE.get_or_init(|| {
        (
            Regex::new(r#"(?m)^([ \t]*)(?:-[ \t]+)?["']?([A-Za-z_][\w.\-]*)["']?[ \t]*:[ \t]*[|>][+-]?[0-9]?[ \t]*\r?$"#)
                .unwrap(),
            Regex::new(r#"(?m)^[ \t]*["']?([A-Za-z_][\w.\-]*)["']?[ \t]*=[ \t]*("""|''')"#).unwrap(),
        )
    });
    let mut push = |name: &str, start: usize, end: usize| {
        let value = &text[start..end];
        if value.trim().is_empty() || out.iter().any(|l| l.raw_offset == Some(start)) {
            return;
        }
        out.push(Literal {
            value: value.to_string(),
            span: idx.span(start, end),
            raw_offset: Some(start),
            name: Some(name.to_string()),
            sink: None,
            in_test,
            in_comment: false,
        });
    };
    for c in yaml.captures_iter(text) {
        let indent = c[1].len();
        let m = c.get(0).unwrap();
        let mut pos = m.end();
        if text[pos..].starts_with("\r\n") {
            pos += 2;
        } else if text[pos..].starts_with('\n') {
            pos += 1;
        }
        // The block: every following line indented deeper (or blank).
        let mut start = None;
        let mut end = pos;
        for line in text[pos..].split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            let lead = body.len() - body.trim_start_matches([' ', '\t']).len();
            if !body.trim().is_empty() {
                if lead <= indent {
                    break;
                }
                if start.is_none() {
                    start = Some(pos + lead);
                }
                end = pos + body.len();
            }
            pos += line.len();
        }
        if let Some(s) = start {
            if s < end {
                push(&c[2], s, end);
            }
        }
    }
    for c in toml.captures_iter(text) {
        let q = c.get(2).unwrap();
        let mut s = q.end();
        // A newline right after the opening delimiter is not part of the value.
        if text[s..].starts_with("\r\n") {
            s += 2;
        } else if text[s..].starts_with('\n') {
            s += 1;
        }
        if let Some(len) = text[s..].find(q.as_str()) {
            push(&c[1], s, s + len);
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
