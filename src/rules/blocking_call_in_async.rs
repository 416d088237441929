use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::model::FileModel;
use crate::rules::util::{call_label, fn_label_of};
use crate::rules::{ProgramCtx, Rule, RuleMeta};
use crate::semantics;
use crate::source::Span;

declare_rule! {
    /// ## What it catches
    /// A call that blocks the thread, made on an async executor thread:
    /// `std::fs` and `File` I/O, `std::thread::sleep`, `std::net` connects and
    /// DNS (`to_socket_addrs`), `std::process::Command::output/status`,
    /// `reqwest::blocking`, `ureq`, `block_on`, `Path::exists`/`metadata`,
    /// password hashing (argon2, bcrypt, scrypt), and `std::sync::Mutex`
    /// guards held across an `.await`. Found in `async fn`s, `async` blocks and
    /// closures passed to `tokio::spawn`, directly or through synchronous
    /// helpers of the crate.
    ///
    /// ## Why it matters
    /// An async runtime runs many tasks on few threads. One blocking call
    /// stalls every task on that thread: latency spikes for unrelated
    /// requests, timeouts, and with a held mutex guard, deadlocks.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn upload(path: PathBuf) -> Result<Vec<u8>> {
    ///     Ok(std::fs::read(path)?)
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Use the async version (`tokio::fs`, `tokio::time::sleep`,
    /// `tokio::process::Command`, async `reqwest`), or move the work off the
    /// executor with `tokio::task::spawn_blocking`. Drop lock guards before
    /// `.await`, or use `tokio::sync::Mutex`.
    ///
    /// Not reported: calls under `spawn_blocking`, `block_in_place` or a
    /// dedicated `std::thread`, async look-alikes (`tokio::fs`, `async_std`),
    /// reads of `/proc` and `/sys` (the kernel answers from memory), guards
    /// dropped inside a block before the `.await`, and test code.
    ///
    /// At start-up (info): code only `main` reaches, through thread spawns and
    /// `block_on` closures that run once and `for` loops over finite
    /// collections, but not what a polling `loop` or a serving loop repeats.
    pub static META = ("blocking-call-in-async", Error, "a blocking call inside async code on the request path");
}

pub struct BlockingCallInAsync;

fn context_label(m: &FileModel, call: usize) -> String {
    match m.calls[call].func {
        Some(f) => {
            let fun = &m.functions[f];
            let name = match &fun.owner {
                Some(o) => format!("{o}::{}", fun.name),
                None => fun.name.clone(),
            };
            if fun.is_async {
                format!("`async fn {name}`")
            } else {
                format!("an async block in `{name}`")
            }
        }
        None => "an async block".into(),
    }
}

/// Is the call's innermost branch a lazy-initialisation guard: a test that
/// a name which is not a parameter of the function is unset (`!initialized`,
/// `not _client`, `cache is None`, `signer === undefined`)?
fn lazy_init_guard(m: &crate::model::FileModel, id: crate::model::CallId) -> bool {
    let c = &m.calls[id];
    let Some(b) = c.branch.as_deref() else {
        return false;
    };
    let b = b
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let name = b
        .strip_prefix('!')
        .or_else(|| b.strip_prefix("not "))
        .or_else(|| b.strip_suffix(" is None"))
        .or_else(|| b.strip_suffix(" === undefined"))
        .or_else(|| b.strip_suffix(" == null"))
        .or_else(|| b.strip_suffix(" === null"))
        .map(str::trim);
    let Some(name) = name else { return false };
    let bare = name
        .trim_start_matches("self.")
        .trim_start_matches("this.")
        .trim_start_matches("cls.");
    !bare.is_empty()
        && bare.chars().all(|ch| ch.is_alphanumeric() || ch == '_')
        && !c
            .func
            .is_some_and(|f| m.functions[f].params.iter().any(|p| p.name == bare))
}

fn fix_for(api: &str) -> &'static str {
    if api.contains("fs::") || api.contains("Path::") {
        "use `tokio::fs` (or wrap the work in `tokio::task::spawn_blocking`)"
    } else if api.contains("sleep") {
        "use `tokio::time::sleep(..).await`"
    } else if api.contains("Command") {
        "use `tokio::process::Command` and `.output().await`"
    } else if api.contains("password")
        || api.contains("bcrypt")
        || api.contains("scrypt")
        || api.contains("pbkdf2")
    {
        "hash in `tokio::task::spawn_blocking(move || ...)`"
    } else if api.contains("reqwest::blocking") || api.contains("ureq") {
        "use the async `reqwest::Client`"
    } else {
        "move it into `tokio::task::spawn_blocking`, or use the async equivalent"
    }
}

impl Rule for BlockingCallInAsync {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let u = &ctx.units[fi];
        let m = u.model;
        if m.kind.test {
            return;
        }
        for (id, c) in m.calls.iter().enumerate() {
            if !c.in_async || c.in_test || c.func.is_some_and(|f| m.functions[f].is_test) {
                continue;
            }
            // `async fn main` runs start-up before serving: blocking there stalls nothing.
            if c.func
                .is_some_and(|f| m.functions[f].name == "main" && m.functions[f].owner.is_none())
            {
                continue;
            }
            // Neither does code only `main` reaches (configuration, TLS files, a
            // data folder checked before the server starts): a note at most.
            let startup = ctx.linked.call_at_startup(ctx.units, fi, id);
            let span = Span::new(c.span.start, c.span.end);
            let direct = semantics::blocking_at(m, id, ctx.k);
            let via: Vec<_> = if direct.is_some() {
                Vec::new()
            } else {
                ctx.linked
                    .resolve(ctx.units, fi, id, ctx.k)
                    .into_iter()
                    .filter(|g| ctx.linked.blocks.contains_key(g))
                    .collect()
            };
            if (direct.is_none() && via.is_empty())
                || ctx.linked.offloaded(ctx.units, fi, id, ctx.k)
            {
                continue;
            }
            let (severity, when) = if startup {
                (
                    Severity::Info,
                    " (only at start-up: `main` is its only caller)",
                )
            } else if lazy_init_guard(m, id) {
                // `if (!initialized) { initWasm(fs.readFileSync(p)); initialized = true }`.
                (
                    Severity::Info,
                    " (a lazy one-time initialisation, guarded by a flag)",
                )
            } else {
                (Severity::Error, "")
            };
            if let Some(api) = direct {
                out.push(
                    Finding::new(
                        META.id,
                        severity,
                        u.path,
                        span,
                        format!(
                            "`{api}` blocks the async executor in {}{when}",
                            context_label(m, id)
                        ),
                    )
                    .help(fix_for(&api))
                    .key(api.clone())
                    .function(crate::rules::util::fn_label(m, id)),
                );
                continue;
            }
            for g in via {
                // `Database.initDataDir()`, `setup_consumers().await`: a call
                // into set-up code is a set-up step wherever it is written.
                let (severity, when) = if severity > Severity::Info
                    && crate::link::setup_named(&ctx.units[g.0].model.functions[g.1].name)
                {
                    (
                        Severity::Info,
                        " (set-up code by its name: runs once, before serving)",
                    )
                } else {
                    (severity, when)
                };
                let path = ctx.linked.witness(&ctx.linked.blocks, g);
                let Some(&((bf, _), bc)) = path.last() else {
                    continue;
                };
                let bu = &ctx.units[bf];
                let api = semantics::blocking_at(bu.model, bc, ctx.k)
                    .unwrap_or_else(|| call_label(bu.model, bc));
                let mut f = Finding::new(
                    META.id,
                    severity,
                    u.path,
                    span,
                    format!(
                        "`{}` blocks the async executor in {}: it reaches `{api}` in {}:{}{when}",
                        call_label(m, id),
                        context_label(m, id),
                        bu.path,
                        bu.model.calls[bc].span.start.line
                    ),
                )
                .help(format!(
                    "call it inside `tokio::task::spawn_blocking`, or make the helper async and {}",
                    fix_for(&api)
                ))
                .key(format!("{}|{api}", call_label(m, id)))
                .function(crate::rules::util::fn_label(m, id));
                for &((hf, hg), hc) in &path {
                    let hu = &ctx.units[hf];
                    f = f.related(
                        hu.path,
                        hu.model.calls[hc].span.start.line,
                        format!(
                            "`{}` calls `{}`",
                            fn_label_of(hu, hg),
                            call_label(hu.model, hc)
                        ),
                    );
                }
                out.push(f);
                break;
            }
        }
        for g in &m.guards {
            let c = &m.calls[g.lock_call];
            if c.in_test || ctx.linked.offloaded(ctx.units, fi, g.lock_call, ctx.k) {
                continue;
            }
            let span = Span::new(c.span.start, c.span.end);
            out.push(
                Finding::new(META.id, Severity::Error, u.path, span, format!("a `std::sync` lock guard from `{}` is held across an `.await` (line {}) in {}", call_label(m, g.lock_call), g.await_pos.line, context_label(m, g.lock_call)))
                    .help("drop the guard before awaiting (scope it in a block or call `drop(guard)`), or use `tokio::sync::Mutex`")
                    .key(format!("guard|{}", call_label(m, g.lock_call)))
                    .function(crate::rules::util::fn_label(m, g.lock_call))
                    .related(u.path, g.await_pos.line, "awaits while the guard is alive"),
            );
        }
    }
}
