//! Frontends: one per language, each lowering its syntax tree into the
//! language-neutral [`FileModel`](crate::model::FileModel).

pub mod rust;
pub mod sql;
pub mod sql_lex;
pub mod sql_salvage;
pub mod text;
pub mod treesitter;

use crate::model::{Lang, PathKind};

/// The language of a file, from its name.
pub fn lang_of(path: &str) -> Lang {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "rs" => Lang::Rust,
        "sql" => Lang::Sql,
        "py" | "pyi" => Lang::Python,
        "ts" | "tsx" | "mts" | "cts" => Lang::TypeScript,
        "js" | "jsx" | "mjs" | "cjs" => Lang::JavaScript,
        "go" => Lang::Go,
        _ => Lang::Text,
    }
}

/// Extensions of files that are never text worth reading (skipped silently).
pub fn is_known_binary(path: &str) -> bool {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "png"
            | "jpg"
            | "jpeg"
            | "gif"
            | "ico"
            | "webp"
            | "bmp"
            | "tiff"
            | "psd"
            | "pdf"
            | "zip"
            | "gz"
            | "tgz"
            | "bz2"
            | "xz"
            | "zst"
            | "7z"
            | "tar"
            | "jar"
            | "war"
            | "class"
            | "woff"
            | "woff2"
            | "ttf"
            | "otf"
            | "eot"
            | "mp3"
            | "mp4"
            | "mov"
            | "avi"
            | "webm"
            | "wav"
            | "ogg"
            | "flac"
            | "wasm"
            | "so"
            | "dylib"
            | "dll"
            | "exe"
            | "o"
            | "a"
            | "lib"
            | "pyc"
            | "rlib"
            | "rmeta"
            | "db"
            | "sqlite"
            | "sqlite3"
            | "parquet"
            | "avro"
            | "pb"
            | "bin"
            | "dat"
            | "der"
            | "p12"
            | "pfx"
            | "keystore"
            | "jks"
            | "heic"
            | "svgz"
    )
}

/// What a relative path says about its file.
pub fn path_kind(rel: &str) -> PathKind {
    let lower = rel.to_ascii_lowercase();
    let segs: Vec<&str> = lower.split('/').collect();
    let name = *segs.last().unwrap_or(&"");
    let dirs = &segs[..segs.len().saturating_sub(1)];
    // A word of a folder or file name: `crates_io_test_db/`, `test_keys.rs`, `user.test.ts`.
    let test_word = |d: &str| {
        d.split(['_', '-', '.']).any(|w| {
            matches!(
                w,
                "test"
                    | "tests"
                    | "testing"
                    | "testutils"
                    | "testdata"
                    | "mock"
                    | "mocks"
                    | "fixture"
                    | "fixtures"
                    | "fake"
                    | "fakes"
                    | "stub"
                    | "stubs"
                    | "conftest"
                    | "msw"
            )
        })
    };
    let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name);
    let test = dirs.iter().any(|d| {
        test_word(d)
            || matches!(
                *d,
                "benches"
                    | "examples"
                    | "__tests__"
                    | "__mocks__"
                    | "e2e"
                    | "playwright"
                    | "cypress"
            )
    }) || test_word(stem)
        || name.contains(".spec.")
        || dirs.contains(&"spec")
        || name == "build.rs";
    let example = name.ends_with(".example")
        || name.ends_with(".sample")
        || name.ends_with(".template")
        || name.ends_with(".tmpl")
        || name.ends_with(".dist")
        || name.contains(".example.")
        || name.contains(".sample.")
        || name.ends_with(".md")
        || name.ends_with(".rst")
        || name.ends_with(".adoc")
        || dirs.iter().any(|d| {
            matches!(
                *d,
                "docs" | "doc" | "documentation" | "example" | "examples" | "samples"
            ) || d.ends_with("-examples")
                || d.ends_with("_examples")
        });
    let migration = dirs.iter().any(|d| {
        d.contains("migration")
            || *d == "migrate"
            || *d == "schema"
            || *d == "alembic"
            || *d == "flyway"
            || *d == "liquibase"
    }) || name == "schema.sql"
        || name.ends_with(".up.sql")
        || name.ends_with(".down.sql")
        || name.ends_with("_up.sql")
        || name.ends_with("_down.sql");
    let rollback = migration
        && (name == "down.sql"
            || name.ends_with(".down.sql")
            || name.ends_with("_down.sql")
            || name.starts_with(['u', 'U']) && name[1..].starts_with(|c: char| c.is_ascii_digit())
            || dirs.last().is_some_and(|d| *d == "down"));
    PathKind {
        test,
        example,
        migration,
        rollback,
        role: Default::default(),
    }
}

/// Module path of a Rust file, for resolving `module::function` calls.
pub fn rust_module(rel: &str) -> Vec<String> {
    let rel = rel.trim_end_matches(".rs");
    let mut segs: Vec<String> = rel.split('/').map(str::to_string).collect();
    if let Some(p) = segs.iter().position(|s| s == "src") {
        segs.drain(..=p);
    }
    if matches!(
        segs.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        segs.pop();
    }
    segs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_kinds() {
        assert!(path_kind("tests/api.rs").test);
        assert!(path_kind("crates/x/benches/b.rs").test);
        assert!(path_kind("build.rs").test);
        assert!(!path_kind("src/handlers.rs").test);
        assert!(path_kind(".env.example").example);
        assert!(path_kind("migrations/001_init.sql").migration);
        assert!(path_kind("db/migrations/2024_users/up.sql").migration);
        assert!(!path_kind("queries/users.sql").migration);
        assert!(path_kind("migrations/2024-01-01_users/down.sql").rollback);
        assert!(path_kind("migrations/000001_users.down.sql").rollback);
        assert!(path_kind("migrations/U2__drop_users.sql").rollback);
        assert!(!path_kind("migrations/2024-01-01_users/up.sql").rollback);
        assert!(!path_kind("migrations/V2__update_users.sql").rollback);
    }

    #[test]
    fn modules() {
        assert_eq!(rust_module("src/repo/users.rs"), vec!["repo", "users"]);
        assert_eq!(rust_module("crates/api/src/db/mod.rs"), vec!["db"]);
        assert!(rust_module("src/main.rs").is_empty());
    }
}
