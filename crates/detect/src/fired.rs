//! Which pattern recognizers can fire on a text: one pass of a lazy DFA built from every
//! pattern at once, reading the patterns of each match state it passes.
//!
//! `regex::RegexSet::matches` answers the same question, but through an overlapping
//! search that stops and resumes at every match and re-checks its state on every byte:
//! about 50 instructions a byte, the largest single cost of `analyze` on short texts. The
//! loop here takes the untagged fast path of the lazy DFA and looks at a state only when
//! it is special, about 30 (measured with callgrind; a test checks both agree).

use regex_automata::{
    hybrid::{
        dfa::{Cache, DFA},
        LazyStateID,
    },
    nfa::thompson::{self, WhichCaptures},
    util::pool::Pool,
    Input, MatchKind,
};

use crate::DetectError;

/// Most recognizers one set can hold: the fired set is a bitmask.
pub(crate) const MAX_PATTERNS: usize = 128;

type CacheFn =
    Box<dyn Fn() -> Cache + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>;

/// The recognizers whose patterns match somewhere in a text, by index.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Fired(u128);

impl Fired {
    fn all(n: usize) -> Fired {
        Fired(if n >= MAX_PATTERNS {
            u128::MAX
        } else {
            (1u128 << n) - 1
        })
    }

    /// Indexes in increasing order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                i
            })
        })
    }
}

/// A multi-pattern lazy DFA with a pool of per-thread caches.
pub(crate) struct PatternSet {
    dfa: DFA,
    caches: Pool<Cache, CacheFn>,
    len: usize,
}

impl PatternSet {
    /// `cache_bytes` bounds each thread's lazily built transition table.
    pub fn new(patterns: &[&str], cache_bytes: usize) -> Result<PatternSet, DetectError> {
        if patterns.len() > MAX_PATTERNS {
            return Err(DetectError::Config(format!(
                "{} patterns in one set; at most {MAX_PATTERNS}",
                patterns.len()
            )));
        }
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .nfa_size_limit(Some(cache_bytes))
                    .which_captures(WhichCaptures::None),
            )
            .build_many(patterns)
            .map_err(|e| DetectError::Config(e.to_string()))?;
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(cache_bytes),
            )
            .build_from_nfa(nfa)
            .map_err(|e| DetectError::Config(e.to_string()))?;
        let for_pool = dfa.clone();
        let create: CacheFn = Box::new(move || for_pool.create_cache());
        Ok(PatternSet {
            dfa,
            caches: Pool::new(create),
            len: patterns.len(),
        })
    }

    /// The patterns that match somewhere in `text`. Should the lazy DFA ever give up
    /// (it is configured not to), every pattern counts as fired: each recognizer's own
    /// search then decides, which is slower but never wrong.
    pub fn fired(&self, text: &str) -> Fired {
        let mut cache = self.caches.get();
        self.scan(&mut cache, text).unwrap_or(Fired::all(self.len))
    }

    fn scan(&self, cache: &mut Cache, text: &str) -> Option<Fired> {
        let dfa = &self.dfa;
        let mut fired = Fired::default();
        let mut record = |cache: &Cache, sid: LazyStateID| {
            for i in 0..dfa.match_len(cache, sid) {
                fired.0 |= 1u128 << dfa.match_pattern(cache, sid, i).as_usize();
            }
        };
        let mut sid = dfa.start_state_forward(cache, &Input::new(text)).ok()?;
        let mut last_match = None;
        for &byte in text.as_bytes() {
            let mut next = if sid.is_tagged() {
                dfa.next_state(cache, sid, byte).ok()?
            } else {
                dfa.next_state_untagged(cache, sid, byte)
            };
            if next.is_unknown() {
                next = dfa.next_state(cache, sid, byte).ok()?;
            }
            sid = next;
            if sid.is_tagged() {
                if sid.is_match() {
                    // Inside a long match the DFA often stays in one state.
                    if last_match != Some(sid) {
                        last_match = Some(sid);
                        record(cache, sid);
                    }
                } else if sid.is_dead() {
                    return Some(fired);
                } else if sid.is_quit() {
                    return None;
                }
            }
        }
        let eoi = dfa.next_eoi_state(cache, sid).ok()?;
        if eoi.is_match() {
            record(cache, eoi);
        }
        Some(fired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(patterns: &[&str], text: &str) -> (Vec<usize>, Vec<usize>) {
        let ours = PatternSet::new(patterns, 64 << 20).unwrap();
        let set = regex::RegexSet::new(patterns).unwrap();
        (
            ours.fired(text).iter().collect(),
            set.matches(text).iter().collect(),
        )
    }

    #[test]
    fn fired_patterns_match_a_regex_set() {
        let patterns = [
            r"(?-u:\b)[0-9]{3}-[0-9]{4}(?-u:\b)",
            r"[\p{L}]+@[a-z]+\.com",
            r"(?i)dear",
            r"x$",
            r"^Start",
        ];
        for text in [
            "call 555-1234 now",
            "5551234",
            "mail josé@example.com, Dear",
            "ends with x",
            "Start here",
            "",
            "nothing",
        ] {
            let (ours, theirs) = agree(&patterns, text);
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    #[test]
    fn too_many_patterns_is_an_error() {
        let many = vec!["a"; MAX_PATTERNS + 1];
        assert!(PatternSet::new(&many, 1 << 20).is_err());
    }
}
