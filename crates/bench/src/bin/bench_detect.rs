//! Measures `detect` throughput on a JSONL corpus: docs/s and MB/s on one core and on all
//! cores, and (with `--presidio`) Presidio's docs/s on the same corpus in the same run,
//! reported side by side as a ratio.
//!
//! Usage:
//! `bench_detect --corpus bench/out/corpus.jsonl [--seconds 5] [--json]
//!  [--presidio "bench/.venv/bin/python bench/presidio/run_presidio.py"] [--presidio-docs 500]`
//!
//! The one-core figure runs on the calling thread; pin it with `taskset -c 0` so both
//! systems get one core. Start-up (regex compilation, gazetteer load) is reported
//! separately and excluded from docs/s, as Presidio's model load is on its side.

use std::io::BufRead;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use custodia_detect::{Analyzer, AnalyzerConfig};
use rayon::prelude::*;

const USAGE: &str = "usage: bench_detect --corpus PATH [--seconds S] [--json] \
[--presidio \"PYTHON SCRIPT\"] [--presidio-docs N] [--passes N]";

struct Args {
    corpus: String,
    seconds: f64,
    json: bool,
    presidio: Option<String>,
    presidio_docs: usize,
    /// Exactly this many one-core passes and nothing else (for `perf stat`).
    passes: Option<usize>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        corpus: String::new(),
        seconds: 5.0,
        json: false,
        presidio: None,
        presidio_docs: 500,
        passes: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--json" => {
                args.json = true;
                continue;
            }
            _ => {}
        }
        let value = it
            .next()
            .with_context(|| format!("missing value for {flag}\n{USAGE}"))?;
        match flag.as_str() {
            "--corpus" => args.corpus = value,
            "--seconds" => args.seconds = value.parse().context("--seconds must be a number")?,
            "--presidio" => args.presidio = Some(value),
            "--passes" => args.passes = Some(value.parse().context("--passes must be a number")?),
            "--presidio-docs" => {
                args.presidio_docs = value.parse().context("--presidio-docs must be a number")?
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    if args.corpus.is_empty() {
        bail!("--corpus is required\n{USAGE}");
    }
    Ok(args)
}

fn read_texts(path: &str) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
    let mut texts = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{path}:{}: cannot read", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("{path}:{}: not JSON", n + 1))?;
        let text = v["text"]
            .as_str()
            .with_context(|| format!("{path}:{}: no \"text\" string", n + 1))?;
        texts.push(text.to_string());
    }
    if texts.is_empty() {
        bail!("{path}: no documents");
    }
    Ok(texts)
}

/// Repeats passes over the corpus until `budget` has elapsed; returns each pass's docs/s.
fn timed(budget: Duration, mut pass: impl FnMut() -> usize) -> Vec<f64> {
    let t0 = Instant::now();
    let mut rates = Vec::new();
    while t0.elapsed() < budget || rates.len() < 3 {
        let p0 = Instant::now();
        let docs = pass();
        rates.push(docs as f64 / p0.elapsed().as_secs_f64());
    }
    rates
}

/// The median pass: on a shared virtual machine the mean is at the mercy of a neighbour.
fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let texts = read_texts(&args.corpus)?;
    let bytes: usize = texts.iter().map(String::len).sum();

    let t0 = Instant::now();
    let analyzer = Analyzer::new(AnalyzerConfig::default())?;
    let startup = t0.elapsed().as_secs_f64();

    if let Some(passes) = args.passes {
        let findings: usize = (0..passes)
            .map(|_| {
                texts
                    .iter()
                    .map(|t| analyzer.analyze(t).len())
                    .sum::<usize>()
            })
            .sum();
        println!("{passes} passes, {findings} findings");
        return Ok(());
    }

    // Warm-up: one pass (lazy DFA states, page faults of the gazetteers).
    let findings: usize = texts.iter().map(|t| analyzer.analyze(t).len()).sum();

    let budget = Duration::from_secs_f64(args.seconds);
    let one_pass = || {
        texts
            .iter()
            .map(|t| analyzer.analyze(t).len())
            .sum::<usize>();
        texts.len()
    };
    // Custodia's one-core passes run before *and* after the Presidio peer, so a slow or
    // fast spell of the machine affects both sides of the ratio alike.
    let mut one_rates = timed(budget / 2, one_pass);
    let presidio = match &args.presidio {
        Some(cmd) => Some(run_presidio(cmd, &args.corpus, args.presidio_docs)?),
        None => None,
    };
    one_rates.extend(timed(budget / 2, one_pass));
    let one_dps = median(one_rates);
    let all_dps = median(timed(budget, || {
        texts
            .par_iter()
            .map(|t| analyzer.analyze(t).len())
            .sum::<usize>();
        texts.len()
    }));
    let mb = |dps: f64| dps * bytes as f64 / texts.len() as f64 / 1e6;

    let threads = rayon::current_num_threads();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "docs": texts.len(),
                "bytes": bytes,
                "findings_per_pass": findings,
                "startup_s": startup,
                "one_core": {"docs_per_s": one_dps, "mb_per_s": mb(one_dps)},
                "all_cores": {"threads": threads, "docs_per_s": all_dps, "mb_per_s": mb(all_dps)},
                "presidio_docs_per_s": presidio,
                "ratio_one_core": presidio.map(|p| one_dps / p),
            })
        );
    } else {
        println!(
            "corpus: {} docs, {:.1} KB, mean {:.0} bytes/doc; {findings} findings per pass",
            texts.len(),
            bytes as f64 / 1e3,
            bytes as f64 / texts.len() as f64
        );
        println!("custodia start-up: {startup:.3} s (excluded)");
        println!(
            "custodia one core:  {one_dps:>10.0} docs/s  {:>7.2} MB/s",
            mb(one_dps)
        );
        println!(
            "custodia {threads} threads: {all_dps:>10.0} docs/s  {:>7.2} MB/s",
            mb(all_dps)
        );
        if let Some(p) = presidio {
            println!("presidio one core:  {p:>10.1} docs/s");
            println!("ratio (one core):   {:>10.0}x", one_dps / p);
        }
    }
    Ok(())
}

/// Runs the Presidio peer over the first `docs` documents and reads its summary line.
fn run_presidio(cmd: &str, corpus: &str, docs: usize) -> Result<f64> {
    let mut parts = cmd.split_whitespace();
    let program = parts.next().context("--presidio is empty")?;
    let out = Command::new(program)
        .args(parts)
        .arg(corpus)
        .args(["--limit", &docs.to_string()])
        .output()
        .with_context(|| format!("cannot run presidio peer `{cmd}`"))?;
    if !out.status.success() {
        bail!(
            "presidio peer failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("presidio peer printed no summary line")?;
    let v: serde_json::Value = serde_json::from_str(line)?;
    v["docs_per_s"]
        .as_f64()
        .context("presidio summary has no docs_per_s")
}
