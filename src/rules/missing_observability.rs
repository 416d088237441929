use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::rules::{ProgramCtx, Rule, RuleMeta};

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
    /// Decided per service ([`crate::services`]): only the service's own
    /// manifests and code count. One finding per HTTP service, at its router
    /// composition; a worker consuming a queue needs logging too (reported at
    /// its `main`); command-line tools and libraries are not checked.
    pub static META = ("missing-observability", Warning, "a service with HTTP routes and no logging, tracing or metrics library");
}

pub struct MissingObservability;

fn instrumented_handler(ctx: &ProgramCtx, svc: &crate::services::Service) -> bool {
    svc.files.iter().any(|&f| {
        let u = &ctx.units[f];
        !u.model.kind.test
            && u.model
                .functions
                .iter()
                .any(|f| f.instrumented && !f.is_test)
    })
}

/// A home-made access log: a logging call in the service's code that
/// records a request's method or URI, or how long it took
/// (`slog.Debug("request", slog.String("method", r.Method), ..)`,
/// `log.Info(app.ReqLog(r, status, time.Since(start)))`).
fn access_logged(ctx: &ProgramCtx, svc: &crate::services::Service) -> bool {
    const REQUEST: &[&str] = &[
        "r.Method",
        "r.RequestURI",
        "r.URL.Path",
        "req.Method",
        "req.method",
        "req.url",
        "request.method",
        "time.Since(",
        ".elapsed()",
    ];
    svc.files.iter().any(|&f| {
        let m = ctx.units[f].model;
        !m.kind.test
            && m.calls.iter().any(|c| {
                let n = c.name.to_ascii_lowercase();
                let logs = matches!(
                    n.as_str(),
                    "info"
                        | "infof"
                        | "debug"
                        | "debugf"
                        | "printf"
                        | "println"
                        | "print"
                        | "trace"
                        | "tracef"
                        | "log"
                        | "logf"
                        | "info!"
                        | "debug!"
                ) || c.root.to_ascii_lowercase().contains("log");
                logs && !c.in_test
                    && c.args
                        .iter()
                        .any(|a| REQUEST.iter().any(|r| a.text.contains(r)))
            })
    })
}

impl Rule for MissingObservability {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        use crate::services::Kind;
        for svc in ctx.services_anchored(fi) {
            if svc.kind == Kind::Cli {
                continue;
            }
            let routes = &svc.endpoints;
            let n = routes.len();
            let name = &svc.name;
            let (message, help, key) = if ctx.evidence_in(svc, &ctx.k.arch.observability).is_none()
            {
                (
                    if svc.kind == Kind::Worker {
                        format!("service `{name}` consumes a queue and wires in no logging, tracing or metrics library")
                    } else {
                        format!("service `{name}` exposes {n} HTTP routes and wires in no logging, tracing or metrics library")
                    },
                    "add structured logging and request tracing (e.g. `tracing` with `tower_http::trace::TraceLayer`), and export metrics",
                    "service",
                )
            } else {
                if svc.kind == Kind::Worker {
                    continue;
                }
                // Python servers (uvicorn, gunicorn, Django) log every request themselves.
                let traced_langs = routes.iter().any(|e| {
                    !matches!(e.framework.as_str(), "python" | "fastapi/flask" | "django")
                        && !e.file.ends_with(".py")
                });
                if !traced_langs
                    || ctx.evidence_in(svc, &ctx.k.arch.request_logging).is_some()
                    || instrumented_handler(ctx, svc)
                    || access_logged(ctx, svc)
                {
                    continue;
                }
                (
                    format!("service `{name}` logs, but none of its {n} HTTP routes is traced or access-logged: no request-logging or tracing middleware"),
                    "add a per-request span or access log (`tower_http::trace::TraceLayer`, `tracing_actix_web::TracingLogger`, `morgan`/`pino-http`), so every log line carries its request",
                    "requests",
                )
            };
            out.push(
                Finding::new(
                    META.id,
                    Severity::Warning,
                    &svc.anchor.0,
                    svc.anchor.1,
                    message,
                )
                .help(help)
                .key(key),
            );
        }
    }
}
