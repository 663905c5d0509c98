//! Measures `scan` on a 1M-row, 10-column Parquet file: rows/s with the default sample
//! (1,000 values per column) and with every value analyzed.
//!
//! Usage: `bench_scan [--rows 1000000] [--file bench/out/scan_1m.parquet] [--json]`
//! The file is generated (seeded) when missing.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use custodia_detect::{Analyzer, AnalyzerConfig};
use custodia_engine::{scan_paths, ScanOptions};
use rand::{rngs::StdRng, Rng, SeedableRng};

const USAGE: &str = "usage: bench_scan [--rows N] [--file PATH] [--json]";

const FIRST: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Sophie", "Lukas", "Marie", "Luca", "Giulia", "Hugo",
    "Lucía", "Mateo", "Anna", "Jan", "Zofia", "Erik",
];
const LAST: &[&str] = &[
    "Smith",
    "Brown",
    "Müller",
    "Schmidt",
    "Martin",
    "Bernard",
    "García",
    "López",
    "Rossi",
    "Russo",
    "de Vries",
    "Jansen",
    "Nowak",
    "Kowalski",
    "Andersson",
    "Johansson",
];
const CITIES: &[&str] = &[
    "Berlin",
    "Paris",
    "Madrid",
    "Rome",
    "Amsterdam",
    "Warsaw",
    "Stockholm",
    "London",
    "Munich",
    "Lyon",
    "Seville",
    "Milan",
];
const REVIEWS: &[&str] = &[
    "Great product, arrived on time.",
    "The battery died after two weeks, very disappointed.",
    "Customer service was friendly and quick.",
    "Would buy again, five stars.",
    "Packaging was damaged but the item was fine.",
];

fn generate(path: &str, rows: usize) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(42);
    let batch_rows = 100_000;
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {path}"))?;
    let mut writer = None;
    let mut done = 0;
    while done < rows {
        let n = batch_rows.min(rows - done);
        let mut names = Vec::with_capacity(n);
        let mut emails = Vec::with_capacity(n);
        let mut phones = Vec::with_capacity(n);
        let mut cities = Vec::with_capacity(n);
        let mut dates = Vec::with_capacity(n);
        let mut amounts = Vec::with_capacity(n);
        let mut countries = Vec::with_capacity(n);
        let mut reviews = Vec::with_capacity(n);
        let mut ips = Vec::with_capacity(n);
        for i in 0..n {
            let f = FIRST[rng.gen_range(0..FIRST.len())];
            let l = LAST[rng.gen_range(0..LAST.len())];
            names.push(format!("{f} {l}"));
            emails.push(format!(
                "{}.{}{}@example.com",
                f.to_lowercase(),
                l.to_lowercase().replace(' ', ""),
                done + i
            ));
            phones.push(format!("+44 20 7946 {:04}", rng.gen_range(0..10_000)));
            cities.push(CITIES[rng.gen_range(0..CITIES.len())].to_string());
            dates.push(format!(
                "20{:02}-{:02}-{:02}",
                rng.gen_range(10..25),
                rng.gen_range(1..13),
                rng.gen_range(1..29)
            ));
            amounts.push(rng.gen_range(1.0..500.0));
            countries.push(["DE", "FR", "ES", "IT", "NL", "PL", "SE", "GB"][rng.gen_range(0..8)]);
            let mut review = REVIEWS[rng.gen_range(0..REVIEWS.len())].to_string();
            if rng.gen_bool(0.1) {
                review.push_str(&format!(
                    " Call me on +44 20 7946 {:04}.",
                    rng.gen_range(0..10_000)
                ));
            }
            reviews.push(review);
            ips.push(format!(
                "{}.{}.{}.{}",
                rng.gen_range(1..224),
                rng.gen_range(0..256),
                rng.gen_range(0..256),
                rng.gen_range(1..255)
            ));
        }
        let col = |v: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        let batch = RecordBatch::try_from_iter([
            (
                "order_id",
                Arc::new(Int64Array::from_iter_values(
                    (done as i64)..(done + n) as i64,
                )) as ArrayRef,
            ),
            ("customer", col(names)),
            ("contact", col(emails)),
            ("phone", col(phones)),
            ("city", col(cities)),
            ("ordered_on", col(dates)),
            ("amount", Arc::new(Float64Array::from(amounts)) as ArrayRef),
            (
                "country",
                Arc::new(StringArray::from(countries)) as ArrayRef,
            ),
            ("review", col(reviews)),
            ("client_ip", col(ips)),
        ])?;
        let w = match &mut writer {
            Some(w) => w,
            None => writer.insert(parquet::arrow::ArrowWriter::try_new(
                file.try_clone()?,
                batch.schema(),
                None,
            )?),
        };
        w.write(&batch)?;
        done += n;
    }
    writer.context("no rows")?.close()?;
    Ok(())
}

fn main() -> Result<()> {
    let mut rows = 1_000_000usize;
    let mut file = "bench/out/scan_1m.parquet".to_string();
    let mut json = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--rows" => rows = it.next().context(USAGE)?.parse().context("--rows")?,
            "--file" => file = it.next().context(USAGE)?,
            "--json" => json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    if !std::path::Path::new(&file).exists() {
        eprintln!("generating {file} ({rows} rows, 10 columns)…");
        generate(&file, rows)?;
    }
    let analyzer = Analyzer::new(AnalyzerConfig::default())?;
    let mut results = Vec::new();
    for (label, sample) in [
        ("sample 1000/column", 1000usize),
        ("every value", usize::MAX),
    ] {
        let t0 = Instant::now();
        let report = scan_paths(
            &analyzer,
            std::slice::from_ref(&file),
            &ScanOptions {
                sample_rows: sample,
            },
            |_| {},
        )?;
        let secs = t0.elapsed().as_secs_f64();
        let n = report.sources[0].rows;
        let found: Vec<String> = report.sources[0]
            .columns
            .iter()
            .map(|c| format!("{}={}", c.name, c.profile.entity.map_or("-", |e| e.name())))
            .collect();
        results.push((label, n, secs, found));
    }
    let threads = rayon::current_num_threads();
    if json {
        let v: Vec<_> = results
            .iter()
            .map(|(l, n, s, _)| serde_json::json!({"mode": l, "rows": n, "seconds": s, "rows_per_s": *n as f64 / s, "threads": threads}))
            .collect();
        println!("{}", serde_json::Value::Array(v));
    } else {
        for (l, n, s, found) in &results {
            println!(
                "scan {l:<20} {n} rows in {s:.2} s = {:>10.0} rows/s ({threads} threads)",
                *n as f64 / s
            );
            println!("  {}", found.join(" "));
        }
    }
    Ok(())
}
