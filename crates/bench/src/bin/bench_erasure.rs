//! Erasure of 1,000 subjects from 50M rows in 100 Parquet files: Custodia's file erasure
//! (`dsar::erase_from_files`, what `custodia dsar run` does to each file: check the key
//! column, rewrite in place only a file that holds a subject) side by side with DuckDB
//! rewriting the same files with an anti-join, in the same run, in turns.
//!
//! ```sh
//! bench/snapshot/setup.sh                                   # DuckDB into bench/.venv
//! $T/bench_erasure --layout clustered                       # subjects in 4 of the files
//! $T/bench_erasure --layout spread                          # subjects in every file
//! ```
//!
//! Data (generated once per `--dir`, seeded): `--files` Parquet files of
//! `--rows / --files` rows each (customer_id, event_time, amount, quantity, country,
//! channel), bucketed by customer as feature and event stores are: file k holds its own
//! customers, ten rows each, interleaved. `--layout clustered` erases `--subjects`
//! customers of four buckets (one tenant's, one cohort's); `--layout spread` erases
//! customers drawn from all of them. DuckDB is timed twice: rewriting every file (the
//! anti-join rewrite), and rewriting only the files a first query finds holding a
//! subject. Both sides must keep the same rows, or the bench fails.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::Instant,
};

use anyhow::{bail, Context, Result};
use arrow::{
    array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray},
    datatypes::{DataType, Field, Schema, TimeUnit},
};
use custodia_bench::{median, process_cpu_seconds, run_duckdb_peer};
use custodia_core::{SubjectId, SubjectKind};
use parquet::{arrow::ArrowWriter, basic::Compression, file::properties::WriterProperties};
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

/// Rows per customer.
const ROWS_EACH: usize = 10;

struct Args {
    rows: usize,
    files: usize,
    subjects: usize,
    layout: String,
    repeat: usize,
    dir: PathBuf,
    python: PathBuf,
    json: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        rows: 50_000_000,
        files: 100,
        subjects: 1_000,
        layout: "clustered".into(),
        repeat: 3,
        dir: PathBuf::from("bench/out/erasure"),
        python: PathBuf::from("bench/.venv/bin/python"),
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = value()?.parse()?,
            "--files" => a.files = value()?.parse()?,
            "--subjects" => a.subjects = value()?.parse()?,
            "--layout" => a.layout = value()?,
            "--repeat" => a.repeat = value()?.parse()?,
            "--dir" => a.dir = value()?.into(),
            "--python" => a.python = value()?.into(),
            "--json" => a.json = true,
            "-h" | "--help" => {
                println!("bench_erasure [--rows 50000000] [--files 100] [--subjects 1000] [--layout clustered|spread] [--repeat 3] [--dir bench/out/erasure] [--python bench/.venv/bin/python] [--json]");
                std::process::exit(0);
            }
            other => bail!("unknown flag {other:?}; see --help"),
        }
    }
    if a.files == 0 || !a.rows.is_multiple_of(a.files * ROWS_EACH) {
        bail!("--rows must be a multiple of --files × {ROWS_EACH}");
    }
    if !matches!(a.layout.as_str(), "clustered" | "spread") {
        bail!("--layout is clustered or spread");
    }
    if a.subjects > a.rows / ROWS_EACH / a.files * 4 {
        bail!("--subjects is more than four buckets hold");
    }
    Ok(a)
}

fn customer(i: usize) -> String {
    format!("C{i:09}")
}

/// Writes the files (once per size).
fn generate(a: &Args, data: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(data);
    std::fs::create_dir_all(data)?;
    let per_file = a.rows / a.files;
    let customers = per_file / ROWS_EACH;
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("amount", DataType::Float64, false),
        Field::new("quantity", DataType::Int64, false),
        Field::new("country", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
    ]));
    const COUNTRIES: [&str; 8] = ["DE", "FR", "GB", "ES", "IT", "NL", "PL", "SE"];
    const CHANNELS: [&str; 3] = ["web", "app", "store"];
    for f in 0..a.files {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let file = std::fs::File::create(data.join(format!("part-{f:03}.parquet")))?;
        let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        for chunk in (0..per_file).collect::<Vec<_>>().chunks(65_536) {
            // Customers interleave: row r of the file is customer (r × 7919) mod n.
            let ids: Vec<usize> = chunk
                .iter()
                .map(|r| f * customers + (r * 7919) % customers)
                .collect();
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from_iter_values(
                        ids.iter().map(|i| customer(*i)),
                    )),
                    Arc::new(TimestampMicrosecondArray::from_iter_values(
                        chunk
                            .iter()
                            .map(|r| 1_767_225_600_000_000 + (f * per_file + r) as i64 * 1_000_000),
                    )),
                    Arc::new(Float64Array::from_iter_values(
                        chunk.iter().map(|r| ((r * 37) % 10_000) as f64 / 100.0),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        chunk.iter().map(|r| (r % 7) as i64 + 1),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        ids.iter().map(|i| COUNTRIES[i % COUNTRIES.len()]),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        chunk.iter().map(|r| CHANNELS[r % CHANNELS.len()]),
                    )),
                ],
            )?;
            w.write(&batch)?;
        }
        w.close()?;
    }
    Ok(())
}

/// The customers to erase.
fn subjects(a: &Args) -> Vec<usize> {
    let customers = a.rows / a.files / ROWS_EACH;
    let mut rng = StdRng::seed_from_u64(7);
    match a.layout.as_str() {
        "clustered" => {
            let buckets = [
                a.files / 10,
                a.files * 35 / 100,
                a.files * 6 / 10,
                a.files * 85 / 100,
            ];
            let mut out = Vec::new();
            for (k, b) in buckets.iter().enumerate() {
                let take = a.subjects / 4 + usize::from(k < a.subjects % 4);
                let mut pool: Vec<usize> = (0..customers).collect();
                pool.shuffle(&mut rng);
                out.extend(pool[..take].iter().map(|i| b * customers + i));
            }
            out
        }
        _ => {
            let mut pool: Vec<usize> = (0..customers * a.files).collect();
            pool.shuffle(&mut rng);
            pool.truncate(a.subjects);
            pool
        }
    }
}

/// A fresh working copy of the data: hard links, since an erasure replaces a file by
/// renaming a new one over it and never writes into the old one.
fn fresh_copy(data: &Path, work: &Path) -> Result<Vec<PathBuf>> {
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work)?;
    let mut files = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(data)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    names.sort();
    for p in names {
        let to = work.join(p.file_name().context("a file name")?);
        std::fs::hard_link(&p, &to)?;
        files.push(to);
    }
    Ok(files)
}

fn parquet_rows(files: &[PathBuf]) -> Result<u64> {
    let mut n = 0;
    for f in files {
        let r = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(f)?)?;
        n += parquet::file::reader::FileReader::metadata(&r)
            .file_metadata()
            .num_rows() as u64;
    }
    Ok(n)
}

struct Duck {
    seconds: f64,
    cpu: f64,
    rows_out: u64,
    files_rewritten: u64,
    version: String,
}

fn run_duckdb(
    a: &Args,
    data: &Path,
    erased: &Path,
    targeted: bool,
    threads: usize,
) -> Result<Duck> {
    let out = a.dir.join(if targeted {
        "duck-targeted"
    } else {
        "duck-all"
    });
    let mut cmd = Command::new(&a.python);
    cmd.arg("bench/erasure/run_duckdb.py")
        .arg("--data")
        .arg(data)
        .arg("--erase")
        .arg(erased)
        .arg("--out")
        .arg(&out)
        .args(["--threads", &threads.to_string(), "--repeat", "2"]);
    if targeted {
        cmd.arg("--targeted");
    }
    let v = run_duckdb_peer(&mut cmd)?;
    Ok(Duck {
        seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
        cpu: v["cpu_seconds"].as_f64().unwrap_or(f64::NAN),
        rows_out: v["rows_out"].as_u64().unwrap_or(0),
        files_rewritten: v["files_rewritten"].as_u64().unwrap_or(0),
        version: v["version"].as_str().unwrap_or("").into(),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let data = a.dir.join("data");
    let stamp = a.dir.join("generated.txt");
    let size = format!("{} {}\n", a.rows, a.files);
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(size.as_str()) {
        eprintln!(
            "generating {} rows in {} files under {}",
            a.rows,
            a.files,
            data.display()
        );
        generate(&a, &data)?;
        std::fs::write(&stamp, &size)?;
    }
    let data = std::fs::canonicalize(&data)?;
    let chosen = subjects(&a);
    // The erase list for DuckDB: one column, customer_id.
    let erased = a.dir.join(format!("erase-{}.parquet", a.layout));
    {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "customer_id",
            DataType::Utf8,
            false,
        )]));
        let mut w = ArrowWriter::try_new(std::fs::File::create(&erased)?, schema.clone(), None)?;
        w.write(&RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from_iter_values(
                chosen.iter().map(|i| customer(*i)),
            ))],
        )?)?;
        w.close()?;
    }
    let erased = std::fs::canonicalize(&erased)?;
    let ids: Vec<SubjectId> = chosen
        .iter()
        .map(|i| SubjectId::new(SubjectKind::CustomerId, &customer(*i)))
        .collect::<Result<_, _>>()?;
    let threads = std::thread::available_parallelism()?.get();
    let total = (a.rows) as u64;
    let expected = total - (chosen.len() * ROWS_EACH) as u64;

    let work = a.dir.join("custodia-work");
    let (mut ours, mut ours_cpu, mut all, mut all_cpu, mut tgt, mut tgt_cpu) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut rewritten, mut duck_all_files, mut duck_tgt_files, mut version) =
        (0, 0, 0, String::new());
    for turn in 0..a.repeat {
        let files = fresh_copy(&data, &work)?;
        let t = Instant::now();
        let cpu = process_cpu_seconds()?;
        let done = custodia_engine::dsar::erase_from_files(
            &files,
            "customer_id",
            SubjectKind::CustomerId,
            &ids,
            threads,
        )
        .await?;
        let secs = t.elapsed().as_secs_f64();
        ours_cpu.push(process_cpu_seconds()? - cpu);
        ours.push(secs);
        rewritten = done.iter().filter(|f| f.content_hash.is_some()).count();
        let kept = parquet_rows(&files)?;
        if kept != expected {
            bail!("Custodia kept {kept} rows, {expected} expected");
        }
        eprintln!(
            "turn {turn}: custodia {secs:.2} s ({:.2} s CPU), {rewritten} files rewritten",
            ours_cpu.last().copied().unwrap_or(0.0)
        );
        for targeted in [false, true] {
            let d = run_duckdb(&a, &data, &erased, targeted, threads)?;
            if d.rows_out != expected && !targeted {
                bail!("DuckDB kept {} rows, {expected} expected", d.rows_out);
            }
            eprintln!(
                "turn {turn}: duckdb {} {}: {:.2} s ({:.2} s CPU), {} files rewritten",
                d.version,
                if targeted { "targeted" } else { "all files" },
                d.seconds,
                d.cpu,
                d.files_rewritten
            );
            version = d.version;
            if targeted {
                tgt.push(d.seconds);
                tgt_cpu.push(d.cpu);
                duck_tgt_files = d.files_rewritten;
            } else {
                all.push(d.seconds);
                all_cpu.push(d.cpu);
                duck_all_files = d.files_rewritten;
            }
        }
    }
    let (c, d, dt) = (median(ours), median(all), median(tgt));
    let report = serde_json::json!({
        "rows": a.rows,
        "files": a.files,
        "subjects": chosen.len(),
        "layout": a.layout,
        "threads": threads,
        "rows_kept": expected,
        "custodia_s": c,
        "custodia_cpu_s": median(ours_cpu),
        "custodia_files_rewritten": rewritten,
        "duckdb_version": version,
        "duckdb_all_s": d,
        "duckdb_all_cpu_s": median(all_cpu),
        "duckdb_all_files_rewritten": duck_all_files,
        "duckdb_targeted_s": dt,
        "duckdb_targeted_cpu_s": median(tgt_cpu),
        "duckdb_targeted_files_rewritten": duck_tgt_files,
        "custodia_over_duckdb_all": c / d,
        "custodia_over_duckdb_targeted": c / dt,
    });
    if a.json {
        println!("{report}");
    } else {
        println!(
            "| {} rows, {} files, {} subjects ({}) | Custodia {c:.2} s, {rewritten} files | DuckDB anti-join {d:.2} s, {duck_all_files} files | DuckDB targeted {dt:.2} s, {duck_tgt_files} files | Custodia/DuckDB {:.2} / {:.2} |",
            a.rows,
            a.files,
            chosen.len(),
            a.layout,
            c / d,
            c / dt
        );
    }
    Ok(())
}
