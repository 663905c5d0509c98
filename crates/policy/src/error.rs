use std::path::PathBuf;

/// Errors from loading policies and evaluating them. Messages name the file, line and
/// column, the rule or field, and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A Rego file does not parse or compile.
    #[error("{path}:{line}:{column}: {message}")]
    Rego {
        /// The policy file (`builtin/…` for the built-in bundle).
        path: PathBuf,
        /// 1-based line (0 when the parser gave none).
        line: u32,
        /// 1-based column.
        column: u32,
        /// The parser's message.
        message: String,
    },
    /// A workspace policy tries to replace part of the built-in bundle.
    #[error("{path}:{line}: package {package} is not an extension package: the built-in bundle's packages cannot be replaced or disabled, and rules are collected only from `custodia.ext.<name>` (one level); fix: put your rules in `package custodia.ext.<name>` and tune the built-in rules in policies/params.json")]
    Reserved {
        /// The file.
        path: PathBuf,
        /// Line of its `package` declaration.
        line: u32,
        /// The package it declared.
        package: String,
    },
    /// A data file (params override) is not valid.
    #[error("{path}: {message}")]
    Data {
        /// The file.
        path: PathBuf,
        /// What is wrong and the fix.
        message: String,
    },
    /// The request document is not valid.
    #[error("{source_name}: {message}")]
    Input {
        /// Where the input came from (a file name).
        source_name: String,
        /// Field, line and the fix.
        message: String,
    },
    /// Evaluation failed (a builtin error, a conflict between rules).
    #[error("evaluating {query}: {message}")]
    Eval {
        /// The query or rule.
        query: String,
        /// The interpreter's message.
        message: String,
    },
    /// A rule produced a denial or obligation Custodia cannot use.
    #[error("{query}: {message}")]
    Output {
        /// The rule set that produced it.
        query: String,
        /// What is wrong and the fix.
        message: String,
    },
}

impl PolicyError {
    /// Turns a regorus error into one with a location: its messages carry
    /// `--> file:line:col` and `error: …` lines.
    pub(crate) fn from_regorus(default_path: &str, e: &dyn std::fmt::Display) -> PolicyError {
        let text = e.to_string();
        let mut path = PathBuf::from(default_path);
        let (mut line, mut column) = (0, 0);
        let mut message = None;
        for l in text.lines() {
            let t = l.trim();
            if let Some(loc) = t.strip_prefix("--> ") {
                let mut parts = loc.rsplitn(3, ':');
                let c = parts.next().and_then(|s| s.parse().ok());
                let r = parts.next().and_then(|s| s.parse().ok());
                if let (Some(c), Some(r), Some(p)) = (c, r, parts.next()) {
                    column = c;
                    line = r;
                    path = PathBuf::from(p);
                }
            } else if let Some(m) = t.strip_prefix("error: ") {
                message = Some(m.to_string());
            }
        }
        PolicyError::Rego {
            path,
            line,
            column,
            message: message.unwrap_or_else(|| text.trim().to_string()),
        }
    }
}
