//! `--format mermaid`: the service map as a Mermaid flowchart: each service,
//! the database it reads and writes (the tables on the edges) and the
//! external systems it calls.

use std::collections::BTreeMap;

use super::Report;
use crate::services::{Kind, Summary};

/// At most this many table names on an edge.
const MAX_TABLES: usize = 6;

fn esc(s: &str) -> String {
    s.replace('"', "'").replace(['<', '>'], "")
}

fn tables(list: &[String]) -> String {
    let mut s = list
        .iter()
        .take(MAX_TABLES)
        .map(|t| esc(t))
        .collect::<Vec<_>>()
        .join(", ");
    if list.len() > MAX_TABLES {
        s.push_str(&format!(" +{} more", list.len() - MAX_TABLES));
    }
    s
}

fn label(s: &Summary) -> String {
    let kind = match s.kind {
        Kind::Http => format!("{} routes", s.endpoints.len()),
        Kind::Worker => "worker".into(),
        Kind::Cli => "cli".into(),
    };
    let fw = if s.framework.is_empty() {
        s.language.clone()
    } else {
        format!("{} / {}", s.language, s.framework)
    };
    let failed = if s.critical_rules_failed.is_empty() {
        String::new()
    } else {
        format!("<br/>fails: {}", s.critical_rules_failed.join(", "))
    };
    format!("{}<br/>{fw}, {kind}{failed}", esc(&s.name))
}

pub fn render(r: &Report) -> String {
    let services = &r.stats.services;
    let mut out = String::from("flowchart LR\n");
    if services.is_empty() {
        out.push_str("    none[\"no service found\"]\n");
        return out;
    }
    let uses_db = services
        .iter()
        .any(|s| !s.tables_read.is_empty() || !s.tables_written.is_empty());
    if uses_db {
        out.push_str("    db[(\"database\")]\n");
    }
    let mut ext: BTreeMap<&str, usize> = BTreeMap::new();
    for s in services {
        for e in &s.external_systems {
            let n = ext.len();
            ext.entry(e.as_str()).or_insert(n);
        }
    }
    for (name, i) in &ext {
        out.push_str(&format!("    ext{i}{{{{\"{}\"}}}}\n", esc(name)));
    }
    for (i, s) in services.iter().enumerate() {
        let shape = if s.kind == Kind::Http {
            format!("svc{i}[\"{}\"]", label(s))
        } else {
            format!("svc{i}([\"{}\"])", label(s))
        };
        out.push_str(&format!("    {shape}\n"));
    }
    for (i, s) in services.iter().enumerate() {
        if !s.tables_written.is_empty() {
            out.push_str(&format!(
                "    svc{i} -->|\"writes {}\"| db\n",
                tables(&s.tables_written)
            ));
        }
        let read_only: Vec<String> = s
            .tables_read
            .iter()
            .filter(|t| !s.tables_written.contains(t))
            .cloned()
            .collect();
        if !read_only.is_empty() {
            out.push_str(&format!(
                "    svc{i} -.->|\"reads {}\"| db\n",
                tables(&read_only)
            ));
        }
        for e in &s.external_systems {
            out.push_str(&format!("    svc{i} --> ext{}\n", ext[e.as_str()]));
        }
    }
    for (i, s) in services.iter().enumerate() {
        if !s.critical_rules_failed.is_empty() {
            out.push_str(&format!("    style svc{i} stroke:#d33,stroke-width:2px\n"));
        }
    }
    out
}
