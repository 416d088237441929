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
    /// A Rust, JavaScript/TypeScript or Go service that does log but traces
    /// no request (no `TraceLayer`, `TracingLogger`, actix `Logger`,
    /// `morgan`, `pino-http`, gin's default logger, nor `#[instrument]` on a
    /// handler) is reported too: its logs cannot be tied to the request that
    /// wrote them. Python servers log each request themselves.
    ///
    /// One finding per scanned tree, at its first route.
    pub static META = ("missing-observability", Warning, "a service with HTTP routes and no logging, tracing or metrics library");
}

pub struct MissingObservability;

fn instrumented_handler(ctx: &ProgramCtx) -> bool {
    ctx.units.iter().any(|u| {
        !u.model.kind.test
            && u.model
                .functions
                .iter()
                .any(|f| f.instrumented && !f.is_test)
    })
}

impl Rule for MissingObservability {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let Some(routes) = ctx.service_anchor(fi) else {
            return;
        };
        let n = routes.len();
        let (message, help, key) = if ctx.evidence(&ctx.k.arch.observability).is_none() {
            (
                format!("this service exposes {n} HTTP routes and wires in no logging, tracing or metrics library"),
                "add structured logging and request tracing (e.g. `tracing` with `tower_http::trace::TraceLayer`), and export metrics",
                "service",
            )
        } else {
            // Python servers (uvicorn, gunicorn, Django) log every request themselves.
            let traced_langs = routes.iter().any(|e| {
                !matches!(e.framework.as_str(), "python" | "fastapi/flask" | "django")
                    && !e.file.ends_with(".py")
            });
            if !traced_langs
                || ctx.evidence(&ctx.k.arch.request_logging).is_some()
                || instrumented_handler(ctx)
            {
                return;
            }
            (
                format!("this service logs, but none of its {n} HTTP routes is traced or access-logged: no request-logging or tracing middleware"),
                "add a per-request span or access log (`tower_http::trace::TraceLayer`, `tracing_actix_web::TracingLogger`, `morgan`/`pino-http`), so every log line carries its request",
                "requests",
            )
        };
        let first = &ctx.endpoints[fi][0];
        out.push(
            Finding::new(
                META.id,
                Severity::Warning,
                &first.file,
                Span::point(Pos::new(first.line, 1)),
                message,
            )
            .help(help)
            .key(key),
        );
    }
}
