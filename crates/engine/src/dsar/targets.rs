//! Systems outside Custodia that a request must reach (`[[dsar.targets]]`): an HTTP
//! webhook (POST of a JSON body, 2xx is success) or a command (the JSON body on stdin, exit
//! 0 is success), retried with exponential backoff. Each call's status and reply is kept in
//! the request's journal, so `dsar show` says where every third party stands.

use std::{io::Write, path::Path, time::Duration};

use custodia_core::config::{ExternalTarget, TargetCall};
use serde::{Deserialize, Serialize};

/// Attempts per target in one run of a request.
const ATTEMPTS: u32 = 5;
/// Wait before the second attempt; doubled before each later one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Reply text kept per call.
const REPLY_CHARS: usize = 300;

/// Where a target stands after a run's attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetStatus {
    /// Target name.
    pub target: String,
    /// Whether it confirmed.
    pub ok: bool,
    /// Attempts made in all runs so far.
    pub attempts: u32,
    /// HTTP status or exit code of the last attempt.
    pub status: Option<i64>,
    /// What it replied (first characters; withheld when it held personal data).
    pub reply: String,
}

/// The targets among `called` that have not confirmed.
pub(super) fn unconfirmed<T>(called: &[(TargetStatus, T)]) -> Vec<String> {
    called
        .iter()
        .filter(|(t, _)| !t.ok)
        .map(|(t, _)| t.target.clone())
        .collect()
}

/// Text a third party sent back, safe to keep in the journal and the certificate.
fn safe_reply(text: &str) -> String {
    let short: String = text.trim().chars().take(REPLY_CHARS).collect();
    let found = crate::scan::pii_entities(&short);
    if found.is_empty() {
        short
    } else {
        format!(
            "[reply withheld: it held personal data ({})]",
            found.join(", ")
        )
    }
}

/// One call; `Ok((status, reply))` on success, `Err((status, reply))` otherwise.
fn call_once(
    root: &Path,
    target: &ExternalTarget,
    body: &str,
) -> Result<(i64, String), (Option<i64>, String)> {
    match &target.call {
        TargetCall::Webhook { url } => {
            let agent = ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(CALL_TIMEOUT))
                    .build(),
            );
            match agent
                .post(url)
                .header("Content-Type", "application/json")
                .send(body)
            {
                Ok(mut reply) => {
                    let status = i64::from(reply.status().as_u16());
                    let text = reply.body_mut().read_to_string().unwrap_or_default();
                    if (200..300).contains(&status) {
                        Ok((status, safe_reply(&text)))
                    } else {
                        Err((Some(status), safe_reply(&text)))
                    }
                }
                Err(e) => Err((None, e.to_string())),
            }
        }
        TargetCall::Command { argv } => {
            let child = std::process::Command::new(&argv[0])
                .args(&argv[1..])
                .current_dir(root)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn();
            let mut child = match child {
                Ok(c) => c,
                Err(e) => return Err((None, format!("cannot start {:?}: {e}", argv[0]))),
            };
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(body.as_bytes());
            }
            match child.wait_with_output() {
                Ok(out) => {
                    let code = out.status.code().map(i64::from);
                    let text = if out.stdout.is_empty() {
                        String::from_utf8_lossy(&out.stderr).into_owned()
                    } else {
                        String::from_utf8_lossy(&out.stdout).into_owned()
                    };
                    if out.status.success() {
                        Ok((code.unwrap_or(0), safe_reply(&text)))
                    } else {
                        Err((code, safe_reply(&text)))
                    }
                }
                Err(e) => Err((None, e.to_string())),
            }
        }
    }
}

/// Calls a target until it confirms or the attempts run out, waiting 0.5 s, 1 s, 2 s, 4 s
/// between attempts. `before` counts attempts of earlier runs.
pub(super) async fn call(
    root: &Path,
    target: &ExternalTarget,
    body: &serde_json::Value,
    before: u32,
) -> TargetStatus {
    let mut status = TargetStatus {
        target: target.name.clone(),
        ok: false,
        attempts: before,
        status: None,
        reply: String::new(),
    };
    let body = body.to_string();
    let mut wait = FIRST_BACKOFF;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        let (root, target, body) = (root.to_path_buf(), target.clone(), body.clone());
        let result = tokio::task::spawn_blocking(move || call_once(&root, &target, &body))
            .await
            .unwrap_or_else(|e| Err((None, e.to_string())));
        status.attempts += 1;
        match result {
            Ok((code, reply)) => {
                status.ok = true;
                status.status = Some(code);
                status.reply = reply;
                return status;
            }
            Err((code, reply)) => {
                status.status = code;
                status.reply = reply;
            }
        }
    }
    status
}
