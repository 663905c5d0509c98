//! Writes the labelled accuracy corpus as JSONL.
//!
//! Usage: `gen_corpus --docs N --seed S --out PATH`
//! (defaults: 2000 docs, seed 42, `corpus.jsonl`). A per-entity summary is
//! printed to stderr.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::{bail, Context, Result};
use custodia_bench::corpus::{entity_counts, generate, ENTITY_TYPES};

struct Args {
    docs: usize,
    seed: u64,
    out: String,
}

const USAGE: &str = "usage: gen_corpus [--docs N] [--seed S] [--out PATH]";

fn parse_args() -> Result<Args> {
    let mut args = Args {
        docs: 2000,
        seed: 42,
        out: "corpus.jsonl".to_string(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it
            .next()
            .with_context(|| format!("missing value for {flag}\n{USAGE}"))?;
        match flag.as_str() {
            "--docs" => args.docs = value.parse().context("--docs must be a number")?,
            "--seed" => args.seed = value.parse().context("--seed must be a number")?,
            "--out" => args.out = value,
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(args)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let docs = generate(args.docs, args.seed);
    let file = File::create(&args.out).with_context(|| format!("creating {}", args.out))?;
    let mut w = BufWriter::new(file);
    for d in &docs {
        serde_json::to_writer(&mut w, d)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;

    let counts = entity_counts(&docs);
    let empty = docs.iter().filter(|d| d.spans.is_empty()).count();
    let total: usize = counts.values().sum();
    eprintln!(
        "wrote {} docs to {} (seed {}); {} spans; {} docs without entities",
        docs.len(),
        args.out,
        args.seed,
        total,
        empty
    );
    for ty in ENTITY_TYPES {
        eprintln!("  {ty:<16} {:>6}", counts.get(*ty).copied().unwrap_or(0));
    }
    Ok(())
}
