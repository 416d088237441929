//! What a call means, from the API knowledge: does this chain run a query,
//! call an external service, block the thread? Shared by the linker (function
//! summaries) and by every rule, so the answer is the same everywhere.

use crate::knowledge::{path_matches, Knowledge, LangKnowledge, Rows};
use crate::model::{ArgKind, Call, CallId, CallKind, FileModel, Function, SqlFacts};

/// The simple name an expression reduces to: `&mut *tx` -> `tx`,
/// `state.db.clone()` -> `db`, `ctx.pool()` -> `pool`, `&**conn` -> `conn`.
pub fn handle_name(text: &str) -> &str {
    let mut t = text.trim().trim_start_matches(['&', '*', '(']);
    if let Some(r) = t.strip_prefix("mut ") {
        t = r.trim_start().trim_start_matches(['&', '*', '(']);
    }
    // Drop accessor suffixes that keep the handle: .clone(), .as_ref(), .get().await?
    loop {
        let before = t;
        for suffix in [
            ".clone()",
            ".as_ref()",
            ".as_mut()",
            ".deref()",
            ".deref_mut()",
            ".get_ref()",
            ".await",
            "?",
            ".unwrap()",
            ".inner()",
            ".get()",
            ".acquire()",
            ".lock()",
            ".borrow()",
            ".borrow_mut()",
            ".as_deref()",
            ".get_mut()",
            ")",
        ] {
            if let Some(r) = t.strip_suffix(suffix) {
                if suffix == ")" && !r.ends_with('(') && r.contains('(') {
                    continue; // a call with arguments: not an accessor
                }
                t = r;
            }
        }
        if t == before {
            break;
        }
    }
    let t = t.strip_suffix('(').unwrap_or(t);
    t.rsplit(['.', ':', ' ']).next().unwrap_or(t)
}

/// Does this argument or receiver text name a database handle in `func`?
pub fn is_db_handle(text: &str, func: Option<&Function>, k: &Knowledge) -> bool {
    if text.is_empty() || text.starts_with('"') {
        return false;
    }
    let name = handle_name(text);
    if name.is_empty() {
        return false;
    }
    if k.q_handle_names.is_match(name) {
        return true;
    }
    // A parameter whose type names a handle (itself, not one of its fields).
    let root = text.trim_start_matches(['&', '*', '(']);
    let root = root
        .strip_prefix("mut ")
        .unwrap_or(root)
        .trim_start_matches(['&', '*']);
    let root = root.split(['.', '?', '(']).next().unwrap_or(root);
    if let Some(f) = func {
        if let Some(p) = f.params.iter().find(|p| p.name == root && root == name) {
            return type_names_handle(&p.ty, k);
        }
    }
    false
}

pub fn type_names_handle(ty: &str, k: &Knowledge) -> bool {
    ty.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| k.q_handle_types.contains(w))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryHow {
    /// Built from SQL or an ORM chain and run at a terminal.
    Terminal,
    /// SQL text run directly on a handle.
    SqlMethod,
    /// A call that receives a database handle (unresolved helper).
    PassesHandle,
    /// A Redis or MongoDB command.
    Store,
}

#[derive(Clone, Copy, Debug)]
pub struct QueryHit {
    /// The call that runs the query.
    pub call: CallId,
    pub how: QueryHow,
    pub write: bool,
}

fn fn_of<'m>(m: &'m FileModel, c: &Call) -> Option<&'m Function> {
    c.func.map(|f| &m.functions[f])
}

/// The SQL statement run by the chain ending at `tail`, if known.
pub fn sql_of(m: &FileModel, tail: CallId) -> Option<&crate::model::SqlStmt> {
    m.sql.iter().find(|s| s.call == Some(tail))
}

/// Does the call `id` (one link of a chain) run a database query?
pub fn query_at(m: &FileModel, id: CallId, k: &Knowledge) -> Option<QueryHit> {
    if let Some(lk) = k.lang(m.lang) {
        return lang_query_at(m, id, k, lk);
    }
    let c = &m.calls[id];
    let func = fn_of(m, c);
    if c.kind != CallKind::Method {
        // `DbPool::Pool(conn)`, `Wrapper(pool)`: constructing a value is not a query.
        let constructor = c
            .name
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_uppercase());
        if c.kind == CallKind::Path
            && !constructor
            && !c.args.is_empty()
            && !k.q_not_queries.contains(&c.name)
            && !k.q_not_queries.contains(&c.full_path())
        {
            let full = m.resolve_path(&c.path);
            // A constructor's argument is SQL, not a handle.
            if !Knowledge::path_in(&full, &k.q_constructors)
                && c.args
                    .iter()
                    .any(|a| a.kind == ArgKind::Other && is_db_handle(&a.text, func, k))
                && !c
                    .path
                    .first()
                    .is_some_and(|s| s == "Ok" || s == "Some" || s == "Err")
            {
                return Some(QueryHit {
                    call: id,
                    how: QueryHow::PassesHandle,
                    write: is_write_name(&c.name, k),
                });
            }
        }
        return None;
    }
    let chain = m.chain(id);
    let pos = chain.iter().position(|&x| x == id).unwrap_or(0);
    let before = &chain[..pos];
    let has_ctor = before.iter().any(|&b| {
        let bc = &m.calls[b];
        match bc.kind {
            CallKind::Path => Knowledge::path_in(&m.resolve_path(&bc.path), &k.q_constructors),
            CallKind::Macro => k.q_macros.contains(&bc.name),
            CallKind::Method => false,
        }
    });
    let has_starter = before.iter().any(|&b| {
        let bc = &m.calls[b];
        k.q_orm_starters.contains(&bc.name)
            && (bc.kind == CallKind::Path
                && bc.path.len() >= 2
                && bc.path[bc.path.len() - 2]
                    .chars()
                    .next()
                    .is_some_and(|ch| ch.is_ascii_uppercase()))
    });
    // `map.insert(conn.replica, false)`: a collection's method with a value
    // named like a handle among its arguments; an ORM's takes the handle alone
    // (`model.insert(db)`).
    let collection_call = k.common_methods.contains(&c.name) && c.args.len() > 1;
    let handle_arg = c.args.iter().any(|a| {
        matches!(a.kind, ArgKind::Other | ArgKind::Path(_))
            && is_db_handle(&a.text, func, k)
            && !(collection_call && is_field_of_value(&a.text))
    });
    let tail = m.chain_end(id);
    let write = || {
        if let Some(s) = sql_of(m, tail) {
            return matches!(s.facts, SqlFacts::Write { .. });
        }
        before
            .iter()
            .chain(std::iter::once(&id))
            .any(|&b| is_write_name(&m.calls[b].name, k))
    };
    if k.q_terminals.contains(&c.name)
        && (has_ctor || handle_arg || (has_starter && !c.args.is_empty()))
    {
        return Some(QueryHit {
            call: id,
            how: QueryHow::Terminal,
            write: write(),
        });
    }
    if k.q_sql_methods.contains(&c.name) && !c.args.is_empty() {
        let sql_arg = match &c.args[0].kind {
            ArgKind::Str(ix) => crate::frontend::sql::looks_like_sql(&m.literals[*ix].value),
            ArgKind::Path(p) => p
                .chars()
                .all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch == ':' || ch.is_ascii_digit()),
            _ => false,
        };
        let on_handle = pos == 0 && is_db_handle(&c.root, func, k);
        if sql_arg || on_handle {
            return Some(QueryHit {
                call: id,
                how: QueryHow::SqlMethod,
                write: write(),
            });
        }
    }
    if pos == 0
        && k.redis_receivers.is_match(handle_name(&c.root))
        && k.redis_methods.contains(&c.name)
    {
        return Some(QueryHit {
            call: id,
            how: QueryHow::Store,
            write: is_write_name(&c.name, k) || c.name == "set",
        });
    }
    if pos == 0 && is_mongo_collection(&c.root) && is_mongo_method(&c.name) {
        return Some(QueryHit {
            call: id,
            how: QueryHow::Store,
            write: c.name.contains("insert")
                || c.name.contains("update")
                || c.name.contains("delete")
                || c.name.contains("replace"),
        });
    }
    if handle_arg && !k.q_not_queries.contains(&c.name) && !k.q_terminals.contains(&c.name) {
        return Some(QueryHit {
            call: id,
            how: QueryHow::PassesHandle,
            write: is_write_name(&c.name, k),
        });
    }
    None
}

/// `conn.replica`, `m.pool_id`: a field of some value, not a handle the
/// caller holds (`&conn`, `&state.db`, `&self.pool`).
fn is_field_of_value(text: &str) -> bool {
    let t = text.trim_start_matches(['&', '*']);
    let t = t.strip_prefix("mut ").unwrap_or(t);
    match t.split_once('.') {
        Some((head, _)) => !matches!(head, "self" | "state" | "ctx" | "app" | "data" | "this"),
        None => false,
    }
}

fn is_mongo_collection(root: &str) -> bool {
    let n = handle_name(root).to_ascii_lowercase();
    n == "collection" || n == "coll" || n.ends_with("_collection") || n.ends_with("_coll")
}

fn is_mongo_method(name: &str) -> bool {
    matches!(
        name,
        "find"
            | "find_one"
            | "insert_one"
            | "insert_many"
            | "update_one"
            | "update_many"
            | "delete_one"
            | "delete_many"
            | "replace_one"
            | "aggregate"
            | "count_documents"
            | "find_one_and_update"
            | "find_one_and_delete"
            | "distinct"
    )
}

pub fn is_write_name(name: &str, k: &Knowledge) -> bool {
    let n = name.to_ascii_lowercase();
    k.write_words.contains(&n)
        || n.split('_').any(|w| {
            matches!(
                w,
                "insert"
                    | "update"
                    | "delete"
                    | "upsert"
                    | "save"
                    | "create"
                    | "remove"
                    | "store"
                    | "write"
            )
        })
}

/// The first link of the chain containing `id` that runs a query.
pub fn chain_query(m: &FileModel, any: CallId, k: &Knowledge) -> Option<QueryHit> {
    m.chain(any).into_iter().find_map(|c| query_at(m, c, k))
}

/// What kind of external service a chain calls, if any, and at which link.
#[derive(Clone, Debug)]
pub struct ExternalHit {
    pub call: CallId,
    pub kind: &'static str,
    pub write: bool,
    pub payment: bool,
}

pub fn external_chain(m: &FileModel, any: CallId, k: &Knowledge) -> Option<ExternalHit> {
    if let Some(lk) = k.lang(m.lang) {
        return lang_external(m, any, k, lk);
    }
    let chain = m.chain(any);
    let first = &m.calls[chain[0]];
    let root = handle_name(&first.root).to_string();
    let root_full = first.root.clone();
    let payment =
        |extra: &str| k.payment_words.is_match(&root_full) || k.payment_words.is_match(extra);
    let mut verb: Option<&str> = None;
    for (i, &id) in chain.iter().enumerate() {
        let c = &m.calls[id];
        let args_text: String = c
            .args
            .iter()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>()
            .join(",");
        if c.kind == CallKind::Path {
            let full = m.resolve_path(&c.path);
            if Knowledge::path_in(&full, &k.ext_paths) {
                let write = !matches!(c.name.as_str(), "get" | "head");
                return Some(ExternalHit {
                    call: id,
                    kind: "HTTP",
                    write,
                    payment: payment(&args_text),
                });
            }
        }
        if c.kind != CallKind::Method {
            continue;
        }
        let url_arg = c.args.first().is_some_and(|a| match &a.kind {
            ArgKind::Str(ix) => m.literals[*ix].value.starts_with("http"),
            _ => a.text.contains("://") || a.text.to_ascii_lowercase().contains("url"),
        });
        if k.http_verbs.contains(&c.name)
            && (i > 0 || k.http_receivers.is_match(&root) || url_arg)
            && !c.args.is_empty()
        {
            verb = Some(match c.name.as_str() {
                "get" => "GET",
                "head" => "HEAD",
                _ => "WRITE",
            });
            continue;
        }
        if k.http_send.contains(&c.name) && c.args.is_empty() {
            if let Some(v) = verb {
                let urls: String = chain
                    .iter()
                    .flat_map(|&x| m.calls[x].args.iter().map(|a| a.text.clone()))
                    .collect();
                return Some(ExternalHit {
                    call: id,
                    kind: "HTTP",
                    write: v == "WRITE",
                    payment: payment(&urls),
                });
            }
            if i > 0 && k.sdk_receivers.is_match(&root) {
                let op = &m.calls[chain[0]].name;
                let write = !op.starts_with("get")
                    && !op.starts_with("list")
                    && !op.starts_with("describe")
                    && !op.starts_with("head");
                return Some(ExternalHit {
                    call: id,
                    kind: "cloud SDK",
                    write,
                    payment: false,
                });
            }
        }
        if i == 0 {
            // The file uses crate `p`: imports it, calls into it, or takes its types.
            let imports = |p: &str| {
                let pre = format!("{p}::");
                m.imports
                    .iter()
                    .any(|imp| imp.path == p || imp.path.starts_with(&pre))
                    || m.calls
                        .iter()
                        .any(|x| x.path.first().is_some_and(|s| s == p))
                    || m.functions
                        .iter()
                        .any(|f| f.params.iter().any(|pa| pa.ty.contains(&pre)))
            };
            let one_plain_arg =
                c.args.len() == 1 && !matches!(c.args[0].kind, ArgKind::Str(_) | ArgKind::Closure);
            // reqwest `client.execute(request)`, hyper `client.request(req)`: the call itself sends.
            if matches!(c.name.as_str(), "execute" | "request")
                && one_plain_arg
                && k.http_receivers.is_match(&root)
                && !chain[i + 1..]
                    .iter()
                    .any(|&x| k.http_send.contains(&m.calls[x].name))
                && (imports("reqwest") || imports("hyper") || imports("hyper_util"))
            {
                return Some(ExternalHit {
                    call: id,
                    kind: "HTTP",
                    write: true,
                    payment: payment(""),
                });
            }
            // A redis connection named like any other (`conn.get(key)`), in a file that uses redis.
            if k.redis_methods.contains(&c.name)
                && !c.args.is_empty()
                && (root == "con" || k.q_handle_names.is_match(&root))
                && imports("redis")
            {
                let write = !c.name.starts_with('g') && c.name != "exists" && c.name != "mget";
                return Some(ExternalHit {
                    call: id,
                    kind: "Redis",
                    write,
                    payment: false,
                });
            }
            // tonic: a generated client's RPC method (`client.say_hello(request)`).
            if (root == "client" || root.ends_with("_client"))
                && c.awaited
                && c.args.len() == 1
                && imports("tonic")
            {
                return Some(ExternalHit {
                    call: id,
                    kind: "gRPC",
                    write: true,
                    payment: false,
                });
            }
            if k.redis_receivers.is_match(&root) && k.redis_methods.contains(&c.name) {
                return Some(ExternalHit {
                    call: id,
                    kind: "Redis",
                    write: !c.name.starts_with('g') && c.name != "exists" && c.name != "mget",
                    payment: false,
                });
            }
            // Brokers, mail and object stores: a receiver that names the service
            // and one of its methods, with an argument.
            let services = [
                (&k.broker_receivers, &k.broker_methods, "message broker"),
                (&k.mail_receivers, &k.mail_methods, "SMTP"),
                (&k.store_receivers, &k.store_methods, "object store"),
            ];
            for (receivers, methods, kind) in services {
                if receivers.is_match(&root) && methods.contains(&c.name) && !c.args.is_empty() {
                    let reads = kind == "object store"
                        && matches!(
                            c.name.as_str(),
                            "get" | "list" | "head" | "read" | "stat" | "get_opts"
                        );
                    return Some(ExternalHit {
                        call: id,
                        kind,
                        write: !reads,
                        payment: false,
                    });
                }
            }
        }
        // Transactions and pool checkouts fail like queries do (`tx.commit()`, `pool.get()`).
        if i == 0
            && matches!(
                c.name.as_str(),
                "commit" | "rollback" | "begin" | "acquire" | "get" | "get_owned" | "get_conn"
            )
            && c.args.is_empty()
            && is_db_handle(&first.root, fn_of(m, c), k)
        {
            return Some(ExternalHit {
                call: id,
                kind: "database",
                write: c.name == "commit",
                payment: false,
            });
        }
        if let Some(hit) = query_at(m, id, k).and_then(database_hit) {
            return Some(hit);
        }
    }
    None
}

/// Reading `/proc` or `/sys` asks the kernel for a value in memory, no disk
/// I/O: `fs::read_to_string("/proc/self/cgroup")`,
/// `Path::new("/sys/fs/cgroup").exists()`.
fn kernel_pseudo_file(m: &FileModel, id: CallId) -> bool {
    let chain = m.chain(id);
    let upto = chain
        .iter()
        .position(|&x| x == id)
        .map_or(chain.len(), |p| p + 1);
    chain[..upto]
        .iter()
        .flat_map(|&x| &m.calls[x].args)
        .any(|a| {
            let t = a.text.trim_start_matches(['&', 'r', 'f', 'b']);
            let t = t.trim_start_matches(['"', '\'', '`']);
            t.starts_with("/proc/") || t.starts_with("/sys/")
        })
}

/// Does this call block the thread? Returns the API named for the message.
pub fn blocking_at(m: &FileModel, id: CallId, k: &Knowledge) -> Option<String> {
    let c = &m.calls[id];
    if c.awaited || kernel_pseudo_file(m, id) {
        return None;
    }
    if let Some(lk) = k.lang(m.lang) {
        return lk.blocking_of(m, id).map(|_| LangKnowledge::dotted(m, id));
    }
    match c.kind {
        CallKind::Path if c.path.is_empty() => None,
        CallKind::Path => {
            let full = m.resolve_path(&c.path);
            // Only paths that resolve to an absolute crate path are trusted.
            if c.path.len() < 2 && !m.imports.iter().any(|i| i.alias == c.path[0]) {
                return None;
            }
            if k.blocking_paths.iter().any(|p| {
                path_matches(&full, p) || (p.ends_with("::") && full.starts_with(p.as_str()))
            }) {
                if full.starts_with("std::process::Command") {
                    return None; // blocks only when waited on: see the method below
                }
                // A chain that is awaited is an async look-alike.
                let tail = m.chain_end(id);
                if m.chain(id).iter().any(|&x| m.calls[x].awaited) && tail != id {
                    return None;
                }
                return Some(full);
            }
            None
        }
        CallKind::Method => {
            let chain = m.chain(id);
            let first = &m.calls[chain[0]];
            // A synchronous driver's query (diesel, rusqlite, postgres) holds the thread
            // until the database answers.
            if sync_driver(m) && query_at(m, id, k).is_some_and(|q| q.how != QueryHow::PassesHandle)
            {
                return Some(format!("synchronous database query `.{}`", c.name));
            }
            if k.process_waits.contains(&c.name) && c.args.is_empty() {
                let cmd = chain.iter().any(|&x| {
                    let xc = &m.calls[x];
                    xc.kind == CallKind::Path
                        && m.resolve_path(&xc.path)
                            .starts_with("std::process::Command")
                });
                if cmd {
                    return Some(format!("std::process::Command::{}", c.name));
                }
            }
            if k.blocking_methods.contains(&c.name) {
                if c.name == "block_on" || c.name == "to_socket_addrs" || c.name == "read_line" {
                    return Some(c.name.clone());
                }
                // hash_password / verify_password: argon2 and password-hash.
                let argon = m.imports.iter().any(|i| {
                    i.path.starts_with("argon2")
                        || i.path.starts_with("password_hash")
                        || i.path.starts_with("scrypt")
                        || i.path.starts_with("pbkdf2")
                });
                if argon {
                    return Some(format!("{} (password hashing)", c.name));
                }
            }
            if k.path_probes.contains(&c.name) && c.args.is_empty() {
                let recv = match c.prev {
                    None => first.root.clone(),
                    Some(p) => m.calls[p].name.clone() + &first.root,
                };
                let from_path_new = chain.iter().any(|&x| {
                    let xc = &m.calls[x];
                    xc.kind == CallKind::Path
                        && (xc.full_path().ends_with("Path::new")
                            || xc.full_path().ends_with("PathBuf::from"))
                });
                let typed_path = c.prev.is_none()
                    && c.func.is_some_and(|f| {
                        m.functions[f].params.iter().any(|p| {
                            p.name == first.root
                                && (p.ty.contains("Path") || p.ty.contains("PathBuf"))
                        })
                    });
                if from_path_new || typed_path || k.path_receivers.is_match(handle_name(&recv)) {
                    return Some(format!("Path::{}", c.name));
                }
            }
            None
        }
        CallKind::Macro => None,
    }
}

/// Python, TypeScript/JavaScript, Go: what the language's knowledge file says.
fn lang_query_at(m: &FileModel, id: CallId, k: &Knowledge, lk: &LangKnowledge) -> Option<QueryHit> {
    let c = &m.calls[id];
    // `xs.find(x => ...)`, `items.filter(fn)`: array methods take callbacks, queries do not.
    if c.args.first().is_some_and(|a| a.kind == ArgKind::Closure) {
        return None;
    }
    if let Some(p) = lk.query_of(m, id) {
        let write = match p.rows {
            Rows::Write => true,
            Rows::Sql => {
                matches!(
                    sql_of(m, m.chain_end(id)).map(|s| &s.facts),
                    Some(SqlFacts::Write { .. })
                ) || c.name.to_ascii_lowercase().starts_with("exec")
            }
            _ => false,
        };
        return Some(QueryHit {
            call: id,
            how: QueryHow::Terminal,
            write,
        });
    }
    // A helper given a session, connection or client: `load_user(db, id)`.
    // Handle names are the language's: a Python DB-API `cursor`, a Prisma
    // client; in Go a `cursor` is a position in text.
    let handle = c.args.iter().any(|a| {
        let n = handle_name(&a.text);
        let named = match m.lang {
            crate::model::Lang::Python => matches!(n, "session" | "cursor" | "cur"),
            crate::model::Lang::TypeScript | crate::model::Lang::JavaScript => matches!(
                n,
                "session" | "prisma" | "knex" | "em" | "entityManager" | "trx"
            ),
            _ => false,
        };
        matches!(a.kind, ArgKind::Path(_) | ArgKind::Other)
            && (k.q_handle_names.is_match(n) || named)
    });
    // `AllRepositories(session)`, `new UserRepo(knex)`: constructing an
    // object that keeps the handle is not a query (Python and JS classes are
    // capitalised; Go's capitals are exported functions).
    let constructs = matches!(
        m.lang,
        crate::model::Lang::Python
            | crate::model::Lang::TypeScript
            | crate::model::Lang::JavaScript
    ) && c.prev.is_none()
        && c.name.starts_with(|ch: char| ch.is_ascii_uppercase())
        && c.name.chars().any(|ch| ch.is_ascii_lowercase());
    if handle
        && !constructs
        && !c.name.is_empty()
        && !matches!(
            c.name.as_str(),
            "close"
                | "commit"
                | "rollback"
                | "append"
                | "push"
                | "add"
                | "Close"
                | "Begin"
                | "defer"
        )
    {
        return Some(QueryHit {
            call: id,
            how: QueryHow::PassesHandle,
            write: is_write_name(&c.name.to_ascii_lowercase(), k),
        });
    }
    None
}

fn lang_external(
    m: &FileModel,
    any: CallId,
    k: &Knowledge,
    lk: &LangKnowledge,
) -> Option<ExternalHit> {
    for id in m.chain(any) {
        if let Some(p) = lk.external_of(m, id) {
            let d = LangKnowledge::dotted(m, id);
            let args: String = m.calls[id].args.iter().map(|a| a.text.as_str()).collect();
            let write = p.write.as_ref().is_some_and(|w| w.is_match(&d))
                || args.contains("method: 'POST'")
                || args.contains("method: \"POST\"");
            return Some(ExternalHit {
                call: id,
                kind: "HTTP",
                write,
                payment: k.payment_words.is_match(&args) || k.payment_words.is_match(&d),
            });
        }
        if let Some(hit) = lang_query_at(m, id, k, lk).and_then(database_hit) {
            return Some(hit);
        }
    }
    None
}

/// A query as an external call. A helper that merely receives a handle is
/// judged by its own summary, not here.
fn database_hit(q: QueryHit) -> Option<ExternalHit> {
    (q.how != QueryHow::PassesHandle).then_some(ExternalHit {
        call: q.call,
        kind: "database",
        write: q.write,
        payment: false,
    })
}

/// Does the file use a blocking database driver (and no async flavour of it)?
fn sync_driver(m: &FileModel) -> bool {
    let uses = |p: &str| {
        m.imports
            .iter()
            .any(|i| i.path == p || i.path.starts_with(&format!("{p}::")))
    };
    (uses("diesel") && !uses("diesel_async"))
        || uses("rusqlite")
        || (uses("postgres") && !uses("tokio_postgres"))
}

/// Is this call one that moves a closure off the executor?
pub fn is_offload(m: &FileModel, c: &Call, k: &Knowledge) -> bool {
    let full = m.resolve_path(&c.path);
    k.offload_calls
        .iter()
        .any(|p| path_matches(&full, p) || p == &c.name)
}

/// Does the file start an HTTP server without declaring routes we read
/// (Go's `net/http` with one catch-all handler that dispatches on the path
/// itself)? Its package serves requests all the same.
pub fn starts_http_server(m: &FileModel) -> bool {
    m.lang == crate::model::Lang::Go
        && m.imports.iter().any(|i| i.path == "net/http")
        && m.calls.iter().any(|c| {
            !c.in_test
                && matches!(
                    c.name.as_str(),
                    "ListenAndServe" | "ListenAndServeTLS" | "HandleFunc"
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_names_reduce_expressions() {
        assert_eq!(handle_name("&mut *tx"), "tx");
        assert_eq!(handle_name("&mutex_pool"), "mutex_pool");
        assert_eq!(handle_name("&state.db"), "db");
        assert_eq!(handle_name("ctx.pool()"), "pool");
        assert_eq!(handle_name("&**conn"), "conn");
        assert_eq!(handle_name("self.pool.clone()"), "pool");
        assert_eq!(handle_name("&mut pool.acquire().await?"), "pool");
    }
}
