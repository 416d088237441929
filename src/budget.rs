//! The per-file time budget.
//!
//! Not every parser can be interrupted (`syn` and `sqlparser` cannot), so the
//! budget is cooperative: tree-sitter parsers are cancelled through their
//! progress callback, and archlint's own traversals (Rust lowering, the SQL
//! statement loop, the tree-sitter walker) look at the clock every few
//! thousand nodes. Work a parser does without returning is bounded by the
//! size cap and the nesting guard instead. A file that runs out of time keeps
//! what was lowered so far and becomes a blocker, so nothing is lost silently.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// How many checks pass between two readings of the clock.
const STRIDE: u32 = 4096;

#[derive(Debug)]
pub struct Budget {
    deadline: Option<Instant>,
    limit: Duration,
    ticks: Cell<u32>,
    spent: Cell<bool>,
}

impl Budget {
    /// No limit: for library callers, benches and fuzz targets.
    pub fn unlimited() -> Self {
        Self::starting_now(None)
    }

    /// A budget of `limit` from now; `None` is unlimited.
    pub fn starting_now(limit: Option<Duration>) -> Self {
        Budget {
            deadline: limit.map(|l| Instant::now() + l),
            limit: limit.unwrap_or(Duration::MAX),
            ticks: Cell::new(0),
            spent: Cell::new(false),
        }
    }

    /// Cheap enough for every node: the clock is read once per [`STRIDE`] calls.
    /// Once spent, stays spent.
    pub fn spent(&self) -> bool {
        if self.spent.get() {
            return true;
        }
        let Some(deadline) = self.deadline else {
            return false;
        };
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if t % STRIDE == 1 && Instant::now() >= deadline {
            self.spent.set(true);
        }
        self.spent.get()
    }

    /// Read the clock now (for coarse steps such as one SQL statement).
    pub fn spent_now(&self) -> bool {
        if !self.spent.get() && self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.spent.set(true);
        }
        self.spent.get()
    }

    /// Whether the budget ran out at any check so far.
    pub fn ran_out(&self) -> bool {
        self.spent.get()
    }

    /// The message of the blocker a file that ran out of time gets.
    pub fn message(&self) -> String {
        format!(
            "analysis stopped: over the per-file time budget of {} ms (--file-time-budget); findings after this point may be missing",
            self.limit.as_millis()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_runs_out() {
        let b = Budget::unlimited();
        assert!((0..10_000).all(|_| !b.spent()));
        assert!(!b.spent_now());
    }

    #[test]
    fn a_zero_budget_runs_out_at_the_first_check_and_stays_out() {
        let b = Budget::starting_now(Some(Duration::ZERO));
        assert!(b.spent());
        assert!(b.ran_out());
        assert!(b.spent());
        assert!(b.message().contains("0 ms"));
    }
}
