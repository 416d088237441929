use crate::declare_rule;
use crate::finding::{Finding, Severity};
use crate::model::Lang;
use crate::rules::{ProgramCtx, Rule, RuleMeta};

declare_rule! {
    /// ## What it catches
    /// A Rust HTTP handler that deserialises a request body (`Json<T>`,
    /// `Form<T>`, `web::Json<T>`) and reaches a database query without
    /// validating it: no validating extractor (`ValidatedJson`, `Valid<..>`),
    /// no `validate()`/`parse()`/`try_into()` into a domain type, and no hand
    /// check (`if`/`match` on the body, `ensure!`, `bail!`) in the handler or
    /// the helpers it calls.
    ///
    /// ## Why it matters
    /// Deserialising checks types, not meaning: an empty name, a negative
    /// quantity, a 10 MB string or an email without `@` all reach the
    /// database. Bad rows are expensive to find later, and unchecked sizes
    /// are a cheap way to exhaust storage.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn create_user(State(db): State<PgPool>, Json(u): Json<NewUser>) -> Result<..> {
    ///     sqlx::query("INSERT INTO users (name, email) VALUES ($1, $2)")
    ///         .bind(&u.name).bind(&u.email).execute(&db).await?;
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Derive `validator::Validate` (or `garde::Validate`) on the body and call
    /// `validate()` (or use a validating extractor), or parse the body into
    /// domain types whose constructors check it (`SubscriberEmail::parse`).
    /// Info: the checks may live somewhere archlint cannot follow.
    pub static META = ("missing-input-validation", Info, "a request body deserialised and sent to a query without validation");
}

pub struct MissingInputValidation;

/// Handler -> service -> repository.
const DEPTH: usize = 3;

impl Rule for MissingInputValidation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_program(&self, ctx: &ProgramCtx, fi: usize, out: &mut Vec<Finding>) {
        let u = &ctx.units[fi];
        let m = u.model;
        if m.lang != Lang::Rust || m.kind.test {
            return;
        }
        // archlint cannot see which fields a body has (ids and flags need no
        // checks): where the service validates input at all (a validation
        // library, or validation functions of its own), trust its choices
        // and report only services that never validate.
        if m.functions
            .iter()
            .all(|f| !f.params.iter().any(|p| is_body(&p.ty)))
        {
            return;
        }
        // Decided per service: the services this file is part of (all of the
        // tree when it is part of none).
        let mine: Vec<&crate::services::Service> =
            ctx.services.iter().filter(|s| s.has(fi)).collect();
        let validates = if mine.is_empty() {
            ctx.memo("validates-input", || {
                validates_somewhere(ctx, None).then(String::new)
            })
            .is_some()
        } else {
            mine.iter().all(|s| validates_somewhere(ctx, Some(s)))
        };
        if validates {
            return;
        }
        let named = mine
            .iter()
            .map(|s| format!("`{}`", s.name))
            .collect::<Vec<_>>()
            .join(", ");
        for (f, fun) in m.functions.iter().enumerate() {
            if !fun.handler_like || fun.is_test {
                continue;
            }
            let Some(body) = fun.params.iter().find(|p| is_body(&p.ty)) else {
                continue;
            };
            if ctx
                .k
                .arch
                .validation
                .matches(body.ty.trim_start_matches("web::"))
            {
                continue; // ValidatedJson<T>, Valid<Json<T>>
            }
            let var = bound_name(&body.name);
            let reach = ctx.reachable((fi, f), DEPTH);
            let queries = reach.iter().any(|r| ctx.linked.queries.contains_key(r));
            if !queries {
                continue;
            }
            let validated = reach.iter().any(|&(ru, rf)| {
                let rm = ctx.units[ru].model;
                let checked = &rm.functions[rf].checked;
                (ru, rf) == (fi, f) && var.is_some_and(|v| checked.iter().any(|c| c == v))
                    || rm.calls.iter().any(|c| {
                        c.func == Some(rf) && !c.in_test && is_validation_call(ctx, &c.name)
                    })
            });
            if validated {
                continue;
            }
            out.push(
                Finding::new(
                    META.id,
                    Severity::Info,
                    u.path,
                    fun.span,
                    if named.is_empty() {
                        format!(
                            "handler `{}` deserialises `{}` and reaches a database query without validating it",
                            fun.name, body.ty
                        )
                    } else {
                        format!(
                            "handler `{}` deserialises `{}` and reaches a database query without validating it (service {named} validates no input)",
                            fun.name, body.ty
                        )
                    },
                )
                .help("validate the body before it is used (derive `validator::Validate` and call `validate()`, or parse it into domain types that check their invariants)")
                .function(fun.name.clone())
                .key(&body.ty),
            );
        }
    }
}

fn validates_somewhere(ctx: &ProgramCtx, svc: Option<&crate::services::Service>) -> bool {
    let evidence = match svc {
        Some(s) => ctx.evidence_in(s, &ctx.k.arch.validation),
        None => ctx.evidence(&ctx.k.arch.validation),
    };
    evidence.is_some()
        || ctx.units.iter().enumerate().any(|(ui, u)| {
            svc.is_none_or(|s| s.has(ui))
                && !u.model.kind.test
                && u.model.functions.iter().any(|f| {
                    !f.is_test
                        && (f.name.starts_with("validate")
                            || f.name.starts_with("is_valid")
                            || f.name == "parse" && f.returns.starts_with("Result"))
                })
        })
}

fn is_body(ty: &str) -> bool {
    let t = ty
        .trim_start_matches("axum::")
        .trim_start_matches("actix_web::");
    [
        "Json<",
        "Form<",
        "web::Json<",
        "web::Form<",
        "extract::Json<",
        "extract::Form<",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

/// `Json(payload)` -> `payload`; `payload` -> `payload`.
fn bound_name(pat: &str) -> Option<&str> {
    let inner = match pat.find('(') {
        Some(i) => pat[i + 1..].trim_end_matches(')'),
        None => pat,
    };
    let inner = inner.trim().trim_start_matches("mut ").trim();
    (!inner.is_empty() && inner.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(inner)
}

fn is_validation_call(ctx: &ProgramCtx, name: &str) -> bool {
    ctx.k.arch.validation.matches(name)
        || matches!(
            name,
            "parse" | "try_from" | "try_into" | "ensure" | "bail" | "is_valid"
        )
        || name.starts_with("validate")
        || name.starts_with("is_valid")
        || name.starts_with("check_")
        || name.starts_with("verify")
}
