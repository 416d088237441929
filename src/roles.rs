//! File roles: what a file is to the review, decided once per file.
//!
//! A backend repository holds more than the backend: vendored bundles and
//! generated code, translation catalogs, one-off scripts and data migrations,
//! tests, docs. The review of a request path does not apply to them, and a
//! finding there that reads like one is what makes a user stop reading. The
//! role comes from the path (globs in `rules/roles.toml`, extended from
//! `archlint.toml`'s `[roles]`) and, for generated or minified code, from the
//! file's first bytes. Rules read it through [`crate::model::PathKind::role`].

use serde::{Deserialize, Serialize};

use crate::discover::glob_lite::Glob;

pub const ROLES_TOML: &str = include_str!("../rules/roles.toml");

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Code and configuration of the product.
    #[default]
    Source,
    /// Tests, benches, fixtures, build scripts.
    Test,
    /// Documentation and examples.
    Example,
    /// SQL migrations: schema, not queries.
    SchemaMigration,
    /// One-off code: data migrations, fix-ups, admin scripts, seeds.
    Script,
    /// Third-party bundles, minified or generated code: not analysed.
    Vendored,
    /// Translation catalogs.
    Locale,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Test => "test",
            Role::Example => "example",
            Role::SchemaMigration => "schema-migration",
            Role::Script => "script",
            Role::Vendored => "vendored",
            Role::Locale => "locale",
        }
    }
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawGlobs {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub markers: Vec<String>,
    #[serde(default)]
    pub minified_line: Option<usize>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawDeps {
    #[serde(default)]
    pub deps: Vec<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawRoles {
    #[serde(default)]
    vendored: RawGlobs,
    #[serde(default)]
    locale: RawGlobs,
    #[serde(default)]
    script: RawGlobs,
    #[serde(default)]
    server: RawDeps,
    #[serde(default)]
    client: RawDeps,
    #[serde(default)]
    embedded_db: RawDeps,
    #[serde(default)]
    networked_db: RawDeps,
}

/// `[roles]` in `archlint.toml`: globs that give files a role, winning over
/// the built-in ones.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RoleOverrides {
    #[serde(default)]
    pub source: Vec<String>,
    #[serde(default)]
    pub test: Vec<String>,
    #[serde(default)]
    pub script: Vec<String>,
    #[serde(default)]
    pub vendored: Vec<String>,
    #[serde(default)]
    pub locale: Vec<String>,
}

pub struct Roles {
    overrides: Vec<(Role, Glob)>,
    vendored: Vec<Glob>,
    locale: Vec<Glob>,
    script: Vec<Glob>,
    markers: Vec<String>,
    /// Dependencies that make a package an HTTP server / a browser application.
    pub server_deps: Vec<String>,
    pub client_deps: Vec<String>,
    /// Drivers of an in-process database (SQLite) / of a database server.
    pub embedded_db_deps: Vec<String>,
    pub networked_db_deps: Vec<String>,
}

fn globs(pats: &[String]) -> Result<Vec<Glob>, String> {
    pats.iter().map(|p| Glob::new(p)).collect()
}

impl Roles {
    pub fn load(extra: Option<&RoleOverrides>) -> Result<Roles, String> {
        let raw: RawRoles =
            toml::from_str(ROLES_TOML).map_err(|e| format!("rules/roles.toml: {e}"))?;
        let mut overrides = Vec::new();
        if let Some(o) = extra {
            for (role, pats) in [
                (Role::Source, &o.source),
                (Role::Test, &o.test),
                (Role::Script, &o.script),
                (Role::Vendored, &o.vendored),
                (Role::Locale, &o.locale),
            ] {
                for g in globs(pats)? {
                    overrides.push((role, g));
                }
            }
        }
        Ok(Roles {
            overrides,
            vendored: globs(&raw.vendored.paths)?,
            locale: globs(&raw.locale.paths)?,
            script: globs(&raw.script.paths)?,
            markers: raw.vendored.markers,
            server_deps: raw.server.deps,
            client_deps: raw.client.deps,
            embedded_db_deps: raw.embedded_db.deps,
            networked_db_deps: raw.networked_db.deps,
        })
    }

    /// The role a path gives a file; `test`, `example` and `migration` are
    /// what [`crate::frontend::path_kind`] read from the same path.
    pub fn of_path(&self, rel: &str, test: bool, example: bool, migration: bool) -> Role {
        if let Some((r, _)) = self.overrides.iter().find(|(_, g)| g.matches(rel)) {
            return *r;
        }
        let code = matches!(
            crate::frontend::lang_of(rel),
            crate::model::Lang::Rust
                | crate::model::Lang::Python
                | crate::model::Lang::TypeScript
                | crate::model::Lang::JavaScript
                | crate::model::Lang::Go
        );
        let css = rel.ends_with(".css");
        if (code || css) && self.vendored.iter().any(|g| g.matches(rel)) {
            return Role::Vendored;
        }
        if !code && self.locale.iter().any(|g| g.matches(rel)) {
            return Role::Locale;
        }
        if test {
            return Role::Test;
        }
        if example {
            return Role::Example;
        }
        if code && self.script.iter().any(|g| g.matches(rel)) {
            return Role::Script;
        }
        if migration {
            return Role::SchemaMigration;
        }
        Role::Source
    }

    /// Generated or minified, from the file's first bytes: a generator's
    /// marker near the top, or (JS/CSS) lines no person writes.
    pub fn vendored_content(&self, rel: &str, text: &str) -> bool {
        let head = &text[..floor_char(text, 1024)];
        if self.markers.iter().any(|m| head.contains(m.as_str())) {
            return true;
        }
        let web = matches!(
            crate::frontend::lang_of(rel),
            crate::model::Lang::JavaScript | crate::model::Lang::TypeScript
        ) || rel.ends_with(".css");
        if !web {
            return false;
        }
        let sample = &text[..floor_char(text, 64 * 1024)];
        let lines = sample.lines().count().max(1);
        let longest = sample.lines().map(str::len).max().unwrap_or(0);
        longest > 1000 && sample.len() / lines > 200
    }
}

/// One-off code recognised by content wherever it lives: an Alembic revision
/// (`revision = ` and `down_revision = ` at module level, and `def upgrade(`),
/// kept outside an `alembic/versions` or `migrations/versions` folder.
pub fn script_content(rel: &str, text: &str) -> bool {
    if crate::frontend::lang_of(rel) != crate::model::Lang::Python {
        return false;
    }
    let top = |key: &str| {
        text.lines().any(|l| {
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(['=', ':']))
        })
    };
    top("revision") && top("down_revision") && text.lines().any(|l| l.starts_with("def upgrade("))
}

fn floor_char(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(p: &str) -> Role {
        let k = crate::frontend::path_kind(p);
        Roles::load(None)
            .unwrap()
            .of_path(p, k.test, k.example, k.migration)
    }

    #[test]
    fn roles_from_paths() {
        assert_eq!(role("src/handlers.rs"), Role::Source);
        assert_eq!(
            role("src/static/scripts/bootstrap.bundle.js"),
            Role::Vendored
        );
        assert_eq!(role("web/static/datatables.js"), Role::Vendored);
        assert_eq!(role("app/static/app.min.js"), Role::Vendored);
        assert_eq!(role("api/gen/user.pb.go"), Role::Vendored);
        assert_eq!(role("web/locales/nl.json"), Role::Locale);
        assert_eq!(role("src/locales/en.ts"), Role::Source);
        assert_eq!(
            role("backend/alembic/versions/1a2b_add_users.py"),
            Role::Script
        );
        assert_eq!(role("db/fixes/repair_orders.py"), Role::Script);
        assert_eq!(role("scripts/backfill.py"), Role::Script);
        assert_eq!(role("app/migrations/0004_backfill.py"), Role::Script);
        assert_eq!(role("migrations/001_init.sql"), Role::SchemaMigration);
        assert_eq!(role("tests/api_test.py"), Role::Test);
        assert_eq!(role("playwright/global-setup.ts"), Role::Test);
        assert_eq!(role("src/bin/server.rs"), Role::Source);
        assert_eq!(role("pkg/migration/20210713213622.go"), Role::Script);
        assert_eq!(role("tools/backfill_users.py"), Role::Script);
        assert_eq!(role("server/tools/comments.ts"), Role::Source);
        assert_eq!(role("build.js"), Role::Script);
        assert_eq!(role("vite.config.ts"), Role::Script);
        assert_eq!(role("server/build.ts"), Role::Source);
    }

    #[test]
    fn project_globs_win() {
        let o = RoleOverrides {
            source: vec!["scripts/serve.py".into()],
            vendored: vec!["web/legacy/**".into()],
            ..Default::default()
        };
        let r = Roles::load(Some(&o)).unwrap();
        assert_eq!(
            r.of_path("scripts/serve.py", false, false, false),
            Role::Source
        );
        assert_eq!(
            r.of_path("web/legacy/app.py", false, false, false),
            Role::Vendored
        );
    }

    #[test]
    fn generated_and_minified_content() {
        let r = Roles::load(None).unwrap();
        assert!(r.vendored_content(
            "api/user.go",
            "// Code generated by sqlc. DO NOT EDIT.\npackage db\n"
        ));
        let minified = format!("!function(e){{{}}}\n", "var a=1;".repeat(300));
        assert!(r.vendored_content("web/app.js", &minified));
        assert!(!r.vendored_content("web/app.js", "const a = 1;\nexport default a;\n"));
        assert!(!r.vendored_content("src/app.py", &minified));
    }

    #[test]
    fn alembic_revisions_by_content() {
        let rev = "\"\"\"add tenants\"\"\"\nrevision = \"3b0f5b81376f\"\ndown_revision: str = \"a1\"\n\ndef upgrade():\n    pass\n";
        assert!(script_content(
            "src/app/database/revisions/tenant/versions/x.py",
            rev
        ));
        assert!(!script_content(
            "src/app/models.py",
            "revision = 1\ndef upgrade():\n    pass\n"
        ));
        assert!(!script_content("src/app/x.ts", rev));
        // Indented: an attribute of a class, not a revision module.
        assert!(!script_content(
            "src/app/models.py",
            "class A:\n    revision = 1\n    down_revision = 0\n    def upgrade(self):\n        pass\n"
        ));
    }
}
