//! The lexicon's formats, shared (by `#[path]`) with `xtask`, which writes the lexicon.
//!
//! **Values:** the six gazetteer weights of one lower-case word or phrase packed into one
//! `u64`, so recognising a token costs one lookup instead of six.
//!
//! **Table:** a static hash table of 64-bit key fingerprints (`lexicon.bin`): entries are
//! sorted by fingerprint and bucketed by its top bits, so a lookup is one hash, one bucket
//! offset and a compare of about one 32-bit tag. An `fst` map is smaller but walks
//! the key byte by byte through 7 MB; this table answers in a few dozen instructions, which
//! mattered because the names recognizer looks up every capitalised token. Keys are not
//! stored: two keys sharing bucket and tag are refused when the table is built (the
//! builder then tries another seed), and an unknown word is mistaken for an entry with
//! probability about 2⁻³² per lookup.
//!
//! Each weight is a 10-bit code (bits 0–59), bit 60 is [`Weights::starts_place`]: exact below 256, above that a power of two with five
//! bits of mantissa (within 3.2%). The weights are frequencies and populations, whose
//! thresholds in the recognizers are orders of magnitude apart.

/// Gazetteer weights of one entry; 0 = not in that list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Weights {
    /// People per million with this first name (US Census).
    pub first_name: u64,
    /// People per million with this surname (US Census).
    pub surname: u64,
    /// Highest frequency per billion words across the eight supported languages.
    pub common: u64,
    /// Population of the largest city of this name (GeoNames).
    pub city: u64,
    /// Population of the country of this name.
    pub country: u64,
    /// 2 = first-level region (state, province), 1 = lower level.
    pub region: u64,
    /// Some multi-word place name starts with this word ("new" of "new york"): only then
    /// is a span of several tokens worth looking up.
    pub starts_place: bool,
}

const BITS: u32 = 10;
const MASK: u64 = (1 << BITS) - 1;
const STARTS_PLACE: u64 = 1 << 60;

fn encode(v: u64) -> u64 {
    if v < 256 {
        return v;
    }
    let e = u64::from(63 - v.leading_zeros()); // 8..=63
    let m = (v >> (e - 5)) & 31;
    (256 + (e - 8) * 32 + m).min(MASK)
}

fn decode(code: u64) -> u64 {
    if code < 256 {
        return code;
    }
    let e = (code - 256) / 32 + 8;
    let m = (code - 256) % 32;
    (32 + m) << (e - 5)
}

impl Weights {
    /// Packs the six weights (xtask, when writing the lexicon).
    #[allow(dead_code)]
    pub fn pack(&self) -> u64 {
        [
            self.first_name,
            self.surname,
            self.common,
            self.city,
            self.country,
            self.region,
        ]
        .iter()
        .enumerate()
        .fold(0, |acc, (i, v)| acc | encode(*v) << (BITS * i as u32))
            | if self.starts_place { STARTS_PLACE } else { 0 }
    }

    /// Unpacks what [`Weights::pack`] wrote.
    pub fn unpack(packed: u64) -> Weights {
        let field = |i: u32| decode((packed >> (BITS * i)) & MASK);
        Weights {
            first_name: field(0),
            surname: field(1),
            common: field(2),
            city: field(3),
            country: field(4),
            region: field(5),
            starts_place: packed & STARTS_PLACE != 0,
        }
    }
}

/// The first bytes of `lexicon.bin` (format version 1).
pub const MAGIC: &[u8; 8] = b"CUSLEX01";

/// Header: magic, seed (u64), bucket bits (u32), entry count (u32); all little-endian.
const HEADER: usize = 24;

/// FNV-1a over the key, then MurmurHash3's finaliser so the top bits (the bucket) depend
/// on every byte. Stable across platforms and Rust versions, unlike `std`'s hashers.
pub fn fingerprint(seed: u64, key: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A lexicon table borrowed from its bytes (embedded in the binary, never copied).
pub struct Table<'a> {
    seed: u64,
    bits: u32,
    offsets: &'a [u8],
    tags: &'a [u8],
    values: &'a [u8],
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[i * 4..i * 4 + 4]);
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[i * 8..i * 8 + 8]);
    u64::from_le_bytes(w)
}

impl<'a> Table<'a> {
    /// Reads a table that [`build`] wrote; `None` when the bytes are not one (wrong magic,
    /// truncated, offsets out of order).
    pub fn parse(bytes: &'a [u8]) -> Option<Table<'a>> {
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return None;
        }
        let seed = u64_at(&bytes[8..16], 0);
        let bits = u32_at(&bytes[16..20], 0);
        let n = u32_at(&bytes[20..24], 0) as usize;
        if !(1..=30).contains(&bits) {
            return None;
        }
        let buckets = (1usize << bits) + 1;
        let (offsets, rest) = bytes[HEADER..].split_at_checked(buckets * 4)?;
        let (tags, rest) = rest.split_at_checked(n * 4)?;
        let (values, rest) = rest.split_at_checked(n * 8)?;
        let ordered = (1..buckets).all(|i| u32_at(offsets, i - 1) <= u32_at(offsets, i));
        if !rest.is_empty() || !ordered || u32_at(offsets, buckets - 1) as usize != n {
            return None;
        }
        Some(Table {
            seed,
            bits,
            offsets,
            tags,
            values,
        })
    }

    /// The packed value of `key`, if it is an entry.
    pub fn get(&self, key: &[u8]) -> Option<u64> {
        let h = fingerprint(self.seed, key);
        let bucket = (h >> (64 - self.bits)) as usize;
        let tag = h as u32;
        let (lo, hi) = (
            u32_at(self.offsets, bucket) as usize,
            u32_at(self.offsets, bucket + 1) as usize,
        );
        (lo..hi)
            .find(|&i| u32_at(self.tags, i) == tag)
            .map(|i| u64_at(self.values, i))
    }
}

/// Writes `entries` (unique keys) as a table, with about one entry per bucket; `None`
/// when two keys collide under `seed` (try another). Used by xtask and the tests.
#[allow(dead_code)]
pub fn build(seed: u64, entries: &[(&[u8], u64)]) -> Option<Vec<u8>> {
    let bits = entries.len().max(2).ilog2();
    let mut hashed: Vec<(u64, u64)> = entries
        .iter()
        .map(|(k, v)| {
            let h = fingerprint(seed, k);
            // Bucket and tag are what a lookup compares; the bits between are not.
            ((h >> (64 - bits) << 32) | (h & 0xffff_ffff), *v)
        })
        .collect();
    hashed.sort_unstable();
    if hashed.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    let mut out = Vec::with_capacity(HEADER + (1 << bits) * 4 + entries.len() * 12 + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&seed.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(&(u32::try_from(entries.len()).ok()?).to_le_bytes());
    let mut next = 0usize;
    for bucket in 0..=(1u64 << bits) {
        while next < hashed.len() && hashed[next].0 >> 32 < bucket {
            next += 1;
        }
        out.extend_from_slice(&(next as u32).to_le_bytes());
    }
    for (key, _) in &hashed {
        out.extend_from_slice(&(*key as u32).to_le_bytes());
    }
    for (_, value) in &hashed {
        out.extend_from_slice(&value.to_le_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_finds_every_entry_and_refuses_bad_bytes() {
        let keys: Vec<String> = (0..5_000).map(|i| format!("word{i}")).collect();
        let entries: Vec<(&[u8], u64)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_bytes(), i as u64 * 7 + 1))
            .collect();
        let bytes = (0..).find_map(|seed| build(seed, &entries)).unwrap();
        let table = Table::parse(&bytes).unwrap();
        for (k, v) in &entries {
            assert_eq!(table.get(k), Some(*v));
        }
        let strays = (0..20_000)
            .filter(|i| table.get(format!("other{i}").as_bytes()).is_some())
            .count();
        assert_eq!(strays, 0);
        assert!(Table::parse(&bytes[..bytes.len() - 1]).is_none());
        assert!(Table::parse(b"CUSLEX00").is_none());
        let mut shuffled = bytes.clone();
        shuffled[HEADER..HEADER + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Table::parse(&shuffled).is_none());
    }

    #[test]
    fn weights_round_trip_within_four_percent() {
        for v in [0, 1, 5, 20, 255, 256, 999, 40_000, 1_000_000, 1_400_000_000] {
            let w = Weights {
                first_name: v,
                surname: v / 2,
                common: v,
                city: v,
                country: v,
                region: 2,
                starts_place: v % 2 == 0,
            };
            let back = Weights::unpack(w.pack());
            assert!(back.first_name <= v && back.first_name as f64 >= v as f64 * 0.96);
            assert_eq!(back.region, 2);
            if v < 256 {
                assert_eq!(back, w);
            }
        }
    }
}
