use std::sync::OnceLock;

use regex::Regex;

use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::rules::{ProgramCtx, Rule, RuleMeta};
use crate::source::{Pos, Span};

declare_rule! {
    /// ## What it catches
    /// A service that exposes HTTP routes but no health or readiness route
    /// (`/health`, `/healthz`, `/ready`, `/live`, `/ping`, `/status`).
    ///
    /// ## Why it matters
    /// Load balancers and orchestrators decide from a health check whether to
    /// send traffic to an instance or restart it. Without one, a broken
    /// instance keeps receiving requests, and a slow start is killed.
    ///
    /// ## Example
    /// ```rust,ignore
    /// Router::new().route("/orders", get(list_orders))
    /// ```
    ///
    /// ## How to fix
    /// Add a cheap liveness route and a readiness route that checks the
    /// dependencies the service cannot work without:
    /// `.route("/healthz", get(|| async { "ok" }))`.
    ///
    /// One finding per scanned tree, at its first route.
    pub static META = ("missing-health-check", Warning, "a service exposing HTTP routes but no health or readiness route");
}

pub struct MissingHealthCheck;

fn health() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)health|ready|readiness|live|liveness|ping|status|heartbeat|alive").unwrap()
    })
}

impl Rule for MissingHealthCheck {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let Some(all) = ctx.service_anchor(fi) else {
            return;
        };
        let first = &ctx.endpoints[fi][0];
        if all
            .iter()
            .any(|e| health().is_match(&e.path) || health().is_match(&e.handler))
        {
            return;
        }
        let service = "this service";
        out.push(
            Finding::new(META.id, Severity::Warning, &first.file, Span::point(Pos::new(first.line, 1)), format!("{service} exposes {} HTTP routes and no health or readiness route", all.len()))
                .help("add a liveness route (`/healthz`) and a readiness route that checks the database and other hard dependencies")
                .key("service"),
        );
    }
}
