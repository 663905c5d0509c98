//! Consent-filtered training snapshot: Custodia (`Workspace::snapshot`, the code behind
//! `custodia snapshot create` and a pipeline's `snapshot` step) side by side with DuckDB
//! doing the same semi-join and Parquet write, in the same run, on the same files.
//!
//! ```sh
//! bench/snapshot/setup.sh                                   # DuckDB into bench/.venv
//! $T/bench_snapshot --rows 10000000 --subjects 1000000      # all cores
//! taskset -c 0 $T/bench_snapshot --rows 10000000 --subjects 1000000
//! ```
//!
//! Data (generated once per `--dir`, seeded): `orders.parquet` (order_id, customer_id,
//! amount, quantity, country, ordered_at) over `--subjects` customers; a consent ledger
//! where 70% of the customers granted `model_training`, 10% granted then withdrew and 20%
//! never answered — imported into a Custodia workspace (`consent import`, not timed) and
//! exported as `consent.parquet` for DuckDB. Both sides must keep the same rows and the
//! same subjects, or the bench fails.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::Instant,
};

use anyhow::{bail, Context, Result};
use arrow::{
    array::{
        BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    },
    datatypes::{DataType, Field, Schema, TimeUnit},
};
use custodia_bench::{median, process_cpu_seconds, run_duckdb_peer};
use custodia_core::{Purpose, Region};
use custodia_engine::{
    run::{SnapshotOutcome, SnapshotRequest},
    InitOptions, Workspace,
};
use parquet::{arrow::ArrowWriter, basic::Compression, file::properties::WriterProperties};
use rand::{rngs::StdRng, Rng, SeedableRng};

const CONTRACT: &str = "dataset: orders\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: consent\ncolumns:\n  - name: order_id\n    classification: L1\n  - name: customer_id\n    classification: L2\n  - name: amount\n    classification: L0\n  - name: quantity\n    classification: L0\n  - name: country\n    classification: L1\n  - name: ordered_at\n    classification: L1\n";

struct Args {
    rows: usize,
    subjects: usize,
    repeat: usize,
    dir: PathBuf,
    python: PathBuf,
    json: bool,
    no_peer: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        rows: 10_000_000,
        subjects: 1_000_000,
        repeat: 3,
        dir: PathBuf::from("bench/out/snapshot"),
        python: PathBuf::from("bench/.venv/bin/python"),
        json: false,
        no_peer: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = value()?.parse()?,
            "--subjects" => a.subjects = value()?.parse()?,
            "--repeat" => a.repeat = value()?.parse()?,
            "--dir" => a.dir = value()?.into(),
            "--python" => a.python = value()?.into(),
            "--json" => a.json = true,
            "--no-peer" => a.no_peer = true,
            "-h" | "--help" => {
                println!("bench_snapshot [--rows N] [--subjects N] [--repeat R] [--dir bench/out/snapshot] [--python bench/.venv/bin/python] [--json] [--no-peer]");
                std::process::exit(0);
            }
            other => bail!("unknown flag {other:?}; see --help"),
        }
    }
    if a.subjects == 0 || a.rows < a.subjects {
        bail!("--rows must be at least --subjects, and --subjects at least 1");
    }
    Ok(a)
}

/// Consent of customer `i`: 0 granted, 1 granted then withdrew, 2 never answered.
fn consent_of(i: usize) -> u8 {
    // A fixed scramble of i, so the three groups interleave.
    match (i.wrapping_mul(2_654_435_761) >> 7) % 10 {
        0..=6 => 0,
        7 => 1,
        _ => 2,
    }
}

fn writer(path: &Path, schema: Arc<Schema>) -> Result<ArrowWriter<std::fs::File>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    Ok(ArrowWriter::try_new(
        std::fs::File::create(path)?,
        schema,
        Some(props),
    )?)
}

fn generate(a: &Args) -> Result<()> {
    std::fs::create_dir_all(&a.dir)?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("quantity", DataType::Int64, false),
        Field::new("country", DataType::Utf8, false),
        Field::new(
            "ordered_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
    ]));
    let mut rng = StdRng::seed_from_u64(42);
    let mut w = writer(&a.dir.join("orders.parquet"), schema.clone())?;
    let countries = ["DE", "FR", "ES", "IT", "NL", "PL", "SE", "IE"];
    let chunk = 1 << 17;
    let mut start = 0;
    while start < a.rows {
        let n = chunk.min(a.rows - start);
        let ids: Vec<i64> = (start..start + n).map(|i| i as i64).collect();
        // Every customer has at least one order; the rest are spread at random.
        let customers: Vec<String> = (start..start + n)
            .map(|i| {
                let c = if i < a.subjects {
                    i
                } else {
                    rng.gen_range(0..a.subjects)
                };
                format!("C{c:07}")
            })
            .collect();
        let amounts: Vec<f64> = (0..n)
            .map(|_| (rng.gen_range(100..50_000) as f64) / 100.0)
            .collect();
        let qty: Vec<i64> = (0..n).map(|_| rng.gen_range(1..10)).collect();
        let country: Vec<&str> = (0..n)
            .map(|_| countries[rng.gen_range(0..countries.len())])
            .collect();
        let at: Vec<i64> = (0..n)
            .map(|_| 1_735_689_600_000_000 + rng.gen_range(0..31_536_000_000_000i64))
            .collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(customers)),
                Arc::new(Float64Array::from(amounts)),
                Arc::new(Int64Array::from(qty)),
                Arc::new(StringArray::from(country)),
                Arc::new(TimestampMicrosecondArray::from(at)),
            ],
        )?;
        w.write(&batch)?;
        start += n;
    }
    w.close()?;

    // The ledger: a CMP export for Custodia, the same events as Parquet for DuckDB.
    let t0: i64 = 1_704_067_200_000_000; // 2024-01-01
    let mut csv = std::io::BufWriter::new(std::fs::File::create(a.dir.join("consent.csv"))?);
    writeln!(csv, "customer_id,purpose,status,timestamp")?;
    let (mut sid, mut granted, mut at) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..a.subjects {
        let c = consent_of(i);
        if c == 2 {
            continue;
        }
        let when = t0 + i as i64 * 1_000_000;
        let mut event = |g: bool, us: i64| -> Result<()> {
            writeln!(
                csv,
                "C{i:07},model_training,{},{}",
                if g { "granted" } else { "withdrawn" },
                custodia_engine::time::format_rfc3339(us)
            )?;
            sid.push(format!("C{i:07}"));
            granted.push(g);
            at.push(us);
            Ok(())
        };
        event(true, when)?;
        if c == 1 {
            event(false, when + 86_400_000_000)?;
        }
    }
    csv.flush()?;
    let n = sid.len();
    let schema = Arc::new(Schema::new(vec![
        Field::new("subject_id", DataType::Utf8, false),
        Field::new("purpose", DataType::Utf8, false),
        Field::new("granted", DataType::Boolean, false),
        Field::new("at_us", DataType::Int64, false),
        Field::new("id", DataType::Int64, false),
    ]));
    let mut w = writer(&a.dir.join("consent.parquet"), schema.clone())?;
    w.write(&RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(sid)),
            Arc::new(StringArray::from(vec!["model_training"; n])),
            Arc::new(BooleanArray::from(granted)),
            Arc::new(Int64Array::from(at)),
            Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())),
        ],
    )?)?;
    w.close()?;
    std::fs::write(
        a.dir.join("generated.txt"),
        format!("{} {}\n", a.rows, a.subjects),
    )?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let stamp = a.dir.join("generated.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref()
        != Some(&format!("{} {}\n", a.rows, a.subjects))
    {
        eprintln!(
            "generating {} orders over {} customers in {}",
            a.rows,
            a.subjects,
            a.dir.display()
        );
        generate(&a)?;
    }
    let orders = std::fs::canonicalize(a.dir.join("orders.parquet"))?;
    let threads = std::thread::available_parallelism()?.get();

    // A fresh workspace with the contract and the imported ledger (setup, not timed).
    let ws_dir = a.dir.join("ws");
    let _ = std::fs::remove_dir_all(&ws_dir);
    let (ws, _) = Workspace::init(&ws_dir, InitOptions::default()).await?;
    std::fs::create_dir_all(ws_dir.join("contracts"))?;
    std::fs::write(ws_dir.join("contracts/orders.yaml"), CONTRACT)?;
    ws.apply_contracts(&[ws_dir.join("contracts")]).await?;
    let t = Instant::now();
    let imported = ws
        .consent_import(&Region::new("eu")?, &a.dir.join("consent.csv"), "eu")
        .await?;
    eprintln!(
        "imported {} consent events in {:.1} s (setup, not timed)",
        imported.events,
        t.elapsed().as_secs_f64()
    );

    let req = SnapshotRequest {
        name: "bench_training".into(),
        source: orders.display().to_string(),
        dataset: "orders".into(),
        purpose: Purpose::new("model_training")?,
        role: Some("ml_engineer".into()),
    };
    // The two run in turns (Custodia, DuckDB, Custodia, …) so a slow spell of a shared
    // machine falls on both rather than on whichever ran during it.
    let out = a.dir.join("duckdb-out");
    let mut rows_kept = (0, 0);
    let mut custodia = Vec::new();
    let mut duck = Vec::new();
    let mut version = String::new();
    let mut custodia_cpu = Vec::new();
    let mut duck_cpu = Vec::new();
    for _ in 0..a.repeat {
        let t = Instant::now();
        let cpu = process_cpu_seconds()?;
        let outcome = ws.snapshot(&req).await?;
        let secs = t.elapsed().as_secs_f64();
        custodia_cpu.push(process_cpu_seconds()? - cpu);
        let SnapshotOutcome::Created(r) = outcome else {
            bail!("the policy denied the snapshot: {outcome:?}");
        };
        custodia.push(secs);
        let kept = (r.rows, r.manifest.subjects);
        eprintln!(
            "custodia: {secs:.2} s ({:.2} s CPU), {} of {} rows, {} subjects",
            custodia_cpu.last().copied().unwrap_or(0.0),
            r.rows,
            r.enforcement.rows_read,
            r.manifest.subjects
        );
        if a.no_peer {
            continue;
        }
        let (secs, cpu, theirs, v) = run_duckdb(&a, &orders, &out, threads)?;
        duck_cpu.push(cpu);
        if theirs != kept {
            bail!("DuckDB kept {theirs:?} (rows, subjects), Custodia {kept:?}: the two disagree");
        }
        eprintln!("duckdb {v}: {secs:.2} s ({cpu:.2} s CPU)");
        duck.push(secs);
        version = v;
        rows_kept = kept;
    }
    if a.no_peer {
        // Custodia alone (for profiling): no ratio to report.
        println!("{{\"custodia_s\": {}}}", median(custodia));
        return Ok(());
    }
    let (c, d) = (median(custodia), median(duck));
    let report = serde_json::json!({
        "rows": a.rows,
        "subjects": a.subjects,
        "threads": threads,
        "rows_kept": rows_kept.0,
        "subjects_kept": rows_kept.1,
        "custodia_s": c,
        "duckdb_s": d,
        "duckdb_version": version,
        "custodia_over_duckdb": c / d,
        "custodia_cpu_s": median(custodia_cpu.clone()),
        "duckdb_cpu_s": median(duck_cpu.clone()),
        "cpu_custodia_over_duckdb": median(custodia_cpu) / median(duck_cpu),
    });
    if a.json {
        println!("{report}");
    } else {
        println!(
            "| {} rows / {} subjects, {threads} thread(s) | Custodia {c:.2} s | DuckDB {version} {d:.2} s | Custodia/DuckDB {:.2} |",
            a.rows,
            a.subjects,
            c / d
        );
    }
    Ok(())
}

/// One timed DuckDB run (the second of two in a fresh process): its seconds, CPU seconds,
/// (rows, subjects) kept, and DuckDB's version.
fn run_duckdb(
    a: &Args,
    orders: &std::path::Path,
    out: &std::path::Path,
    threads: usize,
) -> Result<(f64, f64, (u64, u64), String)> {
    let v = run_duckdb_peer(
        Command::new(&a.python)
            .arg("bench/snapshot/run_duckdb.py")
            .arg("--orders")
            .arg(orders)
            .arg("--consent")
            .arg(a.dir.join("consent.parquet"))
            .args(["--purpose", "model_training", "--out"])
            .arg(out)
            .args(["--threads", &threads.to_string()])
            // Two in one process, the second timed: Custodia's runs share one warm process too.
            .args(["--repeat", "2"]),
    )?;
    Ok((
        v["seconds"].as_f64().unwrap_or(f64::NAN),
        v["cpu_seconds"].as_f64().unwrap_or(f64::NAN),
        (
            v["rows_out"].as_u64().unwrap_or(0),
            v["subjects_out"].as_u64().unwrap_or(0),
        ),
        v["version"].as_str().unwrap_or("").to_string(),
    ))
}
