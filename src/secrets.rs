//! Secret knowledge and the tests a candidate value must pass: provider
//! formats behind an aho-corasick keyword prefilter, randomness, placeholders
//! and documented examples. Loaded once from `rules/secrets.toml`.

use aho_corasick::AhoCorasick;
use regex::Regex;
use serde::Deserialize;
use std::collections::HashSet;

pub const SECRETS_TOML: &str = include_str!("../rules/secrets.toml");

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub id: String,
    pub name: String,
    pub keywords: Vec<String>,
    pub regex: String,
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub min_entropy: Option<f64>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawNames {
    pub secret: Option<String>,
    pub not_secret: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawNever {
    pub placeholders: Option<String>,
    pub examples: Vec<String>,
    pub lock_files: Vec<String>,
    /// Exact values a team declares harmless (archlint.toml).
    pub allow: Vec<String>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawSecrets {
    pub provider: Vec<RawProvider>,
    pub names: RawNames,
    pub never: RawNever,
}

pub struct Provider {
    pub id: String,
    pub name: String,
    pub regex: Regex,
    pub checksum: Option<String>,
    pub min_entropy: f64,
}

pub struct SecretKnowledge {
    pub providers: Vec<Provider>,
    /// Keyword automaton; pattern i belongs to provider `kw_owner[i]`.
    keywords: AhoCorasick,
    kw_owner: Vec<usize>,
    pub secret_name: Regex,
    pub not_secret_name: Regex,
    pub placeholder: Regex,
    pub examples: HashSet<String>,
    pub lock_files: HashSet<String>,
}

impl SecretKnowledge {
    pub fn load(extra: Option<&RawSecrets>) -> Result<SecretKnowledge, String> {
        let mut raw: RawSecrets =
            toml::from_str(SECRETS_TOML).map_err(|e| format!("rules/secrets.toml: {e}"))?;
        if let Some(x) = extra {
            raw.provider.extend(x.provider.iter().cloned());
            raw.never.examples.extend(x.never.examples.iter().cloned());
            raw.never.examples.extend(x.never.allow.iter().cloned());
            if let Some(p) = &x.never.placeholders {
                raw.never.placeholders = Some(format!(
                    "(?:{})|(?:{p})",
                    raw.never.placeholders.unwrap_or_default()
                ));
            }
            if let Some(p) = &x.names.secret {
                raw.names.secret = Some(format!(
                    "(?:{})|(?:{p})",
                    raw.names.secret.unwrap_or_default()
                ));
            }
        }
        let mut providers = Vec::new();
        let mut kws = Vec::new();
        let mut kw_owner = Vec::new();
        for (i, p) in raw.provider.iter().enumerate() {
            providers.push(Provider {
                id: p.id.clone(),
                name: p.name.clone(),
                regex: Regex::new(&p.regex).map_err(|e| format!("secret pattern {}: {e}", p.id))?,
                checksum: p.checksum.clone(),
                min_entropy: p.min_entropy.unwrap_or(3.0),
            });
            for k in &p.keywords {
                kws.push(k.clone());
                kw_owner.push(i);
            }
        }
        let re = |s: &Option<String>| {
            Regex::new(s.as_deref().unwrap_or("[^\\s\\S]")).map_err(|e| e.to_string())
        };
        Ok(SecretKnowledge {
            providers,
            keywords: AhoCorasick::new(&kws).map_err(|e| e.to_string())?,
            kw_owner,
            secret_name: re(&raw.names.secret)?,
            not_secret_name: re(&raw.names.not_secret)?,
            placeholder: re(&raw.never.placeholders)?,
            examples: raw.never.examples.into_iter().collect(),
            lock_files: raw.never.lock_files.into_iter().collect(),
        })
    }

    /// Providers whose keywords occur in `text` (one automaton pass).
    pub fn candidates(&self, text: &str) -> Vec<usize> {
        let mut seen = vec![false; self.providers.len()];
        for m in self.keywords.find_overlapping_iter(text) {
            seen[self.kw_owner[m.pattern().as_usize()]] = true;
        }
        seen.iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| i)
            .collect()
    }

    pub fn is_secret_name(&self, name: &str) -> bool {
        let n = to_snake(name.trim_matches(|c: char| !c.is_alphanumeric()));
        self.secret_name.is_match(&n) && !self.not_secret_name.is_match(&n)
    }

    pub fn is_placeholder(&self, v: &str) -> bool {
        self.placeholder.is_match(v) || self.examples.contains(v) || is_repetitive(v)
    }
}

/// `jwtSecretKey` -> `jwt_secret_key`, so camelCase names read like snake_case ones.
pub fn to_snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[b as usize] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = n as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// All one character, or a run of consecutive characters (`abcdef`, `123456`), or `0000`.
pub fn is_repetitive(v: &str) -> bool {
    let b: Vec<u8> = v.bytes().filter(|c| c.is_ascii_alphanumeric()).collect();
    if b.len() < 4 {
        return false;
    }
    let distinct: HashSet<u8> = b.iter().copied().collect();
    if distinct.len() <= 2 {
        return true;
    }
    let seq = b
        .windows(2)
        .filter(|w| w[1] as i16 - w[0] as i16 == 1)
        .count();
    seq * 10 >= (b.len() - 1) * 7
}

fn classes(v: &str) -> usize {
    let mut c = [false; 4];
    for ch in v.chars() {
        if ch.is_ascii_lowercase() {
            c[0] = true;
        } else if ch.is_ascii_uppercase() {
            c[1] = true;
        } else if ch.is_ascii_digit() {
            c[2] = true;
        } else {
            c[3] = true;
        }
    }
    c.iter().filter(|x| **x).count()
}

/// Does a value bound to a secret-like name look like a real credential?
///
/// The value-shape rule, the same for every format: a single token (no
/// whitespace), ASCII (credentials are; UI text in a locale catalog is not),
/// not natural language (`Wachtwoord`, `API-tokens`), not a reference or
/// placeholder, and random enough for what the name says: passwords may be
/// short and human-made, keys and tokens must look generated (length, entropy
/// and character classes in the spirit of gitleaks' generic rule).
pub fn looks_like_credential(name: &str, v: &str) -> bool {
    // A template literal or f-string is built at run time: only its literal
    // parts are written down, and one of them must be a credential by itself.
    if let Some(parts) = literal_parts(v) {
        return parts.iter().any(|p| looks_like_credential(name, p));
    }
    let len = v.chars().count();
    if !(6..=512).contains(&len) || v.contains(char::is_whitespace) || !v.is_ascii() {
        return false;
    }
    // Identifiers, paths, references, tags and templating are not credentials.
    const REFERENCE_PREFIXES: &[&str] = &[
        "$", "/", "./", "../", "~/", "file:", "env:", "vault:", "arn:", "ref+", "secret/",
        "secrets.", "!", "%", "#{", "{", "(", "[", "<",
    ];
    if REFERENCE_PREFIXES.iter().any(|p| v.starts_with(p)) {
        return false;
    }
    if is_uuid(v)
        || v.starts_with("data:")
        || v.ends_with(".pem")
        || v.ends_with(".key")
        || v.ends_with(".json")
        || v.ends_with(".txt")
        || v.ends_with(".crt")
        || v.ends_with(".p12")
    {
        return false;
    }
    if v.chars()
        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-' || c == '.')
        && !v.contains('.')
        && v.contains(['_', '-'])
    {
        // snake_case / kebab-case word lists: names of other things
        return false;
    }
    if v.chars()
        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        && v.contains('_')
    {
        return false; // ENV_VAR_NAME
    }
    if is_key_path(v) {
        return false; // `files.s3.secretkey`, `APP__server_COOKIE_SECRET`
    }
    if v.contains("://") {
        return false; // URLs are judged by the URL check
    }
    if v.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    // A relative path of words (`tests/data/history.sqlite`) names a file.
    let path_of_words =
        v.contains('/') && v.split('/').filter(|p| !p.is_empty()).all(is_natural_word);
    if is_expression(v) || is_natural_word(v) || is_dotted_name(v) || path_of_words {
        return false;
    }
    let e = entropy(v);
    let cls = classes(v);
    let passwordish = {
        let n = name.to_ascii_lowercase();
        n.contains("pass") || n.contains("pwd")
    };
    if passwordish {
        return (len >= 8 && cls >= 2 && e >= 2.5) || (len >= 12 && e >= 3.0);
    }
    (len >= 16 && e >= 3.5 && cls >= 2)
        || (len >= 32 && e >= 3.0 && v.chars().all(|c| c.is_ascii_hexdigit()))
        || (len >= 10 && cls >= 3 && e >= 3.0)
}

/// The literal runs of a value with interpolations (`ol_whs_{randomString(32)}`,
/// `{prefix}_{secret}`: the frontends write `${x}` as `{x}`), or `None`
/// when it has none.
fn literal_parts(v: &str) -> Option<Vec<&str>> {
    static HOLE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let hole = HOLE.get_or_init(|| Regex::new(r"\$?\{[A-Za-z_][^{}]*\}").unwrap());
    if !hole.is_match(v) {
        return None;
    }
    Some(hole.split(v).filter(|p| !p.is_empty()).collect())
}

/// A configuration key or environment variable name: identifier words joined
/// by dots or underscores (`service.JWTSecret`, `files.s3.secretkey`,
/// `MCAPTCHA__server_COOKIE_SECRET`). Each word is cased like a word;
/// digits only end a word of a dotted path (`s3`, `v2`).
pub fn is_key_path(v: &str) -> bool {
    let dotted = v.contains('.');
    if !dotted && !v.contains('_') {
        return false;
    }
    let words: Vec<&str> = v.split(['.', '_']).filter(|w| !w.is_empty()).collect();
    words.len() >= 2
        && !v.starts_with('.')
        && !v.ends_with('.')
        && !v.contains("..")
        && words.iter().all(|w| {
            let letters = w.trim_end_matches(|c: char| c.is_ascii_digit());
            let digits = w.len() - letters.len();
            !letters.is_empty()
                && letters.chars().all(|c| c.is_ascii_alphabetic())
                && (digits == 0 || dotted && digits <= 2)
                && is_identifier_case(letters)
        })
}

/// A call written as a value: `rateLimit({`, `Buffer.from(`, `getSecret()`
/// (a code sample in prose, or a line a reader cut short).
fn is_call(v: &str) -> bool {
    let Some(open) = v.find('(') else {
        return false;
    };
    let callee = &v[..open];
    let after = v[open + 1..].chars().next();
    !callee.is_empty()
        && callee.split('.').all(|p| {
            p.len() >= 2
                && p.chars()
                    .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && is_identifier_case(p)
        })
        && callee.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 4
        && after.is_none_or(|c| {
            matches!(c, '{' | '[' | '(' | ')' | '"' | '\'' | '`') || c.is_ascii_alphabetic()
        })
}

/// Code, not a value: a call, a member access chain, string concatenation.
fn is_expression(v: &str) -> bool {
    static TEMPLATE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    // `auth:{createAuthKey()}`: an interpolation (the frontends write `${x}` as `{x}`).
    let template = TEMPLATE.get_or_init(|| Regex::new(r"\{[A-Za-z_][\w.]*(?:\(\))?\}").unwrap());
    v.ends_with(')') && v.contains('(')
        || is_call(v)
        || template.is_match(v)
        || v.contains("+\"")
        || v.contains("\"+")
        || v.contains("${")
        || v.contains("#{")
        || v.contains("{{")
}

/// `config.auth.password`, `settings.SECRET_KEY`, `os.environ.get`: dotted
/// identifiers name where a value lives, they are not the value.
fn is_dotted_name(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
                && is_identifier_case(p)
        })
}

/// An identifier-like word: lowercase, UPPERCASE, Capitalised, camelCase or
/// PascalCase with a few humps (random letters change case far more often).
fn is_identifier_case(w: &str) -> bool {
    let letters: Vec<char> = w.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    if letters.is_empty() {
        return true;
    }
    let upper = letters.iter().filter(|c| c.is_ascii_uppercase()).count();
    if upper == 0 || upper == letters.len() {
        return true;
    }
    // lower -> upper transitions: camelCase humps.
    let humps = letters
        .windows(2)
        .filter(|p| p[0].is_ascii_lowercase() && p[1].is_ascii_uppercase())
        .count();
    upper * 3 <= letters.len() + 1 && humps * 5 <= letters.len() || camel_words(&letters)
}

/// Letters that read as a few words, acronyms among them: `CalDAV`,
/// `JWTSecret`, `KeePassXC`, `LogMeOnce`. Each word is an acronym (at most
/// five capitals, at most two of them) or a capital and lowercase letters
/// holding a vowel; random letters break into many short words.
fn camel_words(letters: &[char]) -> bool {
    let mut words: Vec<&[char]> = Vec::new();
    let mut start = 0;
    for i in 1..letters.len() {
        let (p, c) = (letters[i - 1], letters[i]);
        let next_lower = letters.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        // `aB`: a new word; `ABc`: the last capital starts one.
        if p.is_ascii_lowercase() && c.is_ascii_uppercase()
            || p.is_ascii_uppercase() && c.is_ascii_uppercase() && next_lower
        {
            words.push(&letters[start..i]);
            start = i;
        }
    }
    words.push(&letters[start..]);
    let acronyms = words
        .iter()
        .filter(|w| w.len() >= 2 && w.iter().all(|c| c.is_ascii_uppercase()))
        .count();
    // Two-letter words (`Me`, `Of`) occur once in a name, not all along it.
    let short = words.iter().filter(|w| w.len() == 2).count();
    words.len() <= 4
        && acronyms <= 2
        && short <= 1
        && words.iter().all(|w| {
            let caps = w.iter().filter(|c| c.is_ascii_uppercase()).count();
            if caps == w.len() {
                return (2..=5).contains(&w.len());
            }
            let lower = &w[caps..];
            caps <= 1
                && w.len() >= 2
                && lower.iter().all(|c| c.is_ascii_lowercase())
                && lower.iter().any(|c| "aeiouy".contains(*c))
        })
}

/// Natural-language text or an identifier: only letters (and word
/// separators), cased like words are (`Wachtwoord`, `API-tokens`,
/// `accessTokenFromStorage`). Random letters (`encYFJEeAgYzQJj`) are not.
pub fn is_natural_word(v: &str) -> bool {
    if !v
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, '-' | '_' | '\'' | '.' | '!' | '?' | ':'))
    {
        return false;
    }
    v.split(['-', '_', '.', '\'', '!', '?', ':'])
        .all(is_identifier_case)
}

pub fn is_uuid(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Verify a provider checksum. Unknown schemes pass.
pub fn checksum_ok(scheme: &str, token: &str) -> Option<bool> {
    match scheme {
        "github" => {
            // gh?_ + 30 random characters + 6 base62 characters of their CRC32.
            let body = token.get(4..)?;
            if body.len() != 36 {
                return Some(false);
            }
            let (data, check) = body.split_at(30);
            Some(base62(crc32(data.as_bytes()), 6) == check)
        }
        "jwt" => {
            let mut parts = token.split('.');
            let header = b64url_decode(parts.next()?)?;
            let payload = b64url_decode(parts.next()?)?;
            let ok = serde_json::from_slice::<serde_json::Value>(&header)
                .map(|v| v.get("alg").is_some())
                .unwrap_or(false)
                && serde_json::from_slice::<serde_json::Value>(&payload)
                    .map(|v| v.as_object().is_some_and(|o| !o.is_empty()))
                    .unwrap_or(false);
            Some(ok)
        }
        _ => None,
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn base62(mut n: u32, width: usize) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for i in (0..width).rev() {
        out[i] = A[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Base64, standard or URL-safe alphabet, padded or not.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    b64url_decode(s.trim())
}

fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        buf = (buf << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// Shorten every quoted run in a message (`'...'`, `"..."`) to its first four
/// characters: error messages from parsers quote tokens, and a token may be a secret.
pub fn redact_quoted(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut chars = msg.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\'' || c == '"' {
            let mut inner = String::new();
            let mut closed = false;
            for d in chars.by_ref() {
                if d == c {
                    closed = true;
                    break;
                }
                inner.push(d);
            }
            if inner.chars().count() > 4 {
                out.push_str(&redact(&inner));
            } else {
                out.push_str(&inner);
            }
            if closed {
                out.push(c);
            }
        }
    }
    out
}

/// The first four characters and an ellipsis: all any output may show of a secret.
pub fn redact(v: &str) -> String {
    let head: String = v.chars().take(4).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knowledge_loads_and_prefilters() {
        let k = SecretKnowledge::load(None).unwrap();
        let c = k.candidates("token = ghp_abc");
        assert!(c.iter().any(|&i| k.providers[i].id == "github-token"));
        assert!(k.candidates("nothing here").is_empty());
    }

    #[test]
    fn github_checksum() {
        let body = "R4nd0mR4nd0mR4nd0mR4nd0mR4nd0m";
        let tok = format!("ghp_{body}{}", base62(crc32(body.as_bytes()), 6));
        assert_eq!(checksum_ok("github", &tok), Some(true));
        assert_eq!(
            checksum_ok("github", "ghp_R4nd0mR4nd0mR4nd0mR4nd0mR4nd0m000000"),
            Some(false)
        );
    }

    #[test]
    fn credential_shapes() {
        assert!(looks_like_credential("password", "S3cure!Pass"));
        assert!(!looks_like_credential("password", "password"));
        assert!(!looks_like_credential("api_key", "API_KEY_ENV"));
        assert!(looks_like_credential("api_key", "q8Zr2LmX0vT4nB7kYw1c"));
        assert!(!looks_like_credential("token", "0000000000000000"));
        assert!(is_repetitive("abcdefgh"));
        assert!(is_repetitive("xxxxxxxx"));
        assert!(!is_repetitive("q8Zr2LmX0vT4"));
    }

    #[test]
    fn value_shape_rule() {
        // Locale catalogs, messages, identifiers and expressions.
        for v in [
            "Wachtwoord",
            "API-tokens",
            "Adgangsnøgle",
            "Token not issued for this org",
            "accessTokenFromStorage",
            "PasswordResetToken",
            "config.auth.password",
            "getSecret()",
            "!vault",
            "%env(DB_PASSWORD)%",
            "OneChat-Zugriffstoken",
            "auth:{createAuthKey()}",
            "tests/data/xonsh-history.sqlite",
        ] {
            assert!(!looks_like_credential("password", v), "{v}");
            assert!(!looks_like_credential("api_key", v), "{v}");
        }
        // Random letters, passwords with digits, generated keys.
        assert!(looks_like_credential("password", "encYFJEeAgYzQJj"));
        assert!(looks_like_credential("password", "Tq9vLm2xRz7K"));
        assert!(looks_like_credential("secret", "Qm7vX2kL9pR4tZ8wN1cB5yH3"));
        assert!(looks_like_credential(
            "secret",
            "mihA+2O76UMFxFkM+R5Kjp1vRt/1fjORS+6ilI8i"
        ));
    }

    #[test]
    fn ui_text_key_paths_templates_and_calls_are_not_credentials() {
        for v in [
            // UI text: hyphenated capitalised words, acronyms, product names.
            "CalDAV-Token",
            "CalDAV-plassholdere",
            "KeePassXC",
            "LogMeOnce",
            "1Password",
            // Configuration key paths and environment variable names.
            "service.JWTSecret",
            "files.s3.secretkey",
            "MCAPTCHA__server_COOKIE_SECRET",
            // Built at run time: only the literal parts are written down.
            "ol_whs_{randomString(32)}",
            "api_{alphaid(16)}",
            "{prefix}_{randomString}",
            // A call (a code sample in prose).
            "rateLimit({",
            "Buffer.from(",
        ] {
            let k = SecretKnowledge::load(None).unwrap();
            assert!(
                !looks_like_credential("password", v) || k.is_placeholder(v),
                "{v}"
            );
            assert!(!looks_like_credential("secret_key", v), "{v}");
        }
        // Random letters, keys with digits in a path, a secret with a hole.
        assert!(looks_like_credential("password", "encYFJEeAgYzQJj"));
        assert!(looks_like_credential("password", "FoNDHiGLfZ"));
        assert!(looks_like_credential(
            "secret",
            "Nq7vT2xLm9Rk4Wp8Zb3c{prefix}"
        ));
        assert!(looks_like_credential("secret", "aB3_xY9.zQ7_kL2.mN5_pR8"));
        assert!(looks_like_credential("password", "hunter2_Xq9!"));
    }

    #[test]
    fn quoted_tokens_are_shortened() {
        assert_eq!(
            redact_quoted("found: 'Zq8vN3kL5pW2' at 1"),
            "found: 'Zq8v…' at 1"
        );
        assert_eq!(redact_quoted("found: \"ab\""), "found: \"ab\"");
    }

    #[test]
    fn names() {
        let k = SecretKnowledge::load(None).unwrap();
        assert!(k.is_secret_name("DB_PASSWORD"));
        assert!(k.is_secret_name("jwtSecret"));
        assert!(!k.is_secret_name("password_min_length"));
        assert!(!k.is_secret_name("token_url"));
        assert!(!k.is_secret_name("username"));
    }
}
