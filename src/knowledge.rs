//! API knowledge, loaded from the data files in `rules/` and extended by the
//! `[knowledge]` tables of `archlint.toml`.
//!
//! The files are compiled into the binary (so archlint needs nothing beside
//! it), parsed once at start-up and shared read-only by every thread.

use std::collections::HashSet;

use regex::Regex;
use serde::Deserialize;

pub const RUST_TOML: &str = include_str!("../rules/rust.toml");

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RawQuery {
    pub constructors: Vec<String>,
    pub macros: Vec<String>,
    pub terminals: Vec<String>,
    pub one_row_terminals: Vec<String>,
    pub many_row_terminals: Vec<String>,
    pub stream_terminals: Vec<String>,
    pub sql_methods: Vec<String>,
    pub orm_starters: Vec<String>,
    pub handle_types: Vec<String>,
    pub handle_names: Option<String>,
    pub not_queries: Vec<String>,
    pub common_methods: Vec<String>,
    pub cache_methods: Vec<String>,
    pub cache_receivers: Option<String>,
    pub write_words: Vec<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RawLoops {
    pub per_element_adaptors: Vec<String>,
    pub iterator_sources: Vec<String>,
    pub batch_sources: Vec<String>,
    pub data_pullers: Vec<String>,
    pub not_data: Option<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RawOffload {
    pub calls: Vec<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RawBlocking {
    pub paths: Vec<String>,
    pub methods: Vec<String>,
    pub path_probes: Vec<String>,
    pub path_receivers: Option<String>,
    pub process_waits: Vec<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RawExternal {
    pub paths: Vec<String>,
    pub http_verbs: Vec<String>,
    pub http_send: Vec<String>,
    pub http_receivers: Option<String>,
    pub sdk_receivers: Option<String>,
    pub redis_receivers: Option<String>,
    pub redis_methods: Vec<String>,
    pub broker_receivers: Option<String>,
    pub broker_methods: Vec<String>,
    pub mail_receivers: Option<String>,
    pub mail_methods: Vec<String>,
    pub store_receivers: Option<String>,
    pub store_methods: Vec<String>,
    pub payment_words: Option<String>,
    pub client_constructors: Vec<String>,
    pub client_builders: Vec<String>,
    pub timeout_methods: Vec<String>,
}

/// The on-disk shape of a knowledge file (and of `[knowledge]` in archlint.toml).
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RawKnowledge {
    pub query: RawQuery,
    pub loops: RawLoops,
    pub offload: RawOffload,
    pub blocking: RawBlocking,
    pub external: RawExternal,
    pub architecture: RawArchitecture,
}

/// Names that are evidence of an architectural practice (rules/architecture.toml).
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RawArchitecture {
    pub observability: Vec<String>,
    pub request_logging: Vec<String>,
    pub rate_limit: Vec<String>,
    pub validation: Vec<String>,
    pub idempotency: Vec<String>,
    pub reference_tables: Vec<String>,
}

pub const ARCHITECTURE_TOML: &str = include_str!("../rules/architecture.toml");

/// A list of names, matched whole or followed by a separator, case-insensitively.
#[derive(Debug)]
pub struct Evidence(Regex);

impl Evidence {
    fn compile(names: &[String]) -> Result<Evidence, String> {
        if names.is_empty() {
            return Ok(Evidence(re(&None)?));
        }
        let alts: Vec<String> = names.iter().map(|n| regex::escape(n)).collect();
        Regex::new(&format!("(?i)^(?:{})(?:$|[:./_-])", alts.join("|")))
            .map(Evidence)
            .map_err(|e| e.to_string())
    }

    pub fn matches(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

#[derive(Debug)]
pub struct ArchKnowledge {
    pub observability: Evidence,
    pub request_logging: Evidence,
    pub rate_limit: Evidence,
    pub validation: Evidence,
    pub idempotency: Evidence,
    /// Head nouns of reference tables, lower case and singular.
    pub reference_tables: Set,
}

impl ArchKnowledge {
    /// Does a table (or model) name say it holds curated reference data:
    /// is its last word (`local_site_url_blocklist`, `UserAttributeSchema`,
    /// `oauth_providers`) one of `reference_tables`?
    pub fn reference_table(&self, name: &str) -> bool {
        let name = name.rsplit(['.', ':']).next().unwrap_or(name);
        let name = name.trim_matches(|c: char| c == '"' || c == '`');
        // The last word: after the last `_`, or the last capitalised word.
        let last = match name.rfind('_') {
            Some(i) => &name[i + 1..],
            None => name
                .char_indices()
                .rfind(|(_, c)| c.is_ascii_uppercase())
                .map_or(name, |(i, _)| &name[i..]),
        };
        let w = last.to_ascii_lowercase();
        let singular = [
            w.strip_suffix("ies").map(|s| format!("{s}y")),
            w.strip_suffix("ses").map(|s| format!("{s}s")),
            w.strip_suffix('s').map(str::to_string),
        ];
        self.reference_tables.contains(&w)
            || singular
                .iter()
                .flatten()
                .any(|s| self.reference_tables.contains(s))
    }
}

fn extend<T: Clone>(a: &mut Vec<T>, b: &[T]) {
    a.extend_from_slice(b);
}

fn merge_re(a: &mut Option<String>, b: &Option<String>) {
    if let Some(b) = b {
        *a = Some(match a.take() {
            Some(x) => format!("(?:{x})|(?:{b})"),
            None => b.clone(),
        });
    }
}

impl RawKnowledge {
    /// Add a user's knowledge to this one: lists grow, patterns become alternations.
    pub fn merge(&mut self, o: &RawKnowledge) {
        let (q, oq) = (&mut self.query, &o.query);
        extend(&mut q.constructors, &oq.constructors);
        extend(&mut q.macros, &oq.macros);
        extend(&mut q.terminals, &oq.terminals);
        extend(&mut q.one_row_terminals, &oq.one_row_terminals);
        extend(&mut q.many_row_terminals, &oq.many_row_terminals);
        extend(&mut q.stream_terminals, &oq.stream_terminals);
        extend(&mut q.sql_methods, &oq.sql_methods);
        extend(&mut q.orm_starters, &oq.orm_starters);
        extend(&mut q.handle_types, &oq.handle_types);
        merge_re(&mut q.handle_names, &oq.handle_names);
        extend(&mut q.not_queries, &oq.not_queries);
        extend(&mut q.common_methods, &oq.common_methods);
        extend(&mut q.cache_methods, &oq.cache_methods);
        merge_re(&mut q.cache_receivers, &oq.cache_receivers);
        extend(&mut q.write_words, &oq.write_words);
        let (l, ol) = (&mut self.loops, &o.loops);
        extend(&mut l.per_element_adaptors, &ol.per_element_adaptors);
        extend(&mut l.iterator_sources, &ol.iterator_sources);
        extend(&mut l.batch_sources, &ol.batch_sources);
        extend(&mut l.data_pullers, &ol.data_pullers);
        merge_re(&mut l.not_data, &ol.not_data);
        extend(&mut self.offload.calls, &o.offload.calls);
        let (b, ob) = (&mut self.blocking, &o.blocking);
        extend(&mut b.paths, &ob.paths);
        extend(&mut b.methods, &ob.methods);
        extend(&mut b.path_probes, &ob.path_probes);
        merge_re(&mut b.path_receivers, &ob.path_receivers);
        extend(&mut b.process_waits, &ob.process_waits);
        let (e, oe) = (&mut self.external, &o.external);
        extend(&mut e.paths, &oe.paths);
        extend(&mut e.http_verbs, &oe.http_verbs);
        extend(&mut e.http_send, &oe.http_send);
        merge_re(&mut e.http_receivers, &oe.http_receivers);
        merge_re(&mut e.sdk_receivers, &oe.sdk_receivers);
        merge_re(&mut e.redis_receivers, &oe.redis_receivers);
        extend(&mut e.redis_methods, &oe.redis_methods);
        merge_re(&mut e.broker_receivers, &oe.broker_receivers);
        extend(&mut e.broker_methods, &oe.broker_methods);
        merge_re(&mut e.mail_receivers, &oe.mail_receivers);
        extend(&mut e.mail_methods, &oe.mail_methods);
        merge_re(&mut e.store_receivers, &oe.store_receivers);
        extend(&mut e.store_methods, &oe.store_methods);
        merge_re(&mut e.payment_words, &oe.payment_words);
        extend(&mut e.client_constructors, &oe.client_constructors);
        extend(&mut e.client_builders, &oe.client_builders);
        extend(&mut e.timeout_methods, &oe.timeout_methods);
        let (a, oa) = (&mut self.architecture, &o.architecture);
        extend(&mut a.observability, &oa.observability);
        extend(&mut a.request_logging, &oa.request_logging);
        extend(&mut a.rate_limit, &oa.rate_limit);
        extend(&mut a.validation, &oa.validation);
        extend(&mut a.idempotency, &oa.idempotency);
        extend(&mut a.reference_tables, &oa.reference_tables);
    }
}

pub type Set = HashSet<String>;

fn set(v: &[String]) -> Set {
    v.iter().cloned().collect()
}

fn re(p: &Option<String>) -> Result<Regex, String> {
    // A pattern that never matches stands for a missing one.
    Regex::new(p.as_deref().unwrap_or("[^\\s\\S]")).map_err(|e| e.to_string())
}

/// Compiled knowledge: sets for O(1) name checks and compiled patterns.
#[derive(Debug)]
pub struct Knowledge {
    pub q_constructors: Vec<String>,
    pub q_macros: Set,
    pub q_terminals: Set,
    pub q_one_row: Set,
    pub q_many_rows: Set,
    pub q_stream: Set,
    pub q_sql_methods: Set,
    pub q_orm_starters: Set,
    pub q_handle_types: Set,
    pub q_handle_names: Regex,
    pub q_not_queries: Set,
    pub common_methods: Set,
    pub cache_methods: Set,
    pub cache_receivers: Regex,
    pub write_words: Set,
    pub per_element_adaptors: Set,
    pub iterator_sources: Set,
    pub batch_sources: Set,
    pub data_pullers: Set,
    pub not_data: Regex,
    pub offload_calls: Vec<String>,
    pub blocking_paths: Vec<String>,
    pub blocking_methods: Set,
    pub path_probes: Set,
    pub path_receivers: Regex,
    pub process_waits: Set,
    pub ext_paths: Vec<String>,
    pub http_verbs: Set,
    pub http_send: Set,
    pub http_receivers: Regex,
    pub sdk_receivers: Regex,
    pub redis_receivers: Regex,
    pub redis_methods: Set,
    pub broker_receivers: Regex,
    pub broker_methods: Set,
    pub mail_receivers: Regex,
    pub mail_methods: Set,
    pub store_receivers: Regex,
    pub store_methods: Set,
    pub payment_words: Regex,
    pub client_constructors: Vec<String>,
    pub client_builders: Vec<String>,
    pub timeout_methods: Set,
    pub langs: Langs,
    pub arch: ArchKnowledge,
}

impl Knowledge {
    /// The built-in knowledge with the user's additions.
    pub fn load(extra: Option<&RawKnowledge>) -> Result<Knowledge, String> {
        let mut raw: RawKnowledge =
            toml::from_str(RUST_TOML).map_err(|e| format!("rules/rust.toml: {e}"))?;
        let arch: RawKnowledge = toml::from_str(ARCHITECTURE_TOML)
            .map_err(|e| format!("rules/architecture.toml: {e}"))?;
        raw.merge(&arch);
        if let Some(extra) = extra {
            raw.merge(extra);
        }
        Self::compile(&raw)
    }

    fn compile(r: &RawKnowledge) -> Result<Knowledge, String> {
        let (q, l, b, e) = (&r.query, &r.loops, &r.blocking, &r.external);
        Ok(Knowledge {
            q_constructors: q.constructors.clone(),
            q_macros: set(&q.macros),
            q_terminals: set(&q.terminals),
            q_one_row: set(&q.one_row_terminals),
            q_many_rows: set(&q.many_row_terminals),
            q_stream: set(&q.stream_terminals),
            q_sql_methods: set(&q.sql_methods),
            q_orm_starters: set(&q.orm_starters),
            q_handle_types: set(&q.handle_types),
            q_handle_names: re(&q.handle_names)?,
            q_not_queries: set(&q.not_queries),
            common_methods: set(&q.common_methods),
            cache_methods: set(&q.cache_methods),
            cache_receivers: re(&q.cache_receivers)?,
            write_words: set(&q.write_words),
            per_element_adaptors: set(&l.per_element_adaptors),
            iterator_sources: set(&l.iterator_sources),
            batch_sources: set(&l.batch_sources),
            data_pullers: set(&l.data_pullers),
            not_data: re(&l.not_data)?,
            offload_calls: r.offload.calls.clone(),
            blocking_paths: b.paths.clone(),
            blocking_methods: set(&b.methods),
            path_probes: set(&b.path_probes),
            path_receivers: re(&b.path_receivers)?,
            process_waits: set(&b.process_waits),
            ext_paths: e.paths.clone(),
            http_verbs: set(&e.http_verbs),
            http_send: set(&e.http_send),
            http_receivers: re(&e.http_receivers)?,
            sdk_receivers: re(&e.sdk_receivers)?,
            redis_receivers: re(&e.redis_receivers)?,
            redis_methods: set(&e.redis_methods),
            broker_receivers: re(&e.broker_receivers)?,
            broker_methods: set(&e.broker_methods),
            mail_receivers: re(&e.mail_receivers)?,
            mail_methods: set(&e.mail_methods),
            store_receivers: re(&e.store_receivers)?,
            store_methods: set(&e.store_methods),
            payment_words: re(&e.payment_words)?,
            client_constructors: e.client_constructors.clone(),
            client_builders: e.client_builders.clone(),
            timeout_methods: set(&e.timeout_methods),
            langs: Langs::load()?,
            arch: ArchKnowledge {
                observability: Evidence::compile(&r.architecture.observability)?,
                request_logging: Evidence::compile(&r.architecture.request_logging)?,
                rate_limit: Evidence::compile(&r.architecture.rate_limit)?,
                validation: Evidence::compile(&r.architecture.validation)?,
                idempotency: Evidence::compile(&r.architecture.idempotency)?,
                reference_tables: r
                    .architecture
                    .reference_tables
                    .iter()
                    .map(|n| n.to_ascii_lowercase())
                    .collect(),
            },
        })
    }

    /// The knowledge of a tree-sitter language.
    pub fn lang(&self, l: crate::model::Lang) -> Option<&LangKnowledge> {
        use crate::model::Lang;
        match l {
            Lang::Python => Some(&self.langs.python),
            Lang::TypeScript | Lang::JavaScript => Some(&self.langs.typescript),
            Lang::Go => Some(&self.langs.go),
            _ => None,
        }
    }

    /// Does a written path (after import resolution) end with one of `list`'s paths?
    /// `sqlx::query` matches `sqlx::query` and `query` (imported), never `my_query`.
    pub fn path_in(path: &str, list: &[String]) -> bool {
        list.iter().any(|p| path_matches(path, p))
    }
}

/// `path` equals `pat`, or ends with `::pat`, or `pat` ends with `::` and `path` starts with it.
pub fn path_matches(path: &str, pat: &str) -> bool {
    if let Some(prefix) = pat.strip_suffix("::") {
        return path.starts_with(pat) || path == prefix;
    }
    path == pat
        || (path.len() > pat.len()
            && path.ends_with(pat)
            && path[..path.len() - pat.len()].ends_with("::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_knowledge_loads() {
        let k = Knowledge::load(None).unwrap();
        assert!(k.q_terminals.contains("fetch_all"));
        assert!(k.q_handle_names.is_match("pool"));
        assert!(k.q_handle_names.is_match("read_pool"));
        assert!(!k.q_handle_names.is_match("items"));
    }

    #[test]
    fn user_knowledge_extends_builtin() {
        let extra: RawKnowledge =
            toml::from_str("[query]\nconstructors = [\"crate::db::sql\"]\n").unwrap();
        let k = Knowledge::load(Some(&extra)).unwrap();
        assert!(Knowledge::path_in("crate::db::sql", &k.q_constructors));
        assert!(Knowledge::path_in("sqlx::query", &k.q_constructors));
    }

    #[test]
    fn path_matching_respects_segments() {
        assert!(path_matches("sqlx::query", "query"));
        assert!(!path_matches("my_query", "query"));
        assert!(path_matches("std::fs::read", "std::fs::"));
        assert!(!path_matches("tokio::fs::read", "std::fs::"));
    }
}

pub const PYTHON_TOML: &str = include_str!("../rules/python.toml");
pub const TYPESCRIPT_TOML: &str = include_str!("../rules/typescript.toml");
pub const GO_TOML: &str = include_str!("../rules/go.toml");

/// One pattern of a tree-sitter language's knowledge file.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawPattern {
    pub callee: String,
    #[serde(default)]
    pub rows: Option<String>,
    #[serde(default)]
    pub bound: Option<String>,
    #[serde(default)]
    pub lazy: bool,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub write: Option<String>,
    /// Only in files that import a module starting with this (`django`).
    #[serde(default)]
    pub requires: Option<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RawLang {
    pub query: Vec<RawPattern>,
    pub external: Vec<RawPattern>,
    pub blocking: Vec<RawPattern>,
    /// The language's own global objects (`Object`, `Array`, `JSON`): a
    /// chain that starts at one is never a query or an external call, however
    /// its method is named (`Object.create(proto)`, `Array.from(x).find(..)`).
    #[serde(default)]
    pub builtins: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    One,
    Many,
    Write,
    /// Runs SQL given as its first argument: the SQL decides.
    Sql,
}

#[derive(Debug)]
pub struct Pattern {
    pub callee: Regex,
    pub rows: Rows,
    pub bound: Option<Regex>,
    /// A lazy query object (Django queryset, knex builder): a query only when
    /// it ends the chain.
    pub lazy: bool,
    pub kind: String,
    pub timeout: Option<Regex>,
    pub write: Option<Regex>,
    pub requires: Option<String>,
}

/// Knowledge of one tree-sitter language.
#[derive(Debug, Default)]
pub struct LangKnowledge {
    pub query: Vec<Pattern>,
    pub external: Vec<Pattern>,
    pub blocking: Vec<Pattern>,
    pub builtins: Vec<String>,
}

impl LangKnowledge {
    fn compile(raw: &RawLang, file: &str) -> Result<LangKnowledge, String> {
        let pat = |p: &RawPattern| -> Result<Pattern, String> {
            let opt = |s: &Option<String>| {
                s.as_deref()
                    .map(Regex::new)
                    .transpose()
                    .map_err(|e| format!("{file}: {e}"))
            };
            Ok(Pattern {
                callee: Regex::new(&p.callee).map_err(|e| format!("{file}: {e}"))?,
                rows: match p.rows.as_deref() {
                    Some("many") => Rows::Many,
                    Some("write") => Rows::Write,
                    Some("sql") => Rows::Sql,
                    _ => Rows::One,
                },
                bound: opt(&p.bound)?,
                lazy: p.lazy,
                kind: p.kind.clone().unwrap_or_else(|| "database".into()),
                timeout: opt(&p.timeout)?,
                write: opt(&p.write)?,
                requires: p.requires.clone(),
            })
        };
        Ok(LangKnowledge {
            query: raw.query.iter().map(pat).collect::<Result<_, _>>()?,
            external: raw.external.iter().map(pat).collect::<Result<_, _>>()?,
            blocking: raw.blocking.iter().map(pat).collect::<Result<_, _>>()?,
            builtins: raw.builtins.clone(),
        })
    }

    /// The call as written, with `()` after earlier calls: `User.objects.filter().first`.
    pub fn dotted(m: &crate::model::FileModel, id: usize) -> String {
        let chain = m.chain(id);
        let pos = chain.iter().position(|&x| x == id).unwrap_or(0);
        let first = &m.calls[chain[0]];
        let mut s = first.root.clone();
        for (i, &x) in chain[..=pos].iter().enumerate() {
            let c = &m.calls[x];
            let mut name = c.name.clone();
            if i == 0 && c.kind == crate::model::CallKind::Path {
                if let Some(imp) = m.imports.iter().find(|imp| imp.alias == c.name) {
                    if !imp.path.ends_with(&format!(".{}", c.name))
                        || imp.path.split('.').next() != Some(c.name.as_str())
                    {
                        name = imp.path.clone();
                    }
                }
            }
            if i > 0 {
                s.push_str("().");
            } else if !s.is_empty() {
                s.push('.');
            }
            s.push_str(&name);
        }
        s
    }

    /// The whole chain with its arguments, for bound and timeout patterns.
    pub fn chain_text(m: &crate::model::FileModel, id: usize) -> String {
        let mut s = String::new();
        for x in m.chain(id) {
            let c = &m.calls[x];
            s.push('.');
            s.push_str(&c.name);
            s.push('(');
            for a in &c.args {
                s.push_str(&a.text);
                s.push(',');
            }
            s.push(')');
        }
        s
    }

    fn find<'p>(
        &self,
        pats: &'p [Pattern],
        m: &crate::model::FileModel,
        id: usize,
    ) -> Option<&'p Pattern> {
        let d = Self::dotted(m, id);
        let head = d.split(['.', '(']).next().unwrap_or("");
        if self.builtins.iter().any(|b| b == head) {
            return None;
        }
        pats.iter().find(|p| {
            p.callee.is_match(&d)
                && p.requires
                    .as_deref()
                    .is_none_or(|r| m.imports.iter().any(|i| i.path.starts_with(r)))
        })
    }

    /// The query pattern this call matches (lazy builders only at the end of their chain).
    pub fn query_of(&self, m: &crate::model::FileModel, id: usize) -> Option<&Pattern> {
        let p = self.find(&self.query, m, id)?;
        if p.lazy && m.calls[id].next.is_some() {
            return None;
        }
        // `os.path.exists(p)`: a module brought in by `import os`, not an
        // instance's related manager or a session.
        if m.lang == crate::model::Lang::Python {
            let root = &m.calls[m.chain(id)[0]].root;
            let head = root.split('.').next().unwrap_or("");
            if !head.is_empty()
                && m.imports
                    .iter()
                    .any(|i| i.alias == i.path && i.path.split('.').next() == Some(head))
            {
                return None;
            }
        }
        Some(p)
    }

    pub fn sql_call(&self, m: &crate::model::FileModel, id: usize) -> bool {
        self.query_of(m, id).is_some_and(|p| p.rows == Rows::Sql)
    }

    pub fn external_of(&self, m: &crate::model::FileModel, id: usize) -> Option<&Pattern> {
        self.find(&self.external, m, id)
    }

    pub fn blocking_of(&self, m: &crate::model::FileModel, id: usize) -> Option<&Pattern> {
        self.find(&self.blocking, m, id)
    }
}

/// Knowledge of every tree-sitter language, loaded once.
#[derive(Debug, Default)]
pub struct Langs {
    pub python: LangKnowledge,
    pub typescript: LangKnowledge,
    pub go: LangKnowledge,
}

impl Langs {
    pub fn load() -> Result<Langs, String> {
        let parse = |text: &str, file: &str| -> Result<LangKnowledge, String> {
            let raw: RawLang = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
            LangKnowledge::compile(&raw, file)
        };
        Ok(Langs {
            python: parse(PYTHON_TOML, "rules/python.toml")?,
            typescript: parse(TYPESCRIPT_TOML, "rules/typescript.toml")?,
            go: parse(GO_TOML, "rules/go.toml")?,
        })
    }
}
