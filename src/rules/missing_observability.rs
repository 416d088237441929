use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::rules::{ProgramCtx, Rule, RuleMeta};
use crate::source::{Pos, Span};

declare_rule! {
    /// ## What it catches
    /// A service that exposes HTTP routes but wires in no logging, tracing or
    /// metrics library: no `tracing`/`log`/`opentelemetry`/`metrics` crate,
    /// no Python `logging`/`structlog`, no `winston`/`pino`/`morgan`, no Go
    /// `log`/`slog`/`zap`, in any manifest, import or call of the tree.
    ///
    /// ## Why it matters
    /// When it fails in production, a service without logs or metrics can
    /// only be debugged by guessing: no error rates, no latencies, no trace of
    /// which request broke. Observability is decided at design time; it is
    /// the first thing an incident needs.
    ///
    /// ## Example
    /// ```rust,ignore
    /// // Cargo.toml has axum, sqlx, serde: nothing that logs.
    /// Router::new().route("/orders", post(create_order))
    /// ```
    ///
    /// ## How to fix
    /// Add structured logging and request tracing: `tracing` +
    /// `tracing-subscriber`, and `tower_http::trace::TraceLayer` (axum) or
    /// `tracing-actix-web` (actix); export metrics (`metrics`, `prometheus`).
    /// The names that count are listed in `rules/architecture.toml`
    /// (`observability`) and can be extended in archlint.toml.
    ///
    /// One finding per scanned tree, at its first route.
    pub static META = ("missing-observability", Warning, "a service with HTTP routes and no logging, tracing or metrics library");
}

pub struct MissingObservability;

impl Rule for MissingObservability {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let Some(routes) = ctx.service_anchor(fi) else {
            return;
        };
        if ctx.evidence(&ctx.k.arch.observability).is_some() {
            return;
        }
        let first = routes[0];
        out.push(
            Finding::new(
                META.id,
                Severity::Warning,
                &first.file,
                Span::point(Pos::new(first.line, 1)),
                format!(
                    "this service exposes {} HTTP routes and wires in no logging, tracing or metrics library",
                    routes.len()
                ),
            )
            .help("add structured logging and request tracing (e.g. `tracing` with `tower_http::trace::TraceLayer`), and export metrics")
            .key("service"),
        );
    }
}
