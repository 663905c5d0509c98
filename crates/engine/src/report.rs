//! The compliance report a DPO reads: data subject requests (on-time closure, time to
//! close, what is due soon), retention coverage, how far erasures reached, consent coverage
//! per purpose, residency violations blocked and policy denials by rule. Counts only.

use std::collections::BTreeMap;

use custodia_core::dsar::DsarState;
use serde::Serialize;

use crate::{workspace::Workspace, EngineError};

/// Requests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DsarMetrics {
    /// Requests ever opened.
    pub total: u64,
    /// Not yet completed or rejected.
    pub open: u64,
    /// Completed or rejected.
    pub closed: u64,
    /// Closed by their deadline.
    pub on_time: u64,
    /// Share of closed requests closed on time (%).
    pub on_time_pct: Option<f64>,
    /// Mean days from receipt to closure.
    pub mean_days_to_close: Option<f64>,
    /// Open requests by days left: `overdue`, `0-7`, `8-14`, `15-30`, `31+`.
    pub open_by_days_left: BTreeMap<String, u64>,
    /// Requests by type.
    pub by_type: BTreeMap<String, u64>,
}

/// Retention.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionMetrics {
    /// Datasets (latest versions).
    pub datasets: u64,
    /// Of which a contract sets a retention.
    pub with_retention: u64,
    /// Of which nothing is past it now.
    pub enforced: u64,
    /// `enforced / datasets` (%).
    pub enforced_pct: Option<f64>,
    /// Rows past retention now, everywhere.
    pub rows_past_retention: u64,
}

/// How far erasures reached.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeletionMetrics {
    /// Erasure requests completed.
    pub erasures_completed: u64,
    /// Places that held a subject and were dealt with (rewritten, deleted, shredded,
    /// retrained, confirmed by a third party, suppressed upstream).
    pub propagated: u64,
    /// Places that held a subject and were not (not searchable, a target that never
    /// confirmed, a retraining still scheduled).
    pub not_propagated: u64,
    /// `propagated / (propagated + not_propagated)` (%).
    pub success_pct: Option<f64>,
    /// Rows removed by erasures.
    pub rows_removed: u64,
    /// Models whose latest version is flagged for retraining.
    pub models_pending_retrain: u64,
}

/// Consent coverage of one purpose.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentCoverage {
    /// The purpose.
    pub purpose: String,
    /// Subjects with any consent event for it.
    pub subjects: u64,
    /// Of which consent is granted now.
    pub granted: u64,
    /// `granted / subjects` (%).
    pub granted_pct: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct ComplianceReport {
    /// When it was made (RFC 3339).
    pub generated: String,
    /// The log it reports on.
    pub workspace: String,
    /// Requests.
    pub dsar: DsarMetrics,
    /// Retention.
    pub retention: RetentionMetrics,
    /// Erasure reach.
    pub deletion: DeletionMetrics,
    /// Consent per purpose.
    pub consent: Vec<ConsentCoverage>,
    /// Policy decisions made and denied.
    pub decisions: (u64, u64),
    /// Reads denied for residency (personal data leaving its region).
    pub residency_blocked: u64,
    /// Denials by rule id.
    pub denials_by_rule: BTreeMap<String, u64>,
    /// Requests that took subjects out of every read (erasures) and out of some purposes
    /// (objections).
    pub suppressed: (u64, u64),
}

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

const DAY_US: i64 = 86_400_000_000;

impl Workspace {
    /// Computes the report as of now.
    pub async fn compliance_report(&self) -> Result<ComplianceReport, EngineError> {
        let now = custodia_store::now_us();
        let requests = self.dsar_list(true).await?;
        let mut dsar = DsarMetrics {
            total: requests.len() as u64,
            ..DsarMetrics::default()
        };
        for b in ["overdue", "0-7", "8-14", "15-30", "31+"] {
            dsar.open_by_days_left.insert(b.into(), 0);
        }
        let mut days_to_close = Vec::new();
        let mut deletion = DeletionMetrics::default();
        for r in &requests {
            *dsar.by_type.entry(r.kind.as_str().into()).or_default() += 1;
            match r.closed_us {
                Some(c) if r.state.is_closed() => {
                    dsar.closed += 1;
                    if c <= r.due_us {
                        dsar.on_time += 1;
                    }
                    days_to_close.push((c - r.received_us) as f64 / DAY_US as f64);
                }
                _ => {
                    dsar.open += 1;
                    let left = (r.due_us - now).div_euclid(DAY_US);
                    let bucket = match left {
                        l if l < 0 => "overdue",
                        0..=7 => "0-7",
                        8..=14 => "8-14",
                        15..=30 => "15-30",
                        _ => "31+",
                    };
                    *dsar.open_by_days_left.entry(bucket.into()).or_default() += 1;
                }
            }
            if r.kind != custodia_core::dsar::DsarKind::Erasure {
                continue;
            }
            if r.state == DsarState::Completed {
                deletion.erasures_completed += 1;
            }
            for step in self.dsar_steps(&r.id).await? {
                let outcome = step
                    .detail
                    .as_array()
                    .and_then(|a| a.get(1))
                    .unwrap_or(&step.detail);
                let Some(action) = outcome.get("action").and_then(|a| a.as_str()) else {
                    continue;
                };
                deletion.rows_removed += outcome
                    .get("rows_removed")
                    .and_then(|n| n.as_u64())
                    .unwrap_or(0);
                match action {
                    "rewritten" | "deleted" | "shredded" | "retrained" | "confirmed"
                    | "suppressed" => deletion.propagated += 1,
                    "not_searchable" | "failed" | "scheduled" => deletion.not_propagated += 1,
                    _ => {}
                }
            }
        }
        dsar.on_time_pct = pct(dsar.on_time, dsar.closed);
        dsar.mean_days_to_close = (!days_to_close.is_empty()).then(|| {
            (days_to_close.iter().sum::<f64>() / days_to_close.len() as f64 * 10.0).round() / 10.0
        });
        deletion.success_pct = pct(
            deletion.propagated,
            deletion.propagated + deletion.not_propagated,
        );
        deletion.models_pending_retrain = self
            .store()
            .models()
            .await?
            .iter()
            .filter(|m| m.flagged.is_some())
            .count() as u64;

        let plan = self.retention_plan(now).await?;
        let latest = self.store().latest_dataset_versions().await?;
        let expiring_datasets: std::collections::BTreeSet<String> = plan
            .expiring
            .iter()
            .filter_map(|e| {
                e.version
                    .as_deref()
                    .map(|v| crate::run::dataset_name(v).to_string())
            })
            .collect();
        let retention = RetentionMetrics {
            datasets: latest.len() as u64,
            with_retention: plan.datasets_with_retention as u64,
            enforced: (plan.datasets_with_retention as u64)
                .saturating_sub(expiring_datasets.len() as u64),
            enforced_pct: pct(
                (plan.datasets_with_retention as u64)
                    .saturating_sub(expiring_datasets.len() as u64),
                latest.len() as u64,
            ),
            rows_past_retention: plan.expiring.iter().map(|e| e.expiring).sum(),
        };

        let mut consent = Vec::new();
        for p in &self.config().purposes {
            let subjects = self.store().consent_scan(p.as_str(), now).await?;
            let granted = subjects.iter().filter(|s| s.granted).count() as u64;
            consent.push(ConsentCoverage {
                purpose: p.as_str().into(),
                subjects: subjects.len() as u64,
                granted,
                granted_pct: pct(granted, subjects.len() as u64),
            });
        }

        let mut denials_by_rule = BTreeMap::new();
        let mut residency_blocked = 0;
        for d in self.store().denied_decisions().await? {
            let Ok(d) = serde_json::from_str::<custodia_policy::Decision>(&d) else {
                continue;
            };
            if d.denials.iter().any(|x| x.rule.starts_with("residency.")) {
                residency_blocked += 1;
            }
            for x in d.denials {
                *denials_by_rule.entry(x.rule).or_default() += 1;
            }
        }
        Ok(ComplianceReport {
            generated: crate::audit_log::now_rfc3339(),
            workspace: self.config().audit_origin.clone(),
            dsar,
            retention,
            deletion,
            consent,
            decisions: self.store().decision_counts().await?,
            residency_blocked,
            denials_by_rule,
            suppressed: self.store().suppression_counts().await?,
        })
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart as inline SVG.
fn bars(title: &str, rows: &[(String, f64, String)], max: f64, colour: &str) -> String {
    if rows.is_empty() {
        return format!(
            "<h2>{}</h2><p class=\"none\">nothing to show yet</p>",
            esc(title)
        );
    }
    let h = 26 * rows.len() + 10;
    let mut svg = format!(
        "<h2>{}</h2><svg viewBox=\"0 0 640 {h}\" width=\"640\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    for (i, (label, value, shown)) in rows.iter().enumerate() {
        let y = 26 * i + 5;
        let w = if max > 0.0 { value / max * 360.0 } else { 0.0 };
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" class=\"l\">{}</text><rect x=\"220\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" rx=\"3\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{}\" class=\"v\">{}</text>",
            y + 14,
            esc(label),
            226.0 + w,
            y + 14,
            esc(shown)
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn tile(label: &str, value: Option<f64>, unit: &str, good: bool) -> String {
    let (text, class) = match value {
        Some(v) => (format!("{v}{unit}"), if good { "good" } else { "warn" }),
        None => ("–".to_string(), "none"),
    };
    format!(
        "<div class=\"tile {class}\"><div class=\"k\">{}</div><div class=\"n\">{}</div></div>",
        esc(label),
        esc(&text)
    )
}

impl ComplianceReport {
    /// A self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched).
    pub fn html(&self) -> String {
        let d = &self.dsar;
        let tiles = [
            tile(
                "DSARs closed on time",
                d.on_time_pct,
                "%",
                d.on_time_pct.is_none_or(|p| p >= 95.0),
            ),
            tile("Mean days to close", d.mean_days_to_close, " d", true),
            tile(
                "Open DSARs",
                Some(d.open as f64),
                "",
                d.open_by_days_left.get("overdue").copied().unwrap_or(0) == 0,
            ),
            tile(
                "Datasets with retention enforced",
                self.retention.enforced_pct,
                "%",
                self.retention.rows_past_retention == 0,
            ),
            tile(
                "Deletion propagation",
                self.deletion.success_pct,
                "%",
                self.deletion.not_propagated == 0,
            ),
            tile(
                "Residency violations blocked",
                Some(self.residency_blocked as f64),
                "",
                true,
            ),
        ]
        .join("");
        let order = ["overdue", "0-7", "8-14", "15-30", "31+"];
        let open: Vec<(String, f64, String)> = order
            .iter()
            .map(|b| {
                let n = d.open_by_days_left.get(*b).copied().unwrap_or(0);
                (format!("{b} days"), n as f64, n.to_string())
            })
            .collect();
        let open_max = open.iter().map(|r| r.1).fold(0.0, f64::max);
        let consent: Vec<(String, f64, String)> = self
            .consent
            .iter()
            .map(|c| {
                (
                    c.purpose.clone(),
                    c.granted_pct.unwrap_or(0.0),
                    format!(
                        "{}% of {}",
                        c.granted_pct.map_or("–".into(), |p| p.to_string()),
                        c.subjects
                    ),
                )
            })
            .collect();
        let denials: Vec<(String, f64, String)> = self
            .denials_by_rule
            .iter()
            .map(|(r, n)| (r.clone(), *n as f64, n.to_string()))
            .collect();
        let denial_max = denials.iter().map(|r| r.1).fold(0.0, f64::max);
        let types: Vec<(String, f64, String)> = d
            .by_type
            .iter()
            .map(|(t, n)| (t.clone(), *n as f64, n.to_string()))
            .collect();
        let type_max = types.iter().map(|r| r.1).fold(0.0, f64::max);
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Custodia compliance report — {ws}</title>\
<style>body{{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#1d2430;padding:0 1rem}}\
h1{{font-size:1.5rem;margin-bottom:.2rem}}h2{{font-size:1.1rem;margin-top:2rem}}.sub{{color:#5b6472}}\
.tiles{{display:grid;grid-template-columns:repeat(3,1fr);gap:.8rem;margin-top:1.2rem}}\
.tile{{border-radius:8px;padding:.8rem 1rem;background:#f3f5f8;border-left:5px solid #9aa3af}}\
.tile.good{{border-color:#2f9e6b}}.tile.warn{{border-color:#d9822b}}.k{{color:#5b6472;font-size:.85rem}}.n{{font-size:1.7rem;font-weight:600}}\
svg text{{font-size:13px;fill:#1d2430}}svg text.v{{fill:#3b4452}}.none{{color:#8a93a0}}\
table{{border-collapse:collapse;margin-top:.5rem}}td,th{{padding:.25rem .8rem;border-bottom:1px solid #e3e7ec;text-align:left}}</style></head><body>\
<h1>Compliance report</h1><div class=\"sub\">{ws} · generated {gen} · counts only, no personal data</div>\
<div class=\"tiles\">{tiles}</div>\
{open_chart}{type_chart}{consent_chart}{denial_chart}\
<h2>Erasure and retention</h2><table>\
<tr><th>erasures completed</th><td>{ec}</td></tr><tr><th>rows removed by erasures</th><td>{rr}</td></tr>\
<tr><th>places reached / not reached</th><td>{pp} / {np}</td></tr><tr><th>models pending retraining</th><td>{mp}</td></tr>\
<tr><th>requests erasing / objecting</th><td>{se} / {so}</td></tr>\
<tr><th>datasets with a retention</th><td>{wr} of {ds}</td></tr><tr><th>rows past retention now</th><td>{rp}</td></tr>\
<tr><th>policy decisions / denied</th><td>{dt} / {dd}</td></tr></table></body></html>\n",
            ws = esc(&self.workspace),
            gen = esc(&self.generated),
            open_chart = bars("Open requests by days to deadline", &open, open_max, "#3b6fd6"),
            type_chart = bars("Requests by type", &types, type_max, "#6b5bd6"),
            consent_chart = bars("Consent granted, per purpose", &consent, 100.0, "#2f9e6b"),
            denial_chart = bars("Policy denials by rule", &denials, denial_max, "#d9822b"),
            ec = self.deletion.erasures_completed,
            rr = self.deletion.rows_removed,
            pp = self.deletion.propagated,
            np = self.deletion.not_propagated,
            mp = self.deletion.models_pending_retrain,
            se = self.suppressed.0,
            so = self.suppressed.1,
            wr = self.retention.with_retention,
            ds = self.retention.datasets,
            rp = self.retention.rows_past_retention,
            dt = self.decisions.0,
            dd = self.decisions.1,
        )
    }
}
