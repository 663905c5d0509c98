//! `custodia run`: execute a pipeline, enforced and journaled, with a progress bar.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use custodia_core::pipeline::Step;
use custodia_engine::run::{Resume, RunObserver, StepReport, StepState};

use crate::{custody::with_workspace, EXIT_USAGE, EXIT_VIOLATIONS};

#[derive(Args)]
#[command(after_help = "Examples:
  custodia run pipelines/churn.yaml
  custodia run pipelines/churn.yaml --json
  custodia run pipelines/churn.yaml --fresh     # do not resume an unfinished run
  custodia run pipelines/churn.yaml --openlineage-url http://localhost:5000

Every read is decided by policy before any step runs (purpose, legal basis, residency);
consent filters, masks and pseudonyms are applied in the query plan. A killed run resumes
where it stopped when run again. Exit 0 when the run succeeds, 1 when policy denies a read,
2 when a step fails on its input or the pipeline file is wrong. See docs/pipelines.md.")]
pub struct RunArgs {
    /// The pipeline file.
    pipeline: PathBuf,
    /// Start a new run even if this pipeline has an unfinished one.
    #[arg(long)]
    fresh: bool,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print the run report as JSON.
    #[arg(long)]
    json: bool,
    /// Post the run's OpenLineage events (START, COMPLETE/FAIL) to this Marquez-compatible
    /// endpoint, e.g. http://localhost:5000 (events go to /api/v1/lineage; they are stored
    /// in the workspace either way).
    #[arg(long, value_name = "URL")]
    openlineage_url: Option<String>,
}

struct Progress {
    bar: indicatif::ProgressBar,
}

impl RunObserver for Progress {
    fn step_started(&self, step: &Step, index: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(index as u64);
        self.bar
            .set_message(format!("{} ({})", step.id, step.kind.name()));
    }
    fn step_finished(&self, _r: &StepReport) {
        self.bar.inc(1);
    }
}

fn line(r: &StepReport) -> String {
    let mut s = format!(
        "{:<8} {:<14} {:<11} {:>10} rows  {:<28} {}",
        match r.state {
            StepState::Ran => "ran",
            StepState::Resumed => "resumed",
        },
        r.id,
        r.kind,
        r.rows,
        r.output,
        if r.state == StepState::Ran {
            format!("{} ms", r.millis)
        } else {
            String::new()
        }
    );
    if let Some(e) = &r.enforcement {
        s.push_str(&format!("  decision {}", e.decision_id));
        if let Some(f) = &e.row_filter {
            s.push_str(&format!(
                ", {f} removed {} of {} rows",
                e.rows_filtered, e.rows_read
            ));
        }
        if !e.masked.is_empty() {
            s.push_str(&format!(", masked {}", e.masked.join(" ")));
        }
        if !e.pseudonymized.is_empty() {
            s.push_str(&format!(", pseudonymised {}", e.pseudonymized.join(" ")));
        }
    }
    if let Some(n) = r.loaded {
        s.push_str(&format!("  loaded {n} rows"));
    }
    if let Some(m) = &r.manifest {
        s.push_str(&format!("  {} subjects in the manifest", m.subjects));
    }
    if let Some(q) = &r.quality {
        let failed = q.failed().count();
        s.push_str(&format!(
            "  {} checks, {failed} failed, {} drift findings{}",
            q.checks.len(),
            q.drift.len(),
            q.compared_to
                .as_deref()
                .map(|v| format!(" against {v}"))
                .unwrap_or_default()
        ));
        for c in q.failed() {
            s.push_str(&format!(
                "\n    FAIL {}{}: {}{}",
                c.check,
                c.column
                    .as_deref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default(),
                c.detail,
                if c.examples.is_empty() {
                    String::new()
                } else {
                    format!(" (e.g. {})", c.examples.join(", "))
                }
            ));
        }
        for d in &q.drift {
            s.push_str(&format!(
                "\n    DRIFT {} {}: {} = {:.3} (threshold {}): {}",
                d.column,
                serde_json::to_string(&d.kind)
                    .unwrap_or_default()
                    .trim_matches('"'),
                d.statistic,
                d.value,
                d.threshold,
                d.detail
            ));
        }
    }
    s
}

pub fn run(a: RunArgs) -> Result<u8> {
    let file = std::fs::canonicalize(&a.pipeline).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}; give the path of a pipeline file, e.g. pipelines/churn.yaml",
            a.pipeline.display()
        )
    })?;
    let resume = if a.fresh { Resume::Fresh } else { Resume::Auto };
    let report = with_workspace(&a.workspace, async |ws| {
        let bar = if a.json {
            indicatif::ProgressBar::hidden()
        } else {
            let b = indicatif::ProgressBar::new(0);
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            b.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                    .expect("static template"),
            );
            b
        };
        let progress = Progress { bar };
        let options = custodia_engine::run::RunOptions {
            resume,
            openlineage_url: a.openlineage_url.clone(),
        };
        let r = ws.run_pipeline_with(&file, &options, &progress).await?;
        progress.bar.finish_and_clear();
        Ok(r)
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for s in &report.steps {
            println!("{}", line(s));
        }
        println!(
            "run {} of pipeline {}{}: {}",
            report.run_id,
            report.pipeline,
            if report.resumed { " (resumed)" } else { "" },
            report.status
        );
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        if let Some(f) = &report.failure {
            eprintln!(
                "error: {}{}",
                f.step
                    .as_deref()
                    .map(|s| format!("step {s:?}: "))
                    .unwrap_or_default(),
                f.message
            );
        }
    }
    Ok(match report.failure.map(|f| f.kind) {
        None => 0,
        Some(
            custodia_engine::run::FailureKind::Denied | custodia_engine::run::FailureKind::Quality,
        ) => EXIT_VIOLATIONS,
        Some(_) => EXIT_USAGE,
    })
}
