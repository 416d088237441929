//! Reporters: the agent's JSON report, human diagnostics, SARIF and GitHub
//! workflow annotations. All render the same [`Report`].

pub mod github;
pub mod json;
pub mod markdown;
pub mod mermaid;
pub mod sarif;
pub mod text;

use serde::Serialize;

use crate::architecture::{self, Decision, Endpoint, SchemaChange};
use crate::engine::{Analysis, SqlStats, Timings};
use crate::finding::{Finding, Severity};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
    /// A review to post as a pull-request comment.
    Markdown,
    /// The service map as a Mermaid flowchart.
    Mermaid,
}

#[derive(Serialize)]
pub struct Stats {
    pub files_scanned: usize,
    pub bytes_scanned: u64,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub elapsed_ms: u64,
    pub timings: Timings,
    /// Files per role (source, test, script, vendored, ...); vendored files
    /// are counted, not analysed.
    pub roles: std::collections::BTreeMap<&'static str, usize>,
    /// SQL statements skipped (sqlparser rejected them), salvaged, bodies and fragments.
    pub sql: SqlStats,
    /// The service map: each deployable entry point with its routes, tables,
    /// external systems and the critical rules it passes.
    pub services: Vec<crate::services::Summary>,
}

/// The agent's output format (the contract), plus `stats`.
#[derive(Serialize)]
pub struct Report {
    pub agent: &'static str,
    pub status: &'static str,
    pub architecture_decisions: Vec<Decision>,
    pub endpoints_created: Vec<Endpoint>,
    pub schemas_modified: Vec<SchemaChange>,
    pub findings: Vec<Finding>,
    pub recommendations: Vec<String>,
    pub blockers: Vec<String>,
    pub stats: Stats,
    /// Secrets' spans by path, masked in every source snippet.
    #[serde(skip)]
    pub masks: Vec<(String, crate::source::Span)>,
}

impl Report {
    pub fn build(a: &Analysis, elapsed_ms: u64) -> Report {
        let count = |s: Severity| a.findings.iter().filter(|f| f.severity == s).count();
        let status = if count(Severity::Error) > 0 {
            "failure"
        } else if !a.blockers.is_empty() {
            "partial"
        } else {
            "success"
        };
        Report {
            agent: "backend-architect",
            status,
            architecture_decisions: architecture::decisions(a),
            endpoints_created: a.endpoints.clone(),
            schemas_modified: architecture::schema_changes(a),
            findings: a.findings.clone(),
            recommendations: architecture::recommendations(a),
            blockers: a.blockers.clone(),
            stats: Stats {
                files_scanned: a.files_scanned,
                bytes_scanned: a.bytes,
                errors: count(Severity::Error),
                warnings: count(Severity::Warning),
                infos: count(Severity::Info),
                elapsed_ms,
                timings: a.timings.clone(),
                roles: a.roles.clone(),
                sql: a.sql.clone(),
                services: a.services.clone(),
            },
            masks: a.masks.clone(),
        }
    }
}
