//! Name and place gazetteers, compiled from primary public sources (US Census name files,
//! GeoNames, ISO 3166, wordfreq) by `scripts/gazetteers/extract.py` + `cargo xtask
//! gazetteers`, and embedded as one static hash table (`lexicon.bin`, format in
//! [`crate::lexicon`]): queried in place, one probe per token. See
//! `crates/detect/data/SOURCES.md` for sources and licences.

use std::sync::OnceLock;

use crate::lexicon::{Table, Weights};

/// The embedded lexicon: lower-case NFC entries → packed [`Weights`].
pub(crate) struct Gazetteers {
    lexicon: Table<'static>,
}

impl Gazetteers {
    /// The process-wide gazetteers, opened on first use.
    pub fn get() -> &'static Gazetteers {
        static G: OnceLock<Gazetteers> = OnceLock::new();
        G.get_or_init(|| Gazetteers {
            lexicon: Table::parse(include_bytes!("../data/lexicon.bin"))
                .expect("embedded lexicon is a valid table (built by cargo xtask gazetteers)"),
        })
    }

    /// Weights of a lower-case word or phrase (all zero when unknown).
    pub fn lookup(&self, lower: impl AsRef<[u8]>) -> Weights {
        self.lexicon
            .get(lower.as_ref())
            .map(Weights::unpack)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lexicon_answers() {
        let g = Gazetteers::get();
        assert!(g.lookup("london").city > 1_000_000);
        assert!(g.lookup("john").first_name > 0);
        assert!(g.lookup("müller").surname > 0 || g.lookup("muller").surname > 0);
        assert!(g.lookup("new").starts_place);
        assert!(g.lookup("new york").city > 1_000_000);
        assert!(g.lookup("the").common > 1_000_000);
        for unknown in ["qwxzvb", "", "London", "xx yy zz"] {
            assert_eq!(g.lookup(unknown), Weights::default(), "{unknown}");
        }
    }
}
