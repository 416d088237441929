//! `archlint mcp [ROOT]`: a Model Context Protocol server over stdio (rmcp).
//!
//! The workspace is ROOT. The analysis of the whole workspace is kept in
//! memory and redone when a file under ROOT changed on disk (size or mtime;
//! the engine has no incremental mode, so the whole workspace is analysed
//! again). `check` with arguments runs the engine with exactly the options
//! `archlint check` would use. Nothing is written to disk; standard output is
//! the protocol's, so nothing else is printed there.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, JsonObject, ServerCapabilities, ServerConfig};
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData, ServerHandler, ServiceExt};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::engine::{self, Analysis};
use crate::model::{DdlChange, Lang, SqlFacts};
use crate::report::Report;

/// Serve the workspace `root` on standard input and output until the client
/// closes the connection. Returns the process exit code.
pub fn serve(root: &Path) -> Result<i32, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    if !root.is_dir() {
        return Err(format!("{}: not a directory", root.display()));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async move {
        let server = Server::new(root);
        let service = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| format!("mcp: {e}"))?;
        service.waiting().await.map_err(|e| format!("mcp: {e}"))?;
        Ok(0)
    })
}

/// A file's size and modification time, by path: what says the analysis is stale.
type Stamp = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

struct Cached {
    stamp: Stamp,
    analysis: Analysis,
    elapsed_ms: u64,
}

struct Workspace {
    root: PathBuf,
    cached: Mutex<Option<Cached>>,
}

#[derive(Clone)]
pub struct Server {
    ws: Arc<Workspace>,
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CheckParams {
    /// Files or folders inside the workspace whose findings to report (default: all).
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    /// Only run these rules (ids as listed by `archlint rules`).
    #[serde(default)]
    pub select: Option<Vec<String>>,
    /// Do not run these rules.
    #[serde(default)]
    pub ignore: Option<Vec<String>>,
    /// Report only findings in files changed since this git revision.
    #[serde(default)]
    pub changed_since: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FileParams {
    /// A file of the workspace, relative to its root (or absolute inside it).
    pub path: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ExplainParams {
    /// A rule id, e.g. n-plus-one-query.
    pub rule: String,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct EndpointsParams {
    /// Only endpoints whose path starts with this prefix, e.g. /api/orders.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Only endpoints of this HTTP method (case-insensitive), e.g. POST.
    #[serde(default)]
    pub method: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct SchemaParams {
    /// Only this table.
    #[serde(default)]
    pub table: Option<String>,
}

fn invalid(msg: impl Into<String>) -> ErrorData {
    ErrorData::invalid_params(msg.into(), None)
}

fn internal(msg: impl Into<String>) -> ErrorData {
    ErrorData::internal_error(msg.into(), None)
}

fn object_schema(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(o) => Arc::new(o),
        _ => Arc::new(JsonObject::new()),
    }
}

/// The `check` tool's output: the agent report's own schema.
fn report_schema() -> Arc<JsonObject> {
    let mut v: Value = serde_json::from_str(include_str!("../schema/agent-output.schema.json"))
        .unwrap_or_else(|_| json!({"type": "object"}));
    if let Some(o) = v.as_object_mut() {
        // A tool's output schema is embedded in the tools list: no meta-schema URI.
        o.remove("$schema");
    }
    object_schema(v)
}

fn finding_schema() -> Value {
    json!({
        "type": "object",
        "required": ["rule", "severity", "message", "path", "line"],
        "properties": {
            "rule": {"type": "string"},
            "severity": {"enum": ["error", "warning", "info"]},
            "message": {"type": "string"},
            "path": {"type": "string"},
            "line": {"type": "integer"},
            "column": {"type": "integer"},
            "end_line": {"type": "integer"},
            "end_column": {"type": "integer"},
            "fingerprint": {"type": "string"},
            "help": {"type": "string"},
            "related": {"type": "array", "items": {"type": "object"}}
        }
    })
}

fn findings_for_file_schema() -> Arc<JsonObject> {
    object_schema(json!({
        "type": "object",
        "required": ["path", "findings"],
        "properties": {
            "path": {"type": "string"},
            "findings": {"type": "array", "items": finding_schema()}
        }
    }))
}

fn explain_schema() -> Arc<JsonObject> {
    object_schema(json!({
        "type": "object",
        "required": ["rule", "summary", "default_severity", "text"],
        "properties": {
            "rule": {"type": "string"},
            "summary": {"type": "string"},
            "default_severity": {"enum": ["error", "warning", "info"]},
            "text": {"type": "string", "description": "Markdown: what it catches, why, an example, the fix"}
        }
    }))
}

fn endpoints_schema() -> Arc<JsonObject> {
    object_schema(json!({
        "type": "object",
        "required": ["endpoints"],
        "properties": {
            "endpoints": {"type": "array", "items": {
                "type": "object",
                "required": ["method", "path", "file", "line"],
                "properties": {
                    "method": {"type": "string"},
                    "path": {"type": "string"},
                    "handler": {"type": "string"},
                    "file": {"type": "string"},
                    "line": {"type": "integer"},
                    "framework": {"type": "string"}
                }
            }}
        }
    }))
}

fn schema_schema() -> Arc<JsonObject> {
    let change = json!({
        "type": "object",
        "required": ["change", "file", "line"],
        "properties": {
            "change": {"type": "string"},
            "file": {"type": "string"},
            "line": {"type": "integer"}
        }
    });
    object_schema(json!({
        "type": "object",
        "required": ["tables"],
        "properties": {
            "tables": {"type": "array", "items": {
                "type": "object",
                "required": ["table", "columns", "keys", "indexes", "history"],
                "properties": {
                    "table": {"type": "string"},
                    "columns": {"type": "array", "items": {"type": "string"}},
                    "keys": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
                    "indexes": {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "unique": {"type": "boolean"}
                        }
                    }},
                    "history": {"type": "array", "items": change}
                }
            }}
        }
    }))
}

#[tool_router]
impl Server {
    pub fn new(root: PathBuf) -> Server {
        Server {
            ws: Arc::new(Workspace {
                root,
                cached: Mutex::new(None),
            }),
            tool_router: Self::tool_router(),
        }
    }

    /// The agent JSON report, exactly as `archlint check --format json ROOT` gives it.
    #[tool(
        description = "Analyse the workspace and return the agent JSON report (the output of `archlint check --format json`): status, architecture decisions, endpoints, schema changes, findings, recommendations, blockers, stats. Optional: paths (report findings only there), select/ignore (rule ids), changed_since (a git revision).",
        output_schema = report_schema()
    )]
    fn check(&self, Parameters(p): Parameters<CheckParams>) -> Result<CallToolResult, ErrorData> {
        let plain = p.paths.is_none()
            && p.select.is_none()
            && p.ignore.is_none()
            && p.changed_since.is_none();
        let report = if plain {
            self.ws.with_analysis(Report::build)?
        } else {
            self.ws.check_with(&p)?
        };
        structured(&report)
    }

    /// The findings of one file, with related locations and help.
    #[tool(
        description = "Findings in one file of the workspace (for an agent that just edited it), with related locations and help. The file is re-analysed if it changed on disk.",
        output_schema = findings_for_file_schema()
    )]
    fn findings_for_file(
        &self,
        Parameters(p): Parameters<FileParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let (abs, rel) = self.ws.resolve(&p.path)?;
        if abs.is_dir() {
            return Err(invalid(format!("{}: a directory, not a file", p.path)));
        }
        std::fs::File::open(&abs).map_err(|e| invalid(format!("{}: cannot read: {e}", p.path)))?;
        let findings = self.ws.with_analysis(|a, _| {
            a.findings
                .iter()
                .filter(|f| f.path == rel)
                .cloned()
                .collect::<Vec<_>>()
        })?;
        structured(&json!({"path": rel, "findings": findings}))
    }

    /// A rule's documentation.
    #[tool(
        description = "A rule's documentation (markdown): what it catches, why it matters, an example and the fix.",
        output_schema = explain_schema()
    )]
    fn explain(
        &self,
        Parameters(p): Parameters<ExplainParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let r = crate::rules::find(&p.rule).ok_or_else(|| {
            let ids: Vec<&str> = crate::rules::all().iter().map(|r| r.meta().id).collect();
            invalid(format!(
                "unknown rule `{}` (rules: {})",
                p.rule,
                ids.join(", ")
            ))
        })?;
        let m = r.meta();
        structured(&json!({
            "rule": m.id,
            "summary": m.summary,
            "default_severity": m.default_severity.as_str(),
            "text": crate::explain(m.id).map_err(invalid)?,
        }))
    }

    /// The HTTP endpoints of the workspace.
    #[tool(
        description = "The endpoint inventory: method, full path, handler, file and line, framework. Optional filters: prefix (path prefix) and method.",
        output_schema = endpoints_schema()
    )]
    fn endpoints(
        &self,
        Parameters(p): Parameters<EndpointsParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let eps = self.ws.with_analysis(|a, _| {
            a.endpoints
                .iter()
                .filter(|e| {
                    p.prefix
                        .as_ref()
                        .is_none_or(|x| e.path.starts_with(x.as_str()))
                })
                .filter(|e| {
                    p.method
                        .as_ref()
                        .is_none_or(|m| e.method.eq_ignore_ascii_case(m))
                })
                .cloned()
                .collect::<Vec<_>>()
        })?;
        structured(&json!({ "endpoints": eps }))
    }

    /// The tables as the migrations leave them.
    #[tool(
        description = "The database schema as the migrations leave it: per table its columns, unique keys (primary key included) and indexes, and the history of which migration (file:line) did what. Optional: table.",
        output_schema = schema_schema()
    )]
    fn schema(&self, Parameters(p): Parameters<SchemaParams>) -> Result<CallToolResult, ErrorData> {
        let root = self.ws.root.clone();
        let tables = self.ws.with_analysis(|a, _| tables(a, &root))?;
        let tables: Vec<Value> = match &p.table {
            Some(t) => {
                let v: Vec<Value> = tables
                    .into_iter()
                    .filter(|x| {
                        x["table"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(t))
                    })
                    .collect();
                if v.is_empty() {
                    return Err(invalid(format!(
                        "unknown table `{t}`: no migration of the workspace creates it"
                    )));
                }
                v
            }
            None => tables,
        };
        structured(&json!({ "tables": tables }))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("archlint", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "archlint reviews the backend in this workspace like a senior backend architect. \
                 Call findings_for_file after editing a file, check for the whole report, \
                 endpoints and schema for the architecture, explain for a rule's documentation.",
            )
    }
}

fn structured(v: &impl serde::Serialize) -> Result<CallToolResult, ErrorData> {
    let v = serde_json::to_value(v).map_err(|e| internal(format!("serialise: {e}")))?;
    Ok(CallToolResult::structured(v))
}

impl Workspace {
    /// A path argument as (absolute, relative to the root); refused outside the root.
    fn resolve(&self, p: &str) -> Result<(PathBuf, String), ErrorData> {
        let given = Path::new(p);
        let joined = if given.is_absolute() {
            given.to_path_buf()
        } else {
            self.root.join(given)
        };
        // Lexically first, so a path that escapes is refused even when it does not exist.
        let mut lexical = PathBuf::new();
        for c in joined.components() {
            match c {
                std::path::Component::ParentDir => {
                    lexical.pop();
                }
                std::path::Component::CurDir => {}
                c => lexical.push(c),
            }
        }
        let refused = || {
            invalid(format!(
                "{p}: outside the workspace {} (refused)",
                self.root.display()
            ))
        };
        if !lexical.starts_with(&self.root) {
            return Err(refused());
        }
        let abs = joined
            .canonicalize()
            .map_err(|e| invalid(format!("{p}: {e}")))?;
        // A symbolic link may still lead out.
        if !abs.starts_with(&self.root) {
            return Err(refused());
        }
        let rel = if abs == self.root {
            String::new()
        } else {
            crate::discover::rel_path(&self.root, &abs)
        };
        Ok((abs, rel))
    }

    /// What `archlint check ROOT` would take, with the tool's arguments.
    fn args(&self, p: &CheckParams) -> Result<crate::cli::CheckArgs, ErrorData> {
        let mut argv: Vec<String> = vec![
            "archlint".into(),
            "check".into(),
            self.root.to_string_lossy().into_owned(),
        ];
        if let Some(s) = &p.select {
            argv.push(format!("--select={}", s.join(",")));
        }
        if let Some(s) = p.ignore.as_ref().filter(|s| !s.is_empty()) {
            argv.push(format!("--ignore={}", s.join(",")));
        }
        if let Some(r) = &p.changed_since {
            argv.push(format!("--changed-since={r}"));
        }
        use clap::Parser;
        match crate::cli::Cli::try_parse_from(argv) {
            Ok(crate::cli::Cli {
                command: crate::cli::Command::Check(a),
            }) => Ok(a),
            Ok(_) => Err(internal("not a check command")),
            Err(e) => Err(invalid(e.to_string())),
        }
    }

    fn check_with(&self, p: &CheckParams) -> Result<Report, ErrorData> {
        let start = Instant::now();
        let args = self.args(p)?;
        let mut opts = crate::options(&args).map_err(invalid)?;
        if let Some(paths) = &p.paths {
            let mut prefixes = Vec::new();
            for x in paths {
                prefixes.push(self.resolve(x)?.1);
            }
            let under: HashSet<String> = crate::discover::walk(&self.root, false, &[])
                .files
                .into_iter()
                .map(|c| c.rel)
                .filter(|rel| {
                    prefixes.iter().any(|pre| {
                        pre.is_empty()
                            || rel == pre
                            || rel
                                .strip_prefix(pre.as_str())
                                .is_some_and(|r| r.starts_with('/'))
                    })
                })
                .collect();
            opts.only_paths = Some(match opts.only_paths.take() {
                Some(changed) => under.intersection(&changed).cloned().collect(),
                None => under,
            });
        }
        let analysis = engine::run(&opts).map_err(internal)?;
        Ok(Report::build(&analysis, start.elapsed().as_millis() as u64))
    }

    fn stamp(&self) -> Stamp {
        crate::discover::walk(&self.root, false, &[])
            .files
            .into_iter()
            .map(|c| {
                let md = std::fs::metadata(&c.abs).ok();
                let key = (
                    md.as_ref().map(|m| m.len()).unwrap_or(0),
                    md.and_then(|m| m.modified().ok()),
                );
                (c.abs, key)
            })
            .collect()
    }

    /// Run `f` over the analysis of the whole workspace, redone first when a
    /// file was added, removed or changed since it was made.
    fn with_analysis<T>(&self, f: impl FnOnce(&Analysis, u64) -> T) -> Result<T, ErrorData> {
        let stamp = self.stamp();
        let mut guard = self
            .cached
            .lock()
            .map_err(|_| internal("the analysis lock is poisoned"))?;
        if guard.as_ref().is_none_or(|c| c.stamp != stamp) {
            let start = Instant::now();
            let args = self.args(&CheckParams::default())?;
            let opts = crate::options(&args).map_err(invalid)?;
            let analysis = engine::run(&opts).map_err(internal)?;
            *guard = Some(Cached {
                stamp,
                analysis,
                elapsed_ms: start.elapsed().as_millis() as u64,
            });
        }
        let c = guard.as_ref().ok_or_else(|| internal("no analysis"))?;
        Ok(f(&c.analysis, c.elapsed_ms))
    }
}

#[derive(Default)]
struct TableState {
    columns: Vec<String>,
    keys: Vec<Vec<String>>,
    indexes: Vec<(String, Vec<String>, bool)>,
    history: Vec<Value>,
}

/// Columns of `CREATE TABLE` statements in a migration's text, by table
/// (the model keeps a created table's keys, not its columns).
fn created_columns(
    text: &str,
    dialect: crate::frontend::sql::Dialect,
) -> BTreeMap<String, Vec<String>> {
    use crate::frontend::sql::Dialect as D;
    use sqlparser::dialect::{GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
    let parser: Box<dyn sqlparser::dialect::Dialect> = match dialect {
        D::Postgres => Box::new(PostgreSqlDialect {}),
        D::Mysql => Box::new(MySqlDialect {}),
        D::Sqlite => Box::new(SQLiteDialect {}),
        D::Generic => Box::new(GenericDialect {}),
    };
    let mut out = BTreeMap::new();
    for (a, b) in crate::frontend::sql::split_statements(text, dialect) {
        let Some(stmt) = text.get(a..b) else { continue };
        let Ok(parsed) = sqlparser::parser::Parser::parse_sql(parser.as_ref(), stmt) else {
            continue;
        };
        for s in parsed {
            if let sqlparser::ast::Statement::CreateTable(ct) = s {
                let name = ct
                    .name
                    .0
                    .last()
                    .map(|p| p.to_string().trim_matches(['"', '`', '[', ']']).to_string())
                    .unwrap_or_default();
                let cols = ct.columns.iter().map(|c| c.name.value.clone()).collect();
                out.insert(name, cols);
            }
        }
    }
    out
}

/// Replay the SQL migrations' DDL (file order) into tables; the history of
/// each table is the report's `schemas_modified` (SQL, sea-orm and Django
/// migrations).
fn tables(a: &Analysis, root: &Path) -> Vec<Value> {
    let mut tables: BTreeMap<String, TableState> = BTreeMap::new();
    let mut dropped: HashSet<String> = HashSet::new();
    for r in &a.results {
        let Some(m) = &r.model else { continue };
        if m.lang != Lang::Sql || !m.kind.migration || m.kind.rollback {
            continue;
        }
        let mut columns: Option<BTreeMap<String, Vec<String>>> = None;
        for s in &m.sql {
            let SqlFacts::Ddl(ds) = &s.facts else {
                continue;
            };
            for d in ds {
                match &d.change {
                    DdlChange::CreateTable { keys } => {
                        let cols = columns.get_or_insert_with(|| {
                            std::fs::read_to_string(root.join(&r.rel))
                                .map(|t| created_columns(&t, m.dialect))
                                .unwrap_or_default()
                        });
                        dropped.remove(&d.table);
                        let t = tables.entry(d.table.clone()).or_default();
                        t.columns = cols.get(&d.table).cloned().unwrap_or_default();
                        t.keys = keys.clone();
                        t.indexes.clear();
                    }
                    DdlChange::DropTable => {
                        tables.remove(&d.table);
                        dropped.insert(d.table.clone());
                    }
                    DdlChange::RenameTable { to } => {
                        dropped.insert(d.table.clone());
                        if let Some(t) = tables.remove(&d.table) {
                            tables.insert(to.clone(), t);
                        }
                    }
                    DdlChange::AddColumn(c) => {
                        let t = tables.entry(d.table.clone()).or_default();
                        if !t.columns.contains(c) {
                            t.columns.push(c.clone());
                        }
                    }
                    DdlChange::DropColumn(c) => {
                        if let Some(t) = tables.get_mut(&d.table) {
                            t.columns.retain(|x| x != c);
                            t.keys.retain(|k| !k.contains(c));
                            t.indexes.retain(|i| !i.1.contains(c));
                        }
                    }
                    DdlChange::RenameColumn { from, to } => {
                        if let Some(t) = tables.get_mut(&d.table) {
                            for x in t
                                .columns
                                .iter_mut()
                                .chain(t.keys.iter_mut().flatten())
                                .chain(t.indexes.iter_mut().flat_map(|i| i.1.iter_mut()))
                            {
                                if x == from {
                                    *x = to.clone();
                                }
                            }
                        }
                    }
                    DdlChange::AddUnique(cols) => {
                        tables
                            .entry(d.table.clone())
                            .or_default()
                            .keys
                            .push(cols.clone());
                    }
                    DdlChange::CreateIndex {
                        name,
                        columns: cols,
                        unique,
                    } => {
                        let t = tables.entry(d.table.clone()).or_default();
                        t.indexes.push((name.clone(), cols.clone(), *unique));
                        if *unique {
                            t.keys.push(cols.clone());
                        }
                    }
                    DdlChange::DropIndex(n) => {
                        for t in tables.values_mut() {
                            if let Some(i) = t.indexes.iter().position(|i| &i.0 == n) {
                                let gone = t.indexes.remove(i);
                                if gone.2 {
                                    if let Some(k) = t.keys.iter().position(|k| *k == gone.1) {
                                        t.keys.remove(k);
                                    }
                                }
                            }
                        }
                    }
                    DdlChange::RenameIndex { from, to } => {
                        for t in tables.values_mut() {
                            for i in &mut t.indexes {
                                if &i.0 == from {
                                    i.0 = to.clone();
                                }
                            }
                        }
                    }
                    DdlChange::AlterColumn(_)
                    | DdlChange::DropConstraint(_)
                    | DdlChange::AddConstraint(_)
                    | DdlChange::CreateView(_) => {}
                }
            }
        }
    }
    for c in crate::architecture::schema_changes(a) {
        if let Some(t) = tables.get_mut(&c.table) {
            t.history
                .push(json!({"change": c.change, "file": c.file, "line": c.line}));
        } else if c.table != "(index)" && !dropped.contains(&c.table) {
            // sea-orm and Django migrations: known by their history only.
            tables
                .entry(c.table.clone())
                .or_default()
                .history
                .push(json!({"change": c.change, "file": c.file, "line": c.line}));
        }
    }
    tables
        .into_iter()
        .map(|(name, t)| {
            json!({
                "table": name,
                "columns": t.columns,
                "keys": t.keys,
                "indexes": t.indexes.iter().map(|(n, c, u)| json!({"name": n, "columns": c, "unique": u})).collect::<Vec<_>>(),
                "history": t.history,
            })
        })
        .collect()
}
