use regex::Regex;
use std::sync::OnceLock;

use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::rules::{ProgramCtx, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// ## What it catches
    /// Process-local mutable state in an HTTP service: a `static mut`, or a
    /// `static` / `lazy_static!` / `OnceLock` / `Lazy` holding a `Mutex`,
    /// `RwLock` or `DashMap` around a map, set or vector (sessions, carts,
    /// counters kept in memory).
    ///
    /// ## Why it matters
    /// The backend-architect's first critical rule: services must scale
    /// horizontally. State in one process is invisible to its replicas, lost
    /// on every deploy, and wrong as soon as a load balancer sends the next
    /// request elsewhere.
    ///
    /// ## Example
    /// ```rust,ignore
    /// static SESSIONS: Lazy<Mutex<HashMap<String, Session>>> = Lazy::new(Default::default);
    /// ```
    ///
    /// ## How to fix
    /// Keep shared state in a store every replica sees (Redis, the database),
    /// or make it a cache that may be empty without changing behaviour.
    ///
    /// Only code of an HTTP service (an entry point with routes, and the
    /// crates it depends on) is checked; immutable statics and test code are
    /// fine.
    pub static META = ("stateful-service", Warning, "process-local mutable state that breaks horizontal scaling");
}

pub struct StatefulService;

fn shared_collection() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(Mutex|RwLock|RefCell)<\s*(std::collections::)?(HashMap|BTreeMap|HashSet|BTreeSet|Vec|VecDeque|IndexMap)\b|DashMap<|DashSet<").unwrap())
}

/// A cache by its name (`BLOG_FQN_CACHE`, `MEMO`), or a registry of process
/// resources (channel senders, storage operators, clients, pools): a replica
/// that starts empty rebuilds it, no user's state is lost.
fn memo_or_resources(name: &str, ty: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let upper = name.to_ascii_uppercase();
    upper.contains("CACHE")
        || upper.contains("MEMO")
        || RE
            .get_or_init(|| {
                Regex::new(r"\b(\w*Sender|\w*Receiver|Operator|\w*Client|\w*Pool|\w*Connection|JoinHandle|\w*Handle|Semaphore|Notify|\w*Channel)\b").unwrap()
            })
            .is_match(ty)
}

impl Rule for StatefulService {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let u = &ctx.units[fi];
        let m = u.model;
        if m.statics.is_empty() || m.kind.test {
            return;
        }
        // The HTTP services whose code this is ([`crate::services`]).
        let mine: Vec<&str> = ctx
            .services
            .iter()
            .filter(|s| s.kind == crate::services::Kind::Http && s.has(fi))
            .map(|s| s.name.as_str())
            .collect();
        if mine.is_empty() {
            return;
        }
        let whose = mine
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        for s in &m.statics {
            let what = if s.mutable {
                "a `static mut`"
            } else if memo_or_resources(&s.name, &s.ty) {
                continue;
            } else if shared_collection().is_match(&s.ty) {
                "a shared mutable collection"
            } else {
                continue;
            };
            out.push(
                Finding::new(META.id, Severity::Warning, u.path, Span::point(s.pos), format!("`{}` is {what} in the memory of service {whose} (`{}`): replicas do not share it and a restart loses it", s.name, s.ty.chars().take(60).collect::<String>()))
                    .help("keep shared state in Redis or the database; keep only caches that may be empty in process memory")
                    .key(s.name.clone()),
            );
        }
    }
}
