//! Step outputs: streamed to a Parquet file (the file later steps read and a rerun resumes
//! from) while their content hash and column statistics are computed in the same pass.

use std::path::Path;

use arrow::{
    array::{Array, ArrayRef, AsArray, RecordBatch},
    compute::cast,
    datatypes::{DataType, Fields, Float64Type, SchemaRef},
    row::{RowConverter, SortField},
};
use datafusion::{execution::SendableRecordBatchStream, prelude::DataFrame};
use futures::StreamExt;
use parquet::{
    arrow::{
        arrow_writer::{compute_leaves, ArrowColumnWriter, ArrowRowGroupWriterFactory},
        ArrowWriter,
    },
    basic::Compression,
    errors::ParquetError,
    file::{properties::WriterProperties, writer::SerializedFileWriter},
};
use rayon::iter::{
    IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator,
    IntoParallelRefMutIterator, ParallelIterator,
};
use serde::{Deserialize, Serialize};

use crate::EngineError;

/// Largest number of values a numeric column keeps to estimate its deciles.
const SAMPLE: usize = 20_000;

/// Statistics of one dataset version: what drift checks and `lineage diff` compare. They
/// hold counts, rates and moments; deciles and bounds only of columns that are not personal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatasetStats {
    /// Rows.
    pub rows: u64,
    /// Per column, in schema order.
    pub columns: Vec<ColumnStats>,
}

/// Statistics of one column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnStats {
    /// Column name.
    pub name: String,
    /// Arrow type.
    pub data_type: String,
    /// Null cells.
    pub nulls: u64,
    /// Numeric columns: moments, and for columns that are not personal, bounds and deciles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericStats>,
}

/// Moments and (for non-personal columns) the shape of a numeric column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NumericStats {
    /// Non-null values.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub stddev: f64,
    /// Smallest value (non-personal columns only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value (non-personal columns only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The 1st … 99th percentiles, estimated from a sample (non-personal columns only):
    /// enough to compare two versions' distributions later.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percentiles: Vec<f64>,
}

impl DatasetStats {
    /// The statistics of a column, by name.
    pub fn column(&self, name: &str) -> Option<&ColumnStats> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Null rate of a column (0 for an empty dataset).
    pub fn null_rate(&self, name: &str) -> Option<f64> {
        self.column(name).map(|c| {
            if self.rows == 0 {
                0.0
            } else {
                c.nulls as f64 / self.rows as f64
            }
        })
    }
}

/// What writing a step's output produced.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    /// Order-independent content hash (hex): xxh3-128 of each row, summed, then hashed
    /// with the schema and row count.
    pub content_hash: String,
    /// Arrow schema.
    pub schema: SchemaRef,
    /// Column statistics.
    pub stats: DatasetStats,
}

/// Accumulates the content hash and statistics batch by batch.
struct Profiler {
    schema: SchemaRef,
    converter: RowConverter,
    sum: u128,
    rows: u64,
    columns: Vec<ColumnAcc>,
    rng: u64,
}

#[derive(Default)]
struct ColumnAcc {
    nulls: u64,
    numeric: bool,
    shape: bool,
    count: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
    sample: Vec<f64>,
    /// Reservoir sampling (Vitter's algorithm L): the running weight, and the 1-based
    /// number of the next value to take into the full sample.
    weight: f64,
    next_take: u64,
}

fn is_numeric(t: &DataType) -> bool {
    t.is_integer()
        || t.is_floating()
        || matches!(t, DataType::Decimal128(_, _) | DataType::Decimal256(_, _))
}

impl Profiler {
    fn new(schema: SchemaRef, personal: &dyn Fn(&str) -> bool) -> Result<Profiler, EngineError> {
        let fields = schema
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        let converter =
            RowConverter::new(fields).map_err(|e| EngineError::Workspace(e.to_string()))?;
        let columns = schema
            .fields()
            .iter()
            .map(|f| ColumnAcc {
                numeric: is_numeric(f.data_type()),
                shape: !personal(f.name()),
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                ..ColumnAcc::default()
            })
            .collect();
        Ok(Profiler {
            schema,
            converter,
            sum: 0,
            rows: 0,
            columns,
            rng: 0x9E37_79B9_7F4A_7C15,
        })
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: a fixed seed keeps the statistics of the same data the same.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// A uniform draw in (0, 1].
    fn next_unit(&mut self) -> f64 {
        ((self.next_random() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// How many values algorithm L passes over before it takes the next one.
    fn skip(&mut self, weight: f64) -> u64 {
        (self.next_unit().ln() / (1.0 - weight).ln()).floor() as u64
    }

    /// Feeds column `i`'s next values (after `seen` earlier ones) to its reservoir. Once
    /// the sample is full, algorithm L draws how far the next replacement is, instead of
    /// a random number per value.
    fn sample(&mut self, i: usize, mut seen: u64, values: impl Iterator<Item = f64>) {
        for v in values {
            seen += 1;
            let c = &mut self.columns[i];
            if c.sample.len() < SAMPLE {
                c.sample.push(v);
                if c.sample.len() == SAMPLE {
                    self.schedule_take(i, seen, 1.0);
                }
            } else if seen == c.next_take {
                let slot = (self.next_random() % SAMPLE as u64) as usize;
                self.columns[i].sample[slot] = v;
                self.schedule_take(i, seen, self.columns[i].weight);
            }
        }
    }

    /// Algorithm L's step after value number `seen`: shrinks the weight and draws which
    /// later value replaces a sampled one next.
    fn schedule_take(&mut self, i: usize, seen: u64, weight: f64) {
        let w = weight * (self.next_unit().ln() / SAMPLE as f64).exp();
        let next = seen + self.skip(w) + 1;
        let c = &mut self.columns[i];
        (c.weight, c.next_take) = (w, next);
    }

    fn add(&mut self, batch: &RecordBatch) -> Result<(), EngineError> {
        let rows = self
            .converter
            .convert_columns(batch.columns())
            .map_err(|e| EngineError::Workspace(e.to_string()))?;
        for row in rows.iter() {
            self.sum = self
                .sum
                .wrapping_add(xxhash_rust::xxh3::xxh3_128(row.as_ref()));
        }
        self.rows += batch.num_rows() as u64;
        for (i, array) in batch.columns().iter().enumerate() {
            self.columns[i].nulls += array.null_count() as u64;
            if !self.columns[i].numeric {
                continue;
            }
            let floats: ArrayRef = cast(array, &DataType::Float64)
                .map_err(|e| EngineError::Workspace(e.to_string()))?;
            let floats = floats.as_primitive::<Float64Type>();
            let finite = || floats.iter().flatten().filter(|v| v.is_finite());
            // The batch's moments in two passes, merged into the column's (Chan et al.):
            // no division per value, and as accurate as Welford's update.
            let (n, sum) = finite().fold((0u64, 0.0f64), |(n, s), v| (n + 1, s + v));
            if n == 0 {
                continue;
            }
            let batch_mean = sum / n as f64;
            let (mut lo, mut hi, mut m2) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
            for v in finite() {
                lo = lo.min(v);
                hi = hi.max(v);
                m2 += (v - batch_mean) * (v - batch_mean);
            }
            let c = &mut self.columns[i];
            let total = c.count + n;
            let delta = batch_mean - c.mean;
            c.mean += delta * n as f64 / total as f64;
            c.m2 += m2 + delta * delta * c.count as f64 * n as f64 / total as f64;
            let seen_before = c.count;
            c.count = total;
            c.min = c.min.min(lo);
            c.max = c.max.max(hi);
            if c.shape {
                self.sample(i, seen_before, finite());
            }
        }
        Ok(())
    }

    fn finish(self) -> Written {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for f in self.schema.fields() {
            h.update(f.name().as_bytes());
            h.update(&[0]);
            h.update(f.data_type().to_string().as_bytes());
            h.update(&[0]);
        }
        h.update(&self.rows.to_le_bytes());
        h.update(&self.sum.to_le_bytes());
        let content_hash = format!("{:032x}", h.digest128());
        let columns = self
            .schema
            .fields()
            .iter()
            .zip(self.columns)
            .map(|(f, mut c)| ColumnStats {
                name: f.name().clone(),
                data_type: f.data_type().to_string(),
                nulls: c.nulls,
                numeric: c.numeric.then(|| {
                    c.sample.sort_by(f64::total_cmp);
                    let percentiles = if c.sample.is_empty() {
                        Vec::new()
                    } else {
                        (1..100)
                            .map(|k| c.sample[(c.sample.len() - 1) * k / 100])
                            .collect()
                    };
                    NumericStats {
                        count: c.count,
                        mean: c.mean,
                        stddev: if c.count > 0 {
                            (c.m2 / c.count as f64).sqrt()
                        } else {
                            0.0
                        },
                        min: (c.shape && c.count > 0).then_some(c.min),
                        max: (c.shape && c.count > 0).then_some(c.max),
                        percentiles,
                    }
                }),
            })
            .collect();
        Written {
            content_hash,
            schema: self.schema,
            stats: DatasetStats {
                rows: self.rows,
                columns,
            },
        }
    }
}

/// Runs `frame` and writes its rows to `path` (Parquet, atomically: a temporary file in
/// the same folder, synced, then renamed). `personal(column)` says which columns keep no
/// bounds or deciles in the statistics. Returns once every row has been read (so a
/// filter's counts are final) while the file is still being encoded and synced: the
/// caller can do other work meanwhile, then [`Scanned::finish`].
pub(crate) async fn scan_frame(
    frame: DataFrame,
    path: &Path,
    personal: &dyn Fn(&str) -> bool,
) -> Result<Scanned, EngineError> {
    let stream = frame
        .execute_stream()
        .await
        .map_err(|e| EngineError::data(path, e))?;
    write_stream(stream, path, personal).await
}

/// A frame fully read, its Parquet file and statistics still being finished.
pub(crate) struct Scanned {
    path: std::path::PathBuf,
    tmp: tempfile::NamedTempFile,
    encoding: tokio::task::JoinHandle<Result<(), EngineError>>,
    profiling: tokio::task::JoinHandle<Result<Written, EngineError>>,
}

impl Scanned {
    /// Waits for the file (synced) and the statistics, then moves the file into place.
    pub(crate) async fn finish(self) -> Result<Written, EngineError> {
        let joined =
            |e: tokio::task::JoinError| EngineError::Workspace(format!("writer thread: {e}"));
        self.encoding.await.map_err(joined)??;
        let written = self.profiling.await.map_err(joined)??;
        self.tmp
            .persist(&self.path)
            .map_err(|e| EngineError::io(&self.path, e.error))?;
        Ok(written)
    }
}

/// A Parquet writer that encodes the columns of each batch in parallel (on rayon's pool):
/// one thread encoding every column was the longest path of a snapshot, while the scan
/// waited for it. Row groups, pages and file metadata are `ArrowWriter`'s own.
struct ParallelEncoder {
    file: SerializedFileWriter<std::fs::File>,
    factory: ArrowRowGroupWriterFactory,
    fields: Fields,
    max_rows: usize,
    /// The row group being encoded: its column writers and rows so far.
    group: Option<(Vec<ArrowColumnWriter>, usize)>,
}

impl ParallelEncoder {
    fn new(
        writer: ArrowWriter<std::fs::File>,
        fields: Fields,
        max_rows: usize,
    ) -> Result<ParallelEncoder, EngineError> {
        let (file, factory) = writer
            .into_serialized_writer()
            .map_err(|e| EngineError::Workspace(e.to_string()))?;
        Ok(ParallelEncoder {
            file,
            factory,
            fields,
            max_rows: max_rows.max(1),
            group: None,
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            let (writers, rows) = match &mut self.group {
                Some(group) => group,
                None => self.group.insert((
                    self.factory
                        .create_column_writers(self.file.flushed_row_groups().len())?,
                    0,
                )),
            };
            let take = rest.num_rows().min(self.max_rows - *rows);
            let part = rest.slice(0, take);
            rest = rest.slice(take, rest.num_rows() - take);
            let mut leaves = Vec::with_capacity(writers.len());
            for (field, array) in self.fields.iter().zip(part.columns()) {
                leaves.extend(compute_leaves(field, array)?);
            }
            writers
                .par_iter_mut()
                .zip(leaves.par_iter())
                .try_for_each(|(w, leaf)| w.write(leaf))?;
            *rows += take;
            if *rows == self.max_rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Closes the row group being encoded (its columns in parallel) and appends it.
    fn flush(&mut self) -> Result<(), ParquetError> {
        let Some((writers, _)) = self.group.take() else {
            return Ok(());
        };
        let chunks = writers
            .into_par_iter()
            .map(ArrowColumnWriter::close)
            .collect::<Result<Vec<_>, _>>()?;
        let mut group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group)?;
        }
        group.close()?;
        Ok(())
    }

    /// Writes the last row group and the footer.
    fn finish(mut self) -> Result<std::fs::File, ParquetError> {
        self.flush()?;
        self.file.into_inner()
    }
}

/// Batches in flight between the scan and each of the two writer threads.
const IN_FLIGHT: usize = 8;

/// The scan runs on the runtime's workers while two threads of their own encode the
/// Parquet file and profile the rows, so neither keeps a worker from the scan and the
/// three share the cores.
pub(crate) async fn write_stream(
    mut stream: SendableRecordBatchStream,
    path: &Path,
    personal: &dyn Fn(&str) -> bool,
) -> Result<Scanned, EngineError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| EngineError::io(dir, e))?;
    let schema = stream.schema();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX);
    let fields = schema.fields().clone();
    let file = tmp.reopen().map_err(|e| EngineError::io(tmp.path(), e))?;
    let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
        .map_err(|e| EngineError::data(path, e))?;
    let mut profiler = Profiler::new(schema, personal)?;
    let (to_writer, mut writer_rx) = tokio::sync::mpsc::channel::<RecordBatch>(IN_FLIGHT);
    let (to_profiler, mut profiler_rx) = tokio::sync::mpsc::channel::<RecordBatch>(IN_FLIGHT);
    let out = path.to_path_buf();
    let encoding = tokio::task::spawn_blocking(move || {
        let mut encoder = ParallelEncoder::new(writer, fields, max_rows)?;
        while let Some(batch) = writer_rx.blocking_recv() {
            encoder
                .write(&batch)
                .map_err(|e| EngineError::data(&out, e))?;
        }
        let file = encoder.finish().map_err(|e| EngineError::data(&out, e))?;
        file.sync_all().map_err(|e| EngineError::io(&out, e))
    });
    let profiling = tokio::task::spawn_blocking(move || {
        while let Some(batch) = profiler_rx.blocking_recv() {
            profiler.add(&batch)?;
        }
        Ok::<_, EngineError>(profiler.finish())
    });
    let mut scanned = Ok(());
    while let Some(batch) = stream.next().await {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                scanned = Err(EngineError::data(path, e));
                break;
            }
        };
        if batch.num_rows() == 0 {
            continue;
        }
        // A closed channel means that thread failed: its error is reported below.
        if to_profiler.send(batch.clone()).await.is_err() || to_writer.send(batch).await.is_err() {
            break;
        }
    }
    drop((to_writer, to_profiler));
    let out = Scanned {
        path: path.to_path_buf(),
        tmp,
        encoding,
        profiling,
    };
    if let Err(e) = scanned {
        // The threads stop on the closed channels; the temporary file is dropped unrenamed.
        let _ = out.encoding.await;
        let _ = out.profiling.await;
        return Err(e);
    }
    Ok(out)
}

/// The schema as `[[name, type], …]` JSON, for the store.
pub(crate) fn schema_json(schema: &SchemaRef) -> String {
    let cols: Vec<(String, String)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect();
    serde_json::to_string(&cols).expect("schemas serialise")
}

/// Columns of a stored `schema_json`.
pub fn parse_schema_json(text: &str) -> Vec<(String, String)> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Population stability index (PSI) of `new_values` against an old column's percentiles:
/// the shares of the new values in the old column's ten decile bins (0.1 each by
/// construction), compared and ε-smoothed. Below 0.1 is stable, 0.1–0.25 a moderate shift,
/// above 0.25 a significant one. Between two stored versions, pass the new version's
/// percentiles as its values.
pub fn psi(old_percentiles: &[f64], new_values: &[f64]) -> Option<f64> {
    if old_percentiles.len() != 99 || new_values.is_empty() {
        return None;
    }
    // Bins between the old column's distinct deciles. The expected share of each bin is
    // measured on the old percentiles themselves rather than assumed to be a tenth: with
    // repeated values (counts, flags, small integers) deciles coincide and bins merge.
    let mut edges: Vec<f64> = (1..10).map(|k| old_percentiles[k * 10 - 1]).collect();
    edges.dedup();
    let shares = |values: &[f64]| {
        let mut counts = vec![0u64; edges.len() + 1];
        for v in values {
            counts[edges.partition_point(|d| d < v)] += 1;
        }
        counts
            .into_iter()
            .map(|c| c as f64 / values.len() as f64)
            .collect::<Vec<f64>>()
    };
    let (expected, actual) = (shares(old_percentiles), shares(new_values));
    let eps = 1e-4;
    Some(
        expected
            .iter()
            .zip(&actual)
            .map(|(q, p)| {
                let (q, p) = (q.max(eps), p.max(eps));
                (p - q) * (p / q).ln()
            })
            .sum(),
    )
}

/// Read the statistics JSON stored with a version.
pub fn parse_stats(text: &str) -> DatasetStats {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::{
        array::{Float64Array, StringArray},
        datatypes::{Field, Schema},
    };

    use super::*;

    fn batch(ids: &[&str], v: &[f64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("v", DataType::Float64, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(ids.to_vec())),
                Arc::new(Float64Array::from(v.to_vec())),
            ],
        )
        .unwrap()
    }

    fn profile(batches: &[RecordBatch]) -> Written {
        let mut p = Profiler::new(batches[0].schema(), &|c| c == "id").unwrap();
        for b in batches {
            p.add(b).unwrap();
        }
        p.finish()
    }

    #[test]
    fn content_hash_ignores_row_order_and_batching_but_not_content() {
        let a = profile(&[batch(&["a", "b", "c"], &[1.0, 2.0, 3.0])]);
        let b = profile(&[batch(&["c"], &[3.0]), batch(&["a", "b"], &[1.0, 2.0])]);
        let c = profile(&[batch(&["a", "b", "c"], &[1.0, 2.0, 4.0])]);
        assert_eq!(a.content_hash, b.content_hash);
        assert_ne!(a.content_hash, c.content_hash);
        // Duplicated rows count.
        let d = profile(&[batch(&["a", "a"], &[1.0, 1.0])]);
        let e = profile(&[batch(&["a"], &[1.0])]);
        assert_ne!(d.content_hash, e.content_hash);
    }

    #[test]
    fn stats_keep_no_bounds_of_personal_columns_and_psi_sees_a_unit_change() {
        let values: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let ids: Vec<String> = (0..1000).map(|i| format!("id{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let w = profile(&[batch(&ids, &values)]);
        let v = w.stats.column("v").unwrap().numeric.clone().unwrap();
        assert_eq!((v.count, v.min, v.max), (1000, Some(0.0), Some(999.0)));
        assert_eq!(v.percentiles.len(), 99);
        assert!(w.stats.column("id").unwrap().numeric.is_none());
        let same = psi(&v.percentiles, &values).unwrap();
        let cents: Vec<f64> = values.iter().map(|x| x * 100.0).collect();
        let shifted = psi(&v.percentiles, &cents).unwrap();
        assert!(same < 0.01 && shifted > 0.25, "{same} {shifted}");
        // Repeated values (quantities 1–3, a 0/1 flag): deciles coincide; the same
        // distribution is still stable and a real change still shows.
        let pct = |xs: &[f64]| -> Vec<f64> {
            let mut v = xs.to_vec();
            v.sort_by(f64::total_cmp);
            (1..100).map(|k| v[(v.len() - 1) * k / 100]).collect()
        };
        let qty: Vec<f64> = (0..3000).map(|i| (1 + i % 3) as f64).collect();
        let qty2: Vec<f64> = (0..2000).map(|i| (1 + (i * 7) % 3) as f64).collect();
        assert!(psi(&pct(&qty), &pct(&qty2)).unwrap() < 0.1);
        let flag: Vec<f64> = (0..1000).map(|i| f64::from(i % 7 == 0)).collect();
        let flag2: Vec<f64> = (0..1200).map(|i| f64::from(i % 7 == 3)).collect();
        assert!(psi(&pct(&flag), &pct(&flag2)).unwrap() < 0.1);
        let more: Vec<f64> = (0..1000).map(|i| f64::from(i % 2 == 0)).collect();
        assert!(psi(&pct(&flag), &pct(&more)).unwrap() > 0.25);
    }

    #[test]
    fn the_parallel_encoder_splits_row_groups_and_reads_back_unchanged() {
        let batches = [
            batch(&["a", "b", "c", "d", "e"], &[1.0, 2.0, 3.0, 4.0, 5.0]),
            batch(&["f"], &[6.0]),
            batch(&["g", "h", "i", "j", "k", "l", "m"], &[7.0; 7]),
        ];
        let schema = batches[0].schema();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.parquet");
        let writer =
            ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema.clone(), None)
                .unwrap();
        let mut encoder = ParallelEncoder::new(writer, schema.fields().clone(), 3).unwrap();
        for b in &batches {
            encoder.write(b).unwrap();
        }
        encoder.finish().unwrap().sync_all().unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&path).unwrap(),
        )
        .unwrap();
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, [3, 3, 3, 3, 1]);
        assert_eq!(reader.schema(), &schema);
        let read: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
        let read = arrow::compute::concat_batches(&schema, &read).unwrap();
        let written = arrow::compute::concat_batches(&schema, &batches).unwrap();
        assert_eq!(read, written);
    }

    #[test]
    fn moments_merged_batch_by_batch_match_one_pass_and_the_sample_stays_uniform() {
        // 100,000 values around a large offset (where a naive sum of squares loses
        // precision), in uneven batches, with nulls and non-finite values skipped.
        let n = 100_000usize;
        // Rising values: a sampler that kept only the first ones would be caught.
        let value = |i: usize| 1e9 + i as f64 / 100.0;
        let mut batches = Vec::new();
        let mut start = 0;
        for (k, len) in [1usize, 999, 30_000, 7, 68_993].into_iter().enumerate() {
            let ids: Vec<String> = (start..start + len).map(|i| format!("id{i}")).collect();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut v: Vec<Option<f64>> = (start..start + len).map(|i| Some(value(i))).collect();
            if k == 2 {
                v.push(None);
                v.push(Some(f64::NAN));
            }
            let mut ids = ids;
            ids.extend(["null", "nan"].iter().take(v.len() - ids.len()));
            let schema = Arc::new(Schema::new(vec![
                Field::new("id", DataType::Utf8, true),
                Field::new("v", DataType::Float64, true),
            ]));
            batches.push(
                RecordBatch::try_new(
                    schema,
                    vec![
                        Arc::new(StringArray::from(ids)),
                        Arc::new(Float64Array::from(v)),
                    ],
                )
                .unwrap(),
            );
            start += len;
        }
        assert_eq!(start, n);
        let w = profile(&batches);
        let s = w.stats.column("v").unwrap().numeric.clone().unwrap();
        let mean = (0..n).map(value).sum::<f64>() / n as f64;
        let var = (0..n).map(|i| (value(i) - mean).powi(2)).sum::<f64>() / n as f64;
        assert_eq!(s.count, n as u64);
        assert!((s.mean - mean).abs() < 1e-6, "{} vs {mean}", s.mean);
        assert!(
            (s.stddev - var.sqrt()).abs() < 1e-6,
            "{} vs {}",
            s.stddev,
            var.sqrt()
        );
        assert_eq!((s.min, s.max), (Some(1e9), Some(value(n - 1))));
        // The offsets are uniform on 0..1000: so are the sampled percentiles, within a
        // few per cent, although only a fifth of the values fit in the sample.
        for (k, p) in s.percentiles.iter().enumerate() {
            let expected = 1e9 + 10.0 * (k + 1) as f64;
            assert!((p - expected).abs() < 25.0, "p{} = {p}", k + 1);
        }
        // The same rows give the same statistics.
        assert_eq!(profile(&batches).stats, w.stats);
    }
}
