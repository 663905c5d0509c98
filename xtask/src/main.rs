//! `cargo run -p xtask -- gazetteers [IN_DIR] [OUT_DIR]`: compiles the lists written by
//! `scripts/gazetteers/extract.py` (`entry<TAB>weight`, sorted, unique) into the one `fst`
//! map that `custodia-detect` embeds (`lexicon.fst`): each lower-case entry maps to its six
//! weights (first name, surname, common word, city, country, region) packed as
//! `crates/detect/src/lexicon.rs` defines. Common-word lists of all languages are merged
//! (weight = highest frequency per billion across languages).

use std::{collections::BTreeMap, fs, path::Path};

use anyhow::{bail, Context, Result};

#[path = "../../crates/detect/src/lexicon.rs"]
mod lexicon;
use lexicon::Weights;

fn read_tsv(path: &Path) -> Result<BTreeMap<String, u64>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let Some((entry, weight)) = line.split_once('\t') else {
            bail!("{}:{}: expected `entry<TAB>weight`", path.display(), i + 1);
        };
        let w: u64 = weight
            .trim()
            .parse()
            .with_context(|| format!("{}:{}: weight is not an integer", path.display(), i + 1))?;
        let slot = map.entry(entry.to_string()).or_insert(0);
        *slot = (*slot).max(w);
    }
    Ok(map)
}

fn gazetteers(input: &Path, output: &Path) -> Result<()> {
    fs::create_dir_all(output)?;
    let mut lexicon: BTreeMap<String, Weights> = BTreeMap::new();
    let mut merge = |file: &str, set: fn(&mut Weights, u64)| -> Result<()> {
        for (k, v) in read_tsv(&input.join(file))? {
            let w = lexicon.entry(k).or_default();
            set(w, v);
        }
        Ok(())
    };
    merge("first_names.tsv", |w, v| w.first_name = v)?;
    merge("surnames.tsv", |w, v| w.surname = v)?;
    merge("cities.tsv", |w, v| w.city = v)?;
    merge("countries.tsv", |w, v| w.country = v)?;
    merge("regions.tsv", |w, v| w.region = v)?;
    for lang in ["en", "de", "fr", "es", "it", "nl", "pl", "sv"] {
        merge(&format!("common_words_{lang}.tsv"), |w, v| {
            w.common = w.common.max(v)
        })?;
    }
    // First words of multi-word places ("new" of "new york"): the recognizer looks up a
    // span of several tokens only when it starts with one of them.
    let starts: Vec<String> = lexicon
        .iter()
        .filter(|(k, w)| k.contains(' ') && (w.city > 0 || w.country > 0 || w.region > 0))
        .filter_map(|(k, _)| k.split(' ').next().map(str::to_string))
        .collect();
    for first in starts {
        lexicon.entry(first).or_default().starts_place = true;
    }
    for (k, w) in &lexicon {
        let back = Weights::unpack(w.pack());
        if back.region != w.region
            || back.starts_place != w.starts_place
            || back.first_name > w.first_name
        {
            bail!("lexicon codec lost {k:?}: {w:?} came back as {back:?}");
        }
    }
    write_hot(&lexicon, output)?;
    write_fst(&output.join("lexicon.fst"), lexicon.iter())
}

/// Writes entries (sorted by key) as an `fst` map of packed weights.
fn write_fst<'a>(
    out: &Path,
    entries: impl IntoIterator<Item = (&'a String, &'a Weights)>,
) -> Result<()> {
    let mut b = fst::MapBuilder::memory();
    let mut n = 0;
    for (k, w) in entries {
        b.insert(k, w.pack())?;
        n += 1;
    }
    let bytes = b.into_inner()?;
    fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("{}: {n} entries, {} bytes", out.display(), bytes.len());
    Ok(())
}

/// The entries capitalised tokens hit most often — frequent words, first names and
/// surnames, countries, first-level regions, large cities — as a second, small map that
/// the recognizer loads into a hash table in front of the big one.
fn write_hot(lexicon: &BTreeMap<String, Weights>, output: &Path) -> Result<()> {
    let top = |key: fn(&Weights) -> u64, n: usize| -> Vec<&String> {
        let mut v: Vec<(&String, u64)> = lexicon
            .iter()
            .map(|(k, w)| (k, key(w)))
            .filter(|(_, x)| *x > 0)
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.into_iter().take(n).map(|(k, _)| k).collect()
    };
    let mut hot: std::collections::BTreeSet<&String> = std::collections::BTreeSet::new();
    hot.extend(top(|w| w.common, 20_000));
    hot.extend(top(|w| w.first_name, 8_000));
    hot.extend(top(|w| w.surname, 8_000));
    hot.extend(top(|w| w.city, 8_000));
    hot.extend(top(|w| w.country, 2_000));
    hot.extend(top(|w| u64::from(w.region >= 2), 5_000));
    write_fst(
        &output.join("lexicon_hot.fst"),
        hot.into_iter().map(|k| (k, &lexicon[k])),
    )
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gazetteers") => {
            let input = args.get(1).map_or("scripts/gazetteers/out", String::as_str);
            let output = args.get(2).map_or("crates/detect/data", String::as_str);
            gazetteers(Path::new(input), Path::new(output))
        }
        _ => bail!("usage: cargo run -p xtask -- gazetteers [IN_DIR] [OUT_DIR]"),
    }
}
