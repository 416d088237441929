use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::rules::{ProgramCtx, Rule, RuleMeta};
use crate::source::{Pos, Span};

declare_rule! {
    /// ## What it catches
    /// A service with mutation endpoints (POST, PUT, PATCH, DELETE) and no
    /// rate limiting anywhere: no limiter library (`tower_governor`,
    /// `actix-governor`, `express-rate-limit`, `slowapi`, `x/time/rate`...),
    /// no `RateLimitLayer`, no home-made limiter whose name says so
    /// (`rate_limit`, `throttle`).
    ///
    /// ## Why it matters
    /// An endpoint that writes can be called in a loop: by a buggy client, a
    /// retry storm or an attacker. Without a limit, one caller fills the
    /// database, exhausts the connection pool and takes the service down for
    /// everyone.
    ///
    /// ## Example
    /// ```rust,ignore
    /// Router::new().route("/signup", post(signup)) // nothing limits calls
    /// ```
    ///
    /// ## How to fix
    /// Put a limiter in front of mutation routes, per client or per key
    /// (`tower_governor::GovernorLayer`, `actix_governor::Governor`), or
    /// document that the gateway in front of the service enforces one (and
    /// suppress this finding there). The names that count are listed in
    /// `rules/architecture.toml` (`rate_limit`).
    ///
    /// Decided per service ([`crate::services`]): one finding per HTTP
    /// service, at its first mutation route. Info: the limit may live in a
    /// gateway archlint cannot see.
    pub static META = ("missing-rate-limit", Info, "mutation endpoints with no rate limiting in the service");
}

pub struct MissingRateLimit;

impl Rule for MissingRateLimit {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        for svc in ctx.services_anchored(fi) {
            let mutations: Vec<_> = svc
                .endpoints
                .iter()
                .filter(|e| matches!(e.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
                .collect();
            let Some(first) = mutations.first() else {
                continue;
            };
            if ctx.evidence_in(svc, &ctx.k.arch.rate_limit).is_some() {
                continue;
            }
            out.push(
                Finding::new(
                    META.id,
                    Severity::Info,
                    &first.file,
                    Span::point(Pos::new(first.line, 1)),
                    format!(
                        "{} mutation endpoint{} (first: {} {}) and no rate limiting in service `{}`",
                        mutations.len(),
                        if mutations.len() == 1 { "" } else { "s" },
                        first.method,
                        first.path,
                        svc.name
                    ),
                )
                .help("limit calls per client on mutation routes (e.g. `tower_governor`, `actix-governor`, `express-rate-limit`), or suppress this if a gateway enforces the limit")
                .key("service"),
            );
        }
    }
}
