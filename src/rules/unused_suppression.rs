use crate::declare_rule;
use crate::rules::{Rule, RuleMeta};

declare_rule! {
    /// ## What it catches
    /// An inline suppression (`// archlint: allow(rule-id) reason`, or the
    /// `#` and `--` comment forms) that silences nothing: the finding it was
    /// written for is gone, or it names a rule that does not exist.
    ///
    /// ## Why it matters
    /// Stale suppressions hide the next real finding on that line and teach
    /// readers that the code has a problem it no longer has.
    ///
    /// ## Example
    /// ```rust,ignore
    /// // archlint: allow(n-plus-one-query) batched since #412
    /// let users = load_all(&pool).await?;
    /// ```
    ///
    /// ## How to fix
    /// Delete the comment, or fix the rule id it names.
    ///
    /// Reported as `info`; the engine checks suppressions after every other
    /// rule has run, so this rule has no checks of its own.
    pub static META = ("unused-suppression", Info, "an inline suppression that silences nothing");
}

pub struct UnusedSuppression;

impl Rule for UnusedSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
