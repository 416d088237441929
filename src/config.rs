//! `archlint.toml`: found by walking up from the scanned path (the closest
//! file wins; `extend = "../archlint.toml"` inherits from another file).
//! Unknown keys and bad values are errors naming the file and line.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use std::collections::BTreeMap;

use crate::finding::Severity;
use crate::frontend::sql::Dialect;
use crate::knowledge::RawKnowledge;
use crate::secrets::RawSecrets;

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    #[serde(default)]
    pub extend: Option<String>,
    #[serde(default)]
    pub select: Option<Vec<String>>,
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Rule id -> severity.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// Glob patterns of paths not to scan.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Glob -> rules ignored under it.
    #[serde(default)]
    pub per_path_ignores: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub dialect: Option<Dialect>,
    #[serde(default)]
    pub knowledge: Option<RawKnowledge>,
    #[serde(default)]
    pub secrets: Option<RawSecrets>,
    /// Globs that give files a role (`vendored`, `script`, `source`, ...).
    #[serde(default)]
    pub roles: Option<crate::roles::RoleOverrides>,
    /// Where the configuration was read from.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl Config {
    /// The configuration for `start`: the closest `archlint.toml` at or above it.
    pub fn discover(start: &Path) -> Result<Config, String> {
        let start = if start.is_file() {
            start.parent().unwrap_or(start)
        } else {
            start
        };
        let abs = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
        let mut dir = Some(abs.as_path());
        while let Some(d) = dir {
            let candidate = d.join("archlint.toml");
            if candidate.is_file() {
                return Config::load(&candidate, 0);
            }
            dir = d.parent();
        }
        Ok(Config::default())
    }

    pub fn load(path: &Path, depth: usize) -> Result<Config, String> {
        if depth > 8 {
            return Err(format!(
                "{}: `extend` chain is too deep (a cycle?)",
                path.display()
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| {
            let (line, col) = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    (
                        before.matches('\n').count() + 1,
                        before
                            .rsplit('\n')
                            .next()
                            .map(|l| l.chars().count() + 1)
                            .unwrap_or(1),
                    )
                })
                .unwrap_or((1, 1));
            format!("{}:{line}:{col}: {}", path.display(), e.message())
        })?;
        for id in cfg
            .select
            .iter()
            .flatten()
            .chain(cfg.ignore.iter())
            .chain(cfg.severity.keys())
            .chain(cfg.per_path_ignores.values().flatten())
        {
            if crate::rules::find(id).is_none() {
                let line = text
                    .lines()
                    .position(|l| l.contains(id.as_str()))
                    .map(|i| i + 1)
                    .unwrap_or(1);
                return Err(format!(
                    "{}:{line}: unknown rule `{id}` (see `archlint rules`)",
                    path.display()
                ));
            }
        }
        cfg.source = Some(path.to_path_buf());
        if let Some(parent) = cfg.extend.clone() {
            let base = path.parent().unwrap_or(Path::new(".")).join(parent);
            let mut p = Config::load(&base, depth + 1)?;
            p.merge(cfg);
            return Ok(p);
        }
        Ok(cfg)
    }

    /// Settings of `child` override or extend this one's.
    fn merge(&mut self, child: Config) {
        if child.select.is_some() {
            self.select = child.select;
        }
        self.ignore.extend(child.ignore);
        self.severity.extend(child.severity);
        self.exclude.extend(child.exclude);
        self.per_path_ignores.extend(child.per_path_ignores);
        if child.dialect.is_some() {
            self.dialect = child.dialect;
        }
        match (&mut self.knowledge, child.knowledge) {
            (Some(a), Some(b)) => a.merge(&b),
            (a @ None, b) => *a = b,
            _ => {}
        }
        if child.secrets.is_some() {
            self.secrets = child.secrets;
        }
        self.source = child.source;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("archlint.toml");
        std::fs::write(&p, "ignore = []\n\nbogus = 1\n").unwrap();
        let e = Config::load(&p, 0).unwrap_err();
        assert!(e.contains(":3:"), "{e}");
    }

    #[test]
    fn unknown_rule_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("archlint.toml");
        std::fs::write(&p, "ignore = [\"no-such-rule\"]\n").unwrap();
        assert!(Config::load(&p, 0).unwrap_err().contains("unknown rule"));
    }

    #[test]
    fn closest_file_wins_and_extend_inherits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("archlint.toml"),
            "ignore = [\"unbounded-query\"]\n",
        )
        .unwrap();
        let sub = dir.path().join("svc");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(
            sub.join("archlint.toml"),
            "extend = \"../archlint.toml\"\nignore = [\"hardcoded-secret\"]\n",
        )
        .unwrap();
        let c = Config::discover(&sub).unwrap();
        assert!(c.ignore.contains(&"unbounded-query".to_string()));
        assert!(c.ignore.contains(&"hardcoded-secret".to_string()));
    }
}
