//! A finding: what a rule reports, in the contract's shape.

use serde::Serialize;

use crate::source::Span;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Related {
    pub path: String,
    pub line: u32,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// What identifies the finding apart from its position: hashed into the
    /// fingerprint with the rule, path and function (never line numbers).
    #[serde(skip)]
    pub key: String,
    #[serde(skip)]
    pub function: String,
    /// A secret's span: hidden wherever source text is shown.
    #[serde(skip)]
    pub mask: Option<Span>,
    /// Silenced by an inline suppression, with its justification.
    #[serde(skip)]
    pub suppressed: Option<String>,
}

impl Finding {
    pub fn new(rule: &str, severity: Severity, path: &str, span: Span, message: String) -> Finding {
        Finding {
            rule: rule.to_string(),
            severity,
            message,
            path: path.to_string(),
            line: span.start.line,
            column: span.start.col,
            end_line: span.end.line,
            end_column: span.end.col,
            fingerprint: String::new(),
            help: None,
            related: Vec::new(),
            key: String::new(),
            function: String::new(),
            mask: None,
            suppressed: None,
        }
    }

    pub fn help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(h.into());
        self
    }

    pub fn related(mut self, path: &str, line: u32, message: impl Into<String>) -> Self {
        self.related.push(Related {
            path: path.to_string(),
            line: line.max(1),
            message: message.into(),
        });
        self
    }

    pub fn key(mut self, k: impl Into<String>) -> Self {
        self.key = k.into();
        self
    }

    pub fn function(mut self, f: impl Into<String>) -> Self {
        self.function = f.into();
        self
    }

    pub fn span(&self) -> Span {
        Span::new(
            crate::source::Pos::new(self.line, self.column),
            crate::source::Pos::new(self.end_line, self.end_column),
        )
    }
}
