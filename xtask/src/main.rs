//! `cargo run -p xtask -- gazetteers [IN_DIR] [OUT_DIR]`: compiles the lists written by
//! `scripts/gazetteers/extract.py` (`entry<TAB>weight`, sorted, unique) into the one static
//! hash table that `custodia-detect` embeds (`lexicon.bin`): each lower-case entry maps to its six
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
    let keys: Vec<(&[u8], u64)> = lexicon
        .iter()
        .map(|(k, w)| (k.as_bytes(), w.pack()))
        .collect();
    let (seed, bytes) = (0..64)
        .find_map(|seed| lexicon::build(seed, &keys).map(|b| (seed, b)))
        .context("no seed below 64 gives a collision-free lexicon table")?;
    let table = lexicon::Table::parse(&bytes).context("the table just built does not parse")?;
    for (k, v) in &keys {
        if table.get(k) != Some(*v) {
            bail!("lexicon table lost {:?}", String::from_utf8_lossy(k));
        }
    }
    let out = output.join("lexicon.bin");
    fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: {} entries, {} bytes, seed {seed}",
        out.display(),
        keys.len(),
        bytes.len()
    );
    Ok(())
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
