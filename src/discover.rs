//! Discovery: which files a scan reads. `ignore` gives gitignore semantics;
//! dotfiles are read (secrets hide in `.env`, `.npmrc`, `.github/`), build and
//! dependency folders are not.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

/// A file to analyse: its path on disk and relative to the scanned root.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub abs: PathBuf,
    pub rel: String,
}

pub struct Walk {
    pub files: Vec<Candidate>,
    pub blockers: Vec<String>,
}

const SKIP_DIRS: &[&str] = &[
    ".archlint_cache",
    ".git",
    "target",
    "node_modules",
    "vendor",
    ".hg",
    ".svn",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".next",
    ".terraform",
    ".idea",
    ".gradle",
];

pub fn walk(root: &Path, no_ignore: bool, exclude: &[glob_lite::Glob]) -> Walk {
    let mut files = Vec::new();
    let mut blockers = Vec::new();
    let base = if root.is_file() {
        root.parent().unwrap_or(Path::new("")).to_path_buf()
    } else {
        root.to_path_buf()
    };
    let mut b = WalkBuilder::new(root);
    b.hidden(false)
        .git_ignore(!no_ignore)
        .git_global(false)
        .git_exclude(!no_ignore)
        .ignore(!no_ignore)
        .parents(!no_ignore)
        .require_git(false)
        .follow_links(false)
        .add_custom_ignore_filename(".archlintignore")
        .filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && e.depth() > 0
                && SKIP_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        });
    for entry in b.build() {
        match entry {
            Ok(e) => {
                let Some(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    continue;
                }
                let abs = e.path().to_path_buf();
                let rel = rel_path(&base, &abs);
                if exclude.iter().any(|g| g.matches(&rel)) {
                    continue;
                }
                if ft.is_symlink() {
                    continue; // not followed: a link's target is scanned where it lives
                }
                if !ft.is_file() {
                    blockers.push(format!("{rel}: skipped: not a regular file"));
                    continue;
                }
                files.push(Candidate { abs, rel });
            }
            Err(err) => blockers.push(format!("walk error: {}", sanitize(&err.to_string()))),
        }
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Walk { files, blockers }
}

/// The path relative to the root, with `/` separators (lossy for non-UTF-8 names).
pub fn rel_path(base: &Path, abs: &Path) -> String {
    let rel = abs.strip_prefix(base).unwrap_or(abs);
    let s: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let s = s.join("/");
    if s.is_empty() {
        abs.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        sanitize(&s)
    }
}

/// Control characters (a newline in a file name) would break line-based outputs.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Minimal glob matching for `exclude` and per-path ignores: `*` within a
/// segment, `**` across segments, `?` one character.
pub mod glob_lite {
    #[derive(Clone, Debug)]
    pub struct Glob(regex::Regex);

    impl Glob {
        pub fn new(pat: &str) -> Result<Glob, String> {
            let mut re = String::from("^");
            // A leading `/` anchors the pattern at the root, like gitignore.
            let anchored = pat.starts_with('/');
            let p = pat.trim_start_matches("./").trim_start_matches('/');
            let mut chars = p.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '*' if chars.peek() == Some(&'*') => {
                        chars.next();
                        if chars.peek() == Some(&'/') {
                            chars.next();
                            re.push_str("(?:.*/)?");
                        } else {
                            re.push_str(".*");
                        }
                    }
                    '*' => re.push_str("[^/]*"),
                    '?' => re.push_str("[^/]"),
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            if !p.contains('/') && !anchored {
                // A bare name matches at any depth, like gitignore.
                re = format!("^(?:.*/)?{}", &re[1..]);
            }
            re.push_str("(?:/.*)?$");
            regex::Regex::new(&re)
                .map(Glob)
                .map_err(|e| format!("bad glob `{pat}`: {e}"))
        }

        pub fn matches(&self, path: &str) -> bool {
            self.0.is_match(path)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn globs() {
            assert!(Glob::new("migrations/**")
                .unwrap()
                .matches("migrations/1/up.sql"));
            assert!(Glob::new("*.sql").unwrap().matches("db/q.sql"));
            assert!(!Glob::new("src/*.rs").unwrap().matches("src/a/b.rs"));
            assert!(Glob::new("generated").unwrap().matches("a/generated/x.rs"));
            assert!(Glob::new("/build.js").unwrap().matches("build.js"));
            assert!(!Glob::new("/build.js").unwrap().matches("server/build.js"));
        }
    }
}
