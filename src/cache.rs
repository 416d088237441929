//! The re-run cache: what a file gave (its lowered model, per-file findings,
//! blockers, manifest facts and role) kept in `.archlint_cache/` at the
//! scanned root, so that a second scan re-parses only the files that changed.
//!
//! One file per build and configuration, `<build>-<config>.bin`, holds an
//! entry per scanned file, keyed by the blake3 hash of the file's path, its
//! SQL dialect and its bytes. The build part is `ARCHLINT_BUILD_ID` (see
//! `build.rs`: a hash of `src/`, `rules/` and the lockfile), so any rebuild
//! that changes the analyzer starts from an empty cache; the configuration
//! part hashes everything else a file's analysis depends on (the
//! configuration, the enabled rules, the size and time limits).
//!
//! Everything program-wide (linking, cross-file rules, suppressions,
//! fingerprints) is recomputed on every run: only per-file work is reused,
//! so a warm report is byte for byte the cold one.
//!
//! A cache file that is corrupt, truncated or from another build is ignored
//! and rewritten; a root where the cache cannot be written is scanned
//! without one. Nothing here can fail a scan.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Related, Severity};
use crate::manifest::{Dep, PackageDecl};
use crate::model::FileModel;
use crate::roles::Role;
use crate::source::Span;

/// The name of the cache folder at the scanned root.
pub const DIR_NAME: &str = ".archlint_cache";

/// This build of archlint: changes with any change to its code or rule data.
pub const BUILD_ID: &str = env!("ARCHLINT_BUILD_ID");

const MAGIC: &[u8] = b"archlint-cache\n";
/// The layout of a cache file; bump on any change to [`Entry`]'s shape.
const FORMAT: u32 = 1;

pub type Key = [u8; 32];

/// A finding with every field (the report's serialisation skips some).
#[derive(Serialize, Deserialize)]
struct StoredFinding {
    rule: String,
    severity: Severity,
    message: String,
    path: String,
    span: Span,
    fingerprint: String,
    help: Option<String>,
    related: Vec<(String, u32, String)>,
    key: String,
    function: String,
    mask: Option<Span>,
    suppressed: Option<String>,
}

impl StoredFinding {
    fn of(f: &Finding) -> StoredFinding {
        StoredFinding {
            rule: f.rule.clone(),
            severity: f.severity,
            message: f.message.clone(),
            path: f.path.clone(),
            span: f.span(),
            fingerprint: f.fingerprint.clone(),
            help: f.help.clone(),
            related: f
                .related
                .iter()
                .map(|r| (r.path.clone(), r.line, r.message.clone()))
                .collect(),
            key: f.key.clone(),
            function: f.function.clone(),
            mask: f.mask,
            suppressed: f.suppressed.clone(),
        }
    }

    fn into_finding(self) -> Finding {
        let mut f = Finding::new(
            &self.rule,
            self.severity,
            &self.path,
            self.span,
            self.message,
        );
        f.fingerprint = self.fingerprint;
        f.help = self.help;
        f.related = self
            .related
            .into_iter()
            .map(|(path, line, message)| Related {
                path,
                line,
                message,
            })
            .collect();
        f.key = self.key;
        f.function = self.function;
        f.mask = self.mask;
        f.suppressed = self.suppressed;
        f
    }
}

/// What one file gave, as kept in the cache.
#[derive(Serialize, Deserialize)]
struct Entry {
    model: Option<FileModel>,
    findings: Vec<StoredFinding>,
    blockers: Vec<String>,
    deps: Vec<Dep>,
    package: Option<PackageDecl>,
    role: Role,
}

/// A cached file's result, decoded.
pub struct Hit {
    pub model: Option<FileModel>,
    pub findings: Vec<Finding>,
    pub blockers: Vec<String>,
    pub deps: Vec<Dep>,
    pub package: Option<PackageDecl>,
    pub role: Role,
}

/// What the scan of one file leaves for the next run's cache.
pub enum Stored {
    /// Nothing (not read, or not reproducible: a time budget ran out, a panic).
    None,
    /// The entry of the previous run, unchanged.
    Kept(String),
    /// A new entry: (path, key, encoded entry).
    New(String, Key, Vec<u8>),
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    build: String,
    config: String,
}

/// The cache of one scan: the entries read at the start, the file to
/// write at the end.
pub struct Cache {
    dir: PathBuf,
    file: PathBuf,
    config: Key,
    old: HashMap<String, (Key, Vec<u8>)>,
}

/// Everything a file's analysis depends on besides its path and bytes.
pub fn config_key(parts: &[&str]) -> Key {
    let mut h = blake3::Hasher::new();
    h.update(BUILD_ID.as_bytes());
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    *h.finalize().as_bytes()
}

fn hex(k: &Key) -> String {
    k[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Cache {
    /// Open (creating it when missing) the cache in `dir` for this build and
    /// `config`; `None` when the folder cannot be created.
    pub fn open(dir: &Path, config: Key) -> Option<Cache> {
        std::fs::create_dir_all(dir).ok()?;
        let ignore = dir.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(&ignore, "# Created by archlint: the re-run cache.\n*\n").ok()?;
        }
        let file = dir.join(format!("{}-{}.bin", &BUILD_ID[..16], hex(&config)));
        let old = std::fs::read(&file)
            .ok()
            .and_then(|b| decode_file(&b, &config))
            .unwrap_or_default();
        Some(Cache {
            dir: dir.to_path_buf(),
            file,
            config,
            old,
        })
    }

    /// The key of a file's entry.
    pub fn key(&self, rel: &str, dialect: &str, bytes: &[u8]) -> Key {
        let mut h = blake3::Hasher::new();
        h.update(&self.config);
        for p in [rel.as_bytes(), dialect.as_bytes(), bytes] {
            h.update(&(p.len() as u64).to_le_bytes());
            h.update(p);
        }
        *h.finalize().as_bytes()
    }

    /// The previous run's result for this file, when its key is unchanged
    /// and the entry decodes.
    pub fn get(&self, rel: &str, key: &Key) -> Option<Hit> {
        let (k, blob) = self.old.get(rel)?;
        if k != key {
            return None;
        }
        let e: Entry = postcard::from_bytes(blob).ok()?;
        Some(Hit {
            model: e.model,
            findings: e
                .findings
                .into_iter()
                .map(StoredFinding::into_finding)
                .collect(),
            blockers: e.blockers,
            deps: e.deps,
            package: e.package,
            role: e.role,
        })
    }

    /// Encode a file's result for the next run.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        rel: &str,
        key: Key,
        model: Option<&FileModel>,
        findings: &[Finding],
        blockers: &[String],
        deps: &[Dep],
        package: Option<&PackageDecl>,
        role: Role,
    ) -> Stored {
        // Borrowed mirror of `Entry`: the same encoding without cloning the model.
        #[derive(Serialize)]
        struct EntryRef<'a> {
            model: Option<&'a FileModel>,
            findings: Vec<StoredFinding>,
            blockers: &'a [String],
            deps: &'a [Dep],
            package: Option<&'a PackageDecl>,
            role: Role,
        }
        let e = EntryRef {
            model,
            findings: findings.iter().map(StoredFinding::of).collect(),
            blockers,
            deps,
            package,
            role,
        };
        match postcard::to_allocvec(&e) {
            Ok(blob) => Stored::New(rel.to_string(), key, blob),
            Err(_) => Stored::None,
        }
    }

    /// Write the entries of this run (and only those: deleted and renamed
    /// files leave the cache), then remove the files of other builds.
    /// Nothing is written when every entry was reused and none left.
    /// Failures are silent: the next run is merely cold.
    pub fn save(mut self, stored: Vec<Stored>) {
        let kept = stored
            .iter()
            .filter(|s| matches!(s, Stored::Kept(_)))
            .count();
        if kept == self.old.len() && !stored.iter().any(|s| matches!(s, Stored::New(..))) {
            return;
        }
        let mut entries: Vec<(String, Key, Vec<u8>)> = Vec::with_capacity(stored.len());
        for s in stored {
            match s {
                Stored::None => {}
                Stored::Kept(rel) => {
                    if let Some((k, blob)) = self.old.remove(&rel) {
                        entries.push((rel, k, blob));
                    }
                }
                Stored::New(rel, k, blob) => entries.push((rel, k, blob)),
            }
        }
        let header = Header {
            format: FORMAT,
            build: BUILD_ID.to_string(),
            config: hex(&self.config),
        };
        let tmp = self
            .file
            .with_extension(format!("tmp{}", std::process::id()));
        // Streamed: no second copy of the whole cache in memory.
        let written = (|| -> Option<()> {
            use std::io::Write;
            let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).ok()?);
            w.write_all(MAGIC).ok()?;
            let mut w = postcard::to_io(&(header, entries), w).ok()?;
            w.flush().ok()
        })();
        if written.is_none() || std::fs::rename(&tmp, &self.file).is_err() {
            let _ = std::fs::remove_file(&tmp);
            return;
        }
        // Files of other builds can never be read again.
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".bin") && !name.starts_with(&BUILD_ID[..16]) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

type Entries = Vec<(String, Key, Vec<u8>)>;

fn decode_file(b: &[u8], config: &Key) -> Option<HashMap<String, (Key, Vec<u8>)>> {
    let rest = b.strip_prefix(MAGIC)?;
    let (header, entries): (Header, Entries) = postcard::from_bytes(rest).ok()?;
    if header.format != FORMAT || header.build != BUILD_ID || header.config != hex(config) {
        return None;
    }
    Some(
        entries
            .into_iter()
            .map(|(rel, k, blob)| (rel, (k, blob)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_and_foreign_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let key = config_key(&["a"]);
        let c = Cache::open(dir.path(), key).unwrap();
        let k = c.key("a.rs", "postgres", b"fn f() {}");
        c.save(vec![Cache::encode(
            "a.rs",
            k,
            None,
            &[],
            &["a.rs: blocked".to_string()],
            &[],
            None,
            Role::Source,
        )]);
        let c = Cache::open(dir.path(), key).unwrap();
        let hit = c.get("a.rs", &k).expect("a hit");
        assert_eq!(hit.blockers, vec!["a.rs: blocked".to_string()]);
        assert!(c
            .get("a.rs", &c.key("a.rs", "postgres", b"fn g() {}"))
            .is_none());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".gitignore"))
                .unwrap()
                .lines()
                .last(),
            Some("*")
        );
        // Truncated, garbage, another configuration: all empty caches.
        let file = c.file.clone();
        let bytes = std::fs::read(&file).unwrap();
        for bad in [
            bytes[..bytes.len() / 2].to_vec(),
            b"garbage".to_vec(),
            Vec::new(),
        ] {
            std::fs::write(&file, &bad).unwrap();
            let c = Cache::open(dir.path(), key).unwrap();
            assert!(c.get("a.rs", &k).is_none());
        }
        std::fs::write(&file, &bytes).unwrap();
        assert!(decode_file(&bytes, &config_key(&["b"])).is_none());
    }
}
