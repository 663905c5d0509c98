-- Data subject requests (issue 7). A request knows its subject by SubjectRef only; the
-- identifier the person gave is kept encrypted under the subject's own data key (an `sk1.`
-- token), so erasure's crypto-shred makes it unreadable too. Times are microseconds.
CREATE TABLE dsar_requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    region TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    identifier TEXT NOT NULL,
    state TEXT NOT NULL,
    received_us BIGINT NOT NULL,
    due_us BIGINT NOT NULL,
    extended_us BIGINT,
    updated_us BIGINT NOT NULL,
    closed_us BIGINT,
    result TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX dsar_by_state ON dsar_requests (state, due_us);
CREATE INDEX dsar_by_subject ON dsar_requests (subject_ref);
-- Where each dataset version's person is: the governing contract's subject key column and
-- the kind of identifier it holds (JSON), and for loads the table they went to (JSON, a URL
-- without password). Discovery reads these; older versions fall back to lineage.
ALTER TABLE dataset_versions ADD COLUMN subject_key TEXT;
ALTER TABLE dataset_versions ADD COLUMN target TEXT;
-- A version's files rewritten in place by an erasure or a retention sweep: the version keeps
-- its name (models, lineage and the audit log cite it), each rewrite is a revision.
CREATE TABLE dataset_revisions (
    dataset TEXT NOT NULL,
    version BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    rows_removed BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (dataset, version, revision)
);
-- Models trained on a subject who was later erased: flagged until retrained.
ALTER TABLE model_versions ADD COLUMN flagged TEXT;
-- Subjects a request took out of use, per region: erasure for every purpose (`*`), an
-- objection for the purposes objected to. Every later read for such a purpose drops their
-- rows, so data an upstream system still holds does not come back.
CREATE TABLE suppressed_subjects (
    region TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    purpose TEXT NOT NULL,
    request_id TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    PRIMARY KEY (region, subject_ref, purpose)
);
