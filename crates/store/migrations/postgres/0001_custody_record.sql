-- Custodia metadata store, version 1 (PostgreSQL). Times are microseconds since the Unix epoch.
CREATE TABLE regions (
    region TEXT PRIMARY KEY,
    created_us BIGINT NOT NULL
);
-- Region key versions: the keys themselves are derived from the master key (HKDF) and never
-- stored; a version row says which derivation wraps subject keys.
CREATE TABLE region_key_versions (
    region TEXT NOT NULL REFERENCES regions(region),
    version BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (region, version)
);
CREATE TABLE subject_keys (
    region TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    wrapped BYTEA NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (region, subject_ref)
);
CREATE TABLE shredded_subjects (
    region TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    shredded_us BIGINT NOT NULL,
    PRIMARY KEY (region, subject_ref)
);
CREATE TABLE audit_entries (
    idx BIGINT PRIMARY KEY,
    leaf BYTEA NOT NULL,
    body TEXT NOT NULL
);
-- One row: the tree size and its right-edge subtree hashes (O(log n) roots on append).
CREATE TABLE audit_tip (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    frontier BYTEA NOT NULL
);
CREATE TABLE audit_checkpoints (
    id BIGSERIAL PRIMARY KEY,
    size BIGINT NOT NULL,
    note TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE TABLE contracts (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    registered_us BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE consent_events (
    id BIGSERIAL PRIMARY KEY,
    subject_ref TEXT NOT NULL CHECK (length(subject_ref) > 0),
    purpose TEXT NOT NULL CHECK (length(purpose) > 0),
    granted BIGINT NOT NULL CHECK (granted IN (0, 1)),
    at_us BIGINT NOT NULL,
    source TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    recorded_us BIGINT NOT NULL
);
CREATE INDEX consent_by_subject ON consent_events (subject_ref, purpose, at_us, id);
CREATE TABLE datasets (
    name TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE TABLE dataset_versions (
    dataset TEXT NOT NULL REFERENCES datasets(name),
    version BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    schema_json TEXT NOT NULL,
    region TEXT NOT NULL,
    path TEXT NOT NULL,
    run_id TEXT,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (dataset, version)
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    started_us BIGINT NOT NULL,
    finished_us BIGINT,
    summary TEXT NOT NULL
);
-- Journal of multi-step jobs (runs, erasures, retention sweeps): one row per step, so a
-- rerun after a crash knows what is done.
CREATE TABLE journal (
    job_id TEXT NOT NULL,
    step TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL,
    updated_us BIGINT NOT NULL,
    PRIMARY KEY (job_id, step)
);
