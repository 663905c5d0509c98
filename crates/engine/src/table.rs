//! Datasets as tables: read CSV, JSONL, Parquet files and SQLite tables; write CSV, JSONL and
//! Parquet atomically (temp file in the destination folder, then rename).

use std::{
    fs::File,
    io::{BufRead, BufReader, BufWriter, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow::{
    array::{Array, ArrayRef, AsArray, RecordBatch, StringArray},
    compute::cast,
    datatypes::{DataType, Field, Schema},
};
use parquet::arrow::{arrow_reader::ParquetRecordBatchReaderBuilder, ArrowWriter};
use serde_json::{Map, Value};

use crate::EngineError;

/// A file format Custodia reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet.
    Parquet,
    /// A table in a SQLite database (read only).
    Sqlite,
}

impl Format {
    /// The format a path's extension names.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "parquet" | "pq" => Some(Format::Parquet),
            "db" | "sqlite" | "sqlite3" => Some(Format::Sqlite),
            _ => None,
        }
    }
}

enum Data {
    /// CSV and SQLite: every cell as text.
    Text(Vec<Vec<Option<String>>>),
    /// JSONL: the original objects, so untouched fields keep their JSON types.
    Json(Vec<Map<String, Value>>),
    /// Parquet: the original batches and types.
    Arrow(Vec<RecordBatch>),
}

/// A dataset loaded in memory.
pub struct Table {
    /// Where it came from (file path, or `sqlite://file#table`).
    pub source: PathBuf,
    /// Its format.
    pub format: Format,
    /// Column names in order.
    pub columns: Vec<String>,
    data: Data,
}

impl Table {
    /// Reads a CSV, JSONL or Parquet file (format by extension).
    pub fn read(path: &Path) -> Result<Table, EngineError> {
        match Format::from_path(path) {
            Some(Format::Csv) => read_csv(path),
            Some(Format::Jsonl) => read_jsonl(path),
            Some(Format::Parquet) => read_parquet(path),
            _ => Err(EngineError::UnsupportedFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        match &self.data {
            Data::Text(r) => r.len(),
            Data::Json(r) => r.len(),
            Data::Arrow(b) => b.iter().map(RecordBatch::num_rows).sum(),
        }
    }

    /// The Arrow-ish type of a column, for contracts: `string`, `integer`, `float`…
    pub fn column_type(&self, idx: usize) -> &'static str {
        match &self.data {
            Data::Arrow(b) if !b.is_empty() => match b[0].schema().field(idx).data_type() {
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::UInt64 => "integer",
                DataType::Float16
                | DataType::Float32
                | DataType::Float64
                | DataType::Decimal128(_, _) => "float",
                DataType::Boolean => "boolean",
                DataType::Date32 | DataType::Date64 => "date",
                DataType::Timestamp(_, _) => "timestamp",
                DataType::Binary | DataType::LargeBinary => "binary",
                _ => "string",
            },
            _ => "string",
        }
    }

    /// Up to `limit` values of a column as text (nulls as `None`).
    pub fn column_values(&self, idx: usize, limit: usize) -> Vec<Option<String>> {
        let name = &self.columns[idx];
        match &self.data {
            Data::Text(rows) => rows.iter().take(limit).map(|r| r[idx].clone()).collect(),
            Data::Json(rows) => rows
                .iter()
                .take(limit)
                .map(|r| r.get(name).and_then(json_text))
                .collect(),
            Data::Arrow(batches) => {
                let mut out = Vec::new();
                for b in batches {
                    if out.len() >= limit {
                        break;
                    }
                    let take = (limit - out.len()).min(b.num_rows());
                    let col = b.column(idx).slice(0, take);
                    match as_strings(&col) {
                        Some(s) => out.extend(
                            (0..s.len()).map(|i| s.is_valid(i).then(|| s.value(i).to_string())),
                        ),
                        None => out.extend(std::iter::repeat_n(None, take)),
                    }
                }
                out
            }
        }
    }

    /// Rewrites the given columns cell by cell; `f(column, row, value)` returns the new text
    /// (`None` keeps a null). Rewritten Parquet columns become strings.
    pub fn rewrite_columns(
        &mut self,
        columns: &[usize],
        f: &(dyn Fn(usize, usize, &str) -> Result<String, EngineError> + Sync),
    ) -> Result<(), EngineError> {
        let names = self.columns.clone();
        match &mut self.data {
            Data::Text(rows) => {
                for (r, row) in rows.iter_mut().enumerate() {
                    for &c in columns {
                        if let Some(v) = &row[c] {
                            row[c] = Some(f(c, r, v)?);
                        }
                    }
                }
            }
            Data::Json(rows) => {
                for (r, row) in rows.iter_mut().enumerate() {
                    for &c in columns {
                        if let Some(v) = row.get(&names[c]).and_then(json_text) {
                            row.insert(names[c].clone(), Value::String(f(c, r, &v)?));
                        }
                    }
                }
            }
            Data::Arrow(batches) => {
                let mut first_row = 0;
                for b in batches.iter_mut() {
                    let mut cols: Vec<ArrayRef> = b.columns().to_vec();
                    let mut fields: Vec<Field> = b
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.as_ref().clone())
                        .collect();
                    for &c in columns {
                        let Some(s) = as_strings(&cols[c]) else {
                            continue;
                        };
                        let mut out = Vec::with_capacity(s.len());
                        for i in 0..s.len() {
                            out.push(if s.is_valid(i) {
                                Some(f(c, first_row + i, s.value(i))?)
                            } else {
                                None
                            });
                        }
                        cols[c] = Arc::new(StringArray::from(out));
                        fields[c] = Field::new(fields[c].name(), DataType::Utf8, true);
                    }
                    first_row += b.num_rows();
                    *b = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
                        .map_err(|e| EngineError::data(&self.source, e))?;
                }
            }
        }
        Ok(())
    }

    /// Keeps the rows whose flag is set (one flag per row, in order).
    pub fn retain_rows(&mut self, keep: &[bool]) -> Result<(), EngineError> {
        if keep.len() != self.rows() {
            return Err(EngineError::Workspace(format!(
                "{}: {} row flags for {} rows",
                self.source.display(),
                keep.len(),
                self.rows()
            )));
        }
        let mut flags = keep.iter();
        match &mut self.data {
            Data::Text(rows) => rows.retain(|_| *flags.next().expect("one flag per row")),
            Data::Json(rows) => rows.retain(|_| *flags.next().expect("one flag per row")),
            Data::Arrow(batches) => {
                let mut at = 0;
                for b in batches.iter_mut() {
                    let mask =
                        arrow::array::BooleanArray::from(keep[at..at + b.num_rows()].to_vec());
                    at += b.num_rows();
                    *b = arrow::compute::filter_record_batch(b, &mask)
                        .map_err(|e| EngineError::data(&self.source, e))?;
                }
            }
        }
        Ok(())
    }

    /// Keeps only the columns at these positions, in this order.
    pub fn select(&mut self, keep: &[usize]) -> Result<(), EngineError> {
        let names: Vec<String> = keep.iter().map(|&i| self.columns[i].clone()).collect();
        match &mut self.data {
            Data::Text(rows) => {
                for r in rows.iter_mut() {
                    *r = keep.iter().map(|&i| r[i].take()).collect();
                }
            }
            Data::Json(rows) => {
                for r in rows.iter_mut() {
                    r.retain(|k, _| names.contains(k));
                }
            }
            Data::Arrow(batches) => {
                for b in batches.iter_mut() {
                    *b = b
                        .project(keep)
                        .map_err(|e| EngineError::data(&self.source, e))?;
                }
            }
        }
        self.columns = names;
        Ok(())
    }

    /// Writes the table to `path` in the format its extension names, atomically.
    pub fn write(&self, path: &Path) -> Result<(), EngineError> {
        let format = Format::from_path(path)
            .filter(|f| *f != Format::Sqlite)
            .ok_or_else(|| EngineError::UnsupportedFormat {
                path: path.to_path_buf(),
            })?;
        atomic_write(path, |w| match format {
            Format::Csv => self.write_csv(w),
            Format::Jsonl => self.write_jsonl(w),
            _ => self.write_parquet(w),
        })
    }

    fn write_csv(&self, w: &mut (dyn Write + Send)) -> Result<(), String> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(&self.columns).map_err(|e| e.to_string())?;
        for i in 0..self.rows() {
            let row: Vec<String> = (0..self.columns.len())
                .map(|c| self.cell(i, c).unwrap_or_default())
                .collect();
            out.write_record(&row).map_err(|e| e.to_string())?;
        }
        out.flush().map_err(|e| e.to_string())
    }

    fn write_jsonl(&self, w: &mut (dyn Write + Send)) -> Result<(), String> {
        let mut w = BufWriter::new(w);
        for i in 0..self.rows() {
            let obj: Map<String, Value> = match &self.data {
                Data::Json(rows) => rows[i].clone(),
                _ => self
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(c, n)| {
                        (
                            n.clone(),
                            self.cell(i, c).map(Value::String).unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
            };
            serde_json::to_writer(&mut w, &obj).map_err(|e| e.to_string())?;
            w.write_all(b"\n").map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| e.to_string())
    }

    fn write_parquet(&self, w: &mut (dyn Write + Send)) -> Result<(), String> {
        let batches = match &self.data {
            Data::Arrow(b) => b.clone(),
            _ => {
                let fields: Vec<Field> = self
                    .columns
                    .iter()
                    .map(|n| Field::new(n, DataType::Utf8, true))
                    .collect();
                let cols: Vec<ArrayRef> = (0..self.columns.len())
                    .map(|c| {
                        Arc::new(StringArray::from(
                            (0..self.rows())
                                .map(|i| self.cell(i, c))
                                .collect::<Vec<_>>(),
                        )) as ArrayRef
                    })
                    .collect();
                vec![RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
                    .map_err(|e| e.to_string())?]
            }
        };
        let schema = batches.first().map(|b| b.schema()).unwrap_or_else(|| {
            Arc::new(Schema::new(
                self.columns
                    .iter()
                    .map(|n| Field::new(n, DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            ))
        });
        let mut writer = ArrowWriter::try_new(w, schema, None).map_err(|e| e.to_string())?;
        for b in &batches {
            writer.write(b).map_err(|e| e.to_string())?;
        }
        writer.close().map(|_| ()).map_err(|e| e.to_string())
    }

    fn cell(&self, row: usize, col: usize) -> Option<String> {
        match &self.data {
            Data::Text(rows) => rows[row][col].clone(),
            Data::Json(rows) => rows[row].get(&self.columns[col]).and_then(json_text),
            Data::Arrow(batches) => {
                let mut r = row;
                for b in batches {
                    if r < b.num_rows() {
                        let col = b.column(col).slice(r, 1);
                        return as_strings(&col)
                            .and_then(|s| s.is_valid(0).then(|| s.value(0).to_string()));
                    }
                    r -= b.num_rows();
                }
                None
            }
        }
    }

    pub(crate) fn from_text(
        source: PathBuf,
        format: Format,
        columns: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
    ) -> Table {
        Table {
            source,
            format,
            columns,
            data: Data::Text(rows),
        }
    }
}

/// Casts any array to Utf8 for detection; `None` for types with no text form.
fn as_strings(a: &ArrayRef) -> Option<StringArray> {
    let utf8 = if a.data_type() == &DataType::Utf8 {
        a.clone()
    } else {
        cast(a, &DataType::Utf8).ok()?
    };
    Some(utf8.as_string::<i32>().clone())
}

fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Writes through a temp file in the destination folder, fsyncs, and renames into place.
pub(crate) fn atomic_write(
    path: &Path,
    write: impl FnOnce(&mut (dyn Write + Send)) -> Result<(), String>,
) -> Result<(), EngineError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".custodia-tmp-")
        .tempfile_in(&dir)
        .map_err(|e| EngineError::io(&dir, e))?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        write(&mut w).map_err(|m| EngineError::data(path, m))?;
        w.flush().map_err(|e| EngineError::io(path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| EngineError::io(path, e))?;
    tmp.persist(path)
        .map_err(|e| EngineError::io(path, e.error))?;
    Ok(())
}

fn open(path: &Path) -> Result<File, EngineError> {
    File::open(path).map_err(|e| EngineError::io(path, e))
}

fn read_csv(path: &Path) -> Result<Table, EngineError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(open(path)?);
    let bad = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        let message = match e.kind() {
            csv::ErrorKind::Utf8 { err, .. } => format!(
                "invalid UTF-8 in field {}; re-encode the file as UTF-8 (e.g. `iconv -t UTF-8`)",
                err.field() + 1
            ),
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
                "row has {len} fields but the header has {expected_len}; quote fields that contain commas"
            ),
            _ => "malformed CSV; check quoting on this line".to_string(),
        };
        EngineError::BadInput {
            path: path.to_path_buf(),
            line,
            message,
        }
    };
    let columns: Vec<String> = rdr
        .headers()
        .map_err(bad)?
        .iter()
        .map(str::to_string)
        .collect();
    if columns.is_empty() {
        return Err(EngineError::BadInput {
            path: path.to_path_buf(),
            line: 1,
            message: "empty file: a CSV needs a header row".into(),
        });
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(bad)?;
        rows.push(rec.iter().map(|v| Some(v.to_string())).collect());
    }
    Ok(Table::from_text(
        path.to_path_buf(),
        Format::Csv,
        columns,
        rows,
    ))
}

fn read_jsonl(path: &Path) -> Result<Table, EngineError> {
    let reader = BufReader::new(open(path)?);
    let mut columns: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let bytes = line.map_err(|e| EngineError::io(path, e))?;
        let text = std::str::from_utf8(&bytes).map_err(|e| EngineError::BadInput {
            path: path.to_path_buf(),
            line: line_no,
            message: format!(
                "invalid UTF-8 at byte {}; re-encode the file as UTF-8",
                e.valid_up_to() + 1
            ),
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let obj: Map<String, Value> = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(EngineError::BadInput {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: "expected a JSON object per line".into(),
                })
            }
            Err(e) => {
                return Err(EngineError::BadInput {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: format!(
                        "invalid JSON at column {}: {}",
                        e.column(),
                        json_category(&e)
                    ),
                })
            }
        };
        for k in obj.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
        rows.push(obj);
    }
    if rows.is_empty() {
        return Err(EngineError::BadInput {
            path: path.to_path_buf(),
            line: 1,
            message: "empty file: expected one JSON object per line".into(),
        });
    }
    Ok(Table {
        source: path.to_path_buf(),
        format: Format::Jsonl,
        columns,
        data: Data::Json(rows),
    })
}

/// serde_json's category, without any echo of the input.
pub(crate) fn json_category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Eof => "line ends in the middle of a value",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}

fn read_parquet(path: &Path) -> Result<Table, EngineError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(open(path)?).map_err(|e| {
        EngineError::BadInput {
            path: path.to_path_buf(),
            line: 0,
            message: format!("not a readable Parquet file ({e})"),
        }
    })?;
    let columns = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let reader = builder.build().map_err(|e| EngineError::data(path, e))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| EngineError::data(path, e))?;
    Ok(Table {
        source: path.to_path_buf(),
        format: Format::Parquet,
        columns,
        data: Data::Arrow(batches),
    })
}

/// Reads every table of a SQLite database (`sqlite://file.db` or a path), up to `limit`
/// rows each.
pub(crate) fn read_sqlite(url: &str, limit: usize) -> Result<Vec<Table>, EngineError> {
    use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions, Row};
    use std::str::FromStr;
    let file = url.strip_prefix("sqlite://").unwrap_or(url);
    let db_err = |e: sqlx::Error| EngineError::Database {
        url: url.to_string(),
        message: e.to_string(),
    };
    if !Path::new(file).exists() {
        return Err(EngineError::io(
            file,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such database file"),
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::io(file, e))?;
    rt.block_on(async {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{file}")).map_err(db_err)?.read_only(true);
        let mut conn = opts.connect().await.map_err(db_err)?;
        let names: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        let mut tables = Vec::new();
        for name in names {
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            let cols: Vec<String> = sqlx::query(&format!("SELECT name FROM pragma_table_info('{}')", name.replace('\'', "''")))
                .fetch_all(&mut conn)
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
            if cols.is_empty() {
                continue;
            }
            let select = cols
                .iter()
                .map(|c| format!("CAST(\"{}\" AS TEXT)", c.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(", ");
            let rows = sqlx::query(&format!("SELECT {select} FROM {quoted} LIMIT {limit}"))
                .fetch_all(&mut conn)
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| (0..cols.len()).map(|i| r.try_get::<Option<String>, _>(i).ok().flatten()).collect())
                .collect();
            tables.push(Table::from_text(PathBuf::from(format!("sqlite://{file}#{name}")), Format::Sqlite, cols, rows));
        }
        Ok(tables)
    })
}
