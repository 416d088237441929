//! Python, TypeScript/JavaScript and Go with tree-sitter, lowered into the
//! same model as Rust: functions, call chains with their loop, async and
//! test context, string literals with the names they are bound to, and SQL
//! in strings passed to query APIs. Rules stay language-neutral; what a call
//! means in each language is data in `rules/<language>.toml`.
//!
//! tree-sitter recovers from syntax errors with ERROR nodes. Calls inside an
//! ERROR region are kept (a half-written file still leaks its secrets and
//! still runs its queries), but a file that is mostly errors becomes a blocker.

use std::collections::HashSet;

use tree_sitter::{Node, Parser};

use crate::budget::Budget;
use crate::frontend::sql;
use crate::knowledge::Knowledge;
use crate::model::*;
use crate::source::{LineIndex, Pos, Span};

/// Lower a file of `lang`. Errors mean the file could not be parsed at all.
pub fn lower(
    text: &str,
    lang: Lang,
    path: &str,
    kind: PathKind,
    k: &Knowledge,
    dialect: sql::Dialect,
    budget: &Budget,
) -> Result<FileModel, String> {
    let mut parser = Parser::new();
    let language: tree_sitter::Language = match lang {
        Lang::Python => tree_sitter_python::LANGUAGE.into(),
        Lang::Go => tree_sitter_go::LANGUAGE.into(),
        Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        Lang::TypeScript if path.ends_with(".tsx") => tree_sitter_typescript::LANGUAGE_TSX.into(),
        Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        _ => return Err("no tree-sitter grammar for this language".into()),
    };
    parser
        .set_language(&language)
        .map_err(|e| format!("grammar: {e}"))?;
    let bytes = text.as_bytes();
    let mut cancel = |_: &tree_sitter::ParseState| budget.spent_now();
    let tree = parser
        .parse_with_options(
            &mut |i, _| bytes.get(i..).unwrap_or_default(),
            None,
            Some(tree_sitter::ParseOptions::new().progress_callback(&mut cancel)),
        )
        .ok_or_else(|| {
            if budget.ran_out() {
                budget.message()
            } else {
                "the parser gave up".to_string()
            }
        })?;
    let root = tree.root_node();
    let idx = LineIndex::new(text);
    let mut m = FileModel::new(lang, kind);
    if root.has_error() {
        let (mut err, mut all) = (0usize, 0usize);
        count_errors(root, &mut err, &mut all);
        if all > 20 && err * 3 > all {
            m.parse_errors.push(format!(
                "{} syntax errors in {err} of {all} nodes: analysed in part",
                lang.name()
            ));
        }
    }
    let mut l = Walker {
        m,
        src: text.as_bytes(),
        idx: &idx,
        lang,
        fns: Vec::new(),
        owners: Vec::new(),
        loops: Vec::new(),
        loop_base: Vec::new(),
        asyncs: vec![lang == Lang::Go],
        offload: 0,
        closures: Vec::new(),
        literal_lists: HashSet::new(),
        data_vars: HashSet::new(),
        test: kind.test,
        pending_usage: None,
        seen_lits: HashSet::new(),
        try_depth: 0,
        silent_except: 0,
        branches: Vec::new(),
        branch_saves: Vec::new(),
        exit_marks: Vec::new(),
        budget,
    };
    l.walk(root, 0);
    let mut m = l.m;
    // A second walk, so only over files that declare a controller.
    if matches!(lang, Lang::TypeScript | Lang::JavaScript)
        && !kind.test
        && text.contains("@Controller")
    {
        nest_routes(root, text, &idx, &mut m.routes);
    }
    if budget.ran_out() {
        m.parse_errors.push(budget.message());
    }
    extract_sql(&mut m, &idx, k, dialect);
    Ok(m)
}

/// NestJS: `@Controller('users')` on a class, `@Get(':id')` on its methods.
fn nest_routes(root: Node, text: &str, idx: &LineIndex, out: &mut Vec<Route>) {
    let src = |n: Node| text.get(n.byte_range()).unwrap_or("");
    // `Get(':id')` -> ("Get", ":id"); `Controller({ path: 'users' })` -> ("Controller", "users").
    let decorator = |d: Node| -> Option<(String, String)> {
        let t = src(d).trim_start_matches('@');
        let (name, rest) = t.split_once('(').unwrap_or((t, ""));
        let arg = rest
            .find(['\'', '"', '`'])
            .and_then(|q| {
                let quote = rest.as_bytes()[q] as char;
                rest[q + 1..]
                    .find(quote)
                    .map(|e| rest[q + 1..q + 1 + e].to_string())
            })
            .unwrap_or_default();
        Some((name.trim().to_string(), arg))
    };
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if n.kind() != "class_declaration" {
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c));
            continue;
        }
        let mut decos: Vec<Node> = Vec::new();
        let mut c = n.walk();
        decos.extend(n.children(&mut c).filter(|d| d.kind() == "decorator"));
        if let Some(p) = n.parent().filter(|p| p.kind() == "export_statement") {
            let mut c = p.walk();
            decos.extend(p.children(&mut c).filter(|d| d.kind() == "decorator"));
        }
        let Some(prefix) = decos
            .iter()
            .filter_map(|d| decorator(*d))
            .find(|(name, _)| name == "Controller")
            .map(|(_, p)| p)
        else {
            continue;
        };
        let Some(body) = n.child_by_field_name("body") else {
            continue;
        };
        let mut pending: Vec<Node> = Vec::new();
        let mut c = body.walk();
        for member in body.children(&mut c) {
            match member.kind() {
                "decorator" => pending.push(member),
                "method_definition" => {
                    let handler = member
                        .child_by_field_name("name")
                        .map(|h| src(h).to_string())
                        .unwrap_or_default();
                    for d in pending.drain(..) {
                        let Some((name, path)) = decorator(d) else {
                            continue;
                        };
                        let method = match name.as_str() {
                            "Get" | "Post" | "Put" | "Patch" | "Delete" | "Options" | "Head" => {
                                name.to_ascii_uppercase()
                            }
                            "All" => "ANY".to_string(),
                            _ => continue,
                        };
                        let base = format!("/{}", prefix.trim_matches('/'));
                        let full = match path.trim_matches('/') {
                            "" => base,
                            p if base == "/" => format!("/{p}"),
                            p => format!("{base}/{p}"),
                        };
                        out.push(Route {
                            method,
                            path: full,
                            handler: handler.clone(),
                            pos: idx.pos(d.start_byte()),
                            framework: "nestjs".into(),
                            router: None,
                        });
                    }
                }
                _ => pending.clear(),
            }
        }
    }
}

fn count_errors(n: Node, err: &mut usize, all: &mut usize) {
    let mut stack = vec![n];
    while let Some(n) = stack.pop() {
        *all += 1;
        if n.is_error() || n.is_missing() {
            *err += 1;
        }
        let mut c = n.walk();
        for ch in n.children(&mut c) {
            stack.push(ch);
        }
    }
}

struct Walker<'a> {
    m: FileModel,
    src: &'a [u8],
    idx: &'a LineIndex<'a>,
    lang: Lang,
    fns: Vec<FnId>,
    owners: Vec<String>,
    loops: Vec<LoopId>,
    loop_base: Vec<usize>,
    /// Go has no async: every goroutine may block its OS thread, which the
    /// runtime handles, so Go code is never "async" here (the flag stays false).
    asyncs: Vec<bool>,
    offload: usize,
    /// Calls whose closure argument is being walked, innermost last.
    closures: Vec<CallId>,
    /// Names given a written list (`tables = ["a", "b"]`), and names given
    /// anything else: a loop over a name only in the first is not per element.
    literal_lists: HashSet<String>,
    data_vars: HashSet<String>,
    test: bool,
    pending_usage: Option<Usage>,
    seen_lits: HashSet<usize>,
    try_depth: usize,
    /// Inside a try whose handler swallows the error (`except: pass`, `catch {}`).
    silent_except: usize,
    /// Conditions of the enclosing `if`/`else`/`except` branches, innermost last.
    branches: Vec<String>,
    /// The branches outside each loop being walked.
    branch_saves: Vec<Vec<String>>,
    /// Loop depths at which a `return` being walked leaves the loop.
    exit_marks: Vec<usize>,
    budget: &'a Budget,
}

const MAX_DEPTH: usize = 1500;

fn is_call(kind: &str) -> bool {
    matches!(kind, "call" | "call_expression" | "new_expression")
}

fn is_member(kind: &str) -> bool {
    matches!(
        kind,
        "attribute" | "member_expression" | "selector_expression"
    )
}

impl<'a> Walker<'a> {
    fn text(&self, n: Node) -> &'a str {
        std::str::from_utf8(&self.src[n.byte_range()]).unwrap_or("")
    }

    /// Folded, bounded text of a node (stops reading after 160 bytes).
    fn short(&self, n: Node) -> String {
        self.short_n(n, 160)
    }

    fn short_n(&self, n: Node, max: usize) -> String {
        let mut out = String::new();
        let mut space = false;
        for c in self.text(n).chars() {
            if c.is_whitespace() {
                space = true;
                continue;
            }
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
            if out.len() >= max {
                break;
            }
        }
        out
    }

    fn pos(&self, byte: usize) -> Pos {
        self.idx.pos(byte)
    }

    fn span(&self, n: Node) -> Span {
        Span::new(self.pos(n.start_byte()), self.pos(n.end_byte()))
    }

    fn in_async(&self) -> bool {
        *self.asyncs.last().unwrap_or(&false)
    }

    fn walk_children(&mut self, n: Node, depth: usize) {
        let mut c = n.walk();
        let kids: Vec<Node> = n.children(&mut c).collect();
        for ch in kids {
            self.walk(ch, depth + 1);
        }
    }

    fn is_async_fn(&self, n: Node) -> bool {
        let mut c = n.walk();
        let r = n.children(&mut c).any(|ch| ch.kind() == "async");
        r
    }

    fn fn_name(&self, n: Node) -> String {
        n.child_by_field_name("name")
            .map(|x| self.text(x).to_string())
            .unwrap_or_default()
    }

    fn enter_fn(&mut self, n: Node, name: String, is_async: bool, depth: usize) {
        let params_node = n.child_by_field_name("parameters");
        let mut params = Vec::new();
        if let Some(p) = params_node {
            let mut c = p.walk();
            for ch in p.named_children(&mut c) {
                let name_node = ch
                    .child_by_field_name("name")
                    .or_else(|| ch.child_by_field_name("pattern"))
                    .unwrap_or(ch);
                let ty = ch
                    .child_by_field_name("type")
                    .map(|t| self.short(t))
                    .unwrap_or_default();
                let nm = self.text(name_node);
                let nm = nm
                    .split([':', '=', ' '])
                    .next()
                    .unwrap_or(nm)
                    .trim()
                    .to_string();
                if nm == "self" || nm == "cls" {
                    continue;
                }
                params.push(Param { name: nm, ty });
            }
        }
        let is_test = self.test
            || name.starts_with("test_")
            || name.starts_with("Test") && self.lang == Lang::Go;
        let owner = self.owners.last().cloned();
        let has_self = owner.is_some();
        self.m.functions.push(Function {
            name: name.clone(),
            owner,
            trait_name: None,
            is_async,
            is_test,
            returns: n
                .child_by_field_name("return_type")
                .or_else(|| n.child_by_field_name("result"))
                .map(|r| self.short(r))
                .unwrap_or_default(),
            has_self,
            params,
            span: n
                .child_by_field_name("name")
                .map(|x| self.span(x))
                .unwrap_or_else(|| self.span(n)),
            cached: false,
            handler_like: false,
            checked: Vec::new(),
            instrumented: false,
            inline_mod: None,
            logs_errors: false,
        });
        let id = self.m.functions.len() - 1;
        self.fns.push(id);
        self.loop_base.push(self.loops.len());
        self.asyncs.push(is_async);
        let was_test = self.test;
        self.test |= is_test;
        if let Some(body) = n.child_by_field_name("body") {
            self.walk(body, depth + 1);
            self.m.functions[id].cached = memoizes(self.text(body));
        }
        self.test = was_test;
        self.asyncs.pop();
        self.loop_base.pop();
        self.fns.pop();
    }

    fn current_loops(&self) -> Vec<LoopId> {
        let base = self.loop_base.last().copied().unwrap_or(0);
        self.loops[base.min(self.loops.len())..].to_vec()
    }

    fn push_loop(&mut self, kind: LoopKind, per_element: bool, over: String, span: Span) {
        self.m.loops.push(Loop {
            kind,
            per_element,
            batched: false,
            over,
            span,
        });
        let id = self.m.loops.len() - 1;
        self.loops.push(id);
        // A call's branch is the innermost one inside its innermost loop: an
        // `except` around the whole loop is not a per-element condition.
        let outer = std::mem::take(&mut self.branches);
        self.branch_saves.push(outer);
    }

    fn pop_loop(&mut self) {
        self.loops.pop();
        self.branches = self.branch_saves.pop().unwrap_or_default();
    }

    /// Is this iterable a literal list or a small constant range?
    fn literal_iterable(&self, n: Node) -> bool {
        match n.kind() {
            "list" | "tuple" | "array" | "set" | "composite_literal" | "expression_list" => {
                // `for x in [a, b]` / `for _, x := range []string{"a", "b"}`
                !self.text(n).contains("..")
            }
            "call" => {
                // range(3)
                let t = self.text(n);
                if let Some(rest) = t.strip_prefix("range(") {
                    return rest
                        .trim_end_matches(')')
                        .split(',')
                        .all(|p| p.trim().parse::<i64>().is_ok_and(|v| v <= 16));
                }
                false
            }
            "int_literal" | "integer" | "number" => {
                self.text(n).parse::<i64>().is_ok_and(|v| v <= 16)
            }
            "identifier"
                if self.literal_lists.contains(self.text(n))
                    && !self.data_vars.contains(self.text(n)) =>
            {
                // ..unless the code adds to it (`roles.push(x)`, `tables = append(tables, t)`).
                let name = self.text(n);
                !self.m.calls.iter().any(|c| {
                    matches!(
                        c.name.as_str(),
                        "append" | "push" | "extend" | "add" | "insert" | "unshift"
                    ) && (c.root == name || c.args.first().is_some_and(|a| a.text == name))
                })
            }
            _ => {
                let t = self.text(n);
                t.len() > 1
                    && t.chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            }
        }
    }

    fn walk(&mut self, n: Node, depth: usize) {
        if depth > MAX_DEPTH || self.budget.spent() {
            return;
        }
        let kind = n.kind();
        match kind {
            // ---- functions and classes ----
            "function_definition"
            | "function_declaration"
            | "generator_function_declaration"
            | "method_definition"
            | "method_declaration" => {
                let mut name = self.fn_name(n);
                let mut pushed_owner = false;
                if kind == "method_declaration" {
                    // Go: func (s *Store) Name(...)
                    if let Some(r) = n.child_by_field_name("receiver") {
                        let t = self.text(r);
                        let ty = t
                            .trim_matches(|c| c == '(' || c == ')')
                            .split_whitespace()
                            .last()
                            .unwrap_or("")
                            .trim_start_matches('*')
                            .to_string();
                        self.owners.push(ty);
                        pushed_owner = true;
                    }
                }
                if name.is_empty() {
                    name = "<anonymous>".into();
                }
                let is_async = self.is_async_fn(n)
                    || (self.lang == Lang::Python && self.text(n).starts_with("async"));
                self.enter_fn(n, name, is_async, depth);
                if pushed_owner {
                    self.owners.pop();
                }
            }
            "decorated_definition" => {
                let decorators: Vec<String> = {
                    let mut c = n.walk();
                    n.children(&mut c)
                        .filter(|ch| ch.kind() == "decorator")
                        .map(|d| self.text(d).to_string())
                        .collect()
                };
                if let Some(def) = n.child_by_field_name("definition") {
                    self.routes_from_decorators(&decorators, def);
                    let was = self.test;
                    self.test |= decorators
                        .iter()
                        .any(|d| d.contains("pytest") || d.contains("fixture"));
                    self.walk(def, depth + 1);
                    self.test = was;
                }
            }
            "class_definition" | "class_declaration" | "class" => {
                let name = self.fn_name(n);
                if self.lang == Lang::Python {
                    self.class_def(n, &name);
                }
                let was = self.test;
                self.test |=
                    name.starts_with("Test") || name.ends_with("Test") || name.ends_with("Tests");
                self.owners.push(name);
                if let Some(body) = n.child_by_field_name("body") {
                    self.walk(body, depth + 1);
                }
                self.owners.pop();
                self.test = was;
            }
            "arrow_function" | "function_expression" | "function" | "lambda" | "func_literal" => {
                let is_async = self.is_async_fn(n) || (self.in_async() && kind != "func_literal");
                self.asyncs.push(is_async);
                if let Some(body) = n.child_by_field_name("body") {
                    self.walk(body, depth + 1);
                }
                self.asyncs.pop();
            }
            // ---- loops ----
            "for_statement" | "for_in_statement" => {
                let (per_element, over) = if self.lang == Lang::Go {
                    let rc = {
                        let mut c = n.walk();
                        let found = n.children(&mut c).find(|ch| ch.kind() == "range_clause");
                        found
                    };
                    match rc {
                        Some(rc) => {
                            let right = rc.child_by_field_name("right");
                            (
                                right.is_some_and(|r| !self.literal_iterable(r)),
                                right.map(|r| self.short(r)).unwrap_or_default(),
                            )
                        }
                        // `for cond {}` / `for {}`: a poll or retry loop unless it walks an index.
                        None => {
                            let t = self.text(n);
                            (
                                t.lines().next().unwrap_or("").contains("len("),
                                String::new(),
                            )
                        }
                    }
                } else if let Some(right) = n.child_by_field_name("right") {
                    if let Some(l) = n.child_by_field_name("left") {
                        self.walk(l, depth + 1);
                    }
                    self.walk(right, depth + 1);
                    (!self.literal_iterable(right), self.short(right))
                } else {
                    // C-style for in JS: for (let i = 0; i < xs.length; i++)
                    let t = self.text(n);
                    (
                        t.lines().next().unwrap_or("").contains(".length"),
                        String::new(),
                    )
                };
                let header = Span::new(
                    self.pos(n.start_byte()),
                    self.pos(
                        n.child_by_field_name("body")
                            .map(|b| b.start_byte())
                            .unwrap_or(n.end_byte()),
                    ),
                );
                // `for o in Order.objects.prefetch_related("items")`: related rows come batched.
                let batched = [
                    "prefetch_related",
                    "select_related",
                    "joinedload",
                    "selectinload",
                ]
                .iter()
                .any(|w| over.contains(w))
                    // `for _, batch := range chunk(ids, 500)`: one statement per batch.
                    || over
                        .to_ascii_lowercase()
                        .split(|c: char| !c.is_ascii_alphanumeric())
                        .any(|w| {
                            w.starts_with("batch")
                                || w.starts_with("chunk")
                                || w.ends_with("batches")
                                || w.ends_with("chunks")
                        });
                self.push_loop(LoopKind::For, per_element, over, header);
                if batched {
                    if let Some(l) = self.m.loops.last_mut() {
                        l.batched = true;
                    }
                }
                match n.child_by_field_name("body") {
                    Some(b) => self.walk(b, depth + 1),
                    None => self.walk_children(n, depth),
                }
                self.pop_loop();
            }
            "while_statement" | "do_statement" => {
                let header = self.span(n);
                self.push_loop(
                    LoopKind::While,
                    false,
                    String::new(),
                    Span::new(header.start, header.start),
                );
                self.walk_children(n, depth);
                self.pop_loop();
            }
            "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => {
                let clause = {
                    let mut c = n.walk();
                    let found = n.children(&mut c).find(|ch| ch.kind() == "for_in_clause");
                    found
                };
                let (per, over) = match clause.and_then(|c| c.child_by_field_name("right")) {
                    Some(r) => {
                        self.walk(r, depth + 1);
                        (!self.literal_iterable(r), self.short(r))
                    }
                    None => (true, String::new()),
                };
                self.push_loop(LoopKind::IterClosure, per, over, self.span(n));
                let mut c = n.walk();
                let kids: Vec<Node> = n
                    .children(&mut c)
                    .filter(|ch| ch.kind() != "for_in_clause")
                    .collect();
                for ch in kids {
                    self.walk(ch, depth + 1);
                }
                self.pop_loop();
            }
            // ---- statements that say how a value is used ----
            "expression_statement" => {
                self.pending_usage = Some(Usage::Discarded);
                self.walk_children(n, depth);
                self.pending_usage = None;
            }
            "assignment"
            | "assignment_statement"
            | "short_var_declaration"
            | "assignment_expression"
            | "variable_declarator"
            | "var_spec"
            | "const_spec" => {
                self.assignment(n, depth);
            }
            "keyword_argument" | "pair" | "keyed_element" => {
                let key = n
                    .child_by_field_name("name")
                    .or_else(|| n.child_by_field_name("key"));
                let value = n.child_by_field_name("value");
                if let (Some(key), Some(value)) = (key, value) {
                    let name = self
                        .text(key)
                        .trim_matches(|c| c == '"' || c == '\'' || c == '`')
                        .to_string();
                    self.bind_literal(&name, value);
                    self.walk(value, depth + 1);
                } else {
                    self.walk_children(n, depth);
                }
            }
            "return_statement"
                if self.loops.len() > self.loop_base.last().copied().unwrap_or(0)
                    && self
                        .loops
                        .last()
                        .is_some_and(|&l| self.m.loops[l].kind != LoopKind::IterClosure) =>
            {
                // `for c in checks: if c.key == key: return c.to_dict()`: what
                // the return runs, runs once, not once per element. (A
                // `return` in a `.map(x => ..)` callback ends one element.)
                self.exit_marks.push(self.loops.len());
                self.walk_children(n, depth);
                self.exit_marks.pop();
            }
            "if_statement" | "elif_clause" => {
                // `if cond:` then its body on `cond`, its `else` on `else of cond`.
                let cond = n.child_by_field_name("condition");
                let cond_text: String = cond
                    .map(|c| {
                        self.text(c)
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                let init = n.child_by_field_name("initializer");
                let mut c = n.walk();
                let kids: Vec<Node> = n.named_children(&mut c).collect();
                for ch in kids {
                    if Some(ch) == cond || Some(ch) == init {
                        self.walk(ch, depth + 1);
                        continue;
                    }
                    let label = if matches!(ch.kind(), "else_clause" | "elif_clause")
                        || Some(ch) == n.child_by_field_name("alternative")
                    {
                        format!("else of {cond_text}")
                    } else {
                        cond_text.clone()
                    };
                    self.branches.push(label);
                    self.walk(ch, depth + 1);
                    self.branches.pop();
                }
            }
            "try_statement" => {
                let silent = self.swallows(n);
                self.try_depth += 1;
                if silent {
                    self.silent_except += 1;
                }
                if let Some(b) = n.child_by_field_name("body") {
                    self.walk(b, depth + 1);
                } else {
                    // Python: the block is an unnamed child
                    let mut c = n.walk();
                    let kids: Vec<Node> = n
                        .children(&mut c)
                        .filter(|ch| ch.kind() == "block")
                        .collect();
                    for ch in kids {
                        self.walk(ch, depth + 1);
                    }
                }
                if silent {
                    self.silent_except -= 1;
                }
                self.try_depth -= 1;
                let mut c = n.walk();
                let handlers: Vec<Node> = n
                    .children(&mut c)
                    .filter(|ch| ch.kind() != "block" && Some(*ch) != n.child_by_field_name("body"))
                    .collect();
                for h in handlers {
                    // `except ValueError as e:`, `catch (e)`: runs on failure only.
                    let head = match h.kind() {
                        "except_clause" | "catch_clause" => {
                            let t = self.text(h);
                            let head = t.split([':', '{']).next().unwrap_or("").trim();
                            Some(if h.kind() == "catch_clause" {
                                "catch".to_string()
                            } else {
                                head.split_whitespace().collect::<Vec<_>>().join(" ")
                            })
                        }
                        _ => None,
                    };
                    let pushed = head.is_some();
                    if let Some(hd) = head {
                        self.branches.push(hd);
                    }
                    self.walk(h, depth + 1);
                    if pushed {
                        self.branches.pop();
                    }
                }
            }
            "go_statement" => {
                // A goroutine per element is fan-out, not a query per element.
                let saved = std::mem::take(&mut self.loops);
                let base = self.loop_base.last().copied().unwrap_or(0);
                self.loops = saved[..base.min(saved.len())].to_vec();
                self.walk_children(n, depth);
                self.loops = saved;
            }
            "import_statement" | "import_from_statement" | "import_declaration" | "import_spec" => {
                self.imports(n);
                if kind == "import_declaration" {
                    self.walk_children(n, depth);
                }
            }
            "string" | "template_string" | "interpreted_string_literal" | "raw_string_literal" => {
                self.record_literal(n, None, None);
            }
            "comment" => {}
            "composite_literal" if self.lang == Lang::Go => {
                // `&http.Client{...}`: a client whose fields may lack a Timeout.
                let ty = n
                    .child_by_field_name("type")
                    .map(|t| self.text(t))
                    .unwrap_or("");
                if ty == "http.Client" {
                    let body = n
                        .child_by_field_name("body")
                        .map(|b| self.short(b))
                        .unwrap_or_default();
                    self.m.calls.push(Call {
                        args: vec![Arg {
                            text: body,
                            kind: ArgKind::Other,
                        }],
                        loops: self.current_loops(),
                        in_test: self.test,
                        ..Call::new(
                            self.fns.last().copied(),
                            CallKind::Path,
                            "http.Client{}".into(),
                            vec!["http.Client{}".into()],
                            self.span(n),
                        )
                    });
                }
                self.walk_children(n, depth);
            }
            _ if is_call(kind) || kind == "await" || kind == "await_expression" => {
                if !self.lower_chain(n, depth) {
                    self.pending_usage = None;
                    self.walk_children(n, depth);
                }
            }
            _ => {
                self.pending_usage = None;
                self.walk_children(n, depth);
            }
        }
    }

    /// A Python class: its bases and the `name = value` lines of its body.
    fn class_def(&mut self, n: Node, name: &str) {
        let bases = n
            .child_by_field_name("superclasses")
            .map(|b| {
                let mut c = b.walk();
                b.named_children(&mut c)
                    .filter(|x| x.kind() != "keyword_argument")
                    .map(|x| self.text(x).to_string())
                    .collect()
            })
            .unwrap_or_default();
        let mut attrs = Vec::new();
        if let Some(body) = n.child_by_field_name("body") {
            let mut c = body.walk();
            for st in body.named_children(&mut c) {
                let Some(a) = st
                    .named_child(0)
                    .filter(|_| st.kind() == "expression_statement")
                else {
                    continue;
                };
                if a.kind() != "assignment" {
                    continue;
                }
                if let (Some(l), Some(r)) = (
                    a.child_by_field_name("left"),
                    a.child_by_field_name("right"),
                ) {
                    attrs.push((self.text(l).to_string(), self.short(r)));
                }
            }
        }
        self.m.classes.push(crate::model::ClassDef {
            name: name.to_string(),
            bases,
            attrs,
        });
    }

    /// Does this try statement's handler swallow the error (`except: pass`, `catch {}`)?
    fn swallows(&self, n: Node) -> bool {
        let mut c = n.walk();
        let kids: Vec<Node> = n.children(&mut c).collect();
        kids.into_iter().any(|h| match h.kind() {
            "except_clause" => {
                let block = h.named_children(&mut h.walk()).last();
                let body = block
                    .map(|b| self.text(b).trim().to_string())
                    .unwrap_or_default();
                let empty = body == "pass" || body == "..." || body == "continue";
                // `except:` / `except Exception:` swallow every failure; a
                // handler of named exceptions (`except User.DoesNotExist:`,
                // `except KeyError:`) is a deliberate branch and lets
                // database and network errors propagate.
                let caught = block
                    .and_then(|b| {
                        std::str::from_utf8(&self.src[h.start_byte()..b.start_byte()]).ok()
                    })
                    .unwrap_or_default();
                empty && broad_except(caught)
            }
            "catch_clause" => h.child_by_field_name("body").is_some_and(|b| {
                self.text(b)
                    .trim_matches(|c: char| c == '{' || c == '}' || c.is_whitespace())
                    .is_empty()
            }),
            _ => false,
        })
    }

    fn imports(&mut self, n: Node) {
        let t = self.text(n).to_string();
        match self.lang {
            Lang::Python => {
                // import a.b as c / from a import b as c
                if let Some(rest) = t.strip_prefix("from ") {
                    if let Some((module, names)) = rest.split_once(" import ") {
                        for part in names.trim_matches(|c| c == '(' || c == ')').split(',') {
                            let part = part.trim();
                            let (name, alias) = part.split_once(" as ").unwrap_or((part, part));
                            if !name.is_empty() {
                                self.m.imports.push(Import {
                                    alias: alias.trim().to_string(),
                                    path: format!("{}.{}", module.trim(), name.trim()),
                                });
                            }
                        }
                    }
                } else if let Some(rest) = t.strip_prefix("import ") {
                    for part in rest.split(',') {
                        let part = part.trim();
                        let (name, alias) = part.split_once(" as ").unwrap_or((part, part));
                        self.m.imports.push(Import {
                            alias: alias.trim().to_string(),
                            path: name.trim().to_string(),
                        });
                    }
                }
            }
            Lang::Go => {
                if n.kind() == "import_spec" {
                    let path = n
                        .child_by_field_name("path")
                        .map(|p| self.text(p).trim_matches('"').to_string())
                        .unwrap_or_default();
                    let alias = n
                        .child_by_field_name("name")
                        .map(|a| self.text(a).to_string())
                        .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(&path).to_string());
                    self.m.imports.push(Import { alias, path });
                }
            }
            _ => {
                // import x from 'm'; import { a as b } from 'm'
                if let Some(from) = t.rsplit(" from ").next().filter(|_| t.contains(" from ")) {
                    let module = from
                        .trim()
                        .trim_end_matches(';')
                        .trim_matches(|c| c == '\'' || c == '"')
                        .to_string();
                    let head = t
                        .trim_start_matches("import")
                        .split(" from ")
                        .next()
                        .unwrap_or("")
                        .trim();
                    for part in head.split([',', '{', '}']) {
                        let part = part
                            .trim()
                            .trim_start_matches("* as ")
                            .trim_start_matches("type ");
                        if part.is_empty() {
                            continue;
                        }
                        let (name, alias) = part.split_once(" as ").unwrap_or((part, part));
                        self.m.imports.push(Import {
                            alias: alias.trim().to_string(),
                            path: format!("{module}.{}", name.trim()),
                        });
                    }
                }
            }
        }
    }

    fn routes_from_decorators(&mut self, decorators: &[String], def: Node) {
        let handler = self.fn_name(def);
        for d in decorators {
            // @app.get("/x"), @router.post("/y"), @app.route("/z", methods=["POST"])
            let Some(open) = d.find('(') else { continue };
            let head = &d[1..open];
            let method = head.rsplit('.').next().unwrap_or("").to_ascii_uppercase();
            let method = match method.as_str() {
                "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => method,
                "ROUTE" | "API_ROUTE" => {
                    if d.contains("POST") {
                        "POST".into()
                    } else {
                        "GET".into()
                    }
                }
                _ => continue,
            };
            let args = &d[open + 1..];
            let router = head
                .rsplit_once('.')
                .map(|(r, _)| r.trim_start_matches('@').to_string());
            let q = args.find(['"', '\'']);
            if let Some(q) = q {
                let quote = args.as_bytes()[q] as char;
                if let Some(end) = args[q + 1..].find(quote) {
                    let path = args[q + 1..q + 1 + end].to_string();
                    if !path.starts_with('/') {
                        continue; // Wagtail's `@route(r'^tags/$')` and friends are not URL paths
                    }
                    let framework = if d.contains("router")
                        || d.contains("app.get")
                        || d.contains("app.post")
                    {
                        "fastapi/flask"
                    } else {
                        "python"
                    };
                    self.m.routes.push(Route {
                        method,
                        path,
                        handler: handler.clone(),
                        pos: self.pos(def.start_byte()),
                        framework: framework.into(),
                        router: router.clone(),
                    });
                }
            }
        }
    }

    /// Record a string literal; returns its index.
    fn record_literal(
        &mut self,
        n: Node,
        name: Option<&str>,
        sink: Option<(String, usize)>,
    ) -> Option<usize> {
        if !self.seen_lits.insert(n.start_byte()) {
            return self.m.literals.iter().rposition(|l| {
                l.raw_offset
                    .is_some_and(|o| o >= n.start_byte() && o <= n.start_byte() + 4)
            });
        }
        let raw = self.text(n);
        // Content between the quotes (prefixes like f, b, r, u in Python).
        let q = raw.find(['"', '\'', '`'])?;
        let quote = &raw[q..];
        let triple = quote.starts_with("\"\"\"") || quote.starts_with("'''");
        let ql = if triple { 3 } else { 1 };
        if quote.len() < 2 * ql {
            return None;
        }
        let content = &quote[ql..quote.len() - ql];
        let start = n.start_byte() + q + ql;
        let interpolated = n.kind() == "template_string" && content.contains("${")
            || raw[..q].contains('f') && content.contains('{');
        self.m.literals.push(Literal {
            value: if interpolated {
                content.replace("${", "{")
            } else {
                content.to_string()
            },
            span: Span::new(self.pos(start), self.pos(start + content.len())),
            raw_offset: Some(start),
            name: name.map(str::to_string),
            sink,
            in_test: self.test,
            in_comment: false,
        });
        Some(self.m.literals.len() - 1)
    }

    fn bind_literal(&mut self, name: &str, value: Node) {
        let v = if matches!(value.kind(), "expression_list" | "literal_element")
            && value.named_child_count() == 1
        {
            value.named_child(0).unwrap_or(value)
        } else {
            value
        };
        if matches!(
            v.kind(),
            "string" | "interpreted_string_literal" | "raw_string_literal" | "template_string"
        ) {
            self.record_literal(v, Some(name), None);
        }
    }

    fn assignment(&mut self, n: Node, depth: usize) {
        let left = n
            .child_by_field_name("left")
            .or_else(|| n.child_by_field_name("name"));
        let right = n
            .child_by_field_name("right")
            .or_else(|| n.child_by_field_name("value"));
        let (Some(left), Some(right)) = (left, right) else {
            self.walk_children(n, depth);
            return;
        };
        let lt = self.text(left).to_string();
        let name = lt
            .rsplit(['.', ' '])
            .next()
            .unwrap_or(&lt)
            .trim()
            .to_string();
        self.bind_literal(&name, right);
        // Go: `_ = f()` or `x, _ := f()` drops an error; Python/JS: `_ = f()`.
        let drops = lt.trim() == "_"
            || (self.lang == Lang::Go
                && lt.split(',').next_back().is_some_and(|p| p.trim() == "_"));
        self.pending_usage = Some(if drops {
            Usage::LetUnderscore
        } else {
            Usage::Bound
        });
        let mut right = if right.kind() == "expression_list" && right.named_child_count() == 1 {
            right.named_child(0).unwrap_or(right)
        } else {
            right
        };
        // `x = (a.b().c())`: the chain inside the parentheses.
        while right.kind() == "parenthesized_expression" && right.named_child_count() == 1 {
            match right.named_child(0) {
                Some(inner) => right = inner,
                None => break,
            }
        }
        // `tables := []string{"a", "b"}`: a loop over `tables` walks a
        // written list. Any other value given to the name in this file
        // makes it data.
        let ident = !lt.is_empty() && lt.chars().all(|c| c.is_alphanumeric() || c == '_');
        if ident {
            // An empty `[]` is a list the code fills later: data.
            let literal = matches!(
                right.kind(),
                "list" | "tuple" | "array" | "set" | "composite_literal"
            ) && self.literal_iterable(right)
                && right
                    .child_by_field_name("body")
                    .unwrap_or(right)
                    .named_child_count()
                    > 0;
            if literal {
                self.literal_lists.insert(lt.clone());
            } else {
                self.data_vars.insert(lt.clone());
            }
        }
        let first = self.m.calls.len();
        self.walk(right, depth + 1);
        self.pending_usage = None;
        // `router = APIRouter(prefix=..)`, `v1 := r.Group("/v1")`: the variable
        // holding the chain's value (routers are composed through them).
        let simple = !lt.is_empty()
            && lt
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
        if simple {
            let end = self.pos(right.end_byte());
            if let Some(c) = self.m.calls[first..]
                .iter_mut()
                .find(|c| c.next.is_none() && c.span.end == end)
            {
                c.bound_to = Some(lt.clone());
            }
        }
    }

    /// Lower a call chain; false if `n` is not one.
    fn lower_chain(&mut self, n: Node, depth: usize) -> bool {
        let usage = self.pending_usage.take().unwrap_or(Usage::Used);
        let mut links: Vec<(Node, bool)> = Vec::new();
        let mut cur = n;
        let mut awaited = false;
        let root: Option<Node>;
        loop {
            match cur.kind() {
                "await" | "await_expression" => {
                    awaited = true;
                    match cur.named_child(0) {
                        Some(c) => cur = c,
                        None => return false,
                    }
                }
                "parenthesized_expression" => match cur.named_child(0) {
                    Some(c) => cur = c,
                    None => return false,
                },
                k if is_call(k) => {
                    links.push((cur, awaited));
                    awaited = false;
                    let f = cur
                        .child_by_field_name("function")
                        .or_else(|| cur.child_by_field_name("constructor"));
                    match f {
                        Some(f) if is_member(f.kind()) => {
                            cur = f
                                .child_by_field_name("object")
                                .or_else(|| f.child_by_field_name("operand"))
                                .unwrap_or(f);
                        }
                        _ => {
                            root = None;
                            break;
                        }
                    }
                }
                _ => {
                    root = Some(cur);
                    break;
                }
            }
        }
        if links.is_empty() {
            return false;
        }
        links.reverse();
        let root_text = root.map(|r| self.short(r)).unwrap_or_default();
        let chain_start = self.pos(
            root.map(|r| r.start_byte())
                .unwrap_or(links[0].0.start_byte()),
        );
        let mut ids = Vec::new();
        for (call, aw) in &links {
            let f = call
                .child_by_field_name("function")
                .or_else(|| call.child_by_field_name("constructor"));
            let (kind, name, path) = match f {
                Some(f) if is_member(f.kind()) => {
                    let prop = f
                        .child_by_field_name("property")
                        .or_else(|| f.child_by_field_name("attribute"))
                        .or_else(|| f.child_by_field_name("field"));
                    (
                        CallKind::Method,
                        prop.map(|p| self.text(p).to_string()).unwrap_or_default(),
                        Vec::new(),
                    )
                }
                Some(f) => {
                    let t = self.text(f).to_string();
                    (CallKind::Path, t.clone(), vec![t])
                }
                None => (CallKind::Path, String::new(), Vec::new()),
            };
            let end = if *aw {
                call.parent()
                    .map(|p| p.end_byte())
                    .unwrap_or(call.end_byte())
            } else {
                call.end_byte()
            };
            let call_rec = Call {
                root: root_text.clone(),
                prev: ids.last().copied(),
                awaited: *aw,
                tried: self.try_depth > 0 && self.silent_except == 0,
                loops: self.current_loops(),
                in_async: self.in_async(),
                offloaded: self.offload > 0,
                in_test: self.test,
                swallowed: self.silent_except > 0,
                closure_of: self.closures.last().copied(),
                branch: self.branches.last().cloned(),
                exits_loop: !self.loops.is_empty()
                    && self.exit_marks.last() == Some(&self.loops.len()),
                ..Call::new(
                    self.fns.last().copied(),
                    kind,
                    name,
                    path,
                    Span::new(chain_start, self.pos(end)),
                )
            };
            self.m.calls.push(call_rec);
            let id = self.m.calls.len() - 1;
            if let Some(&p) = ids.last() {
                self.m.calls[p].next = Some(id);
            }
            ids.push(id);
        }
        let last = *ids.last().unwrap();
        self.m.calls[last].usage = usage;
        // `qs[:10]`, `rows[0]`: the caller takes a bounded part.
        self.m.calls[last].sliced = n.parent().is_some_and(|p| {
            matches!(p.kind(), "subscript" | "index_expression" | "slice_expression")
                // Paginator(qs, 25), paginate(query): the paginator bounds it.
                || (matches!(p.kind(), "argument_list" | "arguments")
                    && p.parent().and_then(|g| g.child_by_field_name("function")).is_some_and(|f| self.text(f).contains("aginat")))
        });
        if let Some(r) = root {
            self.walk(r, depth + 1);
        }
        for (i, (call, _)) in links.iter().enumerate() {
            let id = ids[i];
            let name = self.m.calls[id].name.clone();
            let Some(args) = call.child_by_field_name("arguments") else {
                continue;
            };
            // A tagged template (prisma.$queryRaw`SELECT ..`) is its one argument.
            let arg_nodes: Vec<Node> = if args.kind() == "template_string" {
                vec![args]
            } else {
                let mut c = args.walk();
                args.named_children(&mut c).collect()
            };
            // Array callbacks run once per element: xs.map(async x => ...), xs.forEach(...).
            let per_element = matches!(
                name.as_str(),
                "map"
                    | "forEach"
                    | "flatMap"
                    | "filter"
                    | "reduce"
                    | "some"
                    | "every"
                    | "find"
                    | "each"
                    | "for_each"
                    | "mapSeries"
                    | "eachSeries"
            );
            let offload = matches!(
                name.as_str(),
                "run_in_executor"
                    | "to_thread"
                    | "run_in_threadpool"
                    | "run_sync"
                    | "sync_to_async"
                    | "setImmediate"
            );
            let mut lowered = Vec::new();
            for (ai, a) in arg_nodes.iter().enumerate() {
                let (value_node, kw) = if a.kind() == "keyword_argument" {
                    (
                        a.child_by_field_name("value").unwrap_or(*a),
                        a.child_by_field_name("name")
                            .map(|k| self.text(k).to_string()),
                    )
                } else {
                    (*a, None)
                };
                let kind = match value_node.kind() {
                    "string"
                    | "interpreted_string_literal"
                    | "raw_string_literal"
                    | "template_string" => {
                        match self.record_literal(
                            value_node,
                            kw.as_deref(),
                            Some((name.clone(), ai)),
                        ) {
                            Some(ix) => ArgKind::Str(ix),
                            None => ArgKind::Other,
                        }
                    }
                    "arrow_function"
                    | "function_expression"
                    | "lambda"
                    | "func_literal"
                    | "function" => ArgKind::Closure,
                    "identifier" => ArgKind::Path(self.text(value_node).to_string()),
                    _ => ArgKind::Other,
                };
                // Long enough to see a bound (`take: 10`) at the end of an options object.
                let text = match &kw {
                    Some(k) => format!("{k}={}", self.short_n(value_node, 600)),
                    None => self.short_n(*a, 600),
                };
                lowered.push(Arg { text, kind });
            }
            self.m.calls[id].args = lowered;
            for a in arg_nodes {
                let closure = matches!(
                    a.kind(),
                    "arrow_function"
                        | "function_expression"
                        | "lambda"
                        | "func_literal"
                        | "function"
                );
                if closure {
                    self.closures.push(id);
                }
                if closure && per_element {
                    let over = root_text.clone();
                    self.push_loop(LoopKind::IterClosure, true, over, self.span(*call));
                    self.walk(a, depth + 1);
                    self.pop_loop();
                } else if offload {
                    self.offload += 1;
                    self.walk(a, depth + 1);
                    self.offload -= 1;
                } else {
                    self.walk(a, depth + 1);
                }
                if closure {
                    self.closures.pop();
                }
            }
        }
        true
    }
}

/// Does a function body keep what it loads in a map it consults first: a
/// memo (`if (!seen.has(id)) seen.set(id, await load(id))`, `if key not in
/// cache: cache[key] = load(key)`, `if v, ok := byID[id]; ok { return v }`)?
/// Its query runs once per distinct key, not once per call.
fn memoizes(body: &str) -> bool {
    static STORE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let store = STORE.get_or_init(|| {
        regex::Regex::new(r"([A-Za-z_$][\w$.]*)(?:\.set\(|\[[^\]\n]+\]\s*=[^=])")
            .expect("memo store pattern")
    });
    store.captures_iter(body).any(|c| {
        let r = regex::escape(&c[1]);
        let looked_up =
            format!(r"{r}\.(?:has|get)\(|\bif\s[^\n]*\bin\s+{r}\b|,\s*ok\s*:?=\s*{r}\[");
        regex::Regex::new(&looked_up).is_ok_and(|re| re.is_match(body))
    })
}

/// SQL in string literals passed to query calls of these languages.
fn extract_sql(m: &mut FileModel, idx: &LineIndex, k: &Knowledge, dialect: sql::Dialect) {
    m.dialect = dialect;
    let Some(lk) = k.lang(m.lang) else { return };
    let mut found = Vec::new();
    // Constants of this file holding SQL (`ALL_USERS = """SELECT .."""`), by name.
    // A name given to several literals is left alone: which one runs is not known here.
    let mut named_sql: std::collections::HashMap<&str, Option<usize>> =
        std::collections::HashMap::new();
    for (i, l) in m.literals.iter().enumerate() {
        if let (Some(n), None, false) = (l.name.as_deref(), &l.sink, l.in_comment) {
            named_sql
                .entry(n)
                .and_modify(|v| *v = None)
                .or_insert(Some(i));
        }
    }
    let named_sql: std::collections::HashMap<&str, usize> = named_sql
        .into_iter()
        .filter_map(|(n, i)| Some((n, i?)))
        .filter(|(_, i)| sql::looks_like_sql(&m.literals[*i].value))
        .collect();
    let mut via_const = std::collections::HashSet::new();
    for (id, c) in m.calls.iter().enumerate() {
        let ix = match c.args.first().map(|a| &a.kind) {
            Some(ArgKind::Str(ix)) => *ix,
            Some(ArgKind::Path(p)) => match named_sql.get(p.as_str()) {
                Some(&ix) => {
                    via_const.insert(id);
                    ix
                }
                None => continue,
            },
            _ => continue,
        };
        if !sql::looks_like_sql(&m.literals[ix].value) {
            continue;
        }
        if lk.query_of(m, id).is_some() || lk.sql_call(m, id) {
            found.push((id, ix));
        }
    }
    for (call, ix) in found {
        let by_name = via_const.contains(&call);
        let lit = m.literals[ix].clone();
        let templated = lit.value.contains('{');
        // Interpolations where a value goes (`= ${id}`, `LIMIT ${n}`) are
        // parameters (Prisma's tagged `$queryRaw` binds them); others may be
        // whole clauses, so a SELECT with one after FROM is trusted only for a bound.
        let filled = if templated {
            template_values(&lit.value)
        } else {
            std::borrow::Cow::Borrowed(lit.value.as_str())
        };
        let moved = matches!(filled, std::borrow::Cow::Owned(_));
        for st in sql::analyze(&filled, dialect) {
            // SQL in a constant is reported where the constant is written.
            let (start, end) = match lit.raw_offset {
                Some(o) if !moved && !by_name => (idx.pos(o + st.start), idx.pos(o + st.end)),
                _ => (lit.span.start, lit.span.end),
            };
            let facts = match st.facts {
                Ok(f) => f,
                Err(e) => {
                    // A piece of SQL or a template: counted, never a blocker.
                    m.sql_skipped.push(SkippedSql {
                        line: start.line,
                        kind: SkipKind::Fragment,
                        message: if templated {
                            format!("template: {e}")
                        } else {
                            e
                        },
                    });
                    continue;
                }
            };
            if let SqlFacts::Select(sel) = &facts {
                let stmt = filled.get(st.start..st.end).unwrap_or("");
                let lower = stmt.to_ascii_lowercase();
                let tail = &stmt[lower.find(" from ").unwrap_or(0)..];
                if !sel.limited && template_hole().is_match(tail) {
                    continue;
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

/// An interpolation left in template SQL (`{where}`, `{table}`).
fn template_hole() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\{[A-Za-z_$][\w.$()\[\]'\x22]*\}").unwrap())
}

/// Template SQL with the interpolations in value positions made placeholders.
fn template_values(t: &str) -> std::borrow::Cow<'_, str> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?i)(=|<>|!=|<=|>=|<|>|\bLIKE|\bIN\s*\(|\bLIMIT|\bOFFSET|\bVALUES\s*\(|,)(\s*)\{[A-Za-z_$][\w.$()\[\]'\x22]*\}")
            .unwrap()
    });
    re.replace_all(t, "$1$2$$1")
}

/// Does the head of a Python `except` clause (`except (A, B) as e:`) catch
/// the failure of an external call: bare, `Exception`/`BaseException`, or a
/// network or database error class (`requests.RequestException`,
/// `OperationalError`, `TimeoutError`)? A not-found lookup
/// (`Model.DoesNotExist`, `KeyError`) is the normal branch, not a failure.
fn broad_except(head: &str) -> bool {
    let code: String = head
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let t = code.trim().trim_end_matches(':').trim();
    let t = t.strip_prefix("except").unwrap_or(t).trim();
    let t = t.strip_prefix('*').unwrap_or(t).trim();
    let t = t.split(" as ").next().unwrap_or(t).trim();
    if t.is_empty() {
        return true;
    }
    t.trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(|n| n.trim().rsplit('.').next().unwrap_or(""))
        .any(|n| matches!(n, "Exception" | "BaseException") || io_failure(n))
}

/// An exception class an external call raises when the call fails.
fn io_failure(name: &str) -> bool {
    const KINDS: &[&str] = &[
        "Request",
        "HTTP",
        "Http",
        "Connection",
        "Connect",
        "Timeout",
        "URL",
        "Database",
        "Operational",
        "Integrity",
        "Interface",
        "SQLAlchemy",
        "Client",
        "Boto",
        "Socket",
        "Transport",
        "Network",
        "Redis",
        "Amqp",
        "OSError",
        "IOError",
    ];
    KINDS.iter().any(|k| name.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower_str(text: &str, lang: Lang, path: &str) -> FileModel {
        let k = Knowledge::load(None).unwrap();
        lower(
            text,
            lang,
            path,
            PathKind::default(),
            &k,
            sql::Dialect::Postgres,
            &Budget::unlimited(),
        )
        .unwrap()
    }

    #[test]
    fn a_spent_budget_cancels_the_parse_with_a_clear_message() {
        let k = Knowledge::load(None).unwrap();
        let src = "def f(x):\n    return x\n".repeat(2000);
        let b = Budget::starting_now(Some(std::time::Duration::ZERO));
        let e = lower(
            &src,
            Lang::Python,
            "a.py",
            PathKind::default(),
            &k,
            sql::Dialect::Postgres,
            &b,
        )
        .unwrap_err();
        assert!(e.contains("time budget"), "{e}");
    }

    #[test]
    fn python_chains_loops_and_async() {
        let m = lower_str("async def f(session, ids):\n    for i in ids:\n        await session.query(User).filter(User.id == i).first()\n", Lang::Python, "a.py");
        assert!(m.functions[0].is_async);
        let first = m.calls.iter().position(|c| c.name == "first").unwrap();
        assert_eq!(
            crate::knowledge::LangKnowledge::dotted(&m, first),
            "session.query().filter().first"
        );
        assert_eq!(m.calls[first].loops.len(), 1);
        assert!(m.calls[first].awaited && m.calls[first].in_async);
        assert_eq!(m.calls[first].span.start, Pos::new(3, 15));
    }

    #[test]
    fn typescript_array_callbacks_are_per_element() {
        let m = lower_str("export const f = async (ids: number[]) => Promise.all(ids.map(async (id) => prisma.user.findUnique({ where: { id } })));\n", Lang::TypeScript, "a.ts");
        let q = m.calls.iter().find(|c| c.name == "findUnique").unwrap();
        assert_eq!(q.root, "prisma.user");
        assert_eq!(q.loops.len(), 1);
        assert!(m.loops[q.loops[0]].per_element);
    }

    #[test]
    fn go_discards_and_literals() {
        let m = lower_str(
            "package p\nconst apiToken = \"abc\"\nfunc f() { _, _ = db.Exec(\"DELETE FROM t\") }\n",
            Lang::Go,
            "a.go",
        );
        let exec = m.calls.iter().find(|c| c.name == "Exec").unwrap();
        assert_eq!(exec.usage, Usage::LetUnderscore);
        assert!(m
            .literals
            .iter()
            .any(|l| l.name.as_deref() == Some("apiToken") && l.value == "abc"));
        assert!(matches!(m.sql[0].facts, SqlFacts::Write { .. }));
    }
}
