use std::sync::OnceLock;

use regex::Regex;

use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::model::Literal;
use crate::rules::{FileCtx, Rule, RuleMeta};
use crate::secrets::{self, checksum_ok, entropy, is_uuid, looks_like_credential, redact};
use crate::source::{LineIndex, Span};

declare_rule! {
    /// ## What it catches
    /// A credential written into code or configuration: a provider token
    /// (AWS, GitHub, Stripe, Slack, OpenAI, ...), a private key block, a
    /// password or key bound to a secret-like name (`DB_PASSWORD=...`,
    /// `const JWT_SECRET: &str = "..."`, `password: "..."` in YAML), a literal
    /// passed to an authentication sink (`basic_auth`, `bearer_auth`, an
    /// `Authorization` header), or a password inside a connection URL.
    ///
    /// ## Why it matters
    /// Anything committed is readable by everyone with the repository and
    /// stays in its history forever. A leaked database password or API key is
    /// an incident, not a code smell.
    ///
    /// ## Example
    /// ```rust,ignore
    /// const STRIPE_KEY: &str = "sk_live_...";
    /// let url = "postgres://app:Xk9#fP2q@db.internal/app";
    /// ```
    ///
    /// ## How to fix
    /// Read the value from the environment or a secret manager at start-up
    /// (`std::env::var("STRIPE_KEY")`), commit only `.env.example` with
    /// placeholders, and rotate the exposed credential.
    ///
    /// A value bound to a secret-like name is reported only when it looks like
    /// a credential: one literal token (not an expression, template or
    /// message), ASCII, not natural language (a locale catalog's
    /// `"password": "Wachtwoord"`), long and random enough. That generic
    /// reading runs only in formats archlint reads (its code languages and
    /// configuration); fixed-shape provider formats, private key blocks and
    /// URL passwords are found in any text file, comments included.
    /// Kubernetes `Secret` data is base64-decoded and judged, and so is a
    /// Docker `config.json` or `.npmrc` `auth`.
    ///
    /// Placeholders (`changeme`, `<your-key>`, `${VAR}`), documented example
    /// keys, public identifiers and hashes in lock files are not reported.
    /// In tests and examples a match is `info`, and so is a sample next to
    /// the regex it illustrates (a detector's pattern table), a dev password
    /// in a URL to localhost or a compose service, and a password in a compose
    /// file, unless the file deploys (a Kubernetes manifest, a production
    /// file). A name-based match in configuration only CI or the test suite
    /// reads (`.github/workflows/`, `.circleci/`, `.gitlab-ci.yml`,
    /// `.env.test`, `settings/ci.py`) is `info` too, unless the value has a
    /// provider's shape (`web_0a78…`). A translation catalog is read for
    /// fixed shapes only; a configuration key path (`files.s3.secretkey`), a
    /// template's holes (`api_${alphaid(16)}`), a YAML alias (`*db-password`)
    /// and public sample credentials (the jwt.io token, the Azurite key) are
    /// not secrets. A provider token with a valid checksum stays `error` anywhere.
    /// Silence one line with `// archlint: allow(hardcoded-secret) reason`
    /// (`gitleaks:allow` and `pragma: allowlist secret` are honoured too).
    pub static META = ("hardcoded-secret", Error, "a credential written into code or configuration");
}

pub struct HardcodedSecret;

fn url_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Any scheme, with a driver (`mysql+pymysql://`, `postgresql+asyncpg://`)
    // and with or without a user (`redis://:pass@host`).
    RE.get_or_init(|| {
        Regex::new(r#"(?i)(?-u:\b)([a-z][a-z0-9]*(?:[+.\-][a-z0-9]+)*://)([^:/\s@'"`<>{}\\]{0,64}):([^@/\s'"`\\]{1,128})@([^/\s'"`\\?#,;)\]]+)"#).unwrap()
    })
}

fn private_key_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----(?:\\n|\\r|\r?\n|\s)*([A-Za-z0-9+/=\\\r\n ]{40,})").unwrap()
    })
}

/// Credentials passed by position: `auth=("svc", "...")`,
/// `HTTPBasicAuth("u", "...")`, `BasicAuth("u", "...")`, `SetBasicAuth(..)`.
fn positional_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?:(?-u:\b)(?:HTTPBasicAuth|HTTPDigestAuth|HTTPProxyAuth|BasicAuth|DigestAuth|BasicAuthCredentials|SetBasicAuth|NetworkCredential|UsernamePasswordCredentials|PasswordAuthentication|PasswordCredential)\s*\(|(?-u:\b)auth\s*[=:]\s*[(\[])\s*(?:[rbuf]?["'][^"'\n]{0,128}["']|[\w.]{1,64})\s*,\s*(?:Some\(\s*)?[rbuf]?["']([^"'\\\n]{1,256})["']"#).unwrap()
    })
}

/// Docker `config.json` (and `.dockerconfigjson`) registry credentials.
fn docker_auth_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#""(auth|identitytoken|registrytoken)"\s*:\s*"([^"\\]{8,})""#).unwrap()
    })
}

/// Does the rule need the file's model (names bound to values, call sinks,
/// test scopes), or do its own passes over the text suffice? With only this
/// rule selected, a file is parsed only when this says so. Configuration is
/// read (cheaply, line by line) whenever a secret-like name occurs in it;
/// code is parsed only when such a name is bound to a string literal, or a
/// literal goes to an authentication call or starts with an auth scheme:
/// most code files mention `token` without holding one.
pub fn needs_model(text: &str, sk: &crate::secrets::SecretKnowledge, code: bool) -> bool {
    static RE: OnceLock<(Regex, Regex)> = OnceLock::new();
    let (other, bound) = RE.get_or_init(|| {
        (
            Regex::new(r"(?i)basic|_auth(?-u:\b)|authident").unwrap(),
            Regex::new(concat!(
                // a secret-like name bound to a literal: `KEY = "`, `key: "`,
                // `"key": "`, `key => '`, `const K: &str = "`, `k := "`
                r#"(?i)(?:pass|pwd|secret|token|key|credential|auth|dsn|conn|bearer|private|cookie|session)[A-Za-z0-9_.\-]*["'\]]?"#,
                r#"(?:\s*:\s*[&A-Za-z0-9_\[\]<>' ]{1,40}?)?\s*(?::|=|=>|:=|,)\s*(?:Some\(\s*)?(?:[bruf]|br)?["'`]"#,
                // a literal passed to an authentication call, or an auth scheme
                r#"|(?:_auth|_secret|password|token|api_key)\s*\(\s*["']"#,
                r#"|["'`](?:Bearer|Basic|Token) "#,
            ))
            .unwrap(),
        )
    });
    if code {
        // A URL password's tier depends on the test scope it sits in.
        bound.is_match(text) || text.contains("://") && url_re().is_match(text)
    } else {
        sk.secret_name.is_match(text) || other.is_match(text)
    }
}

/// The tier a match gets from where it sits.
fn tier(ctx: &FileCtx, in_test: bool, in_comment: bool) -> Severity {
    if ctx.model.kind.test || ctx.model.kind.example || in_test || in_comment {
        Severity::Info
    } else {
        Severity::Error
    }
}

fn line_is_comment(idx: &LineIndex, span: Span) -> bool {
    let line = idx.line_text(span.start.line);
    let before: String = line
        .chars()
        .take(span.start.col.saturating_sub(1) as usize)
        .collect();
    let t = before.trim_start();
    // `/* note */ const X = ...`: a block comment closed before the value.
    let open_block = t.rfind("/*").is_some_and(|o| !t[o..].contains("*/"));
    t.starts_with("//")
        || t.starts_with('#')
        || open_block
        || t.starts_with('*')
        || t.starts_with("--")
        || before.contains(" // ")
        || before.contains(" # ")
}

/// Where a token that a pattern matched really ends: a value goes on past
/// the matched prefix (a longer key, a token with a suffix) until a quote,
/// whitespace or delimiter. All of it is masked.
fn token_end(text: &str, end: usize) -> usize {
    let end = floor_boundary(text, end);
    let rest = &text[end..];
    let n = rest
        .char_indices()
        .find(|(_, c)| {
            c.is_whitespace()
                || matches!(
                    c,
                    '"' | '\''
                        | '`'
                        | ','
                        | ';'
                        | '<'
                        | '>'
                        | '('
                        | ')'
                        | '['
                        | ']'
                        | '{'
                        | '}'
                        | '\\'
                )
        })
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    end + n
}

/// `i` (clamped to the text) moved down to a character boundary.
fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Byte offset of the start of the line holding `offset`, and of its end.
fn line_bounds(text: &str, offset: usize) -> (usize, usize) {
    let s = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let e = text[offset..]
        .find('\n')
        .map(|i| offset + i)
        .unwrap_or(text.len());
    (s, e)
}

/// A sample next to the regex it illustrates: a secret detector's own pattern
/// table (`("github", r"ghp_[A-Za-z0-9]{36}", "ghp_...")`). Within three
/// lines, the token's prefix is followed by regex syntax.
fn in_detector_table(text: &str, start: usize, token: &str) -> bool {
    let (mut s, mut e) = line_bounds(text, start);
    for _ in 0..3 {
        if s > 0 {
            s = line_bounds(text, s - 1).0;
        }
        if e < text.len() {
            e = line_bounds(text, e + 1).1;
        }
    }
    let window = &text[s..e];
    (3..=16.min(token.len())).any(|k| {
        let Some(prefix) = token.get(..k) else {
            return false;
        };
        window.match_indices(prefix).any(|(i, _)| {
            window[i + k..]
                .chars()
                .next()
                .is_some_and(|c| matches!(c, '[' | '(' | '\\' | '{' | '|' | '?' | '*' | '+'))
        })
    })
}

/// Is the host of a URL a developer's machine or a compose service
/// (`localhost`, `127.0.0.1`, `db`, `postgres:5432`)?
fn local_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    let name = h.split(':').next().unwrap_or("");
    name == "localhost"
        || name.starts_with("127.")
        || name == "0.0.0.0"
        || name == "host.docker.internal"
        || name.is_empty()
        || !name.contains('.') && !name.starts_with('[')
}

/// A documentation host (RFC 2606): `db.example.com`, `x.test`, `y.invalid`.
fn example_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    let name = h.split(':').next().unwrap_or("");
    ["example.com", "example.org", "example.net", "example"]
        .iter()
        .any(|d| name == *d || name.ends_with(&format!(".{d}")))
        || name.ends_with(".test")
        || name.ends_with(".invalid")
}

/// A file that deploys: a Kubernetes manifest, Helm or Terraform, a
/// production compose or env file. Dev defaults there are real.
fn deploys(path: &str, text: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    p.split('/').any(|d| {
        matches!(
            d,
            "k8s"
                | "kubernetes"
                | "helm"
                | "charts"
                | "deploy"
                | "deployment"
                | "deployments"
                | "manifests"
                | "terraform"
                | "infra"
        )
    }) || name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == "prod" || w == "production")
        || name.ends_with(".tf")
        || name.ends_with(".tfvars")
        || text.contains("\napiVersion:") && text.contains("\nkind:")
        || text.starts_with("apiVersion:")
}

/// `.npmrc` and `.yarnrc`: `//registry/:_authToken=` lines are not comments.
fn is_npmrc(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == ".npmrc" || name.starts_with(".yarnrc")
}

/// A dotenv file (`.env`, `.env.local`) for a developer's machine: its
/// database or service host is `localhost`/`127.0.0.1`. Its values are the
/// local defaults the README tells you to use.
fn local_dotenv(path: &str, text: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if !(name == ".env" || name.starts_with(".env.") || name.ends_with(".env")) {
        return false;
    }
    text.lines().any(|l| {
        let Some((k, v)) = l.split_once('=') else {
            return false;
        };
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
        k.to_ascii_uppercase().contains("HOST")
            && (v == "localhost" || v.starts_with("127.") || v.starts_with("localhost:"))
    })
}

/// Local tooling: compose files (not production ones) and dev containers.
fn local_tooling(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    (name.starts_with("docker-compose") || name.starts_with("compose."))
        && (name.ends_with(".yml") || name.ends_with(".yaml"))
        || p.contains(".devcontainer/")
}

/// Configuration that only CI or the test suite reads: a workflow or pipeline
/// definition (`.github/workflows/`, `.circleci/`, `.gitlab-ci.yml`), a test
/// or CI env file (`.env.test`, `.env.ci`), a settings module named for CI or
/// tests (`settings/ci.py`, `config/test.toml`). Its values are throwaway
/// keys for a test database on localhost.
fn ci_or_test_config(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let segs: Vec<&str> = p.split('/').collect();
    let name = *segs.last().unwrap_or(&"");
    let dirs = &segs[..segs.len().saturating_sub(1)];
    let ci_dir = p.contains(".github/workflows/")
        || p.contains(".github/actions/")
        || dirs
            .iter()
            .any(|d| matches!(*d, ".circleci" | ".buildkite" | ".woodpecker" | ".drone"));
    let ci_file = matches!(
        name,
        ".gitlab-ci.yml"
            | ".travis.yml"
            | "azure-pipelines.yml"
            | "bitbucket-pipelines.yml"
            | ".drone.yml"
            | ".woodpecker.yml"
            | "cloudbuild.yaml"
            | "cloudbuild.yml"
    );
    // `.env.test`, `.env.ci`, `.env.testing.local`.
    let test_env = name.strip_prefix(".env.").is_some_and(|r| {
        r.split('.')
            .any(|w| matches!(w, "test" | "testing" | "ci" | "e2e"))
    });
    // A settings module for CI or tests: `settings/ci.py`, `config/test_sqlite.py`.
    let stem = name.split('.').next().unwrap_or(name);
    let settings_dir = dirs.last().is_some_and(|d| {
        matches!(
            *d,
            "settings" | "config" | "configs" | "conf" | "environments"
        )
    });
    let test_settings = settings_dir
        && stem
            .split(['_', '-'])
            .any(|w| matches!(w, "ci" | "test" | "tests" | "testing" | "e2e"));
    ci_dir || ci_file || test_env || test_settings
}

/// A token in a provider's shape that has no pattern of its own: a short
/// lowercase prefix naming the issuer and a generated body (`web_0a78…`,
/// `chpt_015c…`).
fn prefixed_token(v: &str) -> bool {
    let Some((prefix, body)) = v.split_once('_') else {
        return false;
    };
    (2..=8).contains(&prefix.len())
        && prefix.chars().all(|c| c.is_ascii_lowercase())
        && body.len() >= 12
        && body.chars().all(|c| c.is_ascii_alphanumeric())
        && body.chars().any(|c| c.is_ascii_digit())
        && entropy(body) >= 3.0
}

/// `user:password` inside base64 (`auth` in Docker's config.json, `_auth` in
/// .npmrc): the password, when it is one.
fn basic_blob_password(v: &str) -> Option<String> {
    let d = String::from_utf8(secrets::b64_decode(v)?).ok()?;
    let (user, pw) = d.split_once(':')?;
    (!user.is_empty() && !pw.is_empty() && !pw.contains(char::is_control)).then(|| pw.to_string())
}

/// A Kubernetes `Secret`'s `data` (base64) and `stringData` values:
/// (key, value start, value end, base64-encoded).
fn k8s_secret_values(text: &str) -> Vec<(String, usize, usize, bool)> {
    let mut out = Vec::new();
    if !text.contains("Secret") {
        return out;
    }
    let mut doc_start = 0;
    let mut docs = Vec::new();
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push((doc_start, pos));
            doc_start = pos + line.len();
        }
        pos += line.len();
    }
    docs.push((doc_start, text.len()));
    for (ds, de) in docs {
        let doc = &text[ds..de];
        let is_secret = doc.lines().any(|l| {
            let t = l.trim_end();
            t == "kind: Secret" || t == "kind: \"Secret\"" || t == "kind: 'Secret'"
        });
        if !is_secret {
            continue;
        }
        let mut section: Option<bool> = None; // Some(base64?)
        let mut child_indent: Option<usize> = None;
        let mut p = ds;
        for line in doc.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            let lead = body.len() - body.trim_start().len();
            let t = body.trim();
            if lead == 0 && !t.is_empty() {
                section = match t {
                    "data:" => Some(true),
                    "stringData:" => Some(false),
                    _ => None,
                };
                child_indent = None;
            } else if let (Some(b64), false) = (section, t.is_empty() || t.starts_with('#')) {
                let ci = *child_indent.get_or_insert(lead);
                if lead == ci {
                    if let Some((k, v)) = t.split_once(':') {
                        let raw = v.trim();
                        let q = raw.starts_with(['"', '\'']) as usize;
                        let val = raw[q..].trim_end_matches(['"', '\'']);
                        if !val.is_empty() && !matches!(val, "|" | ">" | "|-" | ">-") {
                            let off = p + lead + k.len() + 1 + (v.len() - v.trim_start().len()) + q;
                            out.push((
                                k.trim().trim_matches(['"', '\'']).to_string(),
                                off,
                                off + val.len(),
                                b64,
                            ));
                        }
                    }
                }
            }
            p += line.len();
        }
    }
    out
}

impl HardcodedSecret {
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        ctx: &FileCtx,
        out: &mut Vec<Finding>,
        span: Span,
        mask: Span,
        value: &str,
        sev: Severity,
        what: &str,
        help: &str,
    ) {
        // One finding per secret: a value seen by two detectors (a JWT in an
        // Authorization header) is reported once.
        if out.iter().any(|f| {
            f.mask
                .is_some_and(|m| m.start <= mask.end && mask.start <= m.end)
        }) {
            return;
        }
        let mut f = Finding::new(
            META.id,
            sev,
            ctx.path,
            span,
            format!("{what} `{}` is hardcoded", redact(value)),
        )
        .help(help.to_string())
        .key(blake3::hash(value.as_bytes()).to_hex()[..16].to_string());
        f.mask = Some(mask);
        out.push(f);
    }

    fn literal(
        &self,
        ctx: &FileCtx,
        l: &Literal,
        idx: &LineIndex,
        local: bool,
        out: &mut Vec<Finding>,
    ) {
        let sk = ctx.secrets;
        let v = l.value.trim();
        if v.is_empty() || sk.is_placeholder(v) {
            return;
        }
        let span = self.value_span(l, idx, v);
        // Generic pairs say nothing in comments: commented-out configuration
        // and prose. (Provider formats there are found by their own pass.)
        // Parsers never give a literal from a comment; the text reader marks
        // comment lines, and a trailing comment is found on the line.
        let text_format = ctx.model.lang == crate::model::Lang::Text;
        if l.in_comment || text_format && !is_npmrc(ctx.path) && line_is_comment(idx, span) {
            return;
        }
        let mask = match l.raw_offset {
            Some(o) => {
                let lead = l.value.find(v).unwrap_or(0);
                let a = o + lead;
                idx.span(a, token_end(ctx.text, a + v.len()))
            }
            None => span,
        };
        let mut sev = tier(ctx, l.in_test, false);
        if local && sev == Severity::Error {
            sev = Severity::Info;
        }
        // Call-site sinks: the secret argument of an authentication call.
        if let Some((callee, i)) = &l.sink {
            let sink = matches!(
                (callee.as_str(), *i),
                ("basic_auth", 1)
                    | ("bearer_auth", 0)
                    | ("from_secret", 0)
                    | ("from_base64_secret", 0)
                    | ("with_password", 0)
                    | ("password", 0)
                    | ("set_password", 0)
                    | ("auth_token", 0)
                    | ("api_key", 0)
                    | ("with_api_key", 0)
                    | ("token", 0)
                    | ("with_token", 0)
                    | ("secret", 0)
            );
            if sink
                && v.len() >= 8
                && !v.contains(char::is_whitespace)
                && !secrets::is_natural_word(v)
                && (entropy(v) >= 3.0 || v.chars().any(|c| c.is_ascii_digit()))
                && !v.contains("://")
            {
                self.emit(
                    ctx,
                    out,
                    span,
                    mask,
                    v,
                    sev,
                    &format!("credential passed to `{callee}`"),
                    "read it from the environment or a secret manager at start-up",
                );
                return;
            }
        }
        // An Authorization header value: the scheme and one token, nothing else
        // (`Token not issued for this org` is a message, `Bearer ${t}` a template).
        if let Some(tok) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("Basic "))
            .or_else(|| v.strip_prefix("Token "))
        {
            // RFC 6750's b64token: `realm="Restricted"` is a challenge, not a token.
            let b64token = tok.trim_end_matches('=').chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/')
            });
            if tok.len() >= 16
                && b64token
                && entropy(tok) >= 3.5
                && !tok.contains(char::is_whitespace)
                && !sk.is_placeholder(tok)
                && !secrets::is_natural_word(tok)
                && tok.is_ascii()
            {
                self.emit(
                    ctx,
                    out,
                    span,
                    mask,
                    v,
                    sev,
                    "authorization header value",
                    "send a token read from configuration at run time",
                );
            }
            return;
        }
        let Some(name) = &l.name else { return };
        // A name-based guess in CI or test-suite configuration is a note,
        // unless the value has a provider's shape.
        if sev == Severity::Error && ci_or_test_config(ctx.path) && !prefixed_token(v) {
            sev = Severity::Info;
        }
        // `user:password` in base64: `_auth` in .npmrc.
        if matches!(name.as_str(), "_auth" | "npmAuthIdent") {
            if let Some(pw) = basic_blob_password(v) {
                if looks_like_credential("password", &pw) && !sk.is_placeholder(&pw) {
                    self.emit(
                        ctx,
                        out,
                        span,
                        mask,
                        v,
                        sev,
                        &format!("registry credential in `{name}`"),
                        "use a token from the environment (`${NPM_TOKEN}`) and rotate this one",
                    );
                }
            }
            return;
        }
        if !sk.is_secret_name(name) {
            return;
        }
        // Registry tokens of the old npm format are UUIDs.
        let npm_uuid = name.to_ascii_lowercase().contains("authtoken") && is_uuid(v);
        if !npm_uuid && !looks_like_credential(name, v) {
            return;
        }
        self.emit(ctx, out, span, mask, v, sev, &format!("secret in `{name}`"), "read it from the environment or a secret manager (e.g. `std::env::var`) and keep only a placeholder in the repository");
    }

    fn value_span(&self, l: &Literal, idx: &LineIndex, v: &str) -> Span {
        match l.raw_offset {
            Some(o) => {
                let lead = l.value.find(v).unwrap_or(0);
                idx.span(o + lead, o + lead + v.len())
            }
            None => l.span,
        }
    }

    /// Judge a decoded value (a Kubernetes `Secret` entry, a registry
    /// credential): what it is, if it is a credential.
    fn judge_decoded(&self, ctx: &FileCtx, key: &str, d: &str) -> Option<String> {
        let sk = ctx.secrets;
        let d = d.trim();
        if d.is_empty() {
            return None;
        }
        if d.contains("PRIVATE KEY-----") {
            return Some("private key".into());
        }
        for pi in sk.candidates(d) {
            let p = &sk.providers[pi];
            if let Some(m) = p
                .regex
                .captures(d)
                .and_then(|c| c.get(1).or_else(|| c.get(0)))
            {
                if !sk.is_placeholder(m.as_str()) && entropy(m.as_str()) >= p.min_entropy {
                    return Some(p.name.clone());
                }
            }
        }
        if d.contains("\"auths\"") {
            for c in docker_auth_re().captures_iter(d) {
                if let Some(pw) = basic_blob_password(&c[2]) {
                    if looks_like_credential("password", &pw) && !sk.is_placeholder(&pw) {
                        return Some("registry credential".into());
                    }
                }
            }
            return None;
        }
        if sk.is_placeholder(d) {
            return None;
        }
        if let Some(c) = url_re().captures(d) {
            let pw = &c[3];
            if pw.len() >= 6 && !sk.is_placeholder(pw) && pw != &c[2] {
                return Some("password in a connection URL".into());
            }
            return None;
        }
        if sk.is_secret_name(key) && looks_like_credential(key, d) {
            return Some(format!("secret in `{key}`"));
        }
        None
    }
}

impl Rule for HardcodedSecret {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_file(&self, ctx: &FileCtx, out: &mut Vec<Finding>) {
        let file_name = ctx.path.rsplit('/').next().unwrap_or(ctx.path);
        if ctx.secrets.lock_files.contains(file_name) {
            return;
        }
        let idx = LineIndex::new(ctx.text);
        let text = ctx.text;
        let sk = ctx.secrets;
        let deploy = deploys(ctx.path, text);
        // A translation catalog is UI text: only fixed shapes (provider
        // tokens, key blocks, URL passwords) can be secrets there.
        let catalog = ctx.model.kind.role == crate::roles::Role::Locale;
        let local_file = (local_tooling(ctx.path) || local_dotenv(ctx.path, text)) && !deploy;
        // Byte ranges a dedicated reader judged: the generic pass skips them.
        let mut handled: Vec<(usize, usize)> = Vec::new();
        // 1. Provider formats, behind the keyword prefilter. A key in a
        // comment is leaked all the same.
        for pi in sk.candidates(text) {
            let p = &sk.providers[pi];
            for c in p.regex.captures_iter(text) {
                let Some(m) = c.get(1).or_else(|| c.get(0)) else {
                    continue;
                };
                let v = m.as_str();
                if sk.is_placeholder(v) || sk.examples.contains(v) {
                    continue;
                }
                let verified = p.checksum.as_deref().and_then(|s| checksum_ok(s, v));
                if verified == Some(false) && p.checksum.as_deref() == Some("jwt") {
                    continue;
                }
                if verified != Some(true) && entropy(v) < p.min_entropy {
                    continue;
                }
                let span = idx.span(m.start(), m.end());
                let mask = idx.span(m.start(), token_end(text, m.end()));
                let mut sev = tier(ctx, false, false);
                if verified == Some(true) && p.checksum.as_deref() == Some("github") {
                    sev = Severity::Error;
                }
                if p.id == "jwt" && sev == Severity::Error && ctx.model.kind.test {
                    sev = Severity::Info;
                }
                if in_detector_table(text, m.start(), v) {
                    sev = Severity::Info;
                }
                self.emit(
                    ctx,
                    out,
                    span,
                    mask,
                    v,
                    sev,
                    &p.name,
                    "revoke this token, then load it from the environment or a secret manager",
                );
            }
        }
        // 2. Private key blocks (also escaped on one line, as in JSON): the
        // whole block is masked, through its END line.
        if text.contains("PRIVATE KEY") {
            for c in private_key_re().captures_iter(text) {
                let (Some(m), Some(body)) = (c.get(0), c.get(2)) else {
                    continue;
                };
                let b64: String = body
                    .as_str()
                    .chars()
                    .filter(|ch| ch.is_ascii_alphanumeric())
                    .collect();
                if b64.len() < 40 || entropy(&b64) < 4.0 || sk.is_placeholder(&b64) {
                    continue;
                }
                let start = m.start();
                let header_end = start + 16 + c[1].len();
                let window = &text[body.end()..floor_boundary(text, body.end() + 16384)];
                let block_end = match window.find("-----END") {
                    Some(i) => {
                        let after = body.end() + i + 8;
                        text[after..]
                            .find("-----")
                            .map(|j| after + j + 5)
                            .unwrap_or_else(|| token_end(text, after))
                    }
                    None => token_end(text, body.end()),
                };
                let span = idx.span(start, header_end);
                let sev = tier(ctx, false, false);
                handled.push((start, block_end));
                let head: String = body.as_str().chars().take(8).collect();
                self.emit(ctx, out, span, idx.span(start, block_end), &format!("-----{head}"), sev, &c[1], "remove the key from the repository, rotate it, and mount it from a secret store");
            }
        }
        // 3. Passwords in connection URLs, any scheme, any language.
        if text.contains("://") {
            for c in url_re().captures_iter(text) {
                let (Some(pw), Some(user)) = (c.get(3), c.get(2)) else {
                    continue;
                };
                let v = pw.as_str();
                let user = user.as_str();
                if sk.is_placeholder(v)
                    || v.starts_with(['$', '%', '{', '<', '*'])
                    || v.len() < 6
                    || v == user
                    || secrets::is_repetitive(v)
                    || v.contains("${")
                {
                    continue;
                }
                if v.eq_ignore_ascii_case("password")
                    || v.eq_ignore_ascii_case("pass")
                    || v.eq_ignore_ascii_case("secret")
                {
                    continue;
                }
                let span = idx.span(pw.start(), pw.end());
                let in_comment = line_is_comment(&idx, span);
                // Inside a string of test code (a `#[cfg(test)]` module)?
                let in_test = ctx.model.literals.iter().any(|l| {
                    l.in_test
                        && l.raw_offset
                            .is_some_and(|o| o <= pw.start() && pw.end() <= o + l.value.len())
                });
                let mut sev = tier(ctx, in_test || example_host(&c[4]), in_comment);
                // Dev defaults of local tooling: a password for localhost or a
                // compose service is worth a note, not a failed build.
                if local_host(&c[4]) && !deploy || local_file {
                    sev = Severity::Info;
                } else if v.chars().all(|ch| ch.is_ascii_lowercase()) && v.len() < 12 {
                    continue;
                }
                handled.push((pw.start(), pw.end()));
                self.emit(
                    ctx,
                    out,
                    span,
                    span,
                    v,
                    sev,
                    &format!(
                        "password in a {} connection URL",
                        c[1].trim_end_matches("://")
                    ),
                    "keep the URL in the environment (DATABASE_URL) and out of the repository",
                );
            }
        }
        if catalog {
            return;
        }
        // 4. Kubernetes Secrets: data decoded, stringData as written.
        for (key, a, b, b64) in k8s_secret_values(text) {
            handled.push((a, b));
            let raw = &text[a..b];
            let decoded = if b64 {
                match secrets::b64_decode(raw).and_then(|d| String::from_utf8(d).ok()) {
                    Some(d) => d,
                    None => continue,
                }
            } else {
                raw.to_string()
            };
            if let Some(what) = self.judge_decoded(ctx, &key, &decoded) {
                let span = idx.span(a, b);
                let sev = tier(ctx, false, false);
                self.emit(ctx, out, span, span, raw, sev, &format!("Kubernetes Secret `{key}`: {what}"), "create the Secret from a secret store (sealed-secrets, external-secrets, SOPS), not from a committed manifest");
            }
        }
        // 5. Registry credentials in Docker's config.json.
        if text.contains("\"auths\"") {
            for c in docker_auth_re().captures_iter(text) {
                let Some(m) = c.get(2) else { continue };
                handled.push((m.start(), m.end()));
                let found = if &c[1] == "auth" {
                    basic_blob_password(m.as_str()).is_some_and(|pw| {
                        looks_like_credential("password", &pw) && !sk.is_placeholder(&pw)
                    })
                } else {
                    looks_like_credential("token", m.as_str())
                };
                if found {
                    let span = idx.span(m.start(), m.end());
                    let sev = tier(ctx, false, false);
                    self.emit(ctx, out, span, span, m.as_str(), sev, "registry credential", "log in with a credential helper (`docker login` with credsStore) instead of committing config.json");
                }
            }
        }
        // 6. Passwords passed by position, where no keyword names the value.
        for c in positional_re().captures_iter(text) {
            let Some(m) = c.get(1) else { continue };
            let v = m.as_str();
            let span = idx.span(m.start(), m.end());
            if line_is_comment(&idx, span)
                || sk.is_placeholder(v)
                || !looks_like_credential("password", v)
            {
                continue;
            }
            let mut sev = tier(ctx, false, false);
            if local_file && sev == Severity::Error {
                sev = Severity::Info;
            }
            handled.push((m.start(), m.end()));
            self.emit(
                ctx,
                out,
                span,
                span,
                v,
                sev,
                "password passed to an authentication call",
                "read it from the environment or a secret manager at start-up",
            );
        }
        // 7. Names bound to values, from the frontend (code) or the text reader (config).
        for l in &ctx.model.literals {
            if let Some(o) = l.raw_offset {
                if handled
                    .iter()
                    .any(|&(a, b)| o < b && a < o + l.value.len().max(1))
                {
                    continue;
                }
            }
            self.literal(ctx, l, &idx, local_file, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_ends_at_a_delimiter_and_never_inside_a_character() {
        let t = "key: \"ghp_abc.def-ghi\" next";
        assert_eq!(&t[6..token_end(t, 10)], "ghp_abc.def-ghi");
        // An offset inside `é` (a literal whose value was rewritten) is safe.
        let t = "x = \"aé b\"";
        assert_eq!(token_end(t, 7), 8);
        assert_eq!(token_end(t, 100), t.len());
    }

    #[test]
    fn detector_tables_and_hosts() {
        let table = "(\"gitlab\", r\"glpat-[A-Za-z0-9_]{20}\",\n \"glpat-Zk29vLq8XrT4mN7pQw2c\"),";
        let at = table.find("glpat-Zk").unwrap();
        assert!(in_detector_table(table, at, "glpat-Zk29vLq8XrT4mN7pQw2c"));
        let alone = "token = \"glpat-Zk29vLq8XrT4mN7pQw2c\"";
        assert!(!in_detector_table(alone, 9, "glpat-Zk29vLq8XrT4mN7pQw2c"));
        assert!(
            local_host("db:5432") && local_host("localhost") && !local_host("db.prod.internal")
        );
        assert!(example_host("db.example.com:5432") && !example_host("db.examples.io"));
    }

    #[test]
    fn ci_and_test_configuration() {
        for p in [
            ".github/workflows/ci.yml",
            ".circleci/config.yml",
            ".gitlab-ci.yml",
            ".env.test",
            ".env.ci",
            "settings/ci.py",
            "app/config/test_sqlite.py",
        ] {
            assert!(ci_or_test_config(p), "{p}");
        }
        for p in [
            ".env",
            ".env.production",
            "settings/main.py",
            "src/ci.rs",
            "config/circle.toml",
        ] {
            assert!(!ci_or_test_config(p), "{p}");
        }
        assert!(prefixed_token(
            "web_0a783d8086b6f996809f3e751d032dd6d156782082bcd1423b9b860113c75054"
        ));
        assert!(prefixed_token("chpt_015c1709eb9b9fa"));
        assert!(!prefixed_token(
            "F0E5AD933D7F6FD8F4DBB3E038C501C052DC0593C686D21ACB30AE205D2F634B"
        ));
        assert!(!prefixed_token(
            "veans-e2e-jwt-secret-do-not-use-in-production"
        ));
    }

    #[test]
    fn kubernetes_secret_values_are_located() {
        let y = "apiVersion: v1\nkind: Secret\ndata:\n  password: c2VjcmV0\nstringData:\n  token: \"abc\"\n---\nkind: ConfigMap\ndata:\n  password: x\n";
        let v = k8s_secret_values(y);
        let got: Vec<(&str, &str, bool)> = v
            .iter()
            .map(|(k, a, b, b64)| (k.as_str(), &y[*a..*b], *b64))
            .collect();
        assert_eq!(
            got,
            vec![("password", "c2VjcmV0", true), ("token", "abc", false)]
        );
    }
}
