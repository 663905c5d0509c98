//! Scores detector output against the labelled corpus: precision, recall and F1 per entity
//! and micro-averaged, for several systems side by side.
//!
//! ```sh
//! cargo run -p custodia-bench --release --bin eval_detect -- --corpus corpus.jsonl \
//!     --pred custodia=custodia.jsonl --pred presidio=presidio.jsonl [--min-score 0.5] [--json]
//! ```
//!
//! A prediction is a true positive when it has the gold span's entity type and the two
//! spans overlap by at least half of the longer one; each gold span matches once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{bail, Context, Result};
use serde_json::Value;

type Span = (usize, usize, String);

fn load(path: &str, key: &str, min_score: f64) -> Result<HashMap<String, Vec<Span>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).with_context(|| format!("{path}:{}", i + 1))?;
        let id = match &v["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let spans = v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|s| s["score"].as_f64().unwrap_or(1.0) >= min_score)
                    .map(|s| {
                        (
                            s["start"].as_u64().unwrap_or(0) as usize,
                            s["end"].as_u64().unwrap_or(0) as usize,
                            s["entity_type"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.insert(id, spans);
    }
    Ok(out)
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn prf(self) -> (f64, f64, f64) {
        let p = if self.tp + self.fp == 0 {
            0.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        };
        let r = if self.tp + self.fn_ == 0 {
            0.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        };
        let f = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f)
    }
}

fn score(
    gold: &HashMap<String, Vec<Span>>,
    pred: &HashMap<String, Vec<Span>>,
    labels: &BTreeSet<String>,
) -> BTreeMap<String, Counts> {
    let mut c: BTreeMap<String, Counts> = labels
        .iter()
        .map(|l| (l.clone(), Counts::default()))
        .collect();
    for (id, g) in gold {
        let p: Vec<&Span> = pred
            .get(id)
            .map(|v| v.iter().filter(|s| labels.contains(&s.2)).collect())
            .unwrap_or_default();
        let mut used = vec![false; p.len()];
        for gs in g {
            let hit = p.iter().enumerate().find(|(i, ps)| {
                !used[*i] && ps.2 == gs.2 && {
                    let ov = gs.1.min(ps.1).saturating_sub(gs.0.max(ps.0));
                    ov * 2 >= (gs.1 - gs.0).max(ps.1 - ps.0)
                }
            });
            let e = c.entry(gs.2.clone()).or_default();
            match hit {
                Some((i, _)) => {
                    used[i] = true;
                    e.tp += 1;
                }
                None => e.fn_ += 1,
            }
        }
        for (i, ps) in p.iter().enumerate() {
            if !used[i] {
                c.entry(ps.2.clone()).or_default().fp += 1;
            }
        }
    }
    c
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut corpus = None;
    let mut preds: Vec<(String, String)> = Vec::new();
    let mut min_score = 0.0;
    let mut json = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--corpus" => corpus = args.get(i + 1).cloned(),
            "--pred" => {
                let (n, p) = args.get(i + 1).and_then(|a| a.split_once('=')).context("--pred NAME=PATH")?;
                preds.push((n.to_string(), p.to_string()));
            }
            "--min-score" => min_score = args.get(i + 1).context("--min-score N")?.parse()?,
            "--json" => {
                json = true;
                i += 1;
                continue;
            }
            other => bail!("unknown argument {other:?}; usage: --corpus FILE --pred NAME=FILE… [--min-score N] [--json]"),
        }
        i += 2;
    }
    let corpus = corpus.context("--corpus FILE is required")?;
    if preds.is_empty() {
        bail!("give at least one --pred NAME=FILE to score");
    }
    let gold = load(&corpus, "spans", 0.0)?;
    let labels: BTreeSet<String> = gold.values().flatten().map(|s| s.2.clone()).collect();
    let mut results = BTreeMap::new();
    for (name, path) in &preds {
        results.insert(
            name.clone(),
            score(&gold, &load(path, "findings", min_score)?, &labels),
        );
    }
    if json {
        let v: BTreeMap<&String, BTreeMap<&String, [f64; 3]>> = results
            .iter()
            .map(|(n, r)| {
                (
                    n,
                    r.iter()
                        .map(|(l, c)| {
                            let (p, r, f) = c.prf();
                            (l, [p, r, f])
                        })
                        .collect(),
                )
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let names: Vec<&String> = results.keys().collect();
    print!("| entity | gold |");
    for n in &names {
        print!(" {n} P | {n} R | {n} F1 |");
    }
    println!();
    print!("|---|---:|");
    for _ in &names {
        print!("---:|---:|---:|");
    }
    println!();
    let mut micro: BTreeMap<&String, Counts> = BTreeMap::new();
    for l in &labels {
        let g = gold.values().flatten().filter(|s| &s.2 == l).count();
        print!("| {l} | {g} |");
        for n in &names {
            let c = results[*n][l];
            let m = micro.entry(n).or_default();
            m.tp += c.tp;
            m.fp += c.fp;
            m.fn_ += c.fn_;
            let (p, r, f) = c.prf();
            print!(" {p:.3} | {r:.3} | {f:.3} |");
        }
        println!();
    }
    print!("| **micro** | |");
    for n in &names {
        let (p, r, f) = micro[n].prf();
        print!(" {p:.3} | {r:.3} | **{f:.3}** |");
    }
    println!();
    Ok(())
}
