//! Rust with `syn`: lower a file into the model.
//!
//! One traversal per file. Method chains are flattened into linked calls
//! (`sqlx::query(..).bind(..).fetch_all(&pool).await?` is three calls sharing
//! one root), so rules reason about chains without re-walking syntax. The
//! traversal carries the context rules need: enclosing function, loops and
//! per-element closures, async or offloaded execution, test code, and branches
//! that leave a loop.

use proc_macro2::Span as PmSpan;
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{
    Attribute, Block, Expr, ExprClosure, ExprMethodCall, FnArg, ImplItem, Item, Lit, Local, Macro,
    Pat, Stmt, Token, UseTree,
};

use crate::budget::Budget;
use crate::frontend::sql;
use crate::knowledge::Knowledge;
use crate::model::*;
use crate::source::{LineIndex, Pos, Span};

/// Lower Rust source. Errors are syntax errors (the file becomes a blocker).
pub fn lower(
    text: &str,
    kind: PathKind,
    module: Vec<String>,
    k: &Knowledge,
    dialect: sql::Dialect,
    budget: &Budget,
) -> Result<FileModel, String> {
    let file = syn::parse_file(text).map_err(|e| {
        let p = e.span().start();
        format!("Rust syntax error at {}:{}: {e}", p.line, p.column + 1)
    })?;
    let idx = LineIndex::new(text);
    let mut m = FileModel::new(Lang::Rust, kind);
    m.module = module;
    let mut l = Lower {
        m,
        text,
        k,
        idx: &idx,
        fns: Vec::new(),
        owners: Vec::new(),
        loops: Vec::new(),
        exit_marks: Vec::new(),
        asyncs: vec![false],
        offload: 0,
        closure_calls: Vec::new(),
        cache: 0,
        test: kind.test,
        none_guard: None,
        pending_usage: None,
        pending_bind: None,
        pending_assign: None,
        branches: Vec::new(),
        named: Vec::new(),
        seen_lits: std::collections::HashSet::new(),
        budget,
        inline_mods: Vec::new(),
    };
    l.visit_file(&file);
    let mut m = l.m;
    if budget.ran_out() {
        m.parse_errors.push(budget.message());
    }
    drop(file);
    // syn keeps every parsed file's text in a thread-local table for span
    // lookups; positions are read, so release it (keeps memory flat).
    proc_macro2::extra::invalidate_current_thread_spans();
    extract_embedded_sql(&mut m, &idx, k, dialect);
    Ok(m)
}

struct FnCtx {
    id: FnId,
    params: Vec<String>,
    loop_base: usize,
    /// Collections the function refuses above a fixed size before using them
    /// (`if ids.len() > 50 { return Err(..) }`), as written (`ids`, `req.ids`).
    len_guarded: Vec<String>,
}

struct Lower<'a> {
    m: FileModel,
    text: &'a str,
    k: &'a Knowledge,
    idx: &'a LineIndex<'a>,
    fns: Vec<FnCtx>,
    owners: Vec<(Option<String>, Option<String>)>,
    loops: Vec<LoopId>,
    exit_marks: Vec<usize>,
    asyncs: Vec<bool>,
    offload: usize,
    /// The calls whose closure arguments are being lowered, innermost last.
    closure_calls: Vec<CallId>,
    cache: usize,
    test: bool,
    none_guard: Option<usize>,
    pending_usage: Option<Usage>,
    /// The variable a `let` binds the next chain's value to.
    pending_bind: Option<String>,
    pending_assign: Option<String>,
    /// Conditions of the `if`/`match` branches being walked, innermost last.
    branches: Vec<String>,
    /// Names waiting for the literal they are bound to: (literal start, name).
    named: Vec<(Pos, String)>,
    seen_lits: std::collections::HashSet<Pos>,
    budget: &'a Budget,
    /// Inline `mod x { .. }` blocks the traversal is in.
    inline_mods: Vec<String>,
}

fn pos_of(lc: proc_macro2::LineColumn) -> Pos {
    Pos::new(lc.line as u32, lc.column as u32 + 1)
}

fn span_of(s: PmSpan) -> Span {
    Span::new(pos_of(s.start()), pos_of(s.end()))
}

/// Source text with whitespace folded (a space only between two words),
/// at most 160 bytes: read from the file, never re-printed from tokens, so
/// the cost is bounded however large the expression.
fn compact(src: &str) -> String {
    compact_n(src, 160)
}

fn compact_n(src: &str, max: usize) -> String {
    let mut out = String::new();
    let mut pending_space = false;
    let word = |c: char| c.is_alphanumeric() || c == '_';
    for c in src.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && out.chars().last().is_some_and(word) && word(c) {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
        if out.len() >= max {
            break;
        }
    }
    out
}

/// Token text without spaces, bounded: for small syntax (attributes).
fn text_of<T: ToTokens>(t: &T) -> String {
    let mut s = String::new();
    for tt in t.to_token_stream() {
        let part = tt.to_string().replace(' ', "");
        // Keep a space between two words (`&mut conn`, `move |x|`), none elsewhere.
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if word(s.chars().last()) && word(part.chars().next()) {
            s.push(' ');
        }
        s.push_str(&part);
        if s.len() > 160 {
            let mut cut = 160;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            break;
        }
    }
    s
}

/// Where an expression starts, from its leftmost token. `Spanned::span()`
/// re-prints the whole expression into tokens to find its ends: calling it on
/// every call of a chain made lowering quadratic in nesting depth.
fn first_pos(e: &Expr) -> Pos {
    let s = match e {
        Expr::MethodCall(m) => return first_pos(&m.receiver),
        Expr::Call(c) => return first_pos(&c.func),
        Expr::Await(a) => return first_pos(&a.base),
        Expr::Try(t) => return first_pos(&t.expr),
        Expr::Field(f) => return first_pos(&f.base),
        Expr::Index(i) => return first_pos(&i.expr),
        Expr::Cast(c) => return first_pos(&c.expr),
        Expr::Binary(b) => return first_pos(&b.left),
        Expr::Range(r) => match &r.start {
            Some(st) => return first_pos(st),
            None => r.limits.span(),
        },
        Expr::Path(p) => match (&p.qself, p.path.segments.first()) {
            (Some(q), _) => q.lt_token.span,
            (None, Some(seg)) => p
                .path
                .leading_colon
                .map(|c| c.spans[0])
                .unwrap_or_else(|| seg.ident.span()),
            _ => e.span(),
        },
        Expr::Reference(r) => r.and_token.span,
        Expr::Unary(u) => match u.op {
            syn::UnOp::Deref(t) => t.span,
            syn::UnOp::Not(t) => t.span,
            syn::UnOp::Neg(t) => t.span,
            _ => e.span(),
        },
        Expr::Lit(l) => l.lit.span(),
        Expr::Paren(p) => p.paren_token.span.open(),
        Expr::Macro(m) => m
            .mac
            .path
            .segments
            .first()
            .map(|s| s.ident.span())
            .unwrap_or_else(|| e.span()),
        Expr::Async(a) => a.async_token.span,
        Expr::Block(b) => b.block.brace_token.span.open(),
        Expr::Array(a) => a.bracket_token.span.open(),
        Expr::Tuple(t) => t.paren_token.span.open(),
        Expr::Struct(st) => st
            .path
            .segments
            .first()
            .map(|s| s.ident.span())
            .unwrap_or_else(|| e.span()),
        Expr::Closure(c) => c.or1_token.span,
        _ => e.span(),
    };
    pos_of(s.start())
}

/// Where an expression ends, from its rightmost token (see [`first_pos`]).
fn last_pos(e: &Expr) -> Pos {
    let s = match e {
        Expr::MethodCall(m) => m.paren_token.span.close(),
        Expr::Call(c) => c.paren_token.span.close(),
        Expr::Await(a) => a.await_token.span,
        Expr::Try(t) => t.question_token.span,
        Expr::Field(f) => match &f.member {
            syn::Member::Named(i) => i.span(),
            syn::Member::Unnamed(i) => i.span,
        },
        Expr::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.span())
            .unwrap_or_else(|| e.span()),
        Expr::Lit(l) => l.lit.span(),
        Expr::Paren(p) => p.paren_token.span.close(),
        Expr::Macro(m) => macro_close(&m.mac),
        Expr::Reference(r) => return last_pos(&r.expr),
        Expr::Unary(u) => return last_pos(&u.expr),
        Expr::Cast(c) => return last_pos(&c.expr),
        Expr::Binary(b) => return last_pos(&b.right),
        Expr::Index(i) => i.bracket_token.span.close(),
        Expr::Block(b) => b.block.brace_token.span.close(),
        Expr::Async(a) => a.block.brace_token.span.close(),
        Expr::Closure(c) => return last_pos(&c.body),
        Expr::Struct(st) => st.brace_token.span.close(),
        Expr::Array(a) => a.bracket_token.span.close(),
        Expr::Tuple(t) => t.paren_token.span.close(),
        Expr::Range(r) => match &r.end {
            Some(en) => return last_pos(en),
            None => r.limits.span(),
        },
        _ => e.span(),
    };
    pos_of(s.end())
}

fn macro_close(m: &Macro) -> PmSpan {
    match &m.delimiter {
        syn::MacroDelimiter::Paren(p) => p.span.close(),
        syn::MacroDelimiter::Brace(b) => b.span.close(),
        syn::MacroDelimiter::Bracket(b) => b.span.close(),
    }
}

fn stmt_end(s: &Stmt) -> Pos {
    match s {
        Stmt::Local(l) => pos_of(l.semi_token.span.end()),
        Stmt::Expr(_, Some(semi)) => pos_of(semi.span.end()),
        Stmt::Expr(e, None) => last_pos(e),
        Stmt::Macro(m) => m
            .semi_token
            .map(|t| pos_of(t.span.end()))
            .unwrap_or_else(|| pos_of(macro_close(&m.mac).end())),
        Stmt::Item(i) => pos_of(i.span().end()),
    }
}

fn is_test_attr(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        let p = a.path();
        let last = p
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if last == "test" || last == "rstest" || last == "bench" || last == "quickcheck" {
            return true;
        }
        if p.is_ident("cfg") {
            let t = text_of(&a.meta);
            return t.contains("test") && !t.contains("not(test");
        }
        false
    })
}

fn path_segments(p: &syn::Path) -> Vec<String> {
    p.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// Peel wrappers that keep a literal's value: `&"x"`, `"x".to_string()`,
/// `String::from("x")`, `"x".into()`, `Some("x")`, `b"x"`.
fn literal_in(e: &Expr) -> Option<&Lit> {
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(_) | Lit::ByteStr(_) => Some(&l.lit),
            _ => None,
        },
        Expr::Reference(r) => literal_in(&r.expr),
        Expr::Paren(p) => literal_in(&p.expr),
        Expr::Group(g) => literal_in(&g.expr),
        Expr::MethodCall(m)
            if m.args.is_empty()
                && matches!(
                    m.method.to_string().as_str(),
                    "to_string" | "to_owned" | "into" | "as_bytes" | "as_str" | "to_vec"
                ) =>
        {
            literal_in(&m.receiver)
        }
        Expr::Call(c) if c.args.len() == 1 => {
            if let Expr::Path(p) = &*c.func {
                let segs = path_segments(&p.path);
                let s: Vec<&str> = segs.iter().map(String::as_str).collect();
                if matches!(
                    s.as_slice(),
                    ["String", "from"]
                        | ["Some"]
                        | ["Secret", "new"]
                        | ["SecretString", "new"]
                        | ["SecretString", "from"]
                        | ["Cow", "Borrowed"]
                ) {
                    return literal_in(&c.args[0]);
                }
            }
            None
        }
        _ => None,
    }
}

fn lit_value(l: &Lit) -> Option<String> {
    match l {
        Lit::Str(s) => Some(s.value()),
        Lit::ByteStr(b) => String::from_utf8(b.value()).ok(),
        _ => None,
    }
}

/// Byte offset of a literal's content when it maps 1:1 to the source.
fn raw_content_offset(l: &Lit, value: &str, idx: &LineIndex) -> Option<usize> {
    let tok = l.to_token_stream().to_string();
    let start = idx.offset(pos_of(l.span().start()));
    let (prefix, suffix) =
        if let Some(rest) = tok.strip_prefix("br").or_else(|| tok.strip_prefix('r')) {
            let hashes = rest.chars().take_while(|c| *c == '#').count();
            let p = tok.len() - rest.len() + hashes + 1;
            (p, hashes + 1)
        } else if tok.starts_with("b\"") {
            (2, 1)
        } else {
            (1, 1)
        };
    if tok.len() < prefix + suffix {
        return None;
    }
    let content = &tok[prefix..tok.len() - suffix];
    (content == value).then_some(start + prefix)
}

/// Does a function body log the errors it handles? An `Err` arm, `map_err`
/// or `inspect_err` beside a logging macro.
fn logs_errors(body: &str) -> bool {
    let handles = body.contains("Err(") || body.contains("map_err") || body.contains("inspect_err");
    let logs = [
        "error!",
        "warn!",
        "log::error",
        "tracing::error",
        "eprintln!",
    ]
    .iter()
    .any(|m| body.contains(m));
    handles && logs
}

impl<'a> Lower<'a> {
    /// The source slice of a syntax node.
    fn raw<T: Spanned>(&self, t: &T) -> &'a str {
        let sp = t.span();
        let a = self.idx.offset(pos_of(sp.start()));
        let b = self.idx.offset(pos_of(sp.end())).max(a);
        self.text.get(a..b).unwrap_or("")
    }

    fn src<T: Spanned>(&self, t: &T) -> String {
        compact(self.raw(t))
    }

    fn in_async(&self) -> bool {
        *self.asyncs.last().unwrap_or(&false)
    }

    fn current_loops(&self) -> Vec<LoopId> {
        let base = self.fns.last().map(|f| f.loop_base).unwrap_or(0);
        self.loops[base.min(self.loops.len())..].to_vec()
    }

    fn exits_loop(&self) -> bool {
        !self.loops.is_empty() && self.exit_marks.last() == Some(&self.loops.len())
    }

    fn record_literal(&mut self, l: &Lit, sink: Option<(String, usize)>) -> Option<usize> {
        let value = lit_value(l)?;
        let span = span_of(l.span());
        if !self.seen_lits.insert(span.start) {
            return self
                .m
                .literals
                .iter()
                .position(|x| x.span.start == span.start);
        }
        let name = self
            .named
            .iter()
            .rev()
            .find(|(p, _)| *p == span.start)
            .map(|(_, n)| n.clone());
        let raw_offset = raw_content_offset(l, &value, self.idx);
        self.m.literals.push(Literal {
            value,
            span,
            raw_offset,
            name,
            sink,
            in_test: self.test,
            in_comment: false,
        });
        Some(self.m.literals.len() - 1)
    }

    /// Bind a name to the literal inside `e`, if any.
    fn name_literal(&mut self, name: String, e: &Expr) {
        if let Some(l) = literal_in(e) {
            self.named.push((pos_of(l.span().start()), name));
        }
    }

    /// A `const`/`static` (or associated const): its literal is named, and a
    /// string constant is recorded for SQL defined in one module and run in another.
    fn named_value(&mut self, ident: &syn::Ident, expr: &Expr) {
        self.name_literal(ident.to_string(), expr);
        self.visit_expr(expr);
        if let Some(l) = literal_in(expr) {
            let start = pos_of(l.span().start());
            if let Some(ix) = self.m.literals.iter().rposition(|x| x.span.start == start) {
                self.m.consts.push(ConstStr {
                    name: ident.to_string(),
                    literal: ix,
                });
            }
        }
    }

    fn lower_arg(&mut self, e: &Expr, callee: &str, i: usize) -> Arg {
        let kind = if let Some(l) = literal_in(e) {
            match self.record_literal(l, Some((callee.to_string(), i))) {
                Some(ix) => ArgKind::Str(ix),
                None => ArgKind::Other,
            }
        } else {
            match e {
                Expr::Closure(_) | Expr::Async(_) => ArgKind::Closure,
                Expr::Path(p) if p.path.is_ident("None") => ArgKind::None,
                Expr::Path(p) => ArgKind::Path(path_segments(&p.path).join("::")),
                Expr::Reference(r) => match &*r.expr {
                    Expr::Path(p) => ArgKind::Path(path_segments(&p.path).join("::")),
                    Expr::Macro(m) if m.mac.path.is_ident("format") => self.format_arg(&m.mac),
                    _ => ArgKind::Other,
                },
                Expr::Macro(m) if m.mac.path.is_ident("format") => self.format_arg(&m.mac),
                Expr::Call(c) => match &*c.func {
                    Expr::Path(p) if p.path.is_ident("Some") => ArgKind::Some,
                    _ => ArgKind::Other,
                },
                _ => ArgKind::Other,
            }
        };
        Arg {
            text: compact_n(self.raw(e), 600),
            kind,
        }
    }

    /// `format!("SELECT .. {}", x)` as a query argument: its template literal.
    fn format_arg(&mut self, mac: &Macro) -> ArgKind {
        let Ok(args) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) else {
            return ArgKind::Other;
        };
        match args.first().and_then(literal_in) {
            Some(l) => match self.record_literal(l, Some(("format".into(), 0))) {
                Some(ix) => ArgKind::Str(ix),
                None => ArgKind::Other,
            },
            None => ArgKind::Other,
        }
    }

    fn new_call(&mut self, kind: CallKind, name: String, path: Vec<String>, span: Span) -> CallId {
        let call = Call {
            loops: self.current_loops(),
            in_async: self.in_async(),
            offloaded: self.offload > 0,
            in_test: self.test,
            exits_loop: self.exits_loop(),
            in_cache_closure: self.cache > 0,
            none_guard: self.none_guard,
            closure_of: self.closure_calls.last().copied(),
            branch: self.branches.last().cloned(),
            ..Call::new(self.fns.last().map(|f| f.id), kind, name, path, span)
        };
        self.m.calls.push(call);
        self.m.calls.len() - 1
    }

    /// Lower a call chain rooted at `expr`; returns false if `expr` is not one.
    fn lower_chain(&mut self, expr: &Expr) -> bool {
        enum Link<'e> {
            Method(&'e ExprMethodCall),
            Call(&'e syn::ExprCall),
            Macro(&'e Macro),
        }
        let usage = self.pending_usage.take().unwrap_or(Usage::Used);
        let mut links: Vec<(Link, bool, bool, &Expr)> = Vec::new();
        let mut cur = expr;
        let mut pending = (false, false);
        let mut outer = expr;
        let mut root: Option<&Expr> = None;
        loop {
            if pending == (false, false) {
                outer = cur;
            }
            match cur {
                Expr::Await(a) => {
                    pending.0 = true;
                    cur = &a.base;
                }
                Expr::Try(t) => {
                    pending.1 = true;
                    cur = &t.expr;
                }
                Expr::Paren(p) if links.is_empty() && pending == (false, false) => {
                    return false;
                }
                Expr::Paren(p) => cur = &p.expr,
                Expr::MethodCall(m) => {
                    links.push((Link::Method(m), pending.0, pending.1, outer));
                    pending = (false, false);
                    cur = &m.receiver;
                }
                Expr::Call(c) => {
                    links.push((Link::Call(c), pending.0, pending.1, outer));
                    break;
                }
                Expr::Macro(m) => {
                    links.push((Link::Macro(&m.mac), pending.0, pending.1, outer));
                    break;
                }
                other => {
                    root = Some(other);
                    break;
                }
            }
        }
        if links.is_empty() {
            self.pending_usage = None;
            return false;
        }
        links.reverse();
        let chain_start = match root {
            Some(r) => first_pos(r),
            None => match &links[0].0 {
                Link::Call(c) => first_pos(&c.func),
                Link::Macro(m) => pos_of(m.path.span().start()),
                Link::Method(m) => first_pos(&m.receiver),
            },
        };
        let root_text = root.map(|r| self.src(r)).unwrap_or_default();
        // Allocate the chain's calls first so they are consecutive.
        let mut ids = Vec::with_capacity(links.len());
        for (link, awaited, tried, outer) in &links {
            let end = last_pos(outer);
            let span = Span::new(chain_start, end);
            let id = match link {
                Link::Method(m) => {
                    self.new_call(CallKind::Method, m.method.to_string(), Vec::new(), span)
                }
                Link::Call(c) => {
                    let (name, path) = match &*c.func {
                        Expr::Path(p) => {
                            let segs = path_segments(&p.path);
                            (segs.last().cloned().unwrap_or_default(), segs)
                        }
                        other => (self.src(other), Vec::new()),
                    };
                    self.new_call(CallKind::Path, name, path, span)
                }
                Link::Macro(mac) => {
                    let segs = path_segments(&mac.path);
                    self.new_call(
                        CallKind::Macro,
                        segs.last().cloned().unwrap_or_default(),
                        segs,
                        span,
                    )
                }
            };
            let c = &mut self.m.calls[id];
            c.awaited = *awaited;
            c.tried = *tried;
            c.root = root_text.clone();
            if let Some(&prev) = ids.last() {
                c.prev = Some(prev);
                self.m.calls[prev].next = Some(id);
            }
            ids.push(id);
        }
        let last = *ids.last().unwrap();
        self.m.calls[last].usage = usage;
        self.m.calls[last].bound_to = self.pending_bind.take();
        self.m.calls[last].assigned_to = self.pending_assign.take();
        if let Some(r) = root {
            self.visit_expr(r);
        }
        // Per-element and offload contexts come from the chain itself.
        let mut iter_source = root_text.to_ascii_lowercase().contains("stream");
        let mut batched = false;
        for (i, (link, ..)) in links.iter().enumerate() {
            let id = ids[i];
            let name = self.m.calls[id].name.clone();
            let full = self.m.resolve_path(&self.m.calls[id].path.clone());
            if self.k.iterator_sources.contains(&name)
                || self.k.iterator_sources.contains(&full)
                || (full.ends_with("stream::iter"))
                // `query.fetch(pool)` streams rows; `User::fetch(url)` is the
                // crate's own function, whatever it returns.
                || (matches!(link, Link::Method(_)) && self.k.q_stream.contains(&name))
            {
                iter_source = true;
            }
            if self.k.batch_sources.contains(&name) {
                batched = true;
            }
            let per_element = iter_source
                && matches!(link, Link::Method(_))
                && self.k.per_element_adaptors.contains(&name);
            // `icons.iter().next().and_then(|i| ..)`: one element (an Option)
            // comes out; the closures after it run once.
            if matches!(link, Link::Method(_))
                && matches!(
                    name.as_str(),
                    "next"
                        | "last"
                        | "first"
                        | "find"
                        | "nth"
                        | "max"
                        | "min"
                        | "max_by_key"
                        | "min_by_key"
                        | "position"
                        | "reduce"
                )
                && !self.m.calls[id].awaited
            {
                iter_source = false;
            }
            // Crate-local wrappers (`spawn_blocking_with_tracing`, `run_blocking`) count too.
            let offload = self.k.offload_calls.iter().any(|p| {
                crate::knowledge::path_matches(&full, p)
                    || (p.as_str() == name && matches!(link, Link::Method(_)))
            }) || name.contains("blocking")
                || name.contains("block_in_place")
                // `thread::Builder::new().name(..).spawn(move || ..)`: a thread of its own.
                || (matches!(link, Link::Method(_))
                    && matches!(name.as_str(), "spawn" | "spawn_scoped")
                    && self.m.calls[ids[0]]
                        .path
                        .join("::")
                        .contains("thread::Builder"));
            let cache = self.k.cache_methods.contains(&name);
            match link {
                Link::Method(m) => {
                    let args: Vec<&Expr> = m.args.iter().collect();
                    self.lower_args(
                        id,
                        &name,
                        &args,
                        per_element,
                        batched,
                        offload,
                        cache,
                        m.method.span(),
                    );
                }
                Link::Call(c) => {
                    if !matches!(&*c.func, Expr::Path(_)) {
                        self.visit_expr(&c.func);
                    }
                    let args: Vec<&Expr> = c.args.iter().collect();
                    self.lower_args(
                        id,
                        &name,
                        &args,
                        false,
                        false,
                        offload,
                        cache,
                        c.paren_token.span.close(),
                    );
                }
                Link::Macro(mac) => {
                    if let Ok(args) =
                        mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                    {
                        let args: Vec<&Expr> = args.iter().collect();
                        self.lower_args(
                            id,
                            &name,
                            &args,
                            false,
                            false,
                            offload,
                            cache,
                            macro_close(mac),
                        );
                    } else if name == "table" {
                        self.diesel_table(mac);
                    } else {
                        self.closure_calls.push(id);
                        self.macro_blocks(mac.tokens.clone(), 0);
                        self.closure_calls.pop();
                    }
                }
            }
        }
        true
    }

    /// A crate's own macro invoked with code in braces (`db_run! { conn: mysql
    /// { users.load(conn) } }`): its arguments are no expression list, but the
    /// braced blocks in them are code that runs. Lowered as if in a closure
    /// given to the macro, so the linker can tell when the expansion offloads it.
    fn macro_blocks(&mut self, tokens: proc_macro2::TokenStream, depth: usize) {
        use proc_macro2::{Delimiter, TokenTree};
        if depth > 4 || self.budget.spent() {
            return;
        }
        for tt in tokens {
            let TokenTree::Group(g) = tt else { continue };
            if g.delimiter() == Delimiter::Brace {
                let ts = proc_macro2::TokenStream::from(TokenTree::Group(g.clone()));
                if let Ok(block) = syn::parse2::<Block>(ts) {
                    self.visit_block(&block);
                    continue;
                }
            }
            self.macro_blocks(g.stream(), depth + 1);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn lower_args(
        &mut self,
        id: CallId,
        callee: &str,
        args: &[&Expr],
        per_element: bool,
        batched: bool,
        offload: bool,
        cache: bool,
        span: PmSpan,
    ) {
        let lowered: Vec<Arg> = args
            .iter()
            .enumerate()
            .map(|(i, a)| self.lower_arg(a, callee, i))
            .collect();
        self.m.calls[id].args = lowered;
        // `conn.run(|c| ...)`, `pool.interact(move |c| ...)`, `db.transaction(|tx| ...)`:
        // the callback's parameter is a connection, whatever its name.
        if matches!(
            callee,
            "run"
                | "interact"
                | "transaction"
                | "with_connection"
                | "with_conn"
                | "run_blocking"
                | "build_transaction"
        ) {
            if let Some(&f) = self.fns.last().map(|f| &f.id) {
                for a in args {
                    if let Expr::Closure(cl) = a {
                        for p in &cl.inputs {
                            let pat = match p {
                                Pat::Type(pt) => &*pt.pat,
                                other => other,
                            };
                            if let Pat::Ident(pi) = pat {
                                self.m.functions[f].params.push(Param {
                                    name: pi.ident.to_string(),
                                    ty: crate::model::CALLBACK_CONNECTION.into(),
                                });
                            }
                        }
                    }
                }
            }
        }
        for a in args {
            let closure_like = matches!(a, Expr::Closure(_) | Expr::Async(_));
            if closure_like {
                self.closure_calls.push(id);
            }
            self.lower_arg_body(
                a,
                id,
                callee,
                closure_like,
                per_element,
                batched,
                offload,
                cache,
                span,
            );
            if closure_like {
                self.closure_calls.pop();
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn lower_arg_body(
        &mut self,
        a: &Expr,
        id: CallId,
        callee: &str,
        closure_like: bool,
        per_element: bool,
        batched: bool,
        offload: bool,
        cache: bool,
        span: PmSpan,
    ) {
        {
            if closure_like && per_element {
                self.m.loops.push(Loop {
                    kind: LoopKind::IterClosure,
                    per_element: true,
                    batched,
                    over: String::new(),
                    span: span_of(span),
                });
                let lid = self.m.loops.len() - 1;
                self.m.loops[lid].over = self.m.calls[id].root.clone();
                self.loops.push(lid);
                self.visit_expr(a);
                self.loops.pop();
            } else if closure_like && callee.starts_with("spawn") && !offload {
                // A task spawned per element runs concurrently on its own: fan-out,
                // not a query per element of the caller's loop.
                let saved = std::mem::take(&mut self.loops);
                let base = self.fns.last().map(|f| f.loop_base).unwrap_or(0);
                self.loops = saved[..base.min(saved.len())].to_vec();
                self.visit_expr(a);
                self.loops = saved;
            } else if closure_like && offload {
                self.offload += 1;
                self.asyncs.push(matches!(a, Expr::Async(_)));
                self.visit_expr(a);
                self.asyncs.pop();
                self.offload -= 1;
            } else if closure_like && cache {
                self.cache += 1;
                self.visit_expr(a);
                self.cache -= 1;
            } else {
                self.visit_expr(a);
            }
        }
    }

    /// A `macro_rules!` whose expansion hands one of its fragments to a call
    /// as a closure (`$conn.run(move |$conn| $body)`): recorded with that
    /// call's name; the linker decides whether the call offloads.
    fn offload_macro(&mut self, name: &str, body: &str) {
        static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let re = RE.get_or_init(|| {
            regex::Regex::new(r"(\w+)\s*\(\s*(?:move\s*)?\|[^|]*\|\s*[^)]{0,80}?\$\s*\w+").unwrap()
        });
        let mut seen = Vec::new();
        for c in re.captures_iter(body) {
            let callee = c[1].to_string();
            if !seen.contains(&callee) {
                seen.push(callee.clone());
                self.m.offload_macros.push((name.to_string(), callee));
            }
        }
    }

    /// diesel's `table! { users (id) { ... } }`: the primary key for the schema.
    fn diesel_table(&mut self, mac: &Macro) {
        let toks = mac.tokens.to_string();
        static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let re = RE.get_or_init(|| {
            regex::Regex::new(r"^\s*(?:[\w:]+\s*\.\s*)?(\w+)\s*(?:\(([^)]*)\))?\s*\{").unwrap()
        });
        if let Some(c) = re.captures(&toks) {
            let table = c[1].to_string();
            let keys: Vec<String> = c
                .get(2)
                .map(|k| {
                    k.as_str()
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_else(|| vec!["id".to_string()]);
            let pos = pos_of(
                mac.path
                    .segments
                    .first()
                    .map(|s| s.ident.span())
                    .unwrap_or_else(|| mac.bang_token.span)
                    .start(),
            );
            self.m.sql.push(SqlStmt {
                span: Span::point(pos),
                facts: SqlFacts::Ddl(vec![DdlFact {
                    table,
                    change: DdlChange::CreateTable { keys: vec![keys] },
                    pos,
                }]),
                text: String::new(),
                call: None,
                one_row: false,
            });
        }
    }

    fn enter_fn(&mut self, f: Function, params: Vec<String>, is_async: bool) {
        self.m.functions.push(f);
        let id = self.m.functions.len() - 1;
        self.fns.push(FnCtx {
            id,
            params,
            loop_base: self.loops.len(),
            len_guarded: Vec::new(),
        });
        self.asyncs.push(is_async);
    }

    fn leave_fn(&mut self) {
        self.fns.pop();
        self.asyncs.pop();
    }

    fn lower_sig(
        &mut self,
        sig: &syn::Signature,
        attrs: &[Attribute],
        is_test: bool,
    ) -> (Function, Vec<String>) {
        let (owner, trait_name) = self.owners.last().cloned().unwrap_or((None, None));
        let mut params = Vec::new();
        let mut has_self = false;
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(_) => has_self = true,
                FnArg::Typed(pt) => params.push(Param {
                    name: match &*pt.pat {
                        Pat::Ident(i) => i.ident.to_string(),
                        other => self.src(other),
                    },
                    ty: self.src(&pt.ty),
                }),
            }
        }
        let handler_like = params.iter().any(|p| {
            [
                "State<",
                "Json<",
                "Path<",
                "Query<",
                "Form<",
                "web::Data<",
                "Data<",
                "Extension<",
                "web::Json<",
                "web::Path<",
                "HttpRequest",
            ]
            .iter()
            .any(|x| p.ty.starts_with(x) || p.ty.contains(&format!("::{x}")))
        }) || attrs.iter().any(|a| {
            let l = a
                .path()
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            matches!(
                l.as_str(),
                "get" | "post" | "put" | "patch" | "delete" | "route" | "handler"
            )
        });
        let names = params.iter().map(|p| p.name.clone()).collect();
        (
            Function {
                name: sig.ident.to_string(),
                owner,
                trait_name,
                is_async: sig.asyncness.is_some(),
                // `build_pool_for_tests`, `test_helpers`: test support by name.
                is_test: is_test
                    || sig
                        .ident
                        .to_string()
                        .split('_')
                        .any(|w| w == "test" || w == "tests"),
                returns: match &sig.output {
                    syn::ReturnType::Default => String::new(),
                    syn::ReturnType::Type(_, t) => self.src(t),
                },
                has_self,
                params,
                span: span_of(sig.ident.span()),
                cached: false,
                handler_like,
                checked: Vec::new(),
                instrumented: attrs.iter().any(|a| {
                    a.path()
                        .segments
                        .last()
                        .is_some_and(|s| s.ident == "instrument")
                }),
                inline_mod: self.inline_mods.last().cloned(),
                logs_errors: false,
            },
            names,
        )
    }

    /// `#[utoipa::path(get, path = "/api/v1/crates/{name}")]`: with
    /// utoipa-axum the attribute is where a handler's method and path live
    /// (`OpenApiRouter::routes(routes!(handler))` only names the handler).
    fn utoipa_route(&mut self, a: &Attribute, handler: &str) {
        let syn::Meta::List(list) = &a.meta else {
            return;
        };
        // Read the top-level tokens: the other arguments (`body = Type<'_>`)
        // are types, not expressions, so the list does not parse as one.
        use proc_macro2::TokenTree;
        let toks: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
        let mut methods = Vec::new();
        let mut path = None;
        for (i, t) in toks.iter().enumerate() {
            let TokenTree::Ident(id) = t else { continue };
            let at_arg_start =
                i == 0 || matches!(&toks[i - 1], TokenTree::Punct(p) if p.as_char() == ',');
            if !at_arg_start {
                continue;
            }
            let next_is_eq =
                matches!(toks.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '=');
            let name = id.to_string();
            if next_is_eq && name == "path" {
                if let Some(TokenTree::Literal(l)) = toks.get(i + 2) {
                    if let Ok(Lit::Str(s)) = syn::parse2::<Lit>(l.to_token_stream()) {
                        path = Some(s.value());
                    }
                }
            } else if !next_is_eq
                && matches!(
                    name.as_str(),
                    "get" | "post" | "put" | "patch" | "delete" | "head" | "options"
                )
            {
                methods.push(name.to_uppercase());
            }
        }
        let Some(path) = path else { return };
        for method in methods {
            self.m.routes.push(Route {
                method,
                path: path.clone(),
                handler: handler.to_string(),
                pos: pos_of(a.span().start()),
                framework: "utoipa".to_string(),
                router: None,
            });
        }
    }

    fn route_attrs(&mut self, attrs: &[Attribute], handler: &str) {
        for a in attrs {
            let last = a
                .path()
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            if last == "path" && a.path().segments.len() == 2 {
                self.utoipa_route(a, handler);
                continue;
            }
            let method = match last.as_str() {
                "get" | "post" | "put" | "patch" | "delete" | "head" | "options" => {
                    last.to_uppercase()
                }
                _ => continue,
            };
            if let syn::Meta::List(list) = &a.meta {
                if let Ok(args) =
                    list.parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                {
                    if let Some(Lit::Str(s)) = args.first().and_then(literal_in) {
                        let framework = if a.path().segments.len() > 1 {
                            a.path().segments[0].ident.to_string()
                        } else {
                            "actix-web/rocket".to_string()
                        };
                        self.m.routes.push(Route {
                            method,
                            path: s.value(),
                            handler: handler.to_string(),
                            pos: pos_of(a.span().start()),
                            framework,
                            router: None,
                        });
                    }
                }
            }
        }
    }

    fn fn_body(&mut self, f: Function, params: Vec<String>, block: &Block, test: bool) {
        let was_test = self.test;
        self.test |= test;
        let is_async = f.is_async;
        self.enter_fn(f, params, is_async);
        let saved_guard = self.none_guard.take();
        let saved_branches = std::mem::take(&mut self.branches);
        // Only the calls lowered from this body can be its own (keeps this linear).
        let first_call = self.m.calls.len();
        self.visit_block(block);
        self.none_guard = saved_guard;
        self.branches = saved_branches;
        let id = self.fns.last().map(|f| f.id).unwrap_or(0);
        let k = self.k;
        let cached = self.m.calls[first_call..].iter().any(|c| {
            c.func == Some(id)
                && (k.cache_methods.contains(&c.name)
                    || (k.cache_receivers.is_match(&c.root)
                        && c.prev.is_none()
                        && matches!(c.name.as_str(), "get" | "get_if_present" | "contains_key")))
        });
        self.m.functions[id].cached = cached;
        self.m.functions[id].logs_errors = logs_errors(&self.src(block));
        self.leave_fn();
        self.test = was_test;
    }

    /// Record the variables a condition tests, on the enclosing function.
    fn note_checked(&mut self, cond: &Expr) {
        struct Idents(Vec<String>);
        impl<'ast> Visit<'ast> for Idents {
            fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
                if let Some(id) = p.path.get_ident() {
                    self.0.push(id.to_string());
                }
            }
            fn visit_expr_closure(&mut self, _: &'ast ExprClosure) {}
        }
        let Some(f) = self.fns.last().map(|f| f.id) else {
            return;
        };
        let mut ids = Idents(Vec::new());
        ids.visit_expr(cond);
        let checked = &mut self.m.functions[f].checked;
        for id in ids.0 {
            if !checked.contains(&id) {
                checked.push(id);
            }
        }
    }

    fn param_index(&self, e: &Expr) -> Option<usize> {
        let mut e = e;
        loop {
            match e {
                Expr::Reference(r) => e = &r.expr,
                Expr::Paren(p) => e = &p.expr,
                Expr::MethodCall(m)
                    if m.args.is_empty()
                        && matches!(
                            m.method.to_string().as_str(),
                            "as_ref" | "clone" | "take" | "as_deref" | "cloned"
                        ) =>
                {
                    e = &m.receiver
                }
                _ => break,
            }
        }
        if let Expr::Path(p) = e {
            let name = p.path.get_ident()?.to_string();
            return self.fns.last()?.params.iter().position(|n| *n == name);
        }
        None
    }

    fn block_terminates(b: &Block) -> bool {
        b.stmts.iter().any(|s| match s {
            Stmt::Expr(Expr::Return(_) | Expr::Break(_), _) => true,
            Stmt::Expr(Expr::Macro(m), _) => {
                m.mac.path.is_ident("bail")
                    || m.mac.path.is_ident("panic")
                    || m.mac.path.is_ident("unreachable")
            }
            Stmt::Macro(m) => m.mac.path.is_ident("bail") || m.mac.path.is_ident("panic"),
            _ => false,
        })
    }

    /// `xs.len() > N` / `xs.len() >= N` / `N < xs.len()` with `N` a literal or a
    /// constant: the collection whose size the condition bounds.
    fn len_guard(&self, cond: &Expr) -> Option<String> {
        let Expr::Binary(b) = cond else { return None };
        let fixed = |e: &Expr| match e {
            Expr::Lit(l) => matches!(l.lit, Lit::Int(_)),
            Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
                let n = s.ident.to_string();
                n.len() > 1
                    && n.chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            }),
            Expr::Cast(c) => matches!(&*c.expr, Expr::Lit(_) | Expr::Path(_)),
            _ => false,
        };
        let len_of = |e: &Expr| match e {
            Expr::MethodCall(m) if m.method == "len" && m.args.is_empty() => {
                Some(self.src(&m.receiver).replace(' ', ""))
            }
            _ => None,
        };
        match b.op {
            syn::BinOp::Gt(_) | syn::BinOp::Ge(_) if fixed(&b.right) => len_of(&b.left),
            syn::BinOp::Lt(_) | syn::BinOp::Le(_) if fixed(&b.left) => len_of(&b.right),
            _ => None,
        }
    }

    /// Was the collection a loop iterates refused above a fixed size earlier
    /// in the function? Then the loop is bounded by construction.
    fn bounded_by_guard(&self, e: &Expr) -> bool {
        let mut cur = e;
        loop {
            match cur {
                Expr::Reference(r) => cur = &r.expr,
                Expr::Paren(p) => cur = &p.expr,
                Expr::MethodCall(m)
                    if matches!(
                        m.method.to_string().as_str(),
                        "iter" | "into_iter" | "iter_mut" | "drain" | "enumerate"
                    ) =>
                {
                    cur = &m.receiver
                }
                _ => break,
            }
        }
        let text = self.src(cur).replace(' ', "");
        self.fns
            .last()
            .is_some_and(|f| f.len_guarded.contains(&text))
    }

    fn loop_over(&self, e: &Expr) -> (bool, bool) {
        // (per_element, batched)
        if self.bounded_by_guard(e) {
            return (false, false);
        }
        match e {
            Expr::Array(_) | Expr::Tuple(_) => (false, false),
            Expr::Reference(r) => self.loop_over(&r.expr),
            Expr::Paren(p) => self.loop_over(&p.expr),
            Expr::Macro(m) if m.mac.path.is_ident("vec") => (false, false),
            Expr::Range(r) => {
                let lit = |x: &Option<Box<Expr>>| match x.as_deref() {
                    Some(Expr::Lit(l)) => match &l.lit {
                        Lit::Int(i) => i.base10_parse::<i64>().ok(),
                        _ => None,
                    },
                    None => Some(0),
                    _ => None,
                };
                let const_end = matches!(r.end.as_deref(), Some(Expr::Path(p)) if p.path.get_ident().map(|i| { let s = i.to_string(); s.len() > 1 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()) }).unwrap_or(false));
                match (lit(&r.start), lit(&r.end)) {
                    (Some(a), Some(b)) if r.end.is_some() => ((b - a).abs() > 16, false),
                    _ if const_end => (false, false),
                    _ => (true, false),
                }
            }
            Expr::Path(p) => {
                let is_const = p.path.get_ident().map(|i| {
                    let s = i.to_string();
                    s.len() > 1
                        && s.chars()
                            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                });
                (!is_const.unwrap_or(false), false)
            }
            Expr::MethodCall(_) => {
                let mut batched = false;
                let mut cur = e;
                while let Expr::MethodCall(m) = cur {
                    if self.k.batch_sources.contains(&m.method.to_string()) {
                        batched = true;
                    }
                    cur = &m.receiver;
                }
                // `[a, b].iter()` is still a literal list.
                let literal = matches!(cur, Expr::Array(_) | Expr::Tuple(_))
                    || matches!(cur, Expr::Reference(r) if matches!(&*r.expr, Expr::Array(_)));
                (!literal, batched)
            }
            _ => (true, false),
        }
    }

    fn push_loop(
        &mut self,
        kind: LoopKind,
        per_element: bool,
        batched: bool,
        over: String,
        span: Span,
    ) {
        self.m.loops.push(Loop {
            kind,
            per_element,
            batched,
            over,
            span,
        });
        let id = self.m.loops.len() - 1;
        self.loops.push(id);
    }

    /// A let-bound `std::sync` lock guard still alive at a later `.await` of the block.
    fn guards_in_block(&mut self, b: &Block, first_call: CallId) {
        if !self.in_async() {
            return;
        }
        let mut live: Vec<(String, CallId)> = Vec::new();
        let mut calls_before = first_call;
        for stmt in &b.stmts {
            // Calls of this statement are calls_before..calls_after (lowered already).
            let calls_after = self.stmt_calls_end(stmt, calls_before);
            if !live.is_empty() {
                let stmt_text = self.raw(stmt);
                live.retain(|(name, _)| !stmt_text.contains(&format!("drop({name})")));
            }
            if !live.is_empty() {
                if let Some(p) = first_await(stmt) {
                    for (_, call) in live.drain(..) {
                        self.m.guards.push(GuardAcrossAwait {
                            lock_call: call,
                            await_pos: p,
                        });
                    }
                }
            }
            // `let g = m.lock().unwrap();` holds a guard; `let v = { let g =
            // m.lock().unwrap(); g.clone() };` drops it inside the block.
            if let Stmt::Local(Local {
                pat: Pat::Ident(pi),
                init: Some(init),
                ..
            }) = stmt
            {
                if !matches!(&*init.expr, Expr::MethodCall(_) | Expr::Try(_)) {
                    calls_before = calls_after;
                    continue;
                }
                let tail_ok = |c: &Call| c.next.is_none();
                let guard = (calls_before..calls_after).find(|&i| {
                    let c = &self.m.calls[i];
                    if !matches!(c.name.as_str(), "lock" | "read" | "write")
                        || !c.args.is_empty()
                        || c.awaited
                    {
                        return false;
                    }
                    match c.next {
                        Some(n) => {
                            let nc = &self.m.calls[n];
                            matches!(nc.name.as_str(), "unwrap" | "expect")
                                && tail_ok(nc)
                                && !nc.awaited
                        }
                        None => c.name == "lock" && tail_ok(c),
                    }
                });
                if let Some(g) = guard {
                    live.push((pi.ident.to_string(), g));
                }
            }
            calls_before = calls_after;
        }
    }

    fn stmt_calls_end(&self, stmt: &Stmt, from: CallId) -> CallId {
        // Calls are allocated in source order; the statement's calls end before
        // the first call that starts after the statement's end.
        let end = stmt_end(stmt);
        let mut i = from;
        while i < self.m.calls.len() && self.m.calls[i].span.start < end {
            i += 1;
        }
        i
    }
}

/// Position of the first `.await` in a statement, not inside closures or async blocks.
fn first_await(stmt: &Stmt) -> Option<Pos> {
    struct F(Option<Pos>);
    impl<'ast> Visit<'ast> for F {
        fn visit_expr_await(&mut self, a: &'ast syn::ExprAwait) {
            if self.0.is_none() {
                self.0 = Some(pos_of(a.await_token.span.start()));
            }
        }
        fn visit_expr_closure(&mut self, _: &'ast ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast Item) {}
    }
    let mut f = F(None);
    f.visit_stmt(stmt);
    f.0
}

impl<'ast, 'a> Visit<'ast> for Lower<'a> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let was = self.test;
        self.test |= is_test_attr(&m.attrs) || m.ident == "tests";
        self.inline_mods.push(m.ident.to_string());
        visit::visit_item_mod(self, m);
        self.inline_mods.pop();
        self.test = was;
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        fn walk(t: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<Import>) {
            match t {
                UseTree::Path(p) => {
                    prefix.push(p.ident.to_string());
                    walk(&p.tree, prefix, out);
                    prefix.pop();
                }
                UseTree::Name(n) => {
                    let name = n.ident.to_string();
                    if name == "self" {
                        if let Some(last) = prefix.last() {
                            out.push(Import {
                                alias: last.clone(),
                                path: prefix.join("::"),
                            });
                        }
                    } else {
                        let mut p = prefix.clone();
                        p.push(name.clone());
                        out.push(Import {
                            alias: name,
                            path: p.join("::"),
                        });
                    }
                }
                UseTree::Rename(r) => {
                    let mut p = prefix.clone();
                    p.push(r.ident.to_string());
                    out.push(Import {
                        alias: r.rename.to_string(),
                        path: p.join("::"),
                    });
                }
                UseTree::Glob(_) => out.push(Import {
                    alias: "*".into(),
                    path: prefix.join("::"),
                }),
                UseTree::Group(g) => {
                    for t in &g.items {
                        walk(t, prefix, out);
                    }
                }
            }
        }
        walk(&u.tree, &mut Vec::new(), &mut self.m.imports);
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let test = is_test_attr(&f.attrs);
        self.owners.push((None, None));
        let (func, params) = self.lower_sig(&f.sig, &f.attrs, test || self.test);
        self.route_attrs(&f.attrs, &func.name);
        self.fn_body(func, params, &f.block, test);
        self.owners.pop();
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let owner = match &*i.self_ty {
            syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            other => Some(self.src(other)),
        };
        let trait_name = i
            .trait_
            .as_ref()
            .and_then(|(_, p, _)| p.segments.last().map(|s| s.ident.to_string()));
        let was = self.test;
        self.test |= is_test_attr(&i.attrs);
        self.owners.push((owner, trait_name));
        for item in &i.items {
            match item {
                ImplItem::Fn(f) => {
                    let test = is_test_attr(&f.attrs);
                    let (func, params) = self.lower_sig(&f.sig, &f.attrs, test || self.test);
                    self.route_attrs(&f.attrs, &func.name);
                    self.fn_body(func, params, &f.block, test);
                }
                ImplItem::Const(c) => self.named_value(&c.ident, &c.expr),
                other => visit::visit_impl_item(self, other),
            }
        }
        self.owners.pop();
        self.test = was;
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        self.owners
            .push((Some(t.ident.to_string()), Some(t.ident.to_string())));
        for item in &t.items {
            if let syn::TraitItem::Fn(f) = item {
                if let Some(block) = &f.default {
                    let test = is_test_attr(&f.attrs);
                    let (func, params) = self.lower_sig(&f.sig, &f.attrs, test || self.test);
                    self.fn_body(func, params, block, test);
                }
            }
        }
        self.owners.pop();
    }

    fn visit_item_const(&mut self, c: &'ast syn::ItemConst) {
        self.named_value(&c.ident, &c.expr);
    }

    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        if !self.test {
            self.m.statics.push(Static {
                name: s.ident.to_string(),
                ty: self.src(&s.ty),
                mutable: matches!(s.mutability, syn::StaticMutability::Mut(_)),
                pos: pos_of(s.ident.span().start()),
            });
        }
        self.named_value(&s.ident, &s.expr);
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        let name = m
            .mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if name == "macro_rules" {
            if let Some(ident) = &m.ident {
                self.offload_macro(&ident.to_string(), &m.mac.tokens.to_string());
            }
        }
        if name == "lazy_static" && !self.test {
            // `static ref NAME: TYPE = ...;`: the name's own span, the type as text.
            let toks: Vec<proc_macro2::TokenTree> = m.mac.tokens.clone().into_iter().collect();
            for i in 0..toks.len().saturating_sub(2) {
                let is = |t: &proc_macro2::TokenTree, w: &str| matches!(t, proc_macro2::TokenTree::Ident(x) if x == w);
                if let (true, true, proc_macro2::TokenTree::Ident(id)) = (
                    is(&toks[i], "static"),
                    is(&toks[i + 1], "ref"),
                    &toks[i + 2],
                ) {
                    let ty: String = toks[i + 3..]
                        .iter()
                        .skip(1)
                        .take_while(|t| !matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == '='))
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join("")
                        .replace(' ', "");
                    self.m.statics.push(Static {
                        name: id.to_string(),
                        ty,
                        mutable: false,
                        pos: pos_of(id.span().start()),
                    });
                }
            }
        }
        if name == "table" {
            self.diesel_table(&m.mac);
        } else if let Ok(args) = m
            .mac
            .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
        {
            for a in &args {
                self.visit_expr(a);
            }
        }
    }

    fn visit_block(&mut self, b: &'ast Block) {
        if self.budget.spent() {
            return;
        }
        let terminates = !self.loops.is_empty() && Self::block_terminates(b);
        if terminates {
            self.exit_marks.push(self.loops.len());
        }
        let first_call = self.m.calls.len();
        let block_guard = self.none_guard;
        for stmt in &b.stmts {
            // `if let Some(d) = data { return ..; }`: what follows in this
            // block runs only when the parameter `data` is None.
            if let Stmt::Expr(e @ Expr::If(i), _) = stmt {
                if i.else_branch.is_none() && Self::block_terminates(&i.then_branch) {
                    if let Expr::Let(l) = &*i.cond {
                        let some =
                            matches!(&*l.pat, Pat::TupleStruct(ts) if ts.path.is_ident("Some"));
                        if some {
                            if let Some(p) = self.param_index(&l.expr) {
                                self.pending_usage = Some(Usage::Discarded);
                                self.visit_expr(e);
                                self.pending_usage = None;
                                self.none_guard = Some(p);
                                continue;
                            }
                        }
                    }
                }
            }
            match stmt {
                Stmt::Local(l) => {
                    if let Some(init) = &l.init {
                        let usage = match &l.pat {
                            Pat::Wild(_) => Usage::LetUnderscore,
                            _ => Usage::Bound,
                        };
                        if let Pat::Ident(pi) = &l.pat {
                            self.name_literal(pi.ident.to_string(), &init.expr);
                        } else if let Pat::Type(pt) = &l.pat {
                            if let Pat::Ident(pi) = &*pt.pat {
                                self.name_literal(pi.ident.to_string(), &init.expr);
                            }
                        }
                        self.pending_usage = Some(usage);
                        self.pending_bind = match &l.pat {
                            Pat::Ident(pi) => Some(pi.ident.to_string()),
                            Pat::Type(pt) => match &*pt.pat {
                                Pat::Ident(pi) => Some(pi.ident.to_string()),
                                _ => None,
                            },
                            _ => None,
                        };
                        self.visit_expr(&init.expr);
                        self.pending_usage = None;
                        self.pending_bind = None;
                        if let Some((_, div)) = &init.diverge {
                            self.visit_expr(div);
                        }
                    }
                }
                Stmt::Expr(e, semi) => {
                    match e {
                        Expr::Assign(a)
                            if matches!(&*a.left, Expr::Infer(_)) || text_of(&a.left) == "_" =>
                        {
                            self.pending_usage = Some(Usage::LetUnderscore);
                            self.visit_expr(&a.right);
                        }
                        _ => {
                            self.pending_usage = Some(if semi.is_some() {
                                Usage::Discarded
                            } else {
                                Usage::Used
                            });
                            self.visit_expr(e);
                        }
                    }
                    self.pending_usage = None;
                }
                Stmt::Item(i) => self.visit_item(i),
                Stmt::Macro(m) => {
                    let em = syn::ExprMacro {
                        attrs: m.attrs.clone(),
                        mac: m.mac.clone(),
                    };
                    self.pending_usage = Some(Usage::Discarded);
                    self.visit_expr(&Expr::Macro(em));
                    self.pending_usage = None;
                }
            }
        }
        self.none_guard = block_guard;
        self.guards_in_block(b, first_call);
        if terminates {
            self.exit_marks.pop();
        }
    }

    fn visit_expr(&mut self, e: &'ast Expr) {
        if self.budget.spent() {
            return;
        }
        match e {
            Expr::MethodCall(_)
            | Expr::Call(_)
            | Expr::Macro(_)
            | Expr::Await(_)
            | Expr::Try(_) => {
                if !self.lower_chain(e) {
                    self.pending_usage = None;
                    visit::visit_expr(self, e);
                }
            }
            Expr::Lit(l) => {
                self.pending_usage = None;
                self.record_literal(&l.lit, None);
            }
            _ => {
                self.pending_usage = None;
                visit::visit_expr(self, e);
            }
        }
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        let (mut per_element, batched) = self.loop_over(&f.expr);
        // A body that always returns or breaks runs once, whatever the collection.
        if Self::block_terminates(&f.body) {
            per_element = false;
        }
        let header = Span::new(pos_of(f.for_token.span.start()), last_pos(&f.expr));
        self.push_loop(
            LoopKind::For,
            per_element,
            batched,
            self.src(&f.expr),
            header,
        );
        self.visit_block(&f.body);
        self.loops.pop();
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.visit_expr(&w.cond);
        let per_element = match &*w.cond {
            Expr::Let(l) => {
                let mut cur = &*l.expr;
                let mut name = String::new();
                loop {
                    match cur {
                        Expr::Await(a) => cur = &a.base,
                        Expr::Try(t) => cur = &t.expr,
                        Expr::MethodCall(m) => {
                            name = m.method.to_string();
                            break;
                        }
                        _ => break,
                    }
                }
                self.k.data_pullers.contains(&name)
            }
            other => self.raw(other).contains(".len()"),
        };
        let header = Span::new(pos_of(w.while_token.span.start()), last_pos(&w.cond));
        let over = match &*w.cond {
            Expr::Let(l) => self.src(&l.expr),
            other => self.src(other),
        };
        self.push_loop(LoopKind::While, per_element, false, over, header);
        self.visit_block(&w.body);
        self.loops.pop();
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        let body = self.raw(&l.body);
        let per_element = body.contains(".next()")
            || body.contains(".try_next()")
            || body.contains(".pop_front()");
        let header = span_of(l.loop_token.span);
        self.push_loop(LoopKind::Loop, per_element, false, String::new(), header);
        self.visit_block(&l.body);
        self.loops.pop();
    }

    fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
        if let Some(e) = &r.expr {
            if !self.loops.is_empty() {
                self.exit_marks.push(self.loops.len());
                self.visit_expr(e);
                self.exit_marks.pop();
            } else {
                self.visit_expr(e);
            }
        }
    }

    fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
        if let Some(e) = &b.expr {
            self.exit_marks.push(self.loops.len());
            self.visit_expr(e);
            self.exit_marks.pop();
        }
    }

    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        self.asyncs.push(true);
        self.visit_block(&a.block);
        self.asyncs.pop();
    }

    fn visit_expr_closure(&mut self, c: &'ast ExprClosure) {
        let is_async = c.asyncness.is_some() || self.in_async();
        self.asyncs.push(is_async);
        self.visit_expr(&c.body);
        self.asyncs.pop();
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.note_checked(&m.expr);
        self.visit_expr(&m.expr);
        let param = self.param_index(&m.expr);
        for arm in &m.arms {
            let none_arm = matches!(&arm.pat, Pat::Ident(i) if i.ident == "None")
                || matches!(&arm.pat, Pat::Path(p) if p.path.is_ident("None"));
            let saved = self.none_guard;
            if none_arm && param.is_some() {
                self.none_guard = param;
            }
            if let Some((_, g)) = &arm.guard {
                self.visit_expr(g);
            }
            let terminates =
                !self.loops.is_empty() && matches!(&*arm.body, Expr::Return(_) | Expr::Break(_));
            if terminates {
                self.exit_marks.push(self.loops.len());
            }
            self.branches.push(format!(
                "match {} => {}",
                text_of(&m.expr),
                arm.pat.to_token_stream().to_string().replace(' ', "")
            ));
            self.visit_expr(&arm.body);
            self.branches.pop();
            if terminates {
                self.exit_marks.pop();
            }
            self.none_guard = saved;
        }
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.note_checked(&i.cond);
        if Self::block_terminates(&i.then_branch) {
            if let Some(guarded) = self.len_guard(&i.cond) {
                if let Some(f) = self.fns.last_mut() {
                    f.len_guarded.push(guarded);
                }
            }
        }
        self.visit_expr(&i.cond);
        let mut else_guard = None;
        let mut then_guard = None;
        match &*i.cond {
            Expr::Let(l) => {
                let some = matches!(&*l.pat, Pat::TupleStruct(ts) if ts.path.is_ident("Some"));
                if some {
                    else_guard = self.param_index(&l.expr);
                }
            }
            Expr::MethodCall(mc) if mc.method == "is_none" => {
                then_guard = self.param_index(&mc.receiver)
            }
            Expr::MethodCall(mc) if mc.method == "is_some" => {
                else_guard = self.param_index(&mc.receiver)
            }
            _ => {}
        }
        let saved = self.none_guard;
        if then_guard.is_some() {
            self.none_guard = then_guard;
        }
        let cond = text_of(&i.cond);
        self.branches.push(cond.clone());
        self.visit_block(&i.then_branch);
        self.branches.pop();
        self.none_guard = saved;
        if let Some((_, e)) = &i.else_branch {
            if else_guard.is_some() {
                self.none_guard = else_guard;
            }
            self.branches.push(format!("else of {cond}"));
            self.visit_expr(e);
            self.branches.pop();
            self.none_guard = saved;
        }
    }

    fn visit_field_value(&mut self, fv: &'ast syn::FieldValue) {
        if let syn::Member::Named(n) = &fv.member {
            self.name_literal(n.to_string(), &fv.expr);
        }
        self.visit_expr(&fv.expr);
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        let name = match &*a.left {
            Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
            Expr::Field(f) => match &f.member {
                syn::Member::Named(n) => Some(n.to_string()),
                _ => None,
            },
            _ => None,
        };
        if let Some(n) = &name {
            self.name_literal(n.clone(), &a.right);
        }
        self.visit_expr(&a.left);
        // `q = q.filter(..)`: the chain's value replaces the variable.
        if matches!(&*a.left, Expr::Path(_)) && matches!(&*a.right, Expr::MethodCall(_)) {
            self.pending_assign = name;
        }
        self.visit_expr(&a.right);
        self.pending_assign = None;
    }

    fn visit_expr_tuple(&mut self, t: &'ast syn::ExprTuple) {
        // ("password", "hunter2") pairs in maps and header lists.
        if t.elems.len() == 2 {
            if let (Some(Lit::Str(k)), Some(_)) = (literal_in(&t.elems[0]), literal_in(&t.elems[1]))
            {
                self.name_literal(k.value(), &t.elems[1]);
            }
        }
        visit::visit_expr_tuple(self, t);
    }
}

/// Find SQL in literals at query calls and record it with its call.
fn extract_embedded_sql(m: &mut FileModel, idx: &LineIndex, k: &Knowledge, dialect: sql::Dialect) {
    m.dialect = dialect;
    let mut found: Vec<(CallId, usize, bool)> = Vec::new();
    for (id, c) in m.calls.iter().enumerate() {
        let full = m.resolve_path(&c.path);
        let is_ctor = match c.kind {
            CallKind::Path => Knowledge::path_in(&full, &k.q_constructors),
            CallKind::Macro => k.q_macros.contains(&c.name) || k.q_macros.contains(&full),
            CallKind::Method => k.q_sql_methods.contains(&c.name),
        };
        if !is_ctor {
            continue;
        }
        for a in &c.args {
            match &a.kind {
                ArgKind::Str(ix) => {
                    let lit = &m.literals[*ix];
                    let is_format = lit.sink.as_ref().map(|s| s.0 == "format").unwrap_or(false);
                    if sql::looks_like_sql(&lit.value) {
                        found.push((id, *ix, is_format));
                    }
                    break;
                }
                ArgKind::Path(p) if c.kind != CallKind::Macro || c.args.len() > 1 => {
                    let name = p.rsplit("::").next().unwrap_or(p).to_string();
                    if name
                        .chars()
                        .next()
                        .is_some_and(|ch| ch.is_ascii_uppercase())
                        && name
                            .chars()
                            .all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch.is_ascii_digit())
                    {
                        let tail = m.chain_end(id);
                        m.sql_refs.push((tail, name));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    for (call, ix, is_format) in found {
        let lit = &m.literals[ix];
        let value = if is_format {
            template_to_sql(&lit.value)
        } else {
            lit.value.clone()
        };
        for st in sql::analyze(&value, dialect) {
            let start = match lit.raw_offset {
                Some(o) if !is_format => idx.pos(o + st.start),
                _ => lit.span.start,
            };
            let end = match lit.raw_offset {
                Some(o) if !is_format => idx.pos(o + st.end),
                _ => lit.span.end,
            };
            let facts = match st.facts {
                Ok(f) => f,
                Err(e) => {
                    // A piece of SQL or a template: counted, never a blocker.
                    m.sql_skipped.push(SkippedSql {
                        line: start.line,
                        kind: SkipKind::Fragment,
                        message: e,
                    });
                    continue;
                }
            };
            // A format! placeholder may be a whole clause: only trust a bound.
            if is_format && lit.value.contains('{') {
                if let SqlFacts::Select(s) = &facts {
                    let tail =
                        &lit.value[lit.value.to_ascii_lowercase().find(" from ").unwrap_or(0)..];
                    if !s.limited && tail.contains('{') {
                        continue;
                    }
                }
            }
            m.sql.push(SqlStmt {
                span: Span::new(start, end),
                facts,
                text: st.text,
                call: Some(m.chain_end(call)),
                one_row: false,
            });
        }
    }
}

/// `format!` template to parseable SQL: `{}` / `{name}` become a placeholder name.
fn template_to_sql(t: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"\{[^{}]*\}").unwrap());
    re.replace_all(&t.replace("{{", "(").replace("}}", ")"), "__p")
        .into_owned()
}
