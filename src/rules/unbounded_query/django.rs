//! Django and Django REST Framework knowledge for unbounded-query: querysets
//! the framework pages (DRF views, sitemaps), prefetches or hands on, and the
//! project's own managers.

use super::kept::materializes;
use crate::model::{CallId, FileModel, Lang};
use crate::rules::ProgramCtx;

/// A lazy query (a Django queryset) given straight to another call
/// (`get_object_or_404(qs, pk=..)`, `paginate(qs)`, `Filter(data,
/// queryset=qs)`): that call decides how much it reads. Calls that read it
/// all (`list(qs)`, `len(qs)`) are not one.
pub(super) fn handed_on(m: &FileModel, id: CallId) -> bool {
    let chain = m.chain(id);
    let first = m.calls[chain[0]].span;
    let last = m.calls[m.chain_end(id)].span;
    let func = m.calls[id].func;
    m.calls.iter().enumerate().any(|(x, p)| {
        p.func == func
            && !chain.contains(&x)
            && p.span.start < first.start
            && p.span.end > last.end
            && !materializes(&p.name)
            && p.args.iter().any(|a| {
                let t = a.text.trim();
                let v = t.split_once('=').map_or(t, |(_, v)| v.trim());
                v.contains(".objects.") && !v.starts_with("lambda")
            })
    })
}

/// `items()` of a Django `Sitemap`: the sitemap framework pages what it
/// returns (50,000 URLs a page); listing every row is its purpose.
pub(super) fn sitemap_items(m: &FileModel, id: CallId) -> bool {
    let Some(f) = m.calls[id].func.map(|f| &m.functions[f]) else {
        return false;
    };
    f.name == "items"
        && f.owner.as_deref().is_some_and(|o| {
            m.classes
                .iter()
                .any(|c| c.name == o && c.bases.iter().any(|b| b.ends_with("Sitemap")))
        })
}

/// A queryset given to `Prefetch('rel', queryset=..)`: Django runs it with
/// `WHERE fk IN (the parents' ids)`, one batch for the parents already read.
pub(super) fn in_prefetch(m: &FileModel, id: CallId) -> bool {
    let first = m.calls[m.chain(id)[0]].span;
    let func = m.calls[id].func;
    m.calls.iter().any(|p| {
        p.func == func
            && p.name == "Prefetch"
            && p.span.start < first.start
            && p.span.end >= first.end
            && p.args
                .iter()
                .any(|a| a.text.trim_start().starts_with("queryset"))
    })
}

/// Django REST Framework generic views and viewsets: their `get_queryset()`
/// is what `list` pages and what `retrieve` narrows to one primary key.
const DRF_VIEWS: &[&str] = &[
    "GenericAPIView",
    "ListAPIView",
    "ListCreateAPIView",
    "RetrieveAPIView",
    "RetrieveUpdateAPIView",
    "RetrieveDestroyAPIView",
    "RetrieveUpdateDestroyAPIView",
    "GenericViewSet",
    "ModelViewSet",
    "ReadOnlyModelViewSet",
];

/// Is call `id` the queryset of a DRF view's `get_queryset()` whose list is
/// paginated: the class (or a base class of the tree) sets a
/// `pagination_class`, or the project sets
/// `REST_FRAMEWORK['DEFAULT_PAGINATION_CLASS']` and the class does not turn
/// it off with `pagination_class = None`.
pub(super) fn drf_paginated(ctx: &ProgramCtx, m: &FileModel, id: CallId) -> bool {
    let Some(f) = m.calls[id].func.map(|f| &m.functions[f]) else {
        return false;
    };
    if f.name != "get_queryset" {
        return false;
    }
    let Some(owner) = f.owner.as_deref() else {
        return false;
    };
    let Some(start) = m.classes.iter().find(|c| c.name == owner) else {
        return false;
    };
    // Walk the class and its bases defined in the tree (nearest first).
    let mut pagination: Option<&str> = None;
    let mut drf = false;
    let mut queue: Vec<&crate::model::ClassDef> = vec![start];
    let mut seen: Vec<&str> = Vec::new();
    while let Some(c) = queue.pop() {
        if seen.contains(&c.name.as_str()) || seen.len() > 16 {
            continue;
        }
        seen.push(&c.name);
        if pagination.is_none() {
            pagination = c
                .attrs
                .iter()
                .find(|(k, _)| k == "pagination_class")
                .map(|(_, v)| v.as_str());
        }
        for b in &c.bases {
            let last = b.rsplit('.').next().unwrap_or(b);
            if DRF_VIEWS.contains(&last) {
                drf = true;
                continue;
            }
            if let Some(bc) = python_class(ctx, m, last) {
                queue.insert(0, bc);
            }
        }
    }
    if !drf {
        return false;
    }
    match pagination {
        Some(v) => v.trim() != "None",
        None => ctx
            .memo("drf-default-pagination", || {
                ctx.units.iter().find_map(|u| {
                    let um = u.model;
                    if um.lang != Lang::Python || um.kind.test {
                        return None;
                    }
                    um.literals
                        .iter()
                        .find(|l| {
                            l.name.as_deref() == Some("DEFAULT_PAGINATION_CLASS")
                                && !l.value.trim().is_empty()
                        })
                        .map(|l| l.value.clone())
                })
            })
            .is_some(),
    }
}

/// A Python class of the tree by name: this file's first, else any file's.
fn python_class<'a>(
    ctx: &'a ProgramCtx,
    m: &'a FileModel,
    name: &str,
) -> Option<&'a crate::model::ClassDef> {
    m.classes.iter().find(|c| c.name == name).or_else(|| {
        ctx.units
            .iter()
            .filter(|u| u.model.lang == Lang::Python && !u.model.kind.test)
            .find_map(|u| u.model.classes.iter().find(|c| c.name == name))
    })
}

/// Methods of Django's `Manager`/`QuerySet`: anything else called on
/// `Model.objects` is the project's own.
pub(super) fn django_queryset_method(n: &str) -> bool {
    matches!(
        n,
        "all"
            | "filter"
            | "exclude"
            | "order_by"
            | "values"
            | "values_list"
            | "select_related"
            | "prefetch_related"
            | "annotate"
            | "alias"
            | "distinct"
            | "raw"
            | "iterator"
            | "none"
            | "using"
            | "defer"
            | "only"
            | "reverse"
            | "extra"
            | "select_for_update"
            | "union"
            | "intersection"
            | "difference"
            | "dates"
            | "datetimes"
            | "get_queryset"
            | "filter_by"
    )
}

/// A custom manager or queryset method of the tree, by name: Some(true) when
/// its body filters (`filter`, `exclude`, `get`, a slice), Some(false) when it
/// does not, None when no such method is defined in the tree.
pub(super) fn manager_method_filters(ctx: &ProgramCtx, name: &str) -> Option<bool> {
    let mut found = None;
    for u in ctx.units {
        let um = u.model;
        if um.lang != Lang::Python || um.kind.test {
            continue;
        }
        for (fi, f) in um.functions.iter().enumerate() {
            if f.name != name || f.owner.is_none() {
                continue;
            }
            let filters = um.calls.iter().any(|c| {
                c.func == Some(fi)
                    && (matches!(c.name.as_str(), "filter" | "exclude" | "get" | "filter_by")
                        || c.sliced)
            });
            if filters {
                return Some(true);
            }
            found = Some(false);
        }
    }
    found
}
