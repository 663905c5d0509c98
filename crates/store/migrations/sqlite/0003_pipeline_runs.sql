-- Pipeline runs (issue 6): per dataset version, column statistics for drift checks and
-- lineage diffs (counts, null rates, numeric quantiles; no values of personal columns), and
-- for training snapshots the subject manifest (file and digest) and its size. A run keeps
-- the digest of the pipeline file it started from, so a rerun resumes only the same work.
ALTER TABLE dataset_versions ADD COLUMN stats TEXT NOT NULL DEFAULT '{}';
ALTER TABLE dataset_versions ADD COLUMN manifest TEXT;
ALTER TABLE dataset_versions ADD COLUMN subjects BIGINT;
ALTER TABLE runs ADD COLUMN pipeline_digest TEXT NOT NULL DEFAULT '';
CREATE INDEX dataset_versions_by_run ON dataset_versions (run_id);
CREATE INDEX runs_by_pipeline ON runs (pipeline, started_us);
