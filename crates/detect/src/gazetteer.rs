//! Name and place gazetteers, compiled from primary public sources (US Census name files,
//! GeoNames, ISO 3166, wordfreq) by `scripts/gazetteers/extract.py` + `cargo xtask
//! gazetteers`, and embedded as `fst` maps: compact, and queried without loading anything
//! at start-up. See `crates/detect/data/SOURCES.md` for sources and licences.

use std::sync::OnceLock;

use fst::Map;

/// The embedded maps. Keys are lower-case NFC; values are weights (see each field).
pub(crate) struct Gazetteers {
    /// First names; weight = people per million bearing the name.
    pub first_names: Map<&'static [u8]>,
    /// Surnames; weight = people per million.
    pub surnames: Map<&'static [u8]>,
    /// Cities (GeoNames, population ≥ 1000, with ASCII and Latin alternate names);
    /// weight = population.
    pub cities: Map<&'static [u8]>,
    /// Countries; weight = population.
    pub countries: Map<&'static [u8]>,
    /// States and provinces; weight 2 = first-level, 1 = lower.
    pub regions: Map<&'static [u8]>,
    /// Ordinary words of the eight supported languages; weight = frequency per billion.
    pub words: Map<&'static [u8]>,
}

fn map(bytes: &'static [u8]) -> Map<&'static [u8]> {
    Map::new(bytes).expect("embedded gazetteer is a valid fst map (built by cargo xtask)")
}

impl Gazetteers {
    /// The process-wide gazetteers, opened on first use.
    pub fn get() -> &'static Gazetteers {
        static G: OnceLock<Gazetteers> = OnceLock::new();
        G.get_or_init(|| Gazetteers {
            first_names: map(include_bytes!("../data/first_names.fst")),
            surnames: map(include_bytes!("../data/surnames.fst")),
            cities: map(include_bytes!("../data/cities.fst")),
            countries: map(include_bytes!("../data/countries.fst")),
            regions: map(include_bytes!("../data/regions.fst")),
            words: map(include_bytes!("../data/common_words.fst")),
        })
    }
}
