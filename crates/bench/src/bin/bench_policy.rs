//! Policy decisions and `custodia check`, in one run:
//!
//! - policy: a typical read decision on the built-in bundle (`Policy::builtin`, then
//!   `decide`), one at a time on one thread (decisions/s, p50/p99/max latency), then on
//!   every core with a cloned `Policy` per thread (aggregate decisions/s);
//! - check: a generated, seeded repository (Airflow DAGs, dbt YAML, JSON configs, `.env`
//!   files, ten contracts) with a known number of planted problems (hard-coded passwords,
//!   AWS secret keys, prohibited paths and regions), checked through the library
//!   (`Checker::new`, `discover`, `check_files`; median of 5) and once through the release
//!   binary (`custodia check --root DIR --json`); found vs planted, findings by rule, and the
//!   findings on lines nothing was planted on;
//! - peer (optional): Yelp's `detect-secrets scan --all-files` on the same repository
//!   (median of 3), its recall on the planted secrets and the time ratio. It only looks for
//!   secrets; check also does paths, regions, personal-data literals and contracts.
//!
//! ```sh
//! python3 -m venv bench/.venv-check && bench/.venv-check/bin/pip install detect-secrets==1.5.0
//! cargo build --release -p custodia-bench -p custodia-cli
//! target/release/bench_policy --json --detect-secrets bench/.venv-check/bin/detect-secrets
//! ```
//! Flags: `--decisions N` (20000), `--files N` (1000), `--detect-secrets PATH`, `--json`,
//! `--keep DIR` (generate the repository in DIR, a new folder, and leave it there to look at
//! the findings).
//! The `custodia` binary is looked for in `$CARGO_TARGET_DIR/release`, then beside this one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use custodia_engine::check::{Checker, Severity};
use custodia_policy::{
    Action, Actor, ColumnInput, DatasetInput, DecisionInput, Policy, PurposeInput,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

const USAGE: &str =
    "usage: bench_policy [--decisions N] [--files N] [--detect-secrets PATH] [--keep DIR] [--json]";
const SEED: u64 = 5;
const WARMUP: usize = 1_000;
const CHECK_RUNS: usize = 5;
const PEER_RUNS: usize = 3;

struct Args {
    decisions: usize,
    files: usize,
    detect_secrets: Option<PathBuf>,
    keep: Option<PathBuf>,
    json: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        decisions: 20_000,
        files: 1_000,
        detect_secrets: None,
        keep: None,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| -> Result<String> {
            it.next()
                .with_context(|| format!("{name} needs a value; {USAGE}"))
        };
        match flag.as_str() {
            "--decisions" => {
                a.decisions = value("--decisions")?
                    .parse()
                    .with_context(|| format!("--decisions must be a number; {USAGE}"))?
            }
            "--files" => {
                a.files = value("--files")?
                    .parse()
                    .with_context(|| format!("--files must be a number; {USAGE}"))?
            }
            "--detect-secrets" => {
                a.detect_secrets = Some(PathBuf::from(value("--detect-secrets")?))
            }
            "--keep" => a.keep = Some(PathBuf::from(value("--keep")?)),
            "--json" => a.json = true,
            other => bail!("unknown flag {other:?}; {USAGE}"),
        }
    }
    if a.decisions == 0 || a.files < 20 {
        bail!("--decisions must be at least 1 and --files at least 20; {USAGE}");
    }
    Ok(a)
}

// ---------------------------------------------------------------------------------------
// Policy decisions
// ---------------------------------------------------------------------------------------

fn column(
    name: &str,
    classification: &str,
    entity: Option<&str>,
    transform: Option<&str>,
) -> ColumnInput {
    ColumnInput {
        name: name.into(),
        classification: classification.into(),
        entity: entity.map(String::from),
        transform: transform.map(String::from),
    }
}

/// An analyst reading customers (eu) for personalization under GDPR.
fn read_request() -> DecisionInput {
    DecisionInput {
        action: Action::Read,
        purpose: "personalization".into(),
        dataset: DatasetInput {
            name: "customers".into(),
            region: Some("eu".into()),
            purposes: vec![
                PurposeInput {
                    name: "personalization".into(),
                    legal_basis: "consent".into(),
                },
                PurposeInput {
                    name: "model_training".into(),
                    legal_basis: "legitimate_interest".into(),
                },
            ],
            columns: vec![
                column("email", "L2", Some("EMAIL_ADDRESS"), Some("tokenize")),
                column("ssn", "L3", None, None),
                column("plan", "L0", None, None),
                column("country", "L1", None, None),
            ],
        },
        subject_jurisdictions: vec!["gdpr".into()],
        actor: Actor {
            id: "bench".into(),
            roles: vec!["analyst".into()],
            ..Actor::default()
        },
        time: Some("2026-11-23T10:00:00Z".into()),
        ..DecisionInput::default()
    }
}

fn percentile_us(sorted_ns: &[u64], q: f64) -> f64 {
    let i = ((sorted_ns.len() - 1) as f64 * q).round() as usize;
    sorted_ns[i] as f64 / 1_000.0
}

fn policy_bench(decisions: usize) -> Result<Value> {
    let t = Instant::now();
    let mut policy = Policy::builtin().context("loading the built-in policy")?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let input = read_request();
    input
        .validate("bench")
        .context("the benchmark's request is invalid")?;
    let first = policy.decide(&input).context("deciding the request")?;
    for _ in 0..WARMUP {
        std::hint::black_box(policy.decide(&input)?);
    }
    let mut lat = Vec::with_capacity(decisions);
    let t = Instant::now();
    for _ in 0..decisions {
        let s = Instant::now();
        let d = policy.decide(&input)?;
        lat.push(s.elapsed().as_nanos() as u64);
        std::hint::black_box(d);
    }
    let single = decisions as f64 / t.elapsed().as_secs_f64();
    lat.sort_unstable();

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let barrier = Barrier::new(threads + 1);
    let (elapsed, results) = std::thread::scope(|s| -> Result<(Duration, Vec<Result<usize>>)> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let mut p = policy.clone();
                let (input, barrier) = (&input, &barrier);
                s.spawn(move || -> Result<usize> {
                    for _ in 0..WARMUP {
                        std::hint::black_box(p.decide(input)?);
                    }
                    barrier.wait();
                    for _ in 0..decisions {
                        std::hint::black_box(p.decide(input)?);
                    }
                    Ok(decisions)
                })
            })
            .collect();
        barrier.wait();
        let t = Instant::now();
        let results = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a thread panicked")))
            })
            .collect();
        Ok((t.elapsed(), results))
    })?;
    let mut total = 0;
    for r in results {
        total += r?;
    }
    let all = total as f64 / elapsed.as_secs_f64();
    Ok(json!({
        "request": "read customers (eu) for personalization, analyst, gdpr, 4 columns",
        "decision": {
            "allow": first.allow,
            "denials": first.denials.iter().map(|d| d.rule.clone()).collect::<Vec<_>>(),
            "obligations": first.obligations.iter().map(|o| o.describe()).collect::<Vec<_>>(),
        },
        "load_builtin_ms": load_ms,
        "warmup": WARMUP,
        "decisions": decisions,
        "single_thread_per_s": single,
        "p50_us": percentile_us(&lat, 0.50),
        "p99_us": percentile_us(&lat, 0.99),
        "max_us": percentile_us(&lat, 1.0),
        "threads": threads,
        "all_cores_decisions": total,
        "all_cores_per_s": all,
    }))
}

// ---------------------------------------------------------------------------------------
// The generated repository
// ---------------------------------------------------------------------------------------

/// What was planted, and the rule `check` should report for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Plant {
    Password,
    AwsSecret,
    ProhibitedPath,
    ProhibitedRegion,
}

impl Plant {
    const ALL: [Plant; 4] = [
        Plant::Password,
        Plant::AwsSecret,
        Plant::ProhibitedPath,
        Plant::ProhibitedRegion,
    ];
    fn name(self) -> &'static str {
        match self {
            Plant::Password => "password",
            Plant::AwsSecret => "aws_secret_key",
            Plant::ProhibitedPath => "prohibited_path",
            Plant::ProhibitedRegion => "prohibited_region",
        }
    }
    fn rule(self) -> &'static str {
        match self {
            Plant::Password | Plant::AwsSecret => "code.secret",
            Plant::ProhibitedPath => "code.prohibited_path",
            Plant::ProhibitedRegion => "code.prohibited_region",
        }
    }
    fn is_secret(self) -> bool {
        matches!(self, Plant::Password | Plant::AwsSecret)
    }
}

/// A planted problem: file (relative, `/`-separated), 1-based line, kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Planted {
    path: String,
    line: u64,
    kind: Plant,
}

/// A file being written line by line, so planted lines know their numbers.
struct Doc<'a> {
    path: String,
    lines: Vec<String>,
    planted: &'a mut Vec<Planted>,
}

impl Doc<'_> {
    fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }
    fn block(&mut self, s: &str) {
        for l in s.lines() {
            self.lines.push(l.to_string());
        }
    }
    fn plant(&mut self, kind: Plant, s: impl Into<String>) {
        self.lines.push(s.into());
        self.planted.push(Planted {
            path: self.path.clone(),
            line: self.lines.len() as u64,
            kind,
        });
    }
    fn write(self, root: &Path) -> Result<u64> {
        let p = root.join(&self.path);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut text = self.lines.join("\n");
        text.push('\n');
        std::fs::write(&p, &text).with_context(|| format!("writing {}", p.display()))?;
        Ok(text.len() as u64)
    }
}

const TABLES: &[&str] = &[
    "orders",
    "customers",
    "payments",
    "invoices",
    "subscriptions",
    "sessions",
    "events",
    "shipments",
    "refunds",
    "products",
    "inventory",
    "campaigns",
    "leads",
    "tickets",
    "reviews",
];
const SOURCES: &[&str] = &[
    "crm",
    "billing",
    "shop",
    "support",
    "web",
    "erp",
    "marketing",
];
const TEAMS: &[&str] = &[
    "data-eng",
    "analytics-eng",
    "ml-platform",
    "growth-data",
    "finance-data",
];
const SCHEDULES: &[&str] = &["@daily", "@hourly", "0 3 * * *", "30 */4 * * *", "@weekly"];
const EU_REGIONS: &[&str] = &["eu-west-1", "eu-central-1", "eu-north-1"];

/// Which problems a file gets.
struct Plan {
    password: bool,
    aws: bool,
    path: bool,
    region: bool,
}

fn plan(rng: &mut StdRng) -> Plan {
    let r: f64 = rng.gen();
    Plan {
        password: r < 0.03,
        aws: (0.03..0.05).contains(&r),
        path: rng.gen_bool(0.02),
        region: rng.gen_bool(0.015),
    }
}

fn pick<'a>(rng: &mut StdRng, xs: &[&'a str]) -> &'a str {
    xs[rng.gen_range(0..xs.len())]
}

/// A realistic hard-coded password: letters, digits, a symbol or two.
fn password(rng: &mut StdRng) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%&*-_.";
    let n = rng.gen_range(12..20);
    let mut s: String = (0..n)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    s.replace_range(0..1, "K");
    s
}

/// 40 characters of an AWS secret access key's alphabet.
fn aws_secret(rng: &mut StdRng) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";
    (0..40)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

fn title(s: &str) -> String {
    s.split(['_', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An Airflow DAG: imports, constants, default_args, SQL, helpers, tasks per table, the DAG.
fn python_dag(d: &mut Doc, rng: &mut StdRng, i: usize, p: &Plan) {
    let source = pick(rng, SOURCES);
    let team = pick(rng, TEAMS);
    let mut tables: Vec<&str> = Vec::new();
    let n_tables = rng.gen_range(2..=6);
    while tables.len() < n_tables {
        let t = pick(rng, TABLES);
        if !tables.contains(&t) {
            tables.push(t);
        }
    }
    let dag_id = format!("{source}_{}_{i:04}", tables[0]);
    let region = pick(rng, EU_REGIONS);
    let schedule = pick(rng, SCHEDULES);
    let uri_helper = rng.gen_bool(0.3);
    let alert_email = rng.gen_bool(0.5);
    let boto = p.aws || p.region || rng.gen_bool(0.4);

    d.block(&format!(
        "\"\"\"{} pipeline: syncs {} from the {source} database into the warehouse.\n\nOwned by {team}. Runs {schedule}; see the runbook in docs/pipelines/{dag_id}.md.\n\"\"\"",
        title(&dag_id),
        tables.join(", "),
    ));
    d.line("from __future__ import annotations");
    d.line("");
    d.line("import json");
    d.line("import logging");
    if uri_helper {
        d.line("import os");
    }
    d.line("from datetime import datetime, timedelta");
    d.line("");
    if boto {
        d.line("import boto3");
    }
    if uri_helper {
        d.line("import sqlalchemy");
    }
    d.line("from airflow import DAG");
    d.line("from airflow.hooks.base import BaseHook");
    d.line("from airflow.models import Variable");
    d.line("from airflow.operators.empty import EmptyOperator");
    d.line("from airflow.operators.python import PythonOperator");
    d.line("from airflow.providers.amazon.aws.hooks.s3 import S3Hook");
    d.line("from airflow.providers.postgres.hooks.postgres import PostgresHook");
    d.line("from airflow.utils.task_group import TaskGroup");
    d.line("");
    d.line("log = logging.getLogger(__name__)");
    d.line("");
    d.line(format!("DAG_ID = \"{dag_id}\""));
    d.line(format!("SOURCE_CONN_ID = \"{source}_replica\""));
    d.line("WAREHOUSE_CONN_ID = \"warehouse\"");
    d.line("TARGET_BUCKET = Variable.get(\"curated_bucket\", default_var=\"curated-eu\")");
    d.line(format!(
        "BATCH_SIZE = {}",
        [5_000, 10_000, 50_000, 100_000][rng.gen_range(0..4)]
    ));
    d.line(format!("AWS_REGION = \"{region}\""));
    d.line(format!("SCHEMA = \"{source}\""));
    let module_password = p.password && rng.gen_bool(0.5);
    if module_password {
        let pw = password(rng);
        d.plant(Plant::Password, format!("WAREHOUSE_PASSWORD = \"{pw}\""));
    } else if rng.gen_bool(0.3) {
        d.line(format!(
            "WAREHOUSE_PASSWORD = os.environ.get(\"{}_WAREHOUSE_PASSWORD\")",
            source.to_uppercase()
        ));
    }
    d.line("");
    d.line("default_args = {");
    d.line(format!("    \"owner\": \"{team}\","));
    d.line("    \"depends_on_past\": False,");
    if alert_email {
        d.line(format!("    \"email\": [\"{team}-alerts@acme-data.io\"],"));
        d.line("    \"email_on_failure\": True,");
    }
    d.line(format!("    \"retries\": {},", rng.gen_range(1..4)));
    d.line(format!(
        "    \"retry_delay\": timedelta(minutes={}),",
        [5, 10, 15][rng.gen_range(0..3)]
    ));
    d.line("    \"execution_timeout\": timedelta(hours=2),");
    d.line("}");
    d.line("");

    for t in &tables {
        let upper = t.to_uppercase();
        d.block(&format!(
            "{upper}_SQL = \"\"\"\n    SELECT t.id,\n           t.customer_id,\n           t.status,\n           t.amount_cents,\n           t.currency,\n           t.created_at,\n           t.updated_at\n    FROM {{schema}}.{t} AS t\n    WHERE t.updated_at >= '{{{{ data_interval_start }}}}'\n      AND t.updated_at <  '{{{{ data_interval_end }}}}'\n      AND t.status <> 'deleted'\n    ORDER BY t.id\n\"\"\"\n"
        ));
    }
    d.line("");
    d.line("");
    d.block(
        "def _source_connection() -> dict:\n    \"\"\"Connection settings of the read replica, from the Airflow connection store.\"\"\"\n    conn = BaseHook.get_connection(SOURCE_CONN_ID)\n    return {\n        \"host\": conn.host,\n        \"port\": conn.port or 5432,\n        \"user\": conn.login,",
    );
    if p.password && !module_password {
        let pw = password(rng);
        d.plant(Plant::Password, format!("        \"password\": \"{pw}\","));
    } else {
        d.line("        \"password\": conn.password,");
    }
    d.block("        \"dbname\": conn.schema,\n        \"sslmode\": \"require\",\n    }\n\n");
    if uri_helper {
        d.block(
            "def _engine() -> sqlalchemy.engine.Engine:\n    conn = BaseHook.get_connection(WAREHOUSE_CONN_ID)\n    uri = f\"postgresql+psycopg2://{conn.login}:{conn.password}@{conn.host}:{conn.port}/{conn.schema}\"\n    return sqlalchemy.create_engine(uri, pool_pre_ping=True)\n\n",
        );
    }
    if boto {
        d.line("def _s3_client():");
        d.line("    return boto3.client(");
        d.line("        \"s3\",");
        if p.region {
            d.plant(
                Plant::ProhibitedRegion,
                "        region_name=\"us-east-1\",",
            );
        } else {
            d.line("        region_name=AWS_REGION,");
        }
        d.line("        aws_access_key_id=Variable.get(\"aws_access_key_id\"),");
        if p.aws {
            let k = aws_secret(rng);
            d.plant(
                Plant::AwsSecret,
                format!("        aws_secret_access_key=\"{k}\","),
            );
        } else {
            d.line("        aws_secret_access_key=Variable.get(\"aws_secret_access_key\"),");
        }
        d.line("    )");
        d.line("");
        d.line("");
    }

    for (k, t) in tables.iter().enumerate() {
        let upper = t.to_uppercase();
        d.line(format!("def extract_{t}(**context) -> str:"));
        d.line(format!(
            "    \"\"\"Copies one interval of {t} to the curated bucket as JSON lines.\"\"\""
        ));
        d.line("    hook = PostgresHook(postgres_conn_id=SOURCE_CONN_ID)");
        d.line(format!("    sql = {upper}_SQL.format(schema=SCHEMA)"));
        d.line("    rows = hook.get_records(sql, parameters=None)");
        d.line(format!(
            "    log.info(\"extracted %d rows from %s.{t}\", len(rows), SCHEMA)"
        ));
        if p.path && k == 0 {
            if rng.gen_bool(0.5) {
                d.plant(
                    Plant::ProhibitedPath,
                    format!("    key = f\"s3://raw-pii-eu/{source}/{t}/{{context['ds']}}/part-0000.json\""),
                );
            } else {
                d.line(format!(
                    "    key = f\"{t}/{{context['ds']}}/part-0000.json\""
                ));
                d.plant(
                    Plant::ProhibitedPath,
                    format!("    with open(f\"/mnt/exports/{t}_{{context['ds_nodash']}}.json\", \"w\") as fh:"),
                );
                d.line("        fh.write(json.dumps(rows, default=str))");
            }
        } else {
            d.line(format!(
                "    key = f\"{t}/{{context['ds']}}/part-0000.json\""
            ));
        }
        d.line("    body = \"\\n\".join(json.dumps(r, default=str) for r in rows)");
        d.line("    S3Hook(aws_conn_id=\"aws_default\").load_string(");
        d.line("        body, key=key, bucket_name=TARGET_BUCKET, replace=True");
        d.line("    )");
        d.line("    return key");
        d.line("");
        d.line("");
        d.line(format!("def load_{t}(**context) -> None:"));
        d.line(format!(
            "    key = context[\"ti\"].xcom_pull(task_ids=\"{t}.extract\")"
        ));
        d.line("    hook = PostgresHook(postgres_conn_id=WAREHOUSE_CONN_ID)");
        d.line("    hook.run(");
        d.line(format!(
            "        \"COPY staging.{t} FROM %s IAM_ROLE default FORMAT AS JSON 'auto'\","
        ));
        d.line("        parameters=(f\"s3://{TARGET_BUCKET}/{key}\",),");
        d.line("    )");
        d.line(format!(
            "    hook.run(\"CALL staging.merge_{t}(%s)\", parameters=(context[\"ds\"],))"
        ));
        d.line("");
        d.line("");
    }

    d.line("with DAG(");
    d.line("    dag_id=DAG_ID,");
    d.line(format!(
        "    start_date=datetime(2026, {}, {}),",
        rng.gen_range(1..13),
        rng.gen_range(1..28)
    ));
    d.line(format!("    schedule=\"{schedule}\","));
    d.line("    catchup=False,");
    d.line("    default_args=default_args,");
    d.line(format!("    tags=[\"{source}\", \"{team}\"],"));
    d.line(") as dag:");
    d.line("    start = EmptyOperator(task_id=\"start\")");
    d.line("    done = EmptyOperator(task_id=\"done\")");
    for t in &tables {
        d.line(format!(
            "    with TaskGroup(group_id=\"{t}\") as {t}_group:"
        ));
        d.line(format!(
            "        extract = PythonOperator(task_id=\"extract\", python_callable=extract_{t})"
        ));
        d.line(format!(
            "        load = PythonOperator(task_id=\"load\", python_callable=load_{t})"
        ));
        d.line("        extract >> load");
        d.line(format!("    start >> {t}_group >> done"));
    }
}

/// dbt YAML: a profile (where credentials go), a project file or a models schema.
fn dbt_yaml(d: &mut Doc, rng: &mut StdRng, i: usize, p: &Plan) {
    let source = pick(rng, SOURCES);
    let profile = p.password || p.aws || p.region || i.is_multiple_of(3);
    if profile {
        d.line(format!("{source}_{i}:"));
        d.line("  target: prod");
        d.line("  outputs:");
        d.line("    prod:");
        d.line("      type: postgres");
        d.line(format!("      host: {source}-warehouse.internal"));
        d.line("      port: 5432");
        d.line("      user: dbt_transform");
        if p.password {
            let pw = password(rng);
            d.plant(Plant::Password, format!("      password: \"{pw}\""));
        } else {
            d.line("      password: \"{{ env_var('DBT_PASSWORD') }}\"");
        }
        d.line("      dbname: analytics");
        d.line(format!("      schema: {source}"));
        d.line("      threads: 8");
        d.line("      keepalives_idle: 0");
        d.line("    athena:");
        d.line("      type: athena");
        d.line(format!(
            "      s3_staging_dir: s3://athena-results-eu/{source}/"
        ));
        if p.region {
            d.plant(Plant::ProhibitedRegion, "      region_name: us-east-1");
        } else {
            d.line(format!("      region_name: {}", pick(rng, EU_REGIONS)));
        }
        d.line(format!("      database: {source}_lake"));
        d.line("      aws_access_key_id: \"{{ env_var('AWS_ACCESS_KEY_ID') }}\"");
        if p.aws {
            let k = aws_secret(rng);
            d.plant(
                Plant::AwsSecret,
                format!("      aws_secret_access_key: {k}"),
            );
        } else {
            d.line("      aws_secret_access_key: \"{{ env_var('AWS_SECRET_ACCESS_KEY') }}\"");
        }
        d.line("      work_group: primary");
        if p.path {
            d.plant(
                Plant::ProhibitedPath,
                format!("      s3_data_dir: s3://raw-pii-eu/{source}/dbt/"),
            );
        }
        return;
    }
    if i % 3 == 1 {
        d.line(format!("name: {source}_models"));
        d.line("version: \"1.0.0\"");
        d.line("config-version: 2");
        d.line(format!("profile: {source}"));
        d.line("model-paths: [\"models\"]");
        d.line("test-paths: [\"tests\"]");
        d.line("macro-paths: [\"macros\"]");
        d.line("target-path: \"target\"");
        d.line("clean-targets: [\"target\", \"dbt_packages\"]");
        d.line("models:");
        d.line(format!("  {source}_models:"));
        d.line("    staging:");
        d.line("      +materialized: view");
        d.line("    marts:");
        d.line("      +materialized: table");
        if p.path {
            d.plant(
                Plant::ProhibitedPath,
                format!("      +location_root: s3://raw-pii-eu/{source}/marts"),
            );
        }
        d.line("vars:");
        d.line("  start_date: \"2026-01-01\"");
        d.line("  currency: EUR");
        return;
    }
    d.line("version: 2");
    d.line("");
    d.line("models:");
    for _ in 0..rng.gen_range(2..5) {
        let t = pick(rng, TABLES);
        d.line(format!("  - name: stg_{source}__{t}"));
        d.line(format!(
            "    description: \"One row per {t} record from {source}, deduplicated.\""
        ));
        d.line("    columns:");
        d.line("      - name: id");
        d.line("        tests: [unique, not_null]");
        d.line("      - name: customer_id");
        d.line("        tests:");
        d.line("          - relationships:");
        d.line("              to: ref('stg_crm__customers')");
        d.line("              field: id");
        d.line("      - name: status");
        d.line("        tests:");
        d.line("          - accepted_values:");
        d.line("              values: ['open', 'paid', 'refunded', 'cancelled']");
        d.line("      - name: created_at");
        d.line("        description: \"When the record was created (UTC).\"");
    }
    if p.path {
        d.line("    config:");
        d.plant(
            Plant::ProhibitedPath,
            format!("      external_location: \"s3://raw-pii-eu/{source}/staging/\""),
        );
    }
}

/// A pipeline's JSON config, pretty-printed one key per line.
fn json_config(d: &mut Doc, rng: &mut StdRng, i: usize, p: &Plan) {
    let source = pick(rng, SOURCES);
    let t = pick(rng, TABLES);
    d.line("{");
    d.line(format!("  \"pipeline\": \"{source}_{t}_sync_{i}\","));
    d.line("  \"enabled\": true,");
    d.line("  \"source\": {");
    d.line("    \"type\": \"postgres\",");
    d.line(format!("    \"host\": \"{source}-replica.internal\","));
    d.line("    \"port\": 5432,");
    d.line(format!("    \"database\": \"{source}\","));
    d.line("    \"user\": \"etl_reader\",");
    if p.password {
        let pw = password(rng);
        d.plant(Plant::Password, format!("    \"password\": \"{pw}\","));
    } else {
        d.line(format!(
            "    \"password_env\": \"{}_DB_PASSWORD\",",
            source.to_uppercase()
        ));
    }
    d.line(format!("    \"tables\": [\"{t}\", \"{t}_items\"]"));
    d.line("  },");
    d.line("  \"destination\": {");
    d.line("    \"type\": \"s3\",");
    d.line("    \"bucket\": \"curated-eu\",");
    if p.path {
        d.plant(
            Plant::ProhibitedPath,
            format!("    \"prefix\": \"s3://raw-pii-eu/{source}/{t}/\","),
        );
    } else {
        d.line(format!("    \"prefix\": \"{source}/{t}/\","));
    }
    if p.region {
        d.plant(Plant::ProhibitedRegion, "    \"region\": \"us-east-1\",");
    } else {
        d.line(format!("    \"region\": \"{}\",", pick(rng, EU_REGIONS)));
    }
    if p.aws {
        let k = aws_secret(rng);
        d.plant(
            Plant::AwsSecret,
            format!("    \"aws_secret_access_key\": \"{k}\","),
        );
    }
    d.line("    \"format\": \"parquet\",");
    d.line("    \"compression\": \"zstd\",");
    d.line(format!(
        "    \"max_file_size_bytes\": {}",
        [67_108_864, 134_217_728, 268_435_456][rng.gen_range(0..3)]
    ));
    d.line("  },");
    d.line(format!("  \"schedule\": \"{}\",", pick(rng, SCHEDULES)));
    d.line("  \"alerts\": {");
    d.line("    \"slack_channel\": \"#data-alerts\",");
    d.line("    \"on_failure\": true,");
    d.line(format!(
        "    \"runbook\": \"https://wiki.acme-data.io/pipelines/{source}-{t}\""
    ));
    d.line("  }");
    d.line("}");
}

/// A service's environment file; some are templates with empty values (`.env.example`).
fn env_file(d: &mut Doc, rng: &mut StdRng, source: &str, template: bool, p: &Plan) {
    let up = source.to_uppercase();
    d.line(format!("# {source} loader settings"));
    d.line("ENVIRONMENT=production");
    d.line(format!("DB_HOST={source}-replica.internal"));
    d.line("DB_PORT=5432");
    d.line(format!("DB_NAME={source}"));
    d.line("DB_USER=etl_reader");
    if p.password {
        let pw = password(rng);
        d.plant(Plant::Password, format!("DB_PASSWORD={pw}"));
    } else if template {
        d.line("DB_PASSWORD=");
    } else {
        d.line(format!("DB_PASSWORD=${{{up}_DB_PASSWORD}}"));
    }
    if p.region {
        d.plant(Plant::ProhibitedRegion, "AWS_DEFAULT_REGION=us-east-1");
    } else {
        d.line(format!("AWS_DEFAULT_REGION={}", pick(rng, EU_REGIONS)));
    }
    if p.aws {
        let k = aws_secret(rng);
        d.plant(Plant::AwsSecret, format!("AWS_SECRET_ACCESS_KEY={k}"));
    } else if template {
        d.line("AWS_SECRET_ACCESS_KEY=");
    }
    if p.path {
        d.plant(
            Plant::ProhibitedPath,
            format!("EXPORT_DIR=/mnt/exports/{source}"),
        );
    } else {
        d.line(format!("EXPORT_DIR=/data/{source}/out"));
    }
    d.line("S3_BUCKET=curated-eu");
    d.line("LOG_LEVEL=INFO");
    d.line(format!("BATCH_SIZE={}", rng.gen_range(1..20) * 1000));
    d.line("SLACK_CHANNEL=#data-alerts");
}

const CONTRACTS: &[(&str, &str)] = &[
    ("customers", "eu"),
    ("orders", "eu"),
    ("payments", "eu"),
    ("subscriptions", "us"),
    ("support_tickets", "eu"),
    ("web_sessions", "us"),
    ("marketing_leads", "eu"),
    ("invoices", "us"),
    ("shipments", "eu"),
    ("loyalty_members", "eu"),
];

fn contract(dataset: &str, region: &str) -> String {
    format!(
        "dataset: {dataset}\nowner: data-eng@example.com\nregion: {region}\nsubject_key: email\nretention: 2y\npurposes:\n  - name: personalization\n    legal_basis: consent\n  - name: model_training\n    legal_basis: legitimate_interest\ncolumns:\n  - name: email\n    classification: L2\n    pii: EMAIL_ADDRESS\n    transform: tokenize\n  - name: ssn\n    classification: L3\n    pii: US_SSN\n    transform: hash\n  - name: plan\n    classification: L0\n"
    )
}

const CUSTODIA_TOML: &str = "[regions]\nnames = [\"eu\", \"us\"]\n\n[check]\nprohibited_paths = [\"s3://raw-pii-eu/\", \"/mnt/exports/\"]\nprohibited_regions = [\"us-east-1\"]\n";

struct Repo {
    /// Files written (code/config plus contracts and custodia.toml).
    files: usize,
    bytes: u64,
    by_kind: BTreeMap<&'static str, usize>,
    planted: Vec<Planted>,
}

fn generate(root: &Path, n: usize) -> Result<Repo> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut planted = Vec::new();
    let mut bytes = 0;
    let mut by_kind = BTreeMap::new();
    std::fs::write(root.join("custodia.toml"), CUSTODIA_TOML).context("writing custodia.toml")?;
    bytes += CUSTODIA_TOML.len() as u64;
    std::fs::create_dir_all(root.join("contracts")).context("creating contracts/")?;
    for (dataset, region) in CONTRACTS {
        let text = contract(dataset, region);
        std::fs::write(root.join(format!("contracts/{dataset}.yaml")), &text)
            .context("writing a contract")?;
        bytes += text.len() as u64;
    }
    *by_kind.entry("contract").or_insert(0) += CONTRACTS.len();
    let n_yaml = n / 10;
    let n_json = n * 6 / 100;
    let n_env = n * 4 / 100;
    let n_py = n - n_yaml - n_json - n_env;
    for i in 0..n {
        let p = plan(&mut rng);
        let (path, kind) = if i < n_py {
            (
                format!(
                    "dags/{}/{}_dag_{i:04}.py",
                    pick(&mut rng, SOURCES),
                    pick(&mut rng, TABLES)
                ),
                "python",
            )
        } else if i < n_py + n_yaml {
            let s = pick(&mut rng, SOURCES);
            (format!("dbt/{s}/models_{i:04}.yml"), "yaml")
        } else if i < n_py + n_yaml + n_json {
            (format!("config/pipelines/pipeline_{i:04}.json"), "json")
        } else {
            let s = pick(&mut rng, SOURCES);
            let template = !(p.password || p.aws || p.region || p.path) && rng.gen_bool(0.5);
            let name = if template { ".env.example" } else { ".env" };
            (
                format!("services/{s}_{i:04}/{name}"),
                if template { "env template" } else { "env" },
            )
        };
        let mut d = Doc {
            path,
            lines: Vec::new(),
            planted: &mut planted,
        };
        match kind {
            "python" => python_dag(&mut d, &mut rng, i, &p),
            "yaml" => dbt_yaml(&mut d, &mut rng, i, &p),
            "json" => json_config(&mut d, &mut rng, i, &p),
            _ => {
                let source = pick(&mut rng, SOURCES);
                env_file(&mut d, &mut rng, source, kind == "env template", &p)
            }
        }
        bytes += d.write(root)?;
        *by_kind.entry(kind).or_insert(0) += 1;
    }
    planted.sort();
    Ok(Repo {
        files: n + CONTRACTS.len() + 1,
        bytes,
        by_kind,
        planted,
    })
}

// ---------------------------------------------------------------------------------------
// custodia check
// ---------------------------------------------------------------------------------------

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn line_of(root: &Path, path: &Path, line: u64) -> String {
    std::fs::read_to_string(root.join(path))
        .ok()
        .and_then(|t| {
            t.lines()
                .nth(line.saturating_sub(1) as usize)
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_default()
}

fn check_bench(root: &Path, repo: &Repo) -> Result<(Value, f64)> {
    let mut walls = Vec::new();
    let mut phases = Vec::new();
    let mut last = None;
    for _ in 0..CHECK_RUNS {
        let t = Instant::now();
        let mut checker = Checker::new(root).context("loading the checker")?;
        let loaded = t.elapsed().as_secs_f64();
        let files = checker.discover(&[]).context("discovering files")?;
        let discovered = t.elapsed().as_secs_f64();
        let report = checker.check_files(&files);
        let wall = t.elapsed().as_secs_f64();
        walls.push(wall);
        phases.push((wall, loaded, discovered - loaded, wall - discovered));
        last = Some(report);
    }
    let report = last.context("no check run")?;
    phases.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (_, load, discover, check) = phases[phases.len() / 2];
    let wall = median(&mut walls);

    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for f in &report.findings {
        *by_rule.entry(f.rule.clone()).or_insert(0) += 1;
    }
    let hit = |pl: &Planted| {
        report
            .findings
            .iter()
            .any(|f| f.rule == pl.kind.rule() && f.line == pl.line && f.path == Path::new(&pl.path))
    };
    let mut planted = BTreeMap::new();
    let mut found = BTreeMap::new();
    for k in Plant::ALL {
        planted.insert(
            k.name(),
            repo.planted.iter().filter(|p| p.kind == k).count(),
        );
        found.insert(
            k.name(),
            repo.planted
                .iter()
                .filter(|p| p.kind == k && hit(p))
                .count(),
        );
    }
    let missed: Vec<Value> = repo
        .planted
        .iter()
        .filter(|p| !hit(p))
        .map(|p| json!({"path": p.path, "line": p.line, "kind": p.kind.name()}))
        .collect();
    let secrets = repo.planted.iter().filter(|p| p.kind.is_secret()).count();
    let secrets_found = repo
        .planted
        .iter()
        .filter(|p| p.kind.is_secret() && hit(p))
        .count();
    let planted_at: BTreeSet<(String, u64)> = repo
        .planted
        .iter()
        .map(|p| (p.path.clone(), p.line))
        .collect();
    let mut unplanted: BTreeMap<String, usize> = BTreeMap::new();
    let mut examples: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for f in &report.findings {
        let key = (f.path.to_string_lossy().replace('\\', "/"), f.line);
        if planted_at.contains(&key) || f.path.starts_with("contracts") {
            continue;
        }
        let label = format!("{} ({})", f.rule, f.severity.as_str());
        *unplanted.entry(label.clone()).or_insert(0) += 1;
        let ex = examples.entry(label).or_default();
        if ex.len() < 3 {
            ex.push(json!({
                "path": key.0, "line": f.line, "message": f.message,
                "text": line_of(root, &f.path, f.line),
            }));
        }
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let files = report.files.len();
    Ok((
        json!({
            "files_checked": files,
            "files_by_kind": repo.by_kind,
            "bytes": repo.bytes,
            "runs": CHECK_RUNS,
            "median_s": wall,
            "phases_s": {"load_checker": load, "discover": discover, "check_files": check},
            "files_per_s": files as f64 / wall,
            "mb_per_s": repo.bytes as f64 / 1e6 / wall,
            "findings": report.findings.len(),
            "errors": errors,
            "warnings": report.findings.len() - errors,
            "findings_by_rule": by_rule,
            "planted": planted,
            "found": found,
            "secrets_planted": secrets,
            "secrets_found": secrets_found,
            "secret_recall": secrets_found as f64 / secrets.max(1) as f64,
            "missed": missed,
            "unplanted_findings": unplanted,
            "unplanted_examples": examples,
        }),
        wall,
    ))
}

fn custodia_binary() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("release").join("custodia"));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.push(dir.join("custodia"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

fn binary_run(root: &Path) -> Result<Value> {
    let Some(bin) = custodia_binary() else {
        return Ok(json!(
            "not measured: no custodia binary in $CARGO_TARGET_DIR/release or beside bench_policy (cargo build --release -p custodia-cli)"
        ));
    };
    let t = Instant::now();
    let out = Command::new(&bin)
        .args(["check", "--root"])
        .arg(root)
        .arg("--json")
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let wall = t.elapsed().as_secs_f64();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    Ok(json!({
        "binary": bin,
        "wall_s": wall,
        "exit_code": out.status.code(),
        "findings": doc["findings"].as_array().map(Vec::len),
        "errors": doc["errors"],
        "stdout_bytes": out.stdout.len(),
        "stderr": String::from_utf8_lossy(&out.stderr).trim().chars().take(300).collect::<String>(),
    }))
}

// ---------------------------------------------------------------------------------------
// detect-secrets
// ---------------------------------------------------------------------------------------

/// Runs the peer; `check_s` is the library's median, `binary_s` the release binary's wall
/// time (process start, policy and detector set-up included, as for detect-secrets).
fn detect_secrets(
    exe: &Path,
    root: &Path,
    repo: &Repo,
    check_s: f64,
    binary_s: Option<f64>,
) -> Result<Value> {
    let version = Command::new(exe)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", exe.display()))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let mut walls = Vec::new();
    let mut last = Vec::new();
    for _ in 0..PEER_RUNS {
        let t = Instant::now();
        // Run inside the repository: given a path outside its working directory it reports
        // nothing, and filenames come out relative to the working directory.
        let out = Command::new(exe)
            .args(["scan", "--all-files", "."])
            .current_dir(root)
            .output()
            .with_context(|| format!("running {} scan", exe.display()))?;
        walls.push(t.elapsed().as_secs_f64());
        if !out.status.success() {
            bail!(
                "detect-secrets scan failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        last = out.stdout;
    }
    let wall = median(&mut walls);
    let doc: Value = serde_json::from_slice(&last).context("detect-secrets printed no JSON")?;
    let results = doc["results"]
        .as_object()
        .context("detect-secrets JSON has no results object")?;
    let mut flagged: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for (file, list) in results {
        let file = file.trim_start_matches("./").to_string();
        for r in list.as_array().into_iter().flatten() {
            total += 1;
            let ty = r["type"].as_str().unwrap_or("?").to_string();
            *by_type.entry(ty).or_insert(0) += 1;
            flagged.insert((file.clone(), r["line_number"].as_u64().unwrap_or(0)));
        }
    }
    let secrets: Vec<&Planted> = repo.planted.iter().filter(|p| p.kind.is_secret()).collect();
    let hit = |p: &Planted| flagged.contains(&(p.path.clone(), p.line));
    let mut found = BTreeMap::new();
    let mut planted = BTreeMap::new();
    for k in [Plant::Password, Plant::AwsSecret] {
        planted.insert(k.name(), secrets.iter().filter(|p| p.kind == k).count());
        found.insert(
            k.name(),
            secrets.iter().filter(|p| p.kind == k && hit(p)).count(),
        );
    }
    let n_found = secrets.iter().filter(|p| hit(p)).count();
    let files_flagged = results.len();
    let secret_at: BTreeSet<(String, u64)> =
        secrets.iter().map(|p| (p.path.clone(), p.line)).collect();
    let other: Vec<&(String, u64)> = flagged.iter().filter(|x| !secret_at.contains(x)).collect();
    let examples: Vec<Value> = other
        .iter()
        .take(5)
        .map(|(f, l)| json!({"path": f, "line": l, "text": line_of(root, Path::new(f), *l)}))
        .collect();
    let missed: Vec<Value> = secrets
        .iter()
        .filter(|p| !hit(p))
        .map(|p| json!({"path": p.path, "line": p.line, "kind": p.kind.name()}))
        .collect();
    Ok(json!({
        "version": version,
        "command": format!("{} scan --all-files . (cwd = the repository)", exe.display()),
        "runs": PEER_RUNS,
        "median_s": wall,
        "files_per_s": repo.files as f64 / wall,
        "results": total,
        "results_by_type": by_type,
        "files_flagged": files_flagged,
        "lines_flagged": flagged.len(),
        "planted": planted,
        "found": found,
        "secrets_found": n_found,
        "secret_recall": n_found as f64 / secrets.len().max(1) as f64,
        "missed": missed,
        "flagged_lines_without_planted_secret": other.len(),
        "unplanted_examples": examples,
        "ratio_custodia_check_over_detect_secrets": check_s / wall,
        "ratio_custodia_binary_over_detect_secrets": binary_s.map(|b| b / wall),
    }))
}

// ---------------------------------------------------------------------------------------

fn summary(r: &Value) -> String {
    let mut s = String::new();
    let p = &r["policy"];
    let _ = writeln!(
        s,
        "policy: {} (allow={}, obligations {})",
        p["request"], p["decision"]["allow"], p["decision"]["obligations"]
    );
    let _ = writeln!(
        s,
        "  one thread: {:.0} decisions/s, p50 {:.1} us, p99 {:.1} us, max {:.1} us ({} decisions)",
        p["single_thread_per_s"].as_f64().unwrap_or(0.0),
        p["p50_us"].as_f64().unwrap_or(0.0),
        p["p99_us"].as_f64().unwrap_or(0.0),
        p["max_us"].as_f64().unwrap_or(0.0),
        p["decisions"]
    );
    let _ = writeln!(
        s,
        "  {} threads: {:.0} decisions/s",
        p["threads"],
        p["all_cores_per_s"].as_f64().unwrap_or(0.0)
    );
    let c = &r["check"];
    let _ = writeln!(
        s,
        "check (library, median of {}): {} files, {:.1} MB in {:.3} s = {:.0} files/s, {:.1} MB/s (load {:.3} s, discover {:.3} s, check {:.3} s)",
        c["runs"],
        c["files_checked"],
        c["bytes"].as_f64().unwrap_or(0.0) / 1e6,
        c["median_s"].as_f64().unwrap_or(0.0),
        c["files_per_s"].as_f64().unwrap_or(0.0),
        c["mb_per_s"].as_f64().unwrap_or(0.0),
        c["phases_s"]["load_checker"].as_f64().unwrap_or(0.0),
        c["phases_s"]["discover"].as_f64().unwrap_or(0.0),
        c["phases_s"]["check_files"].as_f64().unwrap_or(0.0),
    );
    let _ = writeln!(s, "  findings by rule: {}", c["findings_by_rule"]);
    let _ = writeln!(s, "  planted {}; found {}", c["planted"], c["found"]);
    let _ = writeln!(
        s,
        "  secrets found {} of {}; findings on unplanted lines: {}",
        c["secrets_found"], c["secrets_planted"], c["unplanted_findings"]
    );
    let _ = writeln!(s, "binary: {}", r["binary"]);
    let d = &r["detect_secrets"];
    if d.is_object() {
        let _ = writeln!(
            s,
            "detect-secrets {} (median of {}): {:.3} s; secrets found {} of {}; {} flagged lines without a planted secret; time ratio custodia/detect-secrets: library {:.4}, binary {:.4}",
            d["version"],
            d["runs"],
            d["median_s"].as_f64().unwrap_or(0.0),
            d["secrets_found"],
            c["secrets_planted"],
            d["flagged_lines_without_planted_secret"],
            d["ratio_custodia_check_over_detect_secrets"].as_f64().unwrap_or(0.0),
            d["ratio_custodia_binary_over_detect_secrets"].as_f64().unwrap_or(0.0),
        );
    } else {
        let _ = writeln!(s, "detect-secrets: {d}");
    }
    s
}

fn main() -> Result<()> {
    let a = parse_args()?;
    if let Some(p) = &a.detect_secrets {
        if !p.is_file() {
            bail!("--detect-secrets {}: no such file; {USAGE}", p.display());
        }
    }
    let policy = policy_bench(a.decisions)?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let root = match &a.keep {
        Some(k) => {
            if k.exists() {
                bail!("--keep {}: already exists; name a new folder", k.display());
            }
            std::fs::create_dir_all(k).with_context(|| format!("creating {}", k.display()))?;
            k.canonicalize()
        }
        None => dir.path().canonicalize(),
    }
    .context("resolving the repository folder")?;
    let repo = generate(&root, a.files)?;
    let (check, check_s) = check_bench(&root, &repo)?;
    let binary = binary_run(&root)?;
    let peer = match &a.detect_secrets {
        Some(exe) => detect_secrets(exe, &root, &repo, check_s, binary["wall_s"].as_f64())?,
        None => json!("not measured: pass --detect-secrets PATH"),
    };
    let report = json!({
        "threads_available": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "seed": SEED,
        "policy": policy,
        "check": check,
        "binary": binary,
        "detect_secrets": peer,
    });
    if a.json {
        println!("{report}");
    } else {
        print!("{}", summary(&report));
    }
    Ok(())
}
