//! A flat hash table for the bulk filters' hot path: 128-bit keys that are already
//! uniform (xxh3-128 of a subject value, the first half of an HMAC SubjectRef) mapped to
//! small values, with open addressing and linear probing, keys and values inline.
//!
//! Every row of a filtered read is one random lookup in a table of all its subjects,
//! much bigger than the CPU caches. Here a lookup costs one cache miss; a general map
//! that keeps its control bytes apart from its entries costs two, and those misses were
//! most of the filter's time. Nothing is removed, so probing needs no tombstones.

/// A slot's flag: it holds an entry. Values use the 30 bits below it.
const OCCUPIED: u32 = 1 << 30;

/// One slot: a key and its value (`OCCUPIED` set when in use), 24 bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key: [u64; 2],
    value: u32,
}

/// Keys → values (any `u32` without bit 30).
#[derive(Debug, Default)]
pub(crate) struct FlatTable {
    slots: Vec<Slot>,
    len: usize,
}

impl FlatTable {
    /// A table that holds `n` entries without growing.
    pub(crate) fn with_capacity(n: usize) -> FlatTable {
        let mut t = FlatTable::default();
        t.reserve_for(n);
        t
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Where `key` is (`Ok`), or the empty slot it would take (`Err`): linear probing from
    /// its home slot. The table must have slots.
    fn probe(&self, key: [u64; 2]) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = key[0] as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.value & OCCUPIED == 0 {
                return Err(i);
            }
            if slot.key == key {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: [u64; 2]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let i = self.probe(key).ok()?;
        Some(self.slots[i].value & !OCCUPIED)
    }

    /// Loads `key`'s home slot and nothing else: a batch of lookups touches all its slots
    /// first, in a loop short enough for the CPU to have many of those cache misses in
    /// flight at once, then looks up from the cache. (A prefetch instruction would need
    /// `unsafe`; a load whose result is folded into `black_box` does the same.)
    pub(crate) fn touch(&self, key: [u64; 2]) -> u64 {
        match self.slots.len() {
            0 => 0,
            n => {
                // Both ends: a slot may straddle two cache lines.
                let slot = &self.slots[key[0] as usize & (n - 1)];
                slot.key[0] ^ u64::from(slot.value)
            }
        }
    }

    /// The value of `key`, made by `make` on its first lookup.
    pub(crate) fn get_or_insert_with(&mut self, key: [u64; 2], make: impl FnOnce() -> u32) -> u32 {
        self.reserve_for(self.len + 1);
        match self.probe(key) {
            Ok(i) => self.slots[i].value & !OCCUPIED,
            Err(i) => {
                let value = make();
                debug_assert_eq!(value & OCCUPIED, 0, "values do not use bit 30");
                self.slots[i] = Slot {
                    key,
                    value: value | OCCUPIED,
                };
                self.len += 1;
                value
            }
        }
    }

    /// Sets `key` to `value`.
    pub(crate) fn insert(&mut self, key: [u64; 2], value: u32) {
        self.reserve_for(self.len + 1);
        let i = self.probe(key).unwrap_or_else(|empty| {
            self.len += 1;
            empty
        });
        self.slots[i] = Slot {
            key,
            value: value & !OCCUPIED | OCCUPIED,
        };
    }

    /// Every value held, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .filter(|s| s.value & OCCUPIED != 0)
            .map(|s| s.value & !OCCUPIED)
    }

    /// Grows (doubling) until `n` entries fill at most seven eighths of the slots: at that
    /// load a hit is a probe or three, on neighbouring slots of one or two cache lines.
    fn reserve_for(&mut self, n: usize) {
        let mut capacity = self.slots.len().max(1024);
        while n * 8 > capacity * 7 {
            capacity *= 2;
        }
        if capacity == self.slots.len() {
            return;
        }
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); capacity]);
        for slot in old.into_iter().filter(|s| s.value & OCCUPIED != 0) {
            // Keys are distinct: each finds an empty slot.
            let (Ok(i) | Err(i)) = self.probe(slot.key);
            self.slots[i] = slot;
        }
    }
}

/// A 128-bit hash as a table key.
pub(crate) fn key_of(hash: u128) -> [u64; 2] {
    [hash as u64, (hash >> 64) as u64]
}

/// The first half of a SubjectRef (an HMAC output, already uniform) as a table key.
pub(crate) fn ref_key(subject_ref: &[u8; 32]) -> [u64; 2] {
    let (a, rest) = subject_ref.split_first_chunk::<8>().expect("32 bytes");
    let b = rest.first_chunk::<8>().expect("24 bytes");
    [u64::from_le_bytes(*a), u64::from_le_bytes(*b)]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the keys (clustered low bits included, so probes run long), the table
        /// answers as a HashMap does.
        #[test]
        fn answers_as_a_hash_map_does(
            ops in proptest::collection::vec((0u64..4096, 0u64..4, any::<u32>(), any::<bool>()), 0..3000),
        ) {
            let mut table = FlatTable::default();
            let mut model: HashMap<[u64; 2], u32> = HashMap::new();
            for (lo, hi, value, upsert) in ops {
                // Multiples of 1024: every key starts its probe in slot 0 of a small table.
                let key = [lo * 1024, hi];
                let value = value & !OCCUPIED;
                if upsert {
                    table.insert(key, value);
                    model.insert(key, value);
                } else {
                    let got = table.get_or_insert_with(key, || value);
                    prop_assert_eq!(got, *model.entry(key).or_insert(value));
                }
                prop_assert_eq!(table.len(), model.len());
            }
            for (key, value) in &model {
                prop_assert_eq!(table.get(*key), Some(*value));
            }
            prop_assert_eq!(table.get([1, 99]), None);
            let mut values: Vec<u32> = table.values().collect();
            let mut expected: Vec<u32> = model.values().copied().collect();
            values.sort_unstable();
            expected.sort_unstable();
            prop_assert_eq!(values, expected);
        }
    }

    #[test]
    fn the_top_bit_is_a_value_bit() {
        let mut t = FlatTable::with_capacity(3);
        t.insert([1, 1], 1 << 31);
        assert_eq!(t.get_or_insert_with([1, 1], || 0), 1 << 31);
        assert_eq!(t.get([1, 1]), Some(1 << 31));
    }
}
