use std::sync::OnceLock;

use regex::Regex;

use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::model::Literal;
use crate::rules::{FileCtx, Rule, RuleMeta};
use crate::secrets::{self, checksum_ok, entropy, looks_like_credential, redact};
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
    /// Placeholders (`changeme`, `<your-key>`, `${VAR}`), documented example
    /// keys, public identifiers, hashes in lock files and low-entropy local
    /// defaults are not reported. In tests, examples and comments a match is
    /// `info`; a provider token with a valid checksum stays `error` anywhere.
    /// Silence one line with `// archlint: allow(hardcoded-secret) reason`
    /// (`gitleaks:allow` and `pragma: allowlist secret` are honoured too).
    pub static META = ("hardcoded-secret", Error, "a credential written into code or configuration");
}

pub struct HardcodedSecret;

fn url_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?i)\b((?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|amqps?|redis|rediss|mssql|sqlserver|https?|ftp|smtp|ldap)://)([^:/\s@'"`]{1,64}):([^@/\s'"`]{1,128})@([^/\s'"`]+)"#).unwrap()
    })
}

fn private_key_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----(?:\\n|\\r|\r?\n|\s)*([A-Za-z0-9+/=\\\r\n ]{40,})").unwrap()
    })
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
    t.starts_with("//")
        || t.starts_with('#')
        || t.starts_with("/*")
        || t.starts_with('*')
        || t.starts_with("--")
        || before.contains(" // ")
        || before.contains(" # ")
}

impl HardcodedSecret {
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        ctx: &FileCtx,
        out: &mut Vec<Finding>,
        span: Span,
        value: &str,
        sev: Severity,
        what: &str,
        help: &str,
    ) {
        // One finding per secret: a value seen by two detectors (a JWT in an
        // Authorization header) is reported once.
        if out.iter().any(|f| {
            f.mask
                .is_some_and(|m| m.start <= span.end && span.start <= m.end)
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
        f.mask = Some(span);
        out.push(f);
    }

    fn literal(&self, ctx: &FileCtx, l: &Literal, idx: &LineIndex, out: &mut Vec<Finding>) {
        let sk = ctx.secrets;
        let v = l.value.trim();
        if v.is_empty() || sk.is_placeholder(v) {
            return;
        }
        let span = self.value_span(l, idx, v);
        let in_comment = l.in_comment || line_is_comment(idx, span);
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
                && (entropy(v) >= 3.0 || v.chars().any(|c| c.is_ascii_digit()))
                && !v.contains("://")
            {
                let sev = tier(ctx, l.in_test, in_comment);
                self.emit(
                    ctx,
                    out,
                    span,
                    v,
                    sev,
                    &format!("credential passed to `{callee}`"),
                    "read it from the environment or a secret manager at start-up",
                );
                return;
            }
        }
        if let Some(tok) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("Basic "))
            .or_else(|| v.strip_prefix("Token "))
        {
            if tok.len() >= 16 && entropy(tok) >= 3.5 && !sk.is_placeholder(tok) {
                let sev = tier(ctx, l.in_test, in_comment);
                self.emit(
                    ctx,
                    out,
                    span,
                    v,
                    sev,
                    "authorization header value",
                    "send a token read from configuration at run time",
                );
                return;
            }
        }
        let Some(name) = &l.name else { return };
        if !sk.is_secret_name(name) {
            return;
        }
        if !looks_like_credential(name, v) {
            return;
        }
        let sev = tier(ctx, l.in_test, in_comment);
        self.emit(ctx, out, span, v, sev, &format!("secret in `{name}`"), "read it from the environment or a secret manager (e.g. `std::env::var`) and keep only a placeholder in the repository");
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
        let sk = ctx.secrets;
        // 1. Provider formats, behind the keyword prefilter.
        for pi in sk.candidates(ctx.text) {
            let p = &sk.providers[pi];
            for c in p.regex.captures_iter(ctx.text) {
                let m = c.get(1).or_else(|| c.get(0)).unwrap();
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
                let in_comment = line_is_comment(&idx, span);
                let mut sev = tier(ctx, false, in_comment);
                if verified == Some(true) && p.checksum.as_deref() == Some("github") {
                    sev = Severity::Error;
                }
                if p.id == "jwt" && sev == Severity::Error && ctx.model.kind.test {
                    sev = Severity::Info;
                }
                self.emit(
                    ctx,
                    out,
                    span,
                    v,
                    sev,
                    &p.name,
                    "revoke this token, then load it from the environment or a secret manager",
                );
            }
        }
        // 2. Private key blocks (also escaped on one line, as in JSON).
        if ctx.text.contains("PRIVATE KEY") {
            for c in private_key_re().captures_iter(ctx.text) {
                let body = c.get(2).unwrap().as_str();
                let b64: String = body
                    .chars()
                    .filter(|ch| ch.is_ascii_alphanumeric())
                    .collect();
                if b64.len() < 40 || entropy(&b64) < 4.0 || sk.is_placeholder(&b64) {
                    continue;
                }
                let m = c.get(0).unwrap();
                let start = m.start();
                let span = idx.span(start, start + 10 + c[1].len() + 10);
                let sev = tier(ctx, false, line_is_comment(&idx, span));
                self.emit(ctx, out, span, &format!("-----{}", &body[..body.len().min(8)]), sev, &c[1], "remove the key from the repository, rotate it, and mount it from a secret store");
            }
        }
        // 3. Passwords in connection URLs.
        if ctx.text.contains("://") {
            for c in url_re().captures_iter(ctx.text) {
                let pw = c.get(3).unwrap();
                let v = pw.as_str();
                let user = &c[2];
                if sk.is_placeholder(v)
                    || v.starts_with('$')
                    || v.starts_with('%')
                    || v.starts_with('{')
                    || v.starts_with('<')
                    || v.len() < 6
                    || v == user
                    || secrets::is_repetitive(v)
                {
                    continue;
                }
                if v.eq_ignore_ascii_case("password")
                    || v.eq_ignore_ascii_case("pass")
                    || v.eq_ignore_ascii_case("secret")
                {
                    continue;
                }
                // Local development defaults: a short word on a local host.
                let host = c[4].to_ascii_lowercase();
                let local = host.starts_with("localhost")
                    || host.starts_with("127.0.0.1")
                    || host.starts_with("0.0.0.0")
                    || host.starts_with("host.docker.internal");
                if local && entropy(v) < 3.0 {
                    continue;
                }
                if v.chars().all(|ch| ch.is_ascii_lowercase()) && v.len() < 12 {
                    continue;
                }
                let span = idx.span(pw.start(), pw.end());
                let sev = tier(ctx, false, line_is_comment(&idx, span));
                self.emit(
                    ctx,
                    out,
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
        // 4. Names bound to values, from the frontend (code) or the text reader (config).
        for l in &ctx.model.literals {
            self.literal(ctx, l, &idx, out);
        }
    }
}
