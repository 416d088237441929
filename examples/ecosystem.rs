//! The ecosystem check: run archlint over a pinned panel of public backends
//! and compare what it finds with the committed triage of every finding.
//!
//! ```text
//! cargo run --profile fast --example ecosystem -- [--archlint PATH] [--src DIR] [--out DIR]
//!     [--only NAME,...] [--verbose] [--write-untriaged]
//! ```
//!
//! The panel is `ecosystem/panel.toml`, the verdicts `ecosystem/triage/NAME.tsv`;
//! `ecosystem/README.md` says how to fetch the checkouts and how to triage.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde::Deserialize;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const TRIAGE_HEADER: &str = "fingerprint\trule\tseverity\tlocation\tverdict\treason";
const SEVERITIES: [&str; 3] = ["error", "warning", "info"];

#[derive(Parser, Debug)]
#[command(about = "Run archlint over the ecosystem panel and diff the findings against the triage")]
struct Args {
    /// The archlint binary to run (default: the one of this example's profile, else target/release/archlint)
    #[arg(long)]
    archlint: Option<PathBuf>,
    /// Directory holding one checkout per panel entry, named like the entry
    /// (default: $ARCHLINT_ECO_SRC, else /work/eco/src)
    #[arg(long)]
    src: Option<PathBuf>,
    /// Where the JSON reports and summary.json go (default: target/ecosystem)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only these panel entries (comma-separated names)
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Also print archlint's stderr, every blocker and every finding with its verdict
    #[arg(long)]
    verbose: bool,
    /// Append the appeared findings to the triage files with verdict `?`
    #[arg(long)]
    write_untriaged: bool,
    /// The panel file
    #[arg(long, default_value_t = format!("{MANIFEST_DIR}/ecosystem/panel.toml"))]
    panel: String,
    /// The directory of triage files
    #[arg(long, default_value_t = format!("{MANIFEST_DIR}/ecosystem/triage"))]
    triage: String,
    /// How many archlint runs at once
    #[arg(long, default_value_t = 2)]
    parallel: usize,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    repo: String,
    commit: String,
    language: String,
    why: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Panel {
    repo: Vec<Entry>,
}

#[derive(Deserialize, Debug, Clone)]
struct Finding {
    rule: String,
    severity: String,
    message: String,
    path: String,
    line: u64,
    fingerprint: String,
}

#[derive(Deserialize, Debug, Default)]
struct Report {
    #[serde(default)]
    findings: Vec<Finding>,
    #[serde(default)]
    blockers: Vec<String>,
    #[serde(default)]
    stats: serde_json::Value,
}

#[derive(Debug, Clone)]
struct TriageRow {
    fingerprint: String,
    rule: String,
    severity: String,
    location: String,
    verdict: String,
    reason: String,
}

/// What one archlint run gave.
struct Run {
    wall: Duration,
    outcome: Result<Report, String>,
    stderr: String,
}

/// Counts of one (repo or panel, rule, severity) cell.
#[derive(Default, Clone, Copy)]
struct Counts {
    found: usize,
    true_: usize,
    false_: usize,
    unsure: usize,
    untriaged: usize,
}

impl Counts {
    fn add(&mut self, verdict: Option<&str>) {
        self.found += 1;
        match verdict {
            Some("true") => self.true_ += 1,
            Some("false") => self.false_ += 1,
            Some("unsure") => self.unsure += 1,
            _ => self.untriaged += 1,
        }
    }
    fn merge(&mut self, other: Counts) {
        self.found += other.found;
        self.true_ += other.true_;
        self.false_ += other.false_;
        self.unsure += other.unsure;
        self.untriaged += other.untriaged;
    }
    fn precision(&self) -> String {
        let judged = self.true_ + self.false_;
        if judged == 0 {
            "-".to_string()
        } else {
            format!("{:.2}", self.true_ as f64 / judged as f64)
        }
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "found": self.found, "true": self.true_, "false": self.false_,
            "unsure": self.unsure, "untriaged": self.untriaged,
        })
    }
}

/// The comparison of one repository's findings with its triage file.
#[derive(Default)]
struct Diff {
    /// Every finding found now, with the verdict of the triage row it matched.
    matched: Vec<(Finding, Option<TriageRow>)>,
    /// Triage rows with no finding now.
    vanished: Vec<TriageRow>,
}

impl Diff {
    fn appeared(&self) -> impl Iterator<Item = &Finding> {
        self.matched
            .iter()
            .filter(|(_, row)| row.is_none())
            .map(|(f, _)| f)
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let panel_text =
        fs::read_to_string(&args.panel).with_context(|| format!("reading {}", args.panel))?;
    let panel: Panel =
        toml::from_str(&panel_text).with_context(|| format!("parsing {}", args.panel))?;
    check_panel(&panel)?;
    for name in &args.only {
        if !panel.repo.iter().any(|e| &e.name == name) {
            bail!("--only {name}: no such panel entry");
        }
    }
    let src = args
        .src
        .clone()
        .or_else(|| std::env::var_os("ARCHLINT_ECO_SRC").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/work/eco/src"));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new(MANIFEST_DIR).join("target/ecosystem"));
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let archlint = match &args.archlint {
        Some(p) => p.clone(),
        None => default_archlint(),
    };
    if !archlint.is_file() {
        bail!(
            "archlint binary {} not found (build it with `cargo build --profile fast` or pass --archlint)",
            archlint.display()
        );
    }
    let triage_dir = PathBuf::from(&args.triage);

    let selected: Vec<&Entry> = panel
        .repo
        .iter()
        .filter(|e| args.only.is_empty() || args.only.contains(&e.name))
        .collect();
    let (present, skipped): (Vec<&Entry>, Vec<&Entry>) =
        selected.iter().partition(|e| src.join(&e.name).is_dir());

    println!(
        "ecosystem check: {} of {} panel entries, archlint {}, checkouts in {}",
        present.len(),
        selected.len(),
        archlint.display(),
        src.display()
    );
    let started = Instant::now();
    let runs = run_all(&archlint, &src, &out, &present, args.parallel.max(1));
    let total_wall = started.elapsed();

    let mut failed_runs = 0usize;
    let mut lost_true: Vec<String> = Vec::new();
    let mut panel_counts: BTreeMap<(String, String), Counts> = BTreeMap::new();
    let mut repo_lines: Vec<String> = Vec::new();
    let mut summary_repos = Vec::new();

    for (entry, run) in present.iter().zip(runs) {
        let triage_path = triage_dir.join(format!("{}.tsv", entry.name));
        let triage = read_triage(&triage_path)?;
        println!();
        println!(
            "=== {} ({}, {} @ {}) ===",
            entry.name,
            entry.language,
            entry.repo,
            short(&entry.commit)
        );
        if args.verbose && !run.stderr.trim().is_empty() {
            println!("archlint stderr:\n{}", run.stderr.trim_end());
        }
        let report = match run.outcome {
            Ok(r) => r,
            Err(why) => {
                failed_runs += 1;
                println!("!!! archlint FAILED on {}: {why}", entry.name);
                if !run.stderr.trim().is_empty() {
                    println!("{}", tail(&run.stderr, 20));
                }
                repo_lines.push(format!(
                    "{:<22} {:>8.1}s  FAILED: {why}",
                    entry.name,
                    run.wall.as_secs_f64()
                ));
                summary_repos.push(serde_json::json!({
                    "name": entry.name, "failed": why, "wall_ms": run.wall.as_millis() as u64,
                }));
                continue;
            }
        };
        let diff = compare(&report.findings, &triage);
        let mut counts: BTreeMap<(String, String), Counts> = BTreeMap::new();
        for (f, row) in &diff.matched {
            let verdict = row.as_ref().map(|r| r.verdict.as_str());
            counts
                .entry((f.rule.clone(), f.severity.clone()))
                .or_default()
                .add(verdict);
            panel_counts
                .entry((f.rule.clone(), f.severity.clone()))
                .or_default()
                .add(verdict);
        }
        print_counts(&counts);

        let appeared: Vec<&Finding> = diff.appeared().collect();
        if !appeared.is_empty() {
            println!("appeared ({}):", appeared.len());
            for f in &appeared {
                println!(
                    "  + {}  {:<26} {:<7} {}:{}  {}",
                    f.fingerprint,
                    f.rule,
                    f.severity,
                    f.path,
                    f.line,
                    one_line(&f.message)
                );
            }
        }
        let changed: Vec<(&Finding, &TriageRow)> = diff
            .matched
            .iter()
            .filter_map(|(f, row)| row.as_ref().map(|r| (f, r)))
            .filter(|(f, r)| f.severity != r.severity)
            .collect();
        if !changed.is_empty() {
            println!("severity changed ({}):", changed.len());
            for (f, r) in &changed {
                println!(
                    "  ~ {}  {:<26} {} -> {}  {}:{}  [{}]",
                    f.fingerprint, f.rule, r.severity, f.severity, f.path, f.line, r.verdict
                );
            }
        }
        if !diff.vanished.is_empty() {
            println!("vanished ({}):", diff.vanished.len());
            for r in &diff.vanished {
                let loud = if r.verdict == "true" {
                    lost_true.push(format!(
                        "{}: {}  {}  {}  {}",
                        entry.name, r.fingerprint, r.rule, r.location, r.reason
                    ));
                    "!!! LOST TRUE FINDING "
                } else {
                    ""
                };
                println!(
                    "  - {loud}{}  {:<26} {:<7} {}  [{}] {}",
                    r.fingerprint, r.rule, r.severity, r.location, r.verdict, r.reason
                );
            }
        }
        if report.blockers.is_empty() {
            println!("blockers: none");
        } else {
            println!("blockers ({}):", report.blockers.len());
            let shown = if args.verbose {
                report.blockers.len()
            } else {
                5
            };
            for b in report.blockers.iter().take(shown) {
                println!("  ! {}", one_line(b));
            }
            if report.blockers.len() > shown {
                println!("  ... {} more (--verbose)", report.blockers.len() - shown);
            }
        }
        if args.verbose {
            println!("all findings:");
            for (f, row) in &diff.matched {
                let verdict = row.as_ref().map_or("untriaged", |r| r.verdict.as_str());
                println!(
                    "  {}  {:<26} {:<7} {}:{}  [{verdict}]  {}",
                    f.fingerprint,
                    f.rule,
                    f.severity,
                    f.path,
                    f.line,
                    one_line(&f.message)
                );
            }
        }
        let files = report
            .stats
            .get("files_scanned")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        repo_lines.push(format!(
            "{:<22} {:>8.1}s  {:>6} files  {:>5} findings  {:>4} appeared  {:>4} vanished  {:>3} blockers",
            entry.name,
            run.wall.as_secs_f64(),
            files,
            report.findings.len(),
            appeared.len(),
            diff.vanished.len(),
            report.blockers.len()
        ));
        summary_repos.push(serde_json::json!({
            "name": entry.name,
            "language": entry.language,
            "commit": entry.commit,
            "wall_ms": run.wall.as_millis() as u64,
            "files_scanned": files,
            "findings": report.findings.len(),
            "appeared": appeared.len(),
            "vanished": diff.vanished.iter().map(|r| serde_json::json!({
                "fingerprint": r.fingerprint, "rule": r.rule, "severity": r.severity,
                "location": r.location, "verdict": r.verdict,
            })).collect::<Vec<_>>(),
            "blockers": report.blockers,
            "counts": counts.iter().map(|((rule, sev), c)| {
                let mut v = c.json();
                v["rule"] = rule.clone().into();
                v["severity"] = sev.clone().into();
                v
            }).collect::<Vec<_>>(),
        }));

        if args.write_untriaged {
            let mut rows = triage.clone();
            rows.extend(appeared.iter().map(|f| TriageRow {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.clone(),
                severity: f.severity.clone(),
                location: format!("{}:{}", f.path, f.line),
                verdict: "?".to_string(),
                reason: String::new(),
            }));
            write_triage(&triage_path, rows)?;
            if !appeared.is_empty() {
                println!(
                    "wrote {} untriaged rows to {}",
                    appeared.len(),
                    triage_path.display()
                );
            }
        }
    }

    if !skipped.is_empty() {
        println!();
        println!("skipped (no checkout under {}):", src.display());
        for e in &skipped {
            println!("  {} ({} @ {}): fetch it with the search tool's `fetch github:{}` (it returns a git dir DIR), then", e.name, e.repo, short(&e.commit), e.repo);
            println!(
                "    mkdir -p {dst} && git --git-dir=DIR archive {} | tar -x -C {dst}",
                e.commit,
                dst = src.join(&e.name).display()
            );
        }
    }

    println!();
    println!("=== precision across the panel (true / (true+false); unsure excluded) ===");
    print_precision(&panel_counts);

    println!();
    println!("=== per repository ===");
    for line in &repo_lines {
        println!("{line}");
    }
    println!(
        "total wall time {:.1}s ({} runs, {} at a time)",
        total_wall.as_secs_f64(),
        present.len(),
        args.parallel.max(1)
    );
    if failed_runs > 0 {
        println!("!!! {failed_runs} archlint run(s) failed");
    }
    if !lost_true.is_empty() {
        println!(
            "!!! {} true finding(s) LOST (vanished with verdict true):",
            lost_true.len()
        );
        for l in &lost_true {
            println!("!!!   {l}");
        }
    }

    let summary = serde_json::json!({
        "archlint": archlint.display().to_string(),
        "wall_ms": total_wall.as_millis() as u64,
        "repos": summary_repos,
        "skipped": skipped.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
        "precision": panel_counts.iter().map(|((rule, sev), c)| {
            let mut v = c.json();
            v["rule"] = rule.clone().into();
            v["severity"] = sev.clone().into();
            v
        }).collect::<Vec<_>>(),
        "lost_true": lost_true,
        "failed_runs": failed_runs,
    });
    let summary_path = out.join("summary.json");
    fs::write(
        &summary_path,
        serde_json::to_string_pretty(&summary)? + "\n",
    )
    .with_context(|| format!("writing {}", summary_path.display()))?;
    println!("reports and summary.json in {}", out.display());

    if failed_runs > 0 || !lost_true.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

fn check_panel(panel: &Panel) -> Result<()> {
    let mut seen = HashMap::new();
    for e in &panel.repo {
        if seen.insert(e.name.clone(), ()).is_some() {
            bail!("panel: duplicate name {}", e.name);
        }
        if e.commit.len() != 40 || !e.commit.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("panel: {}: commit must be 40 hex digits", e.name);
        }
        if !["rust", "python", "typescript", "go"].contains(&e.language.as_str()) {
            bail!("panel: {}: unknown language {}", e.name, e.language);
        }
        if e.repo.split('/').count() != 2 || e.why.trim().is_empty() {
            bail!(
                "panel: {}: repo must be owner/name and why non-empty",
                e.name
            );
        }
    }
    Ok(())
}

/// The archlint of this example's own profile (`target/fast/archlint` for
/// `--profile fast`), else target/release/archlint.
fn default_archlint() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/examples/ecosystem -> target/<profile>/archlint
        if let Some(profile_dir) = exe.parent().and_then(|p| p.parent()) {
            for candidate in [
                profile_dir.join("archlint"),
                profile_dir.join("../release/archlint"),
            ] {
                if candidate.is_file() {
                    return candidate;
                }
            }
        }
    }
    Path::new(MANIFEST_DIR).join("target/release/archlint")
}

/// Run archlint over every present entry, `parallel` at a time; results in entry order.
fn run_all(
    archlint: &Path,
    src: &Path,
    out: &Path,
    entries: &[&Entry],
    parallel: usize,
) -> Vec<Run> {
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..entries.len()).collect());
    let results: Mutex<Vec<Option<Run>>> = Mutex::new((0..entries.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..parallel.min(entries.len().max(1)) {
            scope.spawn(|| loop {
                let Some(i) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let entry = entries[i];
                let run = run_one(
                    archlint,
                    &src.join(&entry.name),
                    &out.join(format!("{}.json", entry.name)),
                );
                eprintln!(
                    "  {:<22} {:>7.1}s  {}",
                    entry.name,
                    run.wall.as_secs_f64(),
                    match &run.outcome {
                        Ok(r) => format!(
                            "{} findings, {} blockers",
                            r.findings.len(),
                            r.blockers.len()
                        ),
                        Err(e) => format!("FAILED: {e}"),
                    }
                );
                results.lock().unwrap()[i] = Some(run);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every entry ran"))
        .collect()
}

fn run_one(archlint: &Path, checkout: &Path, report: &Path) -> Run {
    let _ = fs::remove_file(report);
    let started = Instant::now();
    let output = Command::new(archlint)
        .arg("check")
        .arg(checkout)
        .args(["--format", "json", "--fail-on", "never", "--output"])
        .arg(report)
        .output();
    let wall = started.elapsed();
    let (outcome, stderr) = match output {
        Err(e) => (
            Err(format!("could not start {}: {e}", archlint.display())),
            String::new(),
        ),
        Ok(o) => {
            let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
            let outcome = if !o.status.success() {
                Err(format!("exit status {}", o.status))
            } else {
                fs::read_to_string(report)
                    .map_err(|e| format!("reading {}: {e}", report.display()))
                    .and_then(|t| {
                        serde_json::from_str::<Report>(&t)
                            .map_err(|e| format!("parsing {}: {e}", report.display()))
                    })
            };
            (outcome, stderr)
        }
    };
    Run {
        wall,
        outcome,
        stderr,
    }
}

fn read_triage(path: &Path) -> Result<Vec<TriageRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            if line != TRIAGE_HEADER {
                bail!(
                    "{}: the first line must be the header `{}`",
                    path.display(),
                    TRIAGE_HEADER.replace('\t', "\\t")
                );
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.splitn(6, '\t').collect();
        if cols.len() < 5 {
            bail!(
                "{}:{}: expected 6 tab-separated columns",
                path.display(),
                i + 1
            );
        }
        let verdict = cols[4].trim();
        if !["true", "false", "unsure", "?"].contains(&verdict) {
            bail!(
                "{}:{}: verdict must be true, false, unsure or ? (got `{verdict}`)",
                path.display(),
                i + 1
            );
        }
        rows.push(TriageRow {
            fingerprint: cols[0].trim().to_string(),
            rule: cols[1].trim().to_string(),
            severity: cols[2].trim().to_string(),
            location: cols[3].trim().to_string(),
            verdict: verdict.to_string(),
            reason: cols.get(5).map_or("", |s| s.trim()).to_string(),
        });
    }
    Ok(rows)
}

/// `path:line` split for sorting: (path, line).
fn location_key(location: &str) -> (String, u64) {
    match location.rsplit_once(':') {
        Some((path, line)) => match line.parse() {
            Ok(n) => (path.to_string(), n),
            Err(_) => (location.to_string(), 0),
        },
        None => (location.to_string(), 0),
    }
}

fn write_triage(path: &Path, mut rows: Vec<TriageRow>) -> Result<()> {
    rows.sort_by(|a, b| {
        location_key(&a.location)
            .cmp(&location_key(&b.location))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    let mut text = String::from(TRIAGE_HEADER);
    text.push('\n');
    for r in &rows {
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.fingerprint,
            r.rule,
            r.severity,
            r.location,
            r.verdict,
            one_line(&r.reason).replace('\t', " ")
        );
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tsv.tmp");
    fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Pair findings with triage rows by fingerprint, counting multiplicity: within
/// one fingerprint, rows at the same location pair first, then the rest in
/// location order.
fn compare(findings: &[Finding], triage: &[TriageRow]) -> Diff {
    let mut rows_by_fp: HashMap<&str, Vec<&TriageRow>> = HashMap::new();
    for r in triage {
        rows_by_fp
            .entry(r.fingerprint.as_str())
            .or_default()
            .push(r);
    }
    let mut finds_by_fp: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        finds_by_fp
            .entry(f.fingerprint.as_str())
            .or_default()
            .push(f);
    }
    let mut diff = Diff::default();
    for (fp, mut finds) in finds_by_fp {
        finds.sort_by_key(|f| (f.path.clone(), f.line));
        let mut rows: Vec<&TriageRow> = rows_by_fp.remove(fp).unwrap_or_default();
        rows.sort_by_key(|r| location_key(&r.location));
        let mut pairs: Vec<Option<&TriageRow>> = vec![None; finds.len()];
        // Exact location first.
        for (i, f) in finds.iter().enumerate() {
            let loc = format!("{}:{}", f.path, f.line);
            if let Some(j) = rows.iter().position(|r| r.location == loc) {
                pairs[i] = Some(rows.remove(j));
            }
        }
        for slot in pairs.iter_mut() {
            if slot.is_none() && !rows.is_empty() {
                *slot = Some(rows.remove(0));
            }
        }
        diff.vanished.extend(rows.into_iter().cloned());
        for (f, row) in finds.into_iter().zip(pairs) {
            diff.matched.push((f.clone(), row.cloned()));
        }
    }
    for rows in rows_by_fp.into_values() {
        diff.vanished.extend(rows.into_iter().cloned());
    }
    diff.matched
        .sort_by_key(|(f, _)| (f.path.clone(), f.line, f.rule.clone()));
    diff.vanished.sort_by_key(|r| location_key(&r.location));
    diff
}

fn print_counts(counts: &BTreeMap<(String, String), Counts>) {
    if counts.is_empty() {
        println!("no findings");
        return;
    }
    println!(
        "  {:<26} {:<8} {:>6} {:>6} {:>6} {:>6} {:>9}",
        "rule", "severity", "found", "true", "false", "unsure", "untriaged"
    );
    for ((rule, sev), c) in ordered(counts) {
        println!(
            "  {:<26} {:<8} {:>6} {:>6} {:>6} {:>6} {:>9}",
            rule, sev, c.found, c.true_, c.false_, c.unsure, c.untriaged
        );
    }
}

fn print_precision(counts: &BTreeMap<(String, String), Counts>) {
    println!(
        "  {:<26} {:<8} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9}",
        "rule", "severity", "found", "true", "false", "unsure", "untriaged", "precision"
    );
    let mut by_sev: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for ((rule, sev), c) in ordered(counts) {
        println!(
            "  {:<26} {:<8} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9}",
            rule,
            sev,
            c.found,
            c.true_,
            c.false_,
            c.unsure,
            c.untriaged,
            c.precision()
        );
        by_sev.entry(sev.to_string()).or_default().merge(*c);
        total.merge(*c);
    }
    for sev in SEVERITIES {
        if let Some(c) = by_sev.get(sev) {
            println!(
                "  {:<26} {:<8} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9}",
                "TOTAL",
                sev,
                c.found,
                c.true_,
                c.false_,
                c.unsure,
                c.untriaged,
                c.precision()
            );
        }
    }
    println!(
        "  {:<26} {:<8} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9}",
        "TOTAL",
        "all",
        total.found,
        total.true_,
        total.false_,
        total.unsure,
        total.untriaged,
        total.precision()
    );
}

/// Rows by rule, then severity error, warning, info.
fn ordered(counts: &BTreeMap<(String, String), Counts>) -> Vec<((&str, &str), &Counts)> {
    let mut rows: Vec<_> = counts
        .iter()
        .map(|((r, s), c)| ((r.as_str(), s.as_str()), c))
        .collect();
    rows.sort_by_key(|((r, s), _)| (*r, SEVERITIES.iter().position(|x| x == s).unwrap_or(9)));
    rows
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(10)]
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
