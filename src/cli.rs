//! The command line (clap derive): `check`, `rules`, `explain`, `mcp`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::report::Format;

#[derive(Parser, Debug)]
#[command(
    name = "archlint",
    version = crate::version(),
    about = "Reviews a backend codebase the way a senior backend architect would, and fails the build on the mistakes that cause outages."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

// Parsed once per process: the size of the `check` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Analyse a backend repository and report findings.
    Check(CheckArgs),
    /// List every rule, one line each (or as JSON for tools).
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: RulesFormat,
    },
    /// Show a rule's documentation: what it catches, why, an example, the fix.
    Explain {
        /// The rule id, e.g. n-plus-one-query.
        rule: String,
    },
    /// Serve the workspace ROOT to coding agents: a Model Context Protocol server over stdio.
    Mcp {
        /// The workspace (default: the current directory).
        root: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Files or directories to scan (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Output format (default: github under GitHub Actions, text on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only run these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    pub select: Option<Vec<String>>,
    /// Do not run these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    pub ignore: Vec<String>,
    /// Worker threads (default: the number of CPUs).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Do not respect .gitignore, .ignore and .archlintignore files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Neither read nor write the re-run cache (also: ARCHLINT_NO_CACHE=1).
    #[arg(long)]
    pub no_cache: bool,
    /// Keep the re-run cache here (default: .archlint_cache in the scanned folder).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Also analyse vendored, minified and generated files (skipped by default)
    #[arg(long)]
    pub include_vendored: bool,
    /// Skip files larger than this many bytes (reported as blockers).
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Stop analysing a file after this many milliseconds (0: no limit); the file becomes a blocker and keeps what was found so far.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub file_time_budget: u64,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Print the time spent per phase and the slowest files (to stderr).
    #[arg(long)]
    pub timings: bool,
    /// Print the resolved configuration for the first path and exit.
    #[arg(long)]
    pub show_config: bool,
    /// Record today's findings (by fingerprint) in FILE, so a legacy repository can adopt archlint at once.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Report only findings that are not in this baseline FILE.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Report only findings in files changed since this git revision (the analysis still reads the whole repository).
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,
    /// Use this archlint.toml instead of discovering one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}
