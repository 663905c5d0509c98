use std::fmt;

/// A position in a user's file, so every error can say where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file the text came from (as the user named it).
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Errors from parsing and validating domain values and contracts.
///
/// Messages are lower-case, quote the offending *configuration* value (never a personal
/// one) and end with the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A domain value (entity name, purpose, region…) is malformed.
    #[error("invalid {kind} {value:?}: {fix}")]
    InvalidValue {
        /// What kind of value ("entity type", "region", …).
        kind: &'static str,
        /// The rejected value, quoted back.
        value: String,
        /// How to fix it.
        fix: String,
    },
    /// A contract file is not valid YAML or does not match the contract schema.
    #[error("{at}: {message}")]
    ContractSyntax {
        /// Where the parser stopped.
        at: Located,
        /// The parser's message.
        message: String,
    },
    /// A contract parsed but a field holds a value Custodia cannot accept.
    #[error("{at}: field `{field}`: {message}; fix: {fix}")]
    ContractField {
        /// Where the field is.
        at: Located,
        /// Dotted path of the field (`columns[2].classification`).
        field: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// A pipeline file is not valid YAML or does not match the pipeline schema.
    #[error("{at}: {message}; fix: {fix}")]
    PipelineSyntax {
        /// Where the parser stopped.
        at: Located,
        /// The parser's message.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// A pipeline parsed but a step or field is not acceptable.
    #[error("{at}: field `{field}`: {message}; fix: {fix}")]
    PipelineField {
        /// Where the field is.
        at: Located,
        /// Dotted path of the field (`steps[2].needs`).
        field: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// `custodia.toml` is not valid TOML or has an unknown key.
    #[error("{at}: {message}; fix: {fix}")]
    ConfigSyntax {
        /// Where the parser stopped.
        at: Located,
        /// The parser's message.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// A `custodia.toml` key holds a value Custodia cannot accept.
    #[error("{at}: key `{key}`: {message}; fix: {fix}")]
    ConfigField {
        /// Where the key is.
        at: Located,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// A subject identifier is malformed (the message never repeats the identifier).
    #[error("invalid subject identifier: {0}")]
    Subject(String),
    /// Key material was the wrong size or shape.
    #[error("invalid key material: {0}")]
    Key(String),
}

impl CoreError {
    pub(crate) fn invalid(kind: &'static str, value: &str, fix: impl Into<String>) -> Self {
        CoreError::InvalidValue {
            kind,
            value: value.to_string(),
            fix: fix.into(),
        }
    }
}
