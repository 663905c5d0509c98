//! The `detect` input: JSONL with one `{"id": …, "text": "…"}` object per line.
//!
//! Everything is parsed before anything is analyzed, so a bad line fails the command before
//! a single output line is written.

use std::path::PathBuf;

use serde_json::Value;

use crate::{table::json_category, EngineError};

/// Which JSON fields hold a document's id and text.
#[derive(Debug, Clone)]
pub struct DocumentFields {
    /// Field with the id, copied to the output as it is (`null` when missing).
    pub id: String,
    /// Field with the text to analyze; must be a string.
    pub text: String,
}

impl Default for DocumentFields {
    fn default() -> Self {
        DocumentFields {
            id: "id".into(),
            text: "text".into(),
        }
    }
}

/// One input document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The id, any JSON value.
    pub id: Value,
    /// The text.
    pub text: String,
}

/// Parses JSONL documents; `source` names the input in errors (a path, or `-`).
pub fn parse_documents(
    source: &str,
    raw: &[u8],
    fields: &DocumentFields,
) -> Result<Vec<Document>, EngineError> {
    let bad = |line: usize, message: String| EngineError::BadInput {
        path: PathBuf::from(source),
        line: line as u64,
        message,
    };
    let mut docs = Vec::new();
    for (i, line) in raw.split(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        let line = std::str::from_utf8(line).map_err(|e| {
            bad(
                n,
                format!(
                    "invalid UTF-8 at byte {}; re-encode the input as UTF-8",
                    e.valid_up_to() + 1
                ),
            )
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| {
            bad(
                n,
                format!(
                    "invalid JSON at column {} ({}); each line must be one JSON object",
                    e.column(),
                    json_category(&e)
                ),
            )
        })?;
        let Value::Object(mut obj) = v else {
            return Err(bad(
                n,
                "expected a JSON object like {\"id\": 1, \"text\": \"...\"}".into(),
            ));
        };
        let text = match obj.remove(&fields.text) {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => {
                return Err(bad(
                    n,
                    format!(
                        "no string field {:?}; name the text field with --text-field",
                        fields.text
                    ),
                ))
            }
            Some(_) => return Err(bad(n, format!("field {:?} is not a string", fields.text))),
        };
        let id = obj.remove(&fields.id).unwrap_or(Value::Null);
        docs.push(Document { id, text });
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_bad_lines() {
        let f = DocumentFields::default();
        let docs =
            parse_documents("-", b"{\"id\":1,\"text\":\"a\"}\n\n{\"text\":\"b\"}\n", &f).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].id, Value::Null);
        let err = parse_documents("in.jsonl", b"{\"id\":1,\"text\":\"a\"}\n[1]\n", &f)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("in.jsonl:2:"), "{err}");
        let err = parse_documents("in.jsonl", b"{\"text\": 3}", &f)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a string"), "{err}");
    }
}
