//! Every frontend on the same bytes: Rust (syn), SQL (sqlparser), Python,
//! TypeScript, JavaScript and Go (tree-sitter), and the config reader.
#![no_main]

use archlint::budget::Budget;
use archlint::frontend::{rust, sql, text, treesitter};
use archlint::knowledge::Knowledge;
use archlint::model::{Lang, PathKind};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn knowledge() -> &'static Knowledge {
    static K: OnceLock<Knowledge> = OnceLock::new();
    K.get_or_init(|| Knowledge::load(None).unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let k = knowledge();
    let kind = PathKind::default();
    let _ = rust::lower(src, kind, Vec::new(), k, sql::Dialect::Postgres, &Budget::unlimited());
    for d in [
        sql::Dialect::Postgres,
        sql::Dialect::Mysql,
        sql::Dialect::Sqlite,
    ] {
        let _ = sql::lower_file(src, kind, d, &Budget::unlimited());
    }
    for (lang, path) in [
        (Lang::Python, "a.py"),
        (Lang::TypeScript, "a.ts"),
        (Lang::TypeScript, "a.tsx"),
        (Lang::JavaScript, "a.js"),
        (Lang::Go, "a.go"),
    ] {
        let _ = treesitter::lower(src, lang, path, kind, k, sql::Dialect::Postgres, &Budget::unlimited());
    }
    let _ = text::lower(src, kind, Lang::Text, ".env");
});
