-- Every policy decision with its input (no row values) and outcome, for
-- `custodia policy explain`; the audit log entry that records it carries its id.
CREATE TABLE policy_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    decided_us INTEGER NOT NULL,
    allow INTEGER NOT NULL,
    policy_digest TEXT NOT NULL,
    input TEXT NOT NULL,
    decision TEXT NOT NULL,
    audit_index INTEGER
);
