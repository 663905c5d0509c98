//! The lexicon's value format: the six gazetteer weights of one lower-case word or phrase
//! packed into the single `u64` an `fst` map stores, so recognising a token costs one
//! lookup instead of six. Shared (by `#[path]`) with `xtask`, which writes the lexicon.
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

#[cfg(test)]
mod tests {
    use super::*;

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
