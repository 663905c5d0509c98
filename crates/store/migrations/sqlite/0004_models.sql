-- Model registry (issue 6): each `train` step registers a model version with its artifact
-- (path and SHA-256), model card (YAML), metrics, the dataset versions it was trained on and
-- its training snapshot's subject manifest. `stage` moves registered -> production when
-- `custodia models promote` passes the model gate; `archived` when a newer one is promoted.
-- Column-level lineage (issue 6): per run, which output column of which step derives from
-- which input columns through which transform; and the OpenLineage events each run emitted.
CREATE TABLE model_versions (
    model TEXT NOT NULL,
    version BIGINT NOT NULL,
    run_id TEXT,
    step TEXT,
    algorithm TEXT NOT NULL,
    artifact TEXT NOT NULL,
    artifact_sha256 TEXT NOT NULL,
    card TEXT NOT NULL,
    metrics TEXT NOT NULL,
    training TEXT NOT NULL,
    manifest TEXT,
    subjects BIGINT,
    stage TEXT NOT NULL DEFAULT 'registered',
    created_us BIGINT NOT NULL,
    promoted_us BIGINT,
    PRIMARY KEY (model, version)
);
CREATE TABLE column_lineage (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    output_dataset TEXT NOT NULL,
    output_column TEXT NOT NULL,
    input_dataset TEXT NOT NULL,
    input_column TEXT NOT NULL,
    transform TEXT NOT NULL,
    PRIMARY KEY (run_id, step, output_column, input_dataset, input_column)
);
CREATE INDEX column_lineage_by_input ON column_lineage (input_dataset, input_column);
CREATE TABLE lineage_events (
    id BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_time_us BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, id)
);
