/// What can go wrong in the store. Messages never carry personal data or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store URL is malformed or names an unsupported database.
    #[error("store url: {0}")]
    Url(String),
    /// The database could not be reached or opened.
    #[error("cannot open the store: {0}")]
    Connect(String),
    /// A schema migration failed.
    #[error("store migration failed: {0}; the store was left at its previous version")]
    Migrate(String),
    /// A query failed.
    #[error("store query failed: {0}")]
    Database(#[from] sqlx::Error),
    /// The store holds something it should not (a gap in the audit log, a bad row).
    #[error("store is inconsistent: {0}")]
    Corrupt(String),
    /// The subject's data key was shredded: their tokenized fields are gone for good.
    #[error("subject {subject} in region {region} was crypto-shredded; no key can be created or read for them")]
    Shredded {
        /// Region of the subject.
        region: String,
        /// The subject's SubjectRef.
        subject: String,
    },
    /// A name the caller asked for does not exist.
    #[error("{what} `{name}` not found{hint}")]
    NotFound {
        /// Kind of thing (contract, dataset, region…).
        what: &'static str,
        /// Its name.
        name: String,
        /// The next command to try, with a leading separator, or empty.
        hint: String,
    },
}
