//! Benchmarks and the labelled accuracy-corpus generator for Custodia.
//!
//! The [`corpus`] module produces a seeded, deterministic multilingual corpus
//! of short documents with gold PII spans (Presidio entity names); the
//! `gen_corpus` binary writes it as JSONL.
#![deny(missing_docs)]

pub mod corpus;

/// CPU time this process has used, all threads (user and system), from /proc/self/stat:
/// a second measure beside wall time, less moved by a busy shared machine.
pub fn process_cpu_seconds() -> std::io::Result<f64> {
    let bad = || std::io::Error::other("unexpected /proc/self/stat");
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after = stat.rsplit_once(')').ok_or_else(bad)?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> std::io::Result<f64> {
        fields
            .get(i - 3)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(bad)
    };
    // /proc reports in USER_HZ, which Linux fixes at 100 for user space.
    Ok((ticks(14)? + ticks(15)?) / 100.0)
}

/// The median of timings (the upper middle one for an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs a DuckDB peer script (`cmd`: the venv's python and the script's arguments) and
/// returns the JSON of its last line, its timed run.
pub fn run_duckdb_peer(cmd: &mut std::process::Command) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context;
    let py = cmd.output().with_context(|| {
        format!(
            "running {}; install the peer with bench/snapshot/setup.sh",
            cmd.get_program().to_string_lossy()
        )
    })?;
    if !py.status.success() {
        anyhow::bail!(
            "the DuckDB peer failed: {}",
            String::from_utf8_lossy(&py.stderr)
        );
    }
    let stdout = String::from_utf8(py.stdout)?;
    let line = stdout
        .lines()
        .last()
        .context("the DuckDB peer printed no result")?;
    Ok(serde_json::from_str(line)?)
}
