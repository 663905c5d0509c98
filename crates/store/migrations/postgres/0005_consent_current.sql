-- Each subject's deciding consent event per purpose (the latest; of two at the same instant,
-- the later entry), kept up to date by every append in the same transaction. A bulk consent
-- filter reads one row per subject here instead of every event of the ledger (issue 6).
CREATE TABLE consent_current (
    purpose TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    granted BIGINT NOT NULL,
    at_us BIGINT NOT NULL,
    id BIGINT NOT NULL,
    PRIMARY KEY (purpose, subject_ref)
);
INSERT INTO consent_current (purpose, subject_ref, granted, at_us, id)
SELECT purpose, subject_ref, granted, at_us, id FROM consent_events e
WHERE NOT EXISTS (
    SELECT 1 FROM consent_events l
    WHERE l.subject_ref = e.subject_ref AND l.purpose = e.purpose
      AND (l.at_us > e.at_us OR (l.at_us = e.at_us AND l.id > e.id))
);
