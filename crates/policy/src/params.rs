//! What `policies/params.json` may change. Parameters tune the built-in rules (purposes and
//! their legal bases, roles, region-to-law mapping, high-risk purposes); the law mapping
//! itself (consent levels, each law's requirements and transfer mechanisms, the
//! break-glass minimum) belongs to the bundle, so an override cannot quietly switch a rule off.

use std::path::Path;

use serde_json::Value;

use crate::PolicyError;

/// Keys a workspace may override, and how.
const TUNABLE: &[&str] = &[
    "purposes",
    "roles",
    "region_jurisdictions",
    "jurisdiction_aliases",
    "high_risk_purposes",
    "model_card_required",
];
/// Lists an override can only add to (taking an item out would weaken a rule).
const ADD_ONLY: &[&str] = &["high_risk_purposes", "model_card_required"];
const LEGAL_BASES: &[&str] = &[
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interest",
];
const ACTIONS: &[&str] = &["read", "write", "train", "export", "transfer"];

fn bad(path: &Path, message: String) -> PolicyError {
    PolicyError::Data {
        path: path.to_path_buf(),
        message,
    }
}

fn strings<'a>(
    path: &Path,
    key: &str,
    v: &'a Value,
    allowed: Option<&[&str]>,
) -> Result<Vec<&'a str>, PolicyError> {
    let items = v
        .as_array()
        .ok_or_else(|| bad(path, format!("`{key}` must be a list of strings")))?;
    items
        .iter()
        .map(|i| {
            let s = i
                .as_str()
                .ok_or_else(|| bad(path, format!("`{key}` must be a list of strings")))?;
            if let Some(allowed) = allowed {
                if !allowed.contains(&s) {
                    return Err(bad(
                        path,
                        format!("`{key}`: {s:?} is not one of {allowed:?}"),
                    ));
                }
            }
            Ok(s)
        })
        .collect()
}

/// Merges a workspace override into the built-in parameters, refusing what would disable a
/// rule; errors name the key and the fix.
pub(crate) fn apply_override(
    params: &mut Value,
    over: Value,
    path: &Path,
) -> Result<(), PolicyError> {
    let Value::Object(over) = over else {
        return Err(bad(path, "must be a JSON object; fix: {\"purposes\": {…}} and so on, as in `custodia policy params`".into()));
    };
    let laws: Vec<String> = params["jurisdictions"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let laws: Vec<&str> = laws.iter().map(String::as_str).collect();
    for (key, value) in over {
        if !TUNABLE.contains(&key.as_str()) {
            return Err(bad(path, format!(
                "`{key}` belongs to the built-in bundle and cannot be overridden (tunable: {}); fix: to be stricter, add rules under package custodia.ext.<name>",
                TUNABLE.join(", ")
            )));
        }
        let entries = || {
            value
                .as_object()
                .ok_or_else(|| bad(path, format!("`{key}` must be an object")))
        };
        match key.as_str() {
            "purposes" => {
                for (name, spec) in entries()? {
                    let bases = spec
                        .get("legal_bases")
                        .filter(|_| spec.as_object().is_some_and(|o| o.len() == 1))
                        .ok_or_else(|| {
                            bad(
                                path,
                                format!("`purposes.{name}` must be {{\"legal_bases\": [...]}}"),
                            )
                        })?;
                    if strings(
                        path,
                        &format!("purposes.{name}.legal_bases"),
                        bases,
                        Some(LEGAL_BASES),
                    )?
                    .is_empty()
                    {
                        return Err(bad(path, format!("`purposes.{name}.legal_bases` is empty, which would make the purpose unusable silently; fix: list its bases, or drop the purpose from contracts")));
                    }
                }
            }
            "roles" => {
                for (name, spec) in entries()? {
                    let o = spec
                        .as_object()
                        .ok_or_else(|| bad(path, format!("`roles.{name}` must be an object")))?;
                    for (k, v) in o {
                        let ok = match k.as_str() {
                            "actions" => {
                                strings(path, &format!("roles.{name}.actions"), v, Some(ACTIONS))
                                    .is_ok()
                            }
                            "l2" => matches!(v.as_str(), Some("clear" | "pseudonymize")),
                            "l3" => matches!(v.as_str(), Some("clear" | "mask")),
                            "l3_purposes" => {
                                strings(path, &format!("roles.{name}.l3_purposes"), v, None).is_ok()
                            }
                            _ => false,
                        };
                        if !ok {
                            return Err(bad(path, format!("`roles.{name}.{k}` is not valid; fix: actions (from {ACTIONS:?}), l2 (\"clear\" | \"pseudonymize\"), l3 (\"clear\" | \"mask\"), l3_purposes (a list)")));
                        }
                    }
                }
            }
            "region_jurisdictions" => {
                for (region, v) in entries()? {
                    strings(
                        path,
                        &format!("region_jurisdictions.{region}"),
                        v,
                        Some(&laws),
                    )?;
                }
            }
            "jurisdiction_aliases" => {
                for (alias, v) in entries()? {
                    if !v.as_str().is_some_and(|s| laws.contains(&s)) {
                        return Err(bad(
                            path,
                            format!("`jurisdiction_aliases.{alias}` must name one of {laws:?}"),
                        ));
                    }
                }
            }
            _ => {
                strings(path, &key, &value, None)?;
            }
        }
        if ADD_ONLY.contains(&key.as_str()) {
            let slot = params[&key]
                .as_array_mut()
                .expect("built-in lists are arrays");
            for v in value.as_array().into_iter().flatten() {
                if !slot.contains(v) {
                    slot.push(v.clone());
                }
            }
        } else {
            crate::merge(&mut params[&key], value);
        }
    }
    // Every role, new or tuned, must end up complete.
    for (name, spec) in params["roles"].as_object().into_iter().flatten() {
        for k in ["actions", "l2", "l3", "l3_purposes"] {
            if spec.get(k).is_none() {
                return Err(bad(path, format!("`roles.{name}` has no `{k}`; fix: a new role needs actions, l2, l3 and l3_purposes")));
            }
        }
    }
    Ok(())
}
