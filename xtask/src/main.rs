//! `cargo run -p xtask -- gazetteers [IN_DIR] [OUT_DIR]`: compiles the lists written by
//! `scripts/gazetteers/extract.py` (`entry<TAB>weight`, sorted, unique) into the `fst`
//! maps that `custodia-detect` embeds. Common-word lists of all languages are merged into
//! one map (weight = highest frequency per billion across languages).

use std::{collections::BTreeMap, fs, path::Path};

use anyhow::{bail, Context, Result};

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

fn write_fst(map: &BTreeMap<String, u64>, out: &Path) -> Result<()> {
    let mut b = fst::MapBuilder::memory();
    for (k, v) in map {
        b.insert(k, *v)?;
    }
    let bytes = b.into_inner()?;
    fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: {} entries, {} bytes",
        out.display(),
        map.len(),
        bytes.len()
    );
    Ok(())
}

fn gazetteers(input: &Path, output: &Path) -> Result<()> {
    fs::create_dir_all(output)?;
    for name in ["first_names", "surnames", "cities", "countries", "regions"] {
        let map = read_tsv(&input.join(format!("{name}.tsv")))?;
        write_fst(&map, &output.join(format!("{name}.fst")))?;
    }
    let mut words = BTreeMap::new();
    for lang in ["en", "de", "fr", "es", "it", "nl", "pl", "sv"] {
        for (k, v) in read_tsv(&input.join(format!("common_words_{lang}.tsv")))? {
            let slot = words.entry(k).or_insert(0);
            *slot = (*slot).max(v);
        }
    }
    write_fst(&words, &output.join("common_words.fst"))
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
