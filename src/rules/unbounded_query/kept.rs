//! Queries kept in variables: a statement built before it runs
//! (`stmt = select(..).where(..)`, `options = { where: .. }`), and a queryset
//! bounded or handed on after it is built.

use super::is_ident;
use crate::model::{CallId, FileModel, Lang};

/// The builder was bounded before the query ran on it:
/// `db = db.Limit(n)` earlier in the function, then `db.Find(&rows)`.
pub(super) fn bounded_earlier(m: &FileModel, id: CallId) -> bool {
    let first = &m.calls[m.chain(id)[0]];
    let var = first.root.as_str();
    if !is_ident(var) {
        return false;
    }
    m.calls.iter().enumerate().any(|(x, c)| {
        x < m.chain(id)[0]
            && c.func == first.func
            && c.next.is_none()
            && (c.assigned_to.as_deref() == Some(var) || c.bound_to.as_deref() == Some(var))
            && m.chain(x).iter().any(|&y| {
                matches!(
                    m.calls[y].name.as_str(),
                    "limit" | "Limit" | "take" | "Take" | "paginate" | "Paginate"
                )
            })
    })
}

/// A query kept in a variable (`q = User.objects.filter(..)`) is read where
/// the variable is used: ended by `q.first()`/`q.get(..)`/`q.exists()`,
/// paged by `q[:10]` or `q.limit(..)`, or handed to another function
/// (`get_object_or_404(q, pk=..)`, a paginator) that decides how much it reads.
pub(super) fn bounded_later(m: &FileModel, tail: CallId) -> bool {
    let Some(var) = m.calls[tail].bound_to.as_deref() else {
        return false;
    };
    let func = m.calls[tail].func;
    m.calls.iter().enumerate().any(|(x, c)| {
        if x <= tail || c.func != func {
            return false;
        }
        let first = &m.calls[m.chain(x)[0]];
        let on_var = c.prev.is_none() && first.root == var;
        // `q.filter(..).count()`, `q.dates('d', 'day').count()`: the chain's
        // end decides; `q.iterator(chunk_size=..)` streams it.
        let bounds = m.chain(x).iter().any(|&y| bounding(&m.calls[y].name));
        // `Filter(request.GET, queryset=q)`, `filter(author__in=q)`: handed on
        // (a subquery, a filter set that pages it).
        let handed = c.args.iter().any(|a| {
            a.text == var
                || a.text
                    .split_once('=')
                    .is_some_and(|(k, v)| is_ident(k.trim()) && v.trim() == var)
        });
        // `list(q)`, `len(q)`, `sorted(q)` read all of it.
        (on_var && (bounds || m.calls[m.chain_end(x)].sliced)) || (!materializes(&c.name) && handed)
    })
}

/// A call that ends a kept query with one row, a count, a write, a page or a stream.
fn bounding(name: &str) -> bool {
    matches!(
        name,
        "first"
            | "First"
            | "get"
            | "one"
            | "one_or_none"
            | "scalar"
            | "scalar_one"
            | "scalar_one_or_none"
            | "exists"
            | "count"
            | "update"
            | "delete"
            | "limit"
            | "Limit"
            | "paginate"
            | "take"
            | "Take"
            | "aggregate"
            | "latest"
            | "earliest"
            | "last"
            | "iterator"
            | "in_bulk"
    )
}

/// Calls that read every row of a query they are given.
pub(super) fn materializes(name: &str) -> bool {
    matches!(
        name,
        "list"
            | "tuple"
            | "set"
            | "sorted"
            | "len"
            | "enumerate"
            | "dict"
            | "iter"
            | "reversed"
            | "map"
            | "zip"
            | "sum"
            | "any"
            | "all"
            | "jsonify"
            | "JsonResponse"
    )
}

/// What a query chain runs that the chain itself does not show.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kept {
    /// Nothing: the chain is the whole query.
    None,
    /// A statement or options built earlier in the function, with a filter.
    Filtered,
    /// Columns of a grouped subquery (`query(sub.c.id, sub.c.n)` with `sub`
    /// built by `.group_by(..).subquery()`): one row per group.
    Grouped,
    /// A variable, parameter or spread whose content is not in sight
    /// (`findAll(options)`, `execute(stmt)` with `stmt` a parameter).
    Unknown,
}

/// The statements and options a chain takes from variables
/// (`session.execute(stmt)`, `findAll(params)`, `findMany({ ...args })`),
/// read where the function builds them.
pub(super) fn kept_statement(m: &FileModel, id: CallId) -> Kept {
    let chain = m.chain(id);
    let start = m.calls[chain[0]].span.start;
    let func = m.calls[id].func;
    let mut kept = Kept::None;
    for &x in chain.iter().take_while(|&&x| x <= id) {
        // Which arguments carry a statement or options: Python's
        // `execute(stmt)`; a JS/TS query method's options object. (A model
        // class `query(User)` or Go's destination `Find(&rows)` is neither.)
        let name = m.calls[x].name.as_str();
        let carries = match m.lang {
            Lang::Python => matches!(name, "execute" | "exec" | "scalars" | "query"),
            Lang::TypeScript | Lang::JavaScript => true,
            _ => false,
        };
        if !carries {
            continue;
        }
        for a in &m.calls[x].args {
            let t = a.text.trim();
            if m.lang == Lang::Python && name == "query" {
                // `query(sub.c.id, sub.columns.n)`: rows of the subquery `sub`.
                let sub = t
                    .split_once(".c.")
                    .or_else(|| t.split_once(".columns."))
                    .map(|(v, _)| v)
                    .filter(|v| is_ident(v));
                if let Some(v) = sub {
                    if defined_text(m, func, start, v).contains("group_by") {
                        return Kept::Grouped;
                    }
                }
                continue;
            }
            // `execute(select(..).filter(..))`: the statement in the call.
            if m.lang == Lang::Python && (t.contains(".where(") || t.contains(".filter(")) {
                kept = Kept::Filtered;
                continue;
            }
            let spread = t
                .strip_prefix("...")
                .or_else(|| t.strip_prefix("**"))
                .filter(|v| is_ident(v));
            // `{ ...args }`, `{ ...params, order }`: options spread in.
            let spread_in = t.starts_with('{') && t.contains("...");
            if spread.is_some() || spread_in {
                return Kept::Unknown;
            }
            if !is_ident(t) || t.starts_with(|c: char| c.is_ascii_uppercase()) {
                continue;
            }
            let text = defined_text(m, func, start, t);
            if text.is_empty() {
                return Kept::Unknown;
            }
            let lower = text.to_ascii_lowercase();
            if lower.contains("where") || lower.contains("filter") {
                kept = Kept::Filtered;
            }
        }
    }
    kept
}

/// The text of the chains that give variable `var` its value in function
/// `func` before `start`.
fn defined_text(
    m: &FileModel,
    func: Option<usize>,
    start: crate::source::Pos,
    var: &str,
) -> String {
    use crate::knowledge::LangKnowledge;
    let mut text = String::new();
    for (d, c) in m.calls.iter().enumerate() {
        if c.func == func
            && c.span.end <= start
            && c.next.is_none()
            && (c.bound_to.as_deref() == Some(var) || c.assigned_to.as_deref() == Some(var))
        {
            text.push_str(&LangKnowledge::chain_text(m, d));
        }
    }
    text
}

/// The text of the statements a chain runs from variables: every chain of
/// the same function before it that builds a variable the chain passes as
/// an argument (`stmt = select(..).where(..)`, `q = q.limit(n)`), and the
/// helpers that page it (`q, n = self.add_pagination(q, p)`).
pub(super) fn statement_text(m: &FileModel, id: CallId) -> String {
    use crate::knowledge::LangKnowledge;
    let chain = m.chain(id);
    let start = m.calls[chain[0]].span.start;
    let func = m.calls[id].func;
    let vars: Vec<&str> = chain
        .iter()
        .flat_map(|&x| m.calls[x].args.iter().map(|a| a.text.as_str()))
        .filter(|t| is_ident(t))
        .collect();
    let mut out = String::new();
    if vars.is_empty() {
        return out;
    }
    for (d, c) in m.calls.iter().enumerate() {
        if c.func != func || c.span.end > start || c.next.is_some() {
            continue;
        }
        let defines = vars
            .iter()
            .any(|v| c.bound_to.as_deref() == Some(v) || c.assigned_to.as_deref() == Some(v));
        let pages =
            c.name.contains("paginat") && c.args.iter().any(|a| vars.contains(&a.text.as_str()));
        if defines || pages {
            out.push_str(&LangKnowledge::chain_text(m, d));
        }
    }
    out
}
