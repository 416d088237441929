use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::knowledge::Knowledge;
use crate::model::{CallKind, FileModel, Usage};
use crate::rules::util::{call_label, fn_label};
use crate::rules::{ProgramCtx, Rule, RuleMeta};
use crate::semantics;
use crate::source::Span;

declare_rule! {
    /// ## What it catches
    /// The failure of an external call (HTTP, database, Redis, message
    /// broker, SMTP, object store, cloud SDK) that is not handled:
    /// - the result is `.unwrap()`ed or `.expect()`ed (error): one slow or
    ///   failing dependency panics the request, or the whole worker;
    /// - the failure is silently discarded: `let _ = call.await;`, `_ = ...`,
    ///   `.ok();` or `.unwrap_or(())` as a statement (error for writes and
    ///   payments, warning for reads);
    /// - an HTTP client is built without a timeout (`reqwest::Client::new()`,
    ///   a `Client::builder()` chain with neither `.timeout()` nor
    ///   `.connect_timeout()`) (warning): one hung peer holds a task forever.
    ///
    /// ## Why it matters
    /// Partial failures must not cascade into outages. An unwrap turns a
    /// dependency's bad minute into your crash loop; a discarded error loses
    /// writes without a trace; a missing timeout exhausts connections.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let resp = client.post(url).json(&body).send().await.unwrap();
    /// let _ = sqlx::query("UPDATE accounts SET ...").execute(&pool).await;
    /// ```
    ///
    /// ## How to fix
    /// Propagate with `?` (and `map_err` into your error type), match and
    /// log, retry with backoff where it is safe, and give every client a
    /// timeout: `Client::builder().timeout(Duration::from_secs(10)).build()?`.
    ///
    /// Not reported: errors propagated with `?`, mapped, matched or logged,
    /// `expect` at start-up (in `main` or code only `main` reaches: fail fast
    /// is right there), an `unwrap` after the same value was checked
    /// (`is_err()` then return, the `Ok(..)` arm of a `match`), a best-effort
    /// write discarded while another error is being handled (`if let Err(e) =
    /// .. { let _ = record(e); return Err(e) }`), and tests, benches,
    /// examples and build scripts.
    pub static META = ("unhandled-external-call", Error, "the failure of an external call unwrapped, discarded, or left without a timeout");
}

pub struct UnhandledExternalCall;

const HANDLED: &[&str] = &[
    "map_err",
    "context",
    "with_context",
    "wrap_err",
    "wrap_err_with",
    "inspect_err",
    "or_else",
    "unwrap_or_else",
    "map_or_else",
    "change_context",
    "attach_printable",
    "into_report",
    "err",
    "is_ok",
    "is_err",
];

impl Rule for UnhandledExternalCall {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let u = &ctx.units[fi];
        let m = u.model;
        if m.kind.test {
            return;
        }
        let k = ctx.k;
        // Requests that set their own timeout (`RequestBuilder::timeout`) make a client without one acceptable.
        let per_request_timeouts = m.calls.iter().enumerate().any(|(id, c)| {
            c.kind == CallKind::Method
                && c.name == "timeout"
                && m.chain(id).iter().any(|&x| {
                    k.http_verbs.contains(&m.calls[x].name) && !m.calls[x].args.is_empty()
                })
        });
        if let Some(lk) = k.lang(m.lang) {
            lang_checks(ctx, fi, lk, out);
            return;
        }
        for (first, c) in m.calls.iter().enumerate() {
            if c.prev.is_some() || c.in_test || c.func.is_some_and(|f| m.functions[f].is_test) {
                continue;
            }
            // Start-up code fails fast on purpose: `main` and the set-up helpers it calls.
            let in_main = c.func.is_some_and(|f| {
                let n = m.functions[f].name.as_str();
                (n == "main" && m.functions[f].owner.is_none())
                    || [
                        "init",
                        "setup",
                        "bootstrap",
                        "configure",
                        "create_pool",
                        "connect_db",
                        "build_pool",
                        "run_migrations",
                        "migrate",
                    ]
                    .iter()
                    .any(|p| n.starts_with(p))
            })
            // ..and whatever only `main` reaches (`let queue = new_queue().await.expect(..)`).
                || ctx.linked.call_at_startup(ctx.units, fi, first);
            let chain = m.chain(first);
            let tail = *chain.last().unwrap();
            let span = Span::new(c.span.start, m.calls[tail].span.end);
            if let Some(f) = client_without_timeout(m, &chain, k, per_request_timeouts) {
                out.push(
                    Finding::new(META.id, Severity::Warning, u.path, span, format!("HTTP client built with `{f}` has no timeout: a hung peer holds the request forever"))
                        .help("set timeouts on the builder: `reqwest::Client::builder().timeout(Duration::from_secs(10)).connect_timeout(Duration::from_secs(3)).build()?`")
                        .key(format!("timeout|{f}"))
                        .function(fn_label(m, first)),
                );
                continue;
            }
            let Some(hit) = semantics::external_chain(m, first, k).or_else(|| {
                let discarded = matches!(
                    m.calls[tail].usage,
                    crate::model::Usage::Discarded | crate::model::Usage::LetUnderscore
                );
                via_helper(ctx, fi, &chain, discarded)
            }) else {
                continue;
            };
            // `db::run_migrations(&pool)`: a call of the crate's own function
            // that returns no Result has nothing to handle (it panics or
            // logs inside).
            if m.lang == crate::model::Lang::Rust {
                let callees = ctx.linked.resolve(ctx.units, fi, hit.call, k);
                if !callees.is_empty()
                    && callees.iter().all(|g| {
                        let r = &ctx.units[g.0].model.functions[g.1].returns;
                        !r.contains("Result") && !r.starts_with("Option") && !r.contains("impl")
                    })
                {
                    continue;
                }
            }
            let label = call_label(m, hit.call);
            let pos = chain.iter().position(|&x| x == hit.call).unwrap_or(0);
            let mut verdict: Option<(Severity, String, &str)> = None;
            let mut handled = false;
            for &id in &chain[pos..] {
                let l = &m.calls[id];
                if id != hit.call {
                    let n = l.name.as_str();
                    if HANDLED.contains(&n) {
                        handled = true;
                        break;
                    }
                    if matches!(n, "unwrap" | "expect") && l.args.len() <= 1 {
                        if in_main {
                            handled = true;
                            break;
                        }
                        verdict = Some((Severity::Error, format!("the {} call `{label}` is `.{n}()`ed: a failure of the service panics instead of being handled", hit.kind), "propagate the error with `?` (map it into your error type with `map_err`), or match it and degrade gracefully"));
                        break;
                    }
                    if n == "unwrap_or_default" && (hit.payment || hit.kind == "HTTP") {
                        verdict = Some((Severity::Warning, format!("the failure of the {} call `{label}` is replaced by a default value and never reported", hit.kind), "handle the error explicitly: log it and return an error, or retry"));
                        break;
                    }
                    if (n == "ok"
                        || (n == "unwrap_or" && l.args.first().is_some_and(|a| a.text == "()")))
                        && id == tail
                        && matches!(l.usage, Usage::Discarded | Usage::LetUnderscore)
                    {
                        verdict = Some(discard(&hit, &label, &format!("`.{n}()`")));
                        break;
                    }
                }
                if l.tried {
                    handled = true;
                    break;
                }
            }
            if verdict.is_none() && !handled {
                // `let resp = client.get(u).send().await;` and later `resp.unwrap()`.
                if let Some(var) = &m.calls[tail].bound_to {
                    let later = m.calls.iter().find(|x| {
                        x.prev.is_none()
                            && x.func == c.func
                            && x.root == *var
                            && x.span.start > m.calls[tail].span.end
                            && matches!(x.name.as_str(), "unwrap" | "expect")
                    });
                    let later =
                        later.filter(|u| !unwrap_guarded(m, var, m.calls[tail].span.end, u));
                    if let Some(u) = later {
                        if !in_main {
                            verdict = Some((
                                Severity::Error,
                                format!("the {} call `{label}` is `.{}()`ed at line {}: a failure of the service panics instead of being handled", hit.kind, u.name, u.span.start.line),
                                "propagate the error with `?` (map it into your error type with `map_err`), or match it and degrade gracefully",
                            ));
                        }
                    }
                }
            }
            if verdict.is_none() && !handled {
                let t = &m.calls[tail];
                let awaited_or_sync = t.awaited
                    || hit.kind == "HTTP"
                        && !m.calls[hit.call].awaited
                        && chain[pos..].iter().any(|&x| m.calls[x].awaited)
                    || !t.in_async;
                if t.usage == Usage::LetUnderscore && awaited_or_sync {
                    verdict = Some(discard(&hit, &label, "`let _ =`"));
                } else if t.usage == Usage::Discarded && t.awaited && tail == hit.call {
                    verdict = Some(discard(&hit, &label, "a statement that drops its result"));
                }
            }
            // A best-effort write while handling another failure (`if let
            // Err(e) = run() { let _ = record_error(e); return Err(e) }`):
            // the failure that matters is the one being handled.
            let discarded = matches!(m.calls[tail].usage, Usage::Discarded | Usage::LetUnderscore);
            if discarded && crate::rules::util::in_error_branch(m.calls[tail].branch.as_deref()) {
                verdict = None;
            }
            if let Some(v) = verdict {
                out.push(finding(u.path, span, v, &hit, &label, fn_label(m, first)));
            }
        }
    }
}

/// Python, TypeScript/JavaScript, Go: missing timeouts, errors dropped with
/// `_`, swallowed by an empty handler, or promises left to reject unobserved.
fn lang_checks(
    ctx: &ProgramCtx,
    fi: usize,
    lk: &crate::knowledge::LangKnowledge,
    out: &mut Vec<Finding>,
) {
    use crate::knowledge::LangKnowledge;
    let u = &ctx.units[fi];
    let m = u.model;
    for (first, c) in m.calls.iter().enumerate() {
        if c.prev.is_some() || c.in_test || c.func.is_some_and(|f| m.functions[f].is_test) {
            continue;
        }
        let chain = m.chain(first);
        let tail = *chain.last().unwrap();
        let span = Span::new(c.span.start, m.calls[tail].span.end);
        let Some(hit) = semantics::external_chain(m, first, ctx.k) else {
            continue;
        };
        let label = LangKnowledge::dotted(m, hit.call);
        let t = &m.calls[tail];
        let text = LangKnowledge::chain_text(m, hit.call);
        let mut verdict: Option<(Severity, String, &str)> = None;
        if let Some(p) = lk.external_of(m, hit.call) {
            if p.timeout.as_ref().is_some_and(|re| !re.is_match(&text)) {
                let msg = if m.lang == crate::model::Lang::Go {
                    format!("`{label}` uses an HTTP client without a timeout (`http.DefaultClient` and `http.Client{{}}` wait forever)")
                } else {
                    format!("`{label}` is called without a timeout: a hung peer holds the request forever")
                };
                verdict = Some((Severity::Warning, msg, "set a timeout: `timeout=10` (requests), `&http.Client{Timeout: 10 * time.Second}` (Go)"));
            }
        }
        if verdict.is_none() {
            if t.usage == Usage::LetUnderscore {
                verdict = Some(discard(&hit, &label, "`_`"));
            } else if t.swallowed {
                verdict = Some(discard(&hit, &label, "an empty exception handler"));
            } else if matches!(
                m.lang,
                crate::model::Lang::TypeScript | crate::model::Lang::JavaScript
            ) && t.usage == Usage::Discarded
                // Only calls known to return a promise: HTTP clients and Prisma
                // (a `db.table.delete()` of an in-memory store is synchronous).
                && (hit.kind == "HTTP" || label.starts_with("prisma.") || label.contains(".prisma."))
                && !chain.iter().any(|&x| {
                    // `.then(ok)` alone leaves the rejection unhandled; `.then(ok, err)` handles it.
                    let l = &m.calls[x];
                    l.awaited || l.name == "catch" || (l.name == "then" && l.args.len() >= 2)
                })
            {
                let sev = if hit.write || hit.payment {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                verdict = Some((sev, format!("the promise of the {} call `{label}` is never awaited and its rejection never handled", hit.kind), "`await` it inside `try`/`catch`, or add `.catch(err => ...)` that logs and reports the failure"));
            }
        }
        if let Some(v) = verdict {
            out.push(finding(u.path, span, v, &hit, &label, fn_label(m, first)));
        }
    }
}

/// A call to the crate's own function that runs a query: its Result is the
/// database's. Discarding the result of a helper that logs its own errors
/// loses nothing (`let _ = mail.send(..)` where `send` logs every failure).
fn via_helper(
    ctx: &ProgramCtx,
    fi: usize,
    chain: &[usize],
    discarded: bool,
) -> Option<semantics::ExternalHit> {
    for &id in chain {
        for g in ctx.linked.resolve(ctx.units, fi, id, ctx.k) {
            let callee = &ctx.units[g.0].model.functions[g.1];
            let returns = &callee.returns;
            if !returns.contains("Result") && !returns.starts_with("Option") {
                continue; // nothing to handle: the helper dealt with its errors
            }
            if discarded && callee.logs_errors {
                continue;
            }
            if let Some(s) = ctx.linked.queries.get(&g) {
                return Some(semantics::ExternalHit {
                    call: id,
                    kind: "database",
                    write: s.write,
                    payment: false,
                });
            }
        }
    }
    None
}

/// A verdict as a finding: keyed by the service kind and the call, never by line.
fn finding(
    path: &str,
    span: Span,
    (sev, msg, help): (Severity, String, &str),
    hit: &semantics::ExternalHit,
    label: &str,
    function: String,
) -> Finding {
    Finding::new(META.id, sev, path, span, msg)
        .help(help)
        .key(format!("{}|{label}", hit.kind))
        .function(function)
}

fn discard(
    hit: &semantics::ExternalHit,
    label: &str,
    how: &str,
) -> (Severity, String, &'static str) {
    let sev = if hit.write || hit.payment {
        Severity::Error
    } else {
        Severity::Warning
    };
    let what = if hit.payment {
        "payment"
    } else if hit.write {
        "write"
    } else {
        "read"
    };
    (
        sev,
        format!("the failure of the {} {what} `{label}` is silently discarded with {how}", hit.kind),
        "handle the error: propagate it with `?`, or log it (`if let Err(e) = ... { tracing::warn!(error = %e, ...) }`) and decide what the caller sees",
    )
}

fn client_without_timeout(
    m: &FileModel,
    chain: &[usize],
    k: &Knowledge,
    per_request: bool,
) -> Option<String> {
    if per_request {
        return None;
    }
    let first = &m.calls[chain[0]];
    if first.kind != CallKind::Path {
        return None;
    }
    let full = m.resolve_path(&first.path);
    if Knowledge::path_in(&full, &k.client_constructors) {
        return Some(format!("{full}()"));
    }
    if Knowledge::path_in(&full, &k.client_builders) {
        let names: Vec<&str> = chain.iter().map(|&x| m.calls[x].name.as_str()).collect();
        if names.contains(&"build") && !names.iter().any(|n| k.timeout_methods.contains(*n)) {
            return Some(format!("{full}()"));
        }
    }
    None
}

/// `let r = call(); .. r.unwrap()` cannot panic when the code checked `r`
/// first: `if r.is_err() { return .. }` or `r.is_ok() && r.unwrap()` before
/// it, or the unwrap sits in the `Ok(..)` arm of a `match r`.
fn unwrap_guarded(
    m: &crate::model::FileModel,
    var: &str,
    bound_at: crate::source::Pos,
    u: &crate::model::Call,
) -> bool {
    let checked = m.calls.iter().any(|x| {
        x.func == u.func
            && x.root == var
            && x.span.start > bound_at
            && x.span.start < u.span.start
            && matches!(x.name.as_str(), "is_ok" | "is_err" | "is_some" | "is_none")
    });
    let in_ok_arm = u.branch.as_deref().is_some_and(|b| {
        b.strip_prefix("match ")
            .and_then(|b| b.split_once(" => "))
            .is_some_and(|(e, pat)| {
                e.trim_start_matches('&') == var
                    && (pat.starts_with("Ok(") || pat.starts_with("Some("))
            })
            || b == format!("{var}.is_ok()")
            || b == format!("{var}.is_some()")
    });
    checked || in_ok_arm
}
