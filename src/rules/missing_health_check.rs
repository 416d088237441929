use std::sync::OnceLock;

use regex::Regex;

use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::rules::{ProgramCtx, Rule, RuleMeta};

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
    /// Decided per service ([`crate::services`]): each deployable entry point
    /// with the code it runs, so a healthy service never hides a neighbour
    /// without a health route. One finding per HTTP service, at its router
    /// composition (the first route file's router chain); command-line tools,
    /// workers and libraries are not HTTP services.
    pub static META = ("missing-health-check", Warning, "a service exposing HTTP routes but no health or readiness route");
}

pub struct MissingHealthCheck;

fn health() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)health|ready|readiness|live|liveness|ping|status|heartbeat|alive").unwrap()
    })
}

/// A health path written as a string in the service's code (`const
/// PING_PATH: &str = "/ping"`, a route whose path the route reader did not
/// resolve): the service has a health route archlint could not place.
fn health_path_literal(ctx: &ProgramCtx, svc: &crate::services::Service) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^/(?:api/)?(?:v\d+/)?(health|healthz|healthcheck|health-check|ready|readyz|readiness|live|livez|liveness|ping|heartbeat|status)(/.*)?$").unwrap()
    });
    svc.files.iter().any(|&f| {
        let m = ctx.units[f].model;
        !m.kind.test
            && m.literals
                .iter()
                .any(|l| !l.in_test && !l.in_comment && re.is_match(&l.value))
    })
}

impl Rule for MissingHealthCheck {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        for svc in ctx.services_anchored(fi) {
            if svc.kind != crate::services::Kind::Http {
                continue;
            }
            let all = &svc.endpoints;
            if all
                .iter()
                .any(|e| health().is_match(&e.path) || health().is_match(&e.handler))
                || health_path_literal(ctx, svc)
            {
                continue;
            }
            out.push(
                Finding::new(
                    META.id,
                    Severity::Warning,
                    &svc.anchor.0,
                    svc.anchor.1,
                    format!(
                        "service `{}` exposes {} HTTP routes and no health or readiness route",
                        svc.name,
                        all.len()
                    ),
                )
                .help("add a liveness route (`/healthz`) and a readiness route that checks the database and other hard dependencies")
                .key("service"),
            );
        }
    }
}
