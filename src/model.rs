//! The language-neutral model every frontend fills and every rule reads.
//!
//! Rules never see a syn, tree-sitter or sqlparser type: a frontend lowers its
//! tree into one [`FileModel`] per file and the tree is dropped. Keeping the
//! model small (names, spans, a few flags) is what keeps memory bounded by the
//! files in flight rather than by the syntax trees of the whole repository.

use crate::source::{Pos, Span};

pub type FnId = usize;
pub type CallId = usize;
pub type LoopId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Lang {
    Rust,
    Sql,
    Python,
    TypeScript,
    JavaScript,
    Go,
    /// Configuration and any other text: scanned for secrets only.
    Text,
}

impl Lang {
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Sql => "sql",
            Lang::Python => "python",
            Lang::TypeScript => "typescript",
            Lang::JavaScript => "javascript",
            Lang::Go => "go",
            Lang::Text => "text",
        }
    }
}

/// Languages whose code can call each other's functions: a call never
/// resolves outside its own family (TypeScript and JavaScript are one).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Family {
    Rust,
    Python,
    Js,
    Go,
    /// SQL and configuration: no functions to call.
    #[default]
    Other,
}

impl Lang {
    pub fn family(self) -> Family {
        match self {
            Lang::Rust => Family::Rust,
            Lang::Python => Family::Python,
            Lang::TypeScript | Lang::JavaScript => Family::Js,
            Lang::Go => Family::Go,
            Lang::Sql | Lang::Text => Family::Other,
        }
    }
}

/// What a path tells about the code in a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PathKind {
    /// Tests, benches, fixtures, examples, build scripts: not production code.
    pub test: bool,
    /// Documentation and example configuration (`.env.example`, `docs/`).
    pub example: bool,
    /// A migrations folder: SQL there is schema, not queries.
    pub migration: bool,
    /// A down (rollback) migration: it undoes schema changes, so neither the
    /// schema replay nor the report's `schemas_modified` reads it.
    pub rollback: bool,
    /// What the file is to the review ([`crate::roles`]).
    pub role: crate::roles::Role,
}

/// The type given to a callback's parameter that the frontend adds as a
/// parameter of the enclosing function (`conn.run(|c| ..)`: `c` is a
/// connection whatever it is named). Not a type written in the code, so
/// resolution never takes it as a receiver's type.
pub const CALLBACK_CONNECTION: &str = "Connection";

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Param {
    pub name: String,
    /// The type as written, e.g. `&mut PgConnection` (empty when untyped).
    pub ty: String,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Function {
    pub name: String,
    /// The `impl` self type (or trait, for default methods) the function belongs to.
    pub owner: Option<String>,
    /// `impl Trait for Type`: the trait.
    pub trait_name: Option<String>,
    pub is_async: bool,
    pub is_test: bool,
    /// The return type as written (empty for `()`).
    pub returns: String,
    pub has_self: bool,
    pub params: Vec<Param>,
    /// Where the name is written.
    pub span: Span,
    /// The body consults a cache before it queries (moka, OnceCell, a map named cache).
    pub cached: bool,
    /// Handler-like: takes framework extractors (`State`, `Json`, `Path`, `web::Data`).
    pub handler_like: bool,
    /// Variables the body tests in `if`/`match` conditions or `ensure!`-style
    /// macros: hand-written input checks.
    pub checked: Vec<String>,
    /// `#[instrument]` / `#[tracing::instrument]`: every call gets a span.
    pub instrumented: bool,
    /// The inline module it is defined in (`mod repo { fn f() {} }` -> `repo`).
    pub inline_mod: Option<String>,
    /// The body logs the errors it meets (`if let Err(e) = .. { error!(..) }`,
    /// `.map_err(|e| warn!(..))`): a caller discarding its result loses nothing
    /// the logs do not already have.
    pub logs_errors: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CallKind {
    /// `recv.name(args)`
    Method,
    /// `path::name(args)` or `name(args)`
    Path,
    /// `path::name!(args)`
    Macro,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ArgKind {
    /// A string literal; the index into [`FileModel::literals`].
    Str(usize),
    /// A closure or an async block.
    Closure,
    /// `Some(..)` (for summaries that only query on the `None` path).
    Some,
    /// `None`.
    None,
    /// A bare path, e.g. a constant `FIND_USER`.
    Path(String),
    Other,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Arg {
    /// Normalised text (whitespace removed), for handle detection and messages.
    pub text: String,
    pub kind: ArgKind,
}

/// How the value at the end of a call chain is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Usage {
    /// `expr;`
    Discarded,
    /// `let _ = expr;` or `_ = expr;`
    LetUnderscore,
    /// `let x = expr;`
    Bound,
    /// Returned, matched, passed on, or otherwise used.
    Used,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Call {
    pub func: Option<FnId>,
    pub kind: CallKind,
    /// The last path segment or method name: `fetch_all`, `query`, `read_to_string`.
    pub name: String,
    /// Path segments as written, for path calls and macros (`["sqlx", "query"]`).
    pub path: Vec<String>,
    /// For the first call of a method chain: the receiver expression's text
    /// (`self.pool`, `client`). Later calls share the chain's root.
    pub root: String,
    pub args: Vec<Arg>,
    /// From the start of the chain to the end of this call (incl. `.await`/`?`).
    pub span: Span,
    /// The call chained on this one's result (`a.b().c()`: b.next = c).
    pub next: Option<CallId>,
    /// The call this one is chained on.
    pub prev: Option<CallId>,
    pub awaited: bool,
    pub tried: bool,
    /// Usage of the chain's final value (meaningful on the last call of a chain).
    pub usage: Usage,
    /// Enclosing per-element contexts inside the function, innermost last.
    pub loops: Vec<LoopId>,
    /// Runs on an async executor thread (async fn or block, or a sync closure in one).
    pub in_async: bool,
    /// Inside `spawn_blocking`, `block_in_place` or a dedicated thread.
    pub offloaded: bool,
    pub in_test: bool,
    /// On a branch that leaves the innermost loop right after (return/break).
    pub exits_loop: bool,
    /// Inside a closure passed to a cache (`get_or_init`, `try_get_with`).
    pub in_cache_closure: bool,
    /// Runs only when the function's parameter of this index is `None`.
    pub none_guard: Option<usize>,
    /// Inside a `try` whose handler swallows the error (`except: pass`, `catch {}`).
    pub swallowed: bool,
    /// The result is sliced right away (`qs[:10]`): bounded by the caller.
    pub sliced: bool,
    /// `let name = <chain>`: the variable holding the chain's value.
    pub bound_to: Option<String>,
    /// The innermost call this one runs inside a closure argument of
    /// (`conn.run(|c| users.load(c))`: `load` is in `run`'s closure), or the
    /// macro whose body it was read from. The linker decides from it whether a
    /// crate's own helper moves the closure off the executor.
    pub closure_of: Option<CallId>,
    /// `name = <chain>` (an assignment, not a `let`): the variable it replaces.
    pub assigned_to: Option<String>,
    /// The condition of the innermost `if`/`match` branch of its function it
    /// runs on (`let Some(n) = limit`, `else of x > 0`, `match kind`).
    pub branch: Option<String>,
}

impl Call {
    /// A call with no context yet: frontends fill in what they know
    /// (enclosing function, loops, async, test code) after this.
    pub fn new(
        func: Option<FnId>,
        kind: CallKind,
        name: String,
        path: Vec<String>,
        span: Span,
    ) -> Call {
        Call {
            func,
            kind,
            name,
            path,
            root: String::new(),
            args: Vec::new(),
            span,
            next: None,
            prev: None,
            awaited: false,
            tried: false,
            usage: Usage::Used,
            loops: Vec::new(),
            in_async: false,
            offloaded: false,
            in_test: false,
            exits_loop: false,
            in_cache_closure: false,
            none_guard: None,
            swallowed: false,
            sliced: false,
            bound_to: None,
            closure_of: None,
            assigned_to: None,
            branch: None,
        }
    }

    pub fn full_path(&self) -> String {
        self.path.join("::")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LoopKind {
    For,
    While,
    Loop,
    /// A closure of an iterator or stream adaptor (`map`, `for_each`, `then`).
    IterClosure,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Loop {
    pub kind: LoopKind,
    /// Iterates over data of unknown size (not a literal list, a small constant
    /// range, a retry or poll loop).
    pub per_element: bool,
    /// Iterates over chunks: one batched query per chunk is the fix, not the bug.
    pub batched: bool,
    /// What it iterates over, for messages (`orders`).
    pub over: String,
    /// The loop header (`for x in orders`).
    pub span: Span,
}

/// A string literal with what it is bound to.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Literal {
    pub value: String,
    /// Span of the literal's content (inside the quotes when known).
    pub span: Span,
    /// Byte offset in the host file where the content starts, when the content
    /// maps 1:1 to source bytes (no escapes), for exact positions inside it.
    pub raw_offset: Option<usize>,
    /// The name it is assigned to: const/let name, field, key, keyword argument.
    pub name: Option<String>,
    /// The call it is an argument of, and which argument: `(basic_auth, 1)`.
    pub sink: Option<(String, usize)>,
    pub in_test: bool,
    pub in_comment: bool,
}

/// A `use` import: `alias` stands for `path`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Import {
    pub alias: String,
    pub path: String,
}

/// A named string constant (`const FIND_USER: &str = "SELECT ..."`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ConstStr {
    pub name: String,
    pub literal: usize,
}

/// A SQL statement found in a `.sql` file or in a string at a query API call.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SqlStmt {
    pub span: Span,
    pub facts: SqlFacts,
    /// Whitespace-normalised text (bounded length), for fingerprints and messages.
    pub text: String,
    /// The query call that runs it (embedded SQL).
    pub call: Option<CallId>,
    /// sqlc-style `-- name: X :one` annotation says one row.
    pub one_row: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SqlFacts {
    Select(SelectFacts),
    Write { verb: String, table: String },
    Ddl(Vec<DdlFact>),
    Other,
}

/// What decides whether a SELECT is bounded, extracted from the parse tree.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SelectFacts {
    pub limited: bool,
    pub no_from: bool,
    pub aggregate_only: bool,
    pub group_by: bool,
    pub has_where: bool,
    /// Tables read (name, alias); the first is the main table.
    pub tables: Vec<(String, Option<String>)>,
    /// Columns pinned by equality to a single value or a bound list (`= $1`,
    /// `= ANY($1)`, `IN (..)`), with their qualifier.
    pub pinned: Vec<(Option<String>, String)>,
    /// Joined tables with the columns of theirs the join condition equates.
    pub joins: Vec<JoinFacts>,
    /// Columns of other predicates (for messages).
    pub filtered: Vec<String>,
    /// Other branches of a UNION/INTERSECT/EXCEPT.
    pub branches: Vec<SelectFacts>,
    /// Names defined by WITH: reading one is reading a derived table.
    pub ctes: Vec<String>,
    /// The facts of each WITH query, in the order of `ctes` (empty for a
    /// recursive WITH, whose size its own body does not tell).
    pub cte_facts: Vec<SelectFacts>,
    /// Keyset pagination (`WHERE id > $1 ORDER BY id` with a LIMIT) is covered by
    /// `limited`; this records a cursor predicate without LIMIT for the message.
    pub cursor: bool,
    /// The ORDER BY columns, in order, with their qualifier (expressions left out).
    pub order_by: Vec<(Option<String>, String)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JoinFacts {
    pub table: String,
    pub alias: Option<String>,
    pub equated: Vec<String>,
}

/// One schema change from DDL (migrations, `table!` macros).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DdlFact {
    pub table: String,
    pub change: DdlChange,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DdlChange {
    CreateTable {
        keys: Vec<Vec<String>>,
    },
    DropTable,
    RenameTable {
        to: String,
    },
    AddColumn(String),
    DropColumn(String),
    RenameColumn {
        from: String,
        to: String,
    },
    AlterColumn(String),
    AddUnique(Vec<String>),
    DropConstraint(String),
    /// A CHECK or FOREIGN KEY constraint (named when the migration names it).
    AddConstraint(String),
    CreateIndex {
        name: String,
        columns: Vec<String>,
        unique: bool,
    },
    DropIndex(String),
    /// `ALTER INDEX a RENAME TO b`, `ALTER TABLE t RENAME CONSTRAINT a TO b`.
    RenameIndex {
        from: String,
        to: String,
    },
    /// A view, with the facts of its SELECT (checked outside migrations).
    CreateView(Option<Box<SelectFacts>>),
}

/// A process-wide `static` (or `lazy_static!`) item.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Static {
    pub name: String,
    pub ty: String,
    pub mutable: bool,
    pub pos: Pos,
}

/// A `std::sync::Mutex`-style guard still alive at an `.await`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GuardAcrossAwait {
    pub lock_call: CallId,
    pub await_pos: Pos,
}

/// An inline suppression comment: `archlint: allow(rule) reason`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Suppression {
    pub line: u32,
    pub rules: Vec<String>,
    pub reason: String,
}

/// An HTTP route declared in code.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub handler: String,
    pub pos: Pos,
    pub framework: String,
    /// The router variable a decorator route hangs on (`@router.get` -> `router`).
    pub router: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FileModel {
    pub lang: Lang,
    pub kind: PathKind,
    /// Module path segments derived from the file path (`src/repo/users.rs` -> `repo`, `users`).
    pub module: Vec<String>,
    pub functions: Vec<Function>,
    pub calls: Vec<Call>,
    pub loops: Vec<Loop>,
    pub literals: Vec<Literal>,
    pub imports: Vec<Import>,
    pub consts: Vec<ConstStr>,
    pub sql: Vec<SqlStmt>,
    /// Query calls whose SQL is a constant defined elsewhere: (call, const name).
    pub sql_refs: Vec<(CallId, String)>,
    pub guards: Vec<GuardAcrossAwait>,
    pub suppressions: Vec<Suppression>,
    pub routes: Vec<Route>,
    pub statics: Vec<Static>,
    /// What made the file unanalysable, in whole or from some point on
    /// (syntax tree not built, time budget): the report's blockers.
    pub parse_errors: Vec<String>,
    /// `macro_rules!` macros defined here whose expansion runs an argument
    /// inside an offloader (`$conn.run(move |$conn| $body)`, `spawn_blocking`):
    /// (macro name, the call in the expansion that receives the body).
    pub offload_macros: Vec<(String, String)>,
    /// SQL not read in full: statements sqlparser rejected (salvaged or not),
    /// bodies skipped, literals at query calls that are not whole SQL. Counted
    /// in the report's stats, never blockers.
    pub sql_skipped: Vec<SkippedSql>,
    /// The SQL dialect this file was read in.
    pub dialect: crate::frontend::sql::Dialect,
    /// Python classes: their bases and class-level assignments, for framework
    /// conventions (a Django REST Framework view paginates its list).
    pub classes: Vec<ClassDef>,
}

/// A class, its bases as written and its class-level `name = value` lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassDef {
    pub name: String,
    pub bases: Vec<String>,
    pub attrs: Vec<(String, String)>,
}

/// A piece of SQL archlint did not read in full.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkippedSql {
    pub line: u32,
    pub kind: SkipKind,
    /// The parser's message (empty for bodies).
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SkipKind {
    /// A statement of a SQL file sqlparser rejected, whose form the token reader knows.
    Salvaged,
    /// A statement of a SQL file neither sqlparser nor the token reader knows.
    Rejected,
    /// A routine body or `DO` block.
    Body,
    /// A SQL-looking literal at a query call that does not parse (a template, a piece).
    Fragment,
}

impl FileModel {
    pub fn new(lang: Lang, kind: PathKind) -> Self {
        FileModel {
            lang,
            kind,
            module: Vec::new(),
            functions: Vec::new(),
            calls: Vec::new(),
            loops: Vec::new(),
            literals: Vec::new(),
            imports: Vec::new(),
            consts: Vec::new(),
            sql: Vec::new(),
            sql_refs: Vec::new(),
            guards: Vec::new(),
            suppressions: Vec::new(),
            routes: Vec::new(),
            statics: Vec::new(),
            parse_errors: Vec::new(),
            offload_macros: Vec::new(),
            sql_skipped: Vec::new(),
            dialect: Default::default(),
            classes: Vec::new(),
        }
    }

    /// The calls of a chain, from its first call to its last.
    pub fn chain(&self, id: CallId) -> Vec<CallId> {
        let mut first = id;
        while let Some(p) = self.calls[first].prev {
            first = p;
        }
        let mut out = vec![first];
        let mut cur = first;
        while let Some(n) = self.calls[cur].next {
            out.push(n);
            cur = n;
        }
        out
    }

    /// The last call of the chain `id` belongs to.
    pub fn chain_end(&self, mut id: CallId) -> CallId {
        while let Some(n) = self.calls[id].next {
            id = n;
        }
        id
    }

    /// Resolve the first segment of a path through this file's imports.
    pub fn resolve_path(&self, path: &[String]) -> String {
        if let Some(first) = path.first() {
            if let Some(imp) = self.imports.iter().find(|i| &i.alias == first) {
                let mut s = imp.path.clone();
                for seg in &path[1..] {
                    s.push_str("::");
                    s.push_str(seg);
                }
                return s;
            }
        }
        path.join("::")
    }
}
