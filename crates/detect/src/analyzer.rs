//! The analyzer: one multi-pattern DFA pass says which pattern recognizers can fire, each of those
//! finds its spans, validators drop what fails its checksum, context words move scores, the
//! name recognizer adds PERSON/LOCATION, and overlaps are resolved by score.

use std::net::Ipv6Addr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use custodia_core::EntityType;
use regex::{Regex, RegexBuilder};
use regex_automata::{meta, Anchored, Input};

use crate::{
    fired::PatternSet,
    names::NameRecognizer,
    phone::PhoneValidator,
    recognizers::{PatternSpec, ADDRESS_SPECS, CONTEXT, NEGATIVE_CONTEXT, SPECS},
    validators, DetectError, Finding,
};

/// Which entities to look for and how sure a finding must be.
#[derive(Debug, Clone)]
pub struct AnalyzerConfig {
    /// Only these entity types (all when `None`).
    pub entities: Option<Vec<EntityType>>,
    /// Findings scoring below this are dropped (0.0–1.0).
    pub min_score: f32,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            entities: None,
            min_score: 0.5,
        }
    }
}

/// What a context word says about the entity near it.
#[derive(Clone, Copy, PartialEq)]
enum Hint {
    Supports(EntityType),
    Against,
}

/// How one recognizer finds its spans.
enum Search {
    /// Numeric identifiers: anchored searches at the few places a number can start (see
    /// [`number_starts`]), one forward pass from each and no reverse scan.
    AtNumberStarts(meta::Regex),
    /// Leftmost-first search over the whole text.
    Find(Regex),
    /// The same for recognizers whose entity is a capture group, which costs a slower
    /// engine.
    Captures(Regex),
}

/// A reusable, thread-safe detector. Build once; share across threads.
pub struct Analyzer {
    set: PatternSet,
    /// Per recognizer, how its spans are found once the set pass says it can fire.
    searches: Vec<Search>,
    specs: Vec<&'static PatternSpec>,
    context: AhoCorasick,
    hints: Vec<Hint>,
    names: NameRecognizer,
    phones: PhoneValidator,
    wanted: [bool; 32],
    min_score: f32,
}

fn entity_index(e: EntityType) -> usize {
    EntityType::ALL.iter().position(|x| *x == e).unwrap_or(31)
}

impl Analyzer {
    /// Compiles every recognizer the configuration asks for.
    pub fn new(config: AnalyzerConfig) -> Result<Analyzer, DetectError> {
        if !(0.0..=1.0).contains(&config.min_score) {
            return Err(DetectError::Config(format!(
                "min score {} is outside 0.0–1.0",
                config.min_score
            )));
        }
        let mut wanted = [config.entities.is_none(); 32];
        for e in config.entities.iter().flatten() {
            wanted[entity_index(*e)] = true;
        }
        let specs: Vec<&'static PatternSpec> = SPECS
            .iter()
            .chain(ADDRESS_SPECS)
            .filter(|s| wanted[entity_index(s.entity)])
            .collect();
        let patterns: Vec<&str> = specs.iter().map(|s| s.pattern).collect();
        const LIMIT: usize = 256 << 20;
        let set = PatternSet::new(&patterns, LIMIT)?;
        let mut searches = Vec::with_capacity(specs.len());
        for spec in &specs {
            let plain = || {
                RegexBuilder::new(spec.pattern)
                    .size_limit(LIMIT)
                    .dfa_size_limit(LIMIT)
                    .build()
                    .map_err(|e| DetectError::Config(e.to_string()))
            };
            searches.push(if spec.group != 0 {
                Search::Captures(plain()?)
            } else if spec.at_number_starts {
                let re = meta::Regex::builder()
                    .configure(
                        meta::Config::new()
                            .nfa_size_limit(Some(LIMIT))
                            .hybrid_cache_capacity(LIMIT),
                    )
                    .build(spec.pattern)
                    .map_err(|e| DetectError::Config(e.to_string()))?;
                Search::AtNumberStarts(re)
            } else {
                Search::Find(plain()?)
            });
        }
        let mut words = Vec::new();
        let mut hints = Vec::new();
        for (entity, list) in CONTEXT {
            for w in *list {
                words.push(*w);
                hints.push(Hint::Supports(*entity));
            }
        }
        for w in NEGATIVE_CONTEXT {
            words.push(*w);
            hints.push(Hint::Against);
        }
        // Leftmost-longest: the most specific phrase wins ("order number" over "number"),
        // and the search can use a fast prefilter, unlike an overlapping one.
        let context = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            // A few hundred words: a full DFA costs little memory and searches fastest.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&words)
            .map_err(|e| DetectError::Config(e.to_string()))?;
        Ok(Analyzer {
            set,
            searches,
            specs,
            context,
            hints,
            names: NameRecognizer::new(),
            phones: PhoneValidator::new(NATIONAL_PHONE_REGIONS),
            wanted,
            min_score: config.min_score,
        })
    }

    /// Finds personal data in `text`. Offsets are byte offsets into `text`, non-overlapping,
    /// sorted by start; see [`crate::char_offsets`] for Unicode code points.
    pub fn analyze(&self, text: &str) -> Vec<Finding> {
        let mut found = Vec::with_capacity(8);
        if text.is_empty() {
            return found;
        }
        let matched = self.set.fired(text);
        let mut hits: Option<Vec<(usize, usize, Hint)>> = None;
        // Where numbers can start, and where numeric matches must end: computed once, for
        // the first numeric recognizer that fires.
        let mut numbers: Option<(&str, Vec<usize>)> = None;
        for idx in matched.iter() {
            let spec = self.specs[idx];
            let mut consider = |start: usize, end: usize| {
                let end = if spec.entity == EntityType::Url {
                    start + trim_url(&text[start..end])
                } else {
                    end
                };
                if end == start
                    || glued_to_neighbours(spec, text, start, end)
                    || spec.entity == EntityType::EmailAddress && in_url_userinfo(text, start)
                    || spec.validate.is_some_and(|valid| !valid(&text[start..end]))
                {
                    return;
                }
                let hits = hits.get_or_insert_with(|| self.context_hits(text));
                if let Some(score) = self.score(spec, text, start, end, hits) {
                    found.push(Finding {
                        entity_type: spec.entity,
                        start,
                        end,
                        score,
                        recognizer: spec.name,
                    });
                }
            };
            match &self.searches[idx] {
                Search::AtNumberStarts(re) => {
                    let (hay, starts) = numbers.get_or_insert_with(|| {
                        let hay = &text[..numeric_end(text)];
                        (hay, number_starts(hay))
                    });
                    anchored_spans(re, hay, starts, &mut consider);
                }
                Search::Find(re) => re
                    .find_iter(text)
                    .for_each(|m| consider(m.start(), m.end())),
                Search::Captures(re) => {
                    for caps in re.captures_iter(text) {
                        if let Some(m) = caps.get(spec.group) {
                            consider(m.start(), m.end());
                        }
                    }
                }
            }
        }
        let person = self.wanted[entity_index(EntityType::Person)];
        let location = self.wanted[entity_index(EntityType::Location)];
        if person || location {
            self.names.find(text, person, location, &mut found);
        }
        found.retain(|f| f.score >= self.min_score && self.wanted[entity_index(f.entity_type)]);
        resolve_overlaps(found)
    }

    fn context_hits(&self, text: &str) -> Vec<(usize, usize, Hint)> {
        self.context
            .find_iter(text)
            .filter(|m| {
                let word_start = text[..m.start()]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric());
                let short = m.len() <= 4;
                let word_end = text[m.end()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric());
                word_start && (!short || word_end)
            })
            .map(|m| (m.start(), m.end(), self.hints[m.pattern().as_usize()]))
            .collect()
    }

    fn score(
        &self,
        spec: &PatternSpec,
        text: &str,
        start: usize,
        end: usize,
        hits: &[(usize, usize, Hint)],
    ) -> Option<f32> {
        let lo = start.saturating_sub(48);
        let hi = (end + 24).min(text.len());
        let near = |h: &&(usize, usize, Hint)| h.1 <= start && h.0 >= lo || h.0 >= end && h.1 <= hi;
        let supports = hits
            .iter()
            .filter(near)
            .any(|h| h.2 == Hint::Supports(spec.entity));
        // A negative word ("order", "build") speaks for its own line only: the next line
        // of a log or form is another record.
        let same_line = |h: &&(usize, usize, Hint)| {
            let (a, b) = if h.1 <= start {
                (h.1, start)
            } else {
                (end, h.0)
            };
            !text[a..b].contains('\n')
        };
        let against = hits
            .iter()
            .filter(near)
            .filter(same_line)
            .any(|h| h.2 == Hint::Against);
        let mut score = if supports {
            spec.context_score
        } else {
            spec.score
        };
        if spec.numeric && against && !supports {
            score *= 0.4;
        }
        // Dotted quads are also version and build numbers, but only "version 1.8.126.45"
        // says so: a negative word elsewhere in the line says nothing about an address.
        let labelled_against = || {
            hits.iter().any(|h| {
                h.2 == Hint::Against
                    && h.1 <= start
                    && h.1 + 12 >= start
                    && text[h.1..start]
                        .chars()
                        .all(|c| matches!(c, ' ' | '\t' | ':' | '=' | '#' | '"' | '\''))
            })
        };
        if spec.entity == EntityType::IpAddress && !supports && labelled_against() {
            score *= 0.4;
        }
        match spec.entity {
            EntityType::PhoneNumber => {
                phone_score(&self.phones, &text[start..end], supports).map(|s| {
                    if against && !supports {
                        s * 0.4
                    } else {
                        s
                    }
                })
            }
            // A log line's timestamp is not a birth date because the line above says
            // "born": only a word on the same line makes it one.
            EntityType::DateTime => {
                let here = hits
                    .iter()
                    .filter(near)
                    .filter(same_line)
                    .any(|h| h.2 == Hint::Supports(spec.entity));
                Some(date_score(spec, &text[start..end], here, score))
            }
            // Every valid NHS number is also a valid ISBN-10 (same mod-11 weights), so only
            // the longer identifiers are discounted for looking like an ISBN.
            EntityType::CreditCard | EntityType::InAadhaar
                if validators::isbn(&text[start..end]) =>
            {
                Some(score * 0.3)
            }
            // An identifier printed in its issuer's grouping ("943 476 5919" for the NHS,
            // "12 345 678 901" for the Steuer-ID) that passes its checksum is evidence of
            // its own: it outranks a phone number of the same digits without context.
            e if !against && canonical_shape(e, &text[start..end]) => Some(score.max(0.7)),
            _ => Some(score),
        }
    }
}

/// How much of `text` searches anchored at number starts need: through the character
/// after the last digit (a ")", a "Z"), and one more, so that a word boundary after that
/// character is judged as it is in the whole text. Every such pattern needs a digit.
fn numeric_end(text: &str) -> usize {
    text.bytes()
        .rposition(|b| b.is_ascii_digit())
        .map_or(0, |i| {
            text[i + 1..]
                .char_indices()
                .nth(2)
                .map_or(text.len(), |(k, _)| i + 1 + k)
        })
}

/// Where a numeric recognizer's match can begin: a digit after a non-word byte (every
/// numeric pattern starts with `(?-u:\b)` and a digit) or a `+` / `(` (phone numbers).
/// The proptest below checks that this finds what a plain search finds.
fn number_starts(hay: &str) -> Vec<usize> {
    let mut starts = Vec::with_capacity(16);
    let mut after_word = false;
    for (i, &c) in hay.as_bytes().iter().enumerate() {
        // `&` and `|` rather than `&&` and `||`: no branch per byte to mispredict, only
        // the rare push.
        if (c.is_ascii_digit() & !after_word) | (c == b'+') | (c == b'(') {
            starts.push(i);
        }
        after_word = c.is_ascii_alphanumeric() | (c == b'_');
    }
    starts
}

/// The leftmost-first matches of `re` in `hay`: the first start where an anchored search
/// succeeds, then the first start at or after that match's end, and so on.
fn anchored_spans(
    re: &meta::Regex,
    hay: &str,
    starts: &[usize],
    mut found: impl FnMut(usize, usize),
) {
    let mut at = 0;
    for &s in starts {
        if s < at {
            continue;
        }
        if let Some(m) = re.search(&Input::new(hay).range(s..).anchored(Anchored::Yes)) {
            found(m.start(), m.end());
            at = m.end();
        }
    }
}

/// Keeps the best of overlapping findings: higher score, then longer span.
fn resolve_overlaps(mut found: Vec<Finding>) -> Vec<Finding> {
    found.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Finding> = Vec::with_capacity(found.len());
    for f in found {
        if kept.iter().all(|k| f.end <= k.start || f.start >= k.end) {
            kept.push(f);
        }
    }
    kept.sort_by_key(|f| f.start);
    kept
}

/// A numeric candidate glued to more digits or letters ("1.2.3.4.5", the tail of a UUID,
/// "v1.2.3") is part of some other token.
fn glued_to_neighbours(spec: &PatternSpec, text: &str, start: usize, end: usize) -> bool {
    if matches!(
        spec.entity,
        EntityType::Secret | EntityType::Url | EntityType::EmailAddress | EntityType::Location
    ) || spec.name == "date_text"
        || spec.name == "phone" && text[start..].starts_with('+')
    {
        return false;
    }
    let mut before = text[..start].chars().rev();
    let b1 = before.next();
    let b2 = before.next();
    let mut after = text[end..].chars();
    let a1 = after.next();
    let a2 = after.next();
    let joiner = |c: Option<char>| matches!(c, Some('.' | '-' | '/' | '_' | ':' | ','));
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    // "5542 2937 5479" inside the card number "5542 2937 5479 0350": a space-grouped
    // identifier continued by another digit group is a piece of a longer number.
    let spaced =
        spec.numeric && spec.entity != EntityType::PhoneNumber && text[start..end].contains(' ');
    alnum(b1)
        || alnum(a1)
        || (spaced && (b1 == Some(' ') && digit(b2) || a1 == Some(' ') && digit(a2)))
        || (joiner(b1) && alnum(b2) && b1 != Some(','))
        || (joiner(a1) && digit(a2) && a1 != Some(','))
        || (b1 == Some('v') || b1 == Some('V')) && spec.entity == EntityType::IpAddress
}

/// Regions tried for phone numbers written without a country code: those whose
/// languages the context words cover, plus the large English-speaking ones.
const NATIONAL_PHONE_REGIONS: &[&str] = &[
    "US", "GB", "DE", "FR", "ES", "IT", "NL", "PL", "SE", "IN", "CA", "AU", "IE", "BE", "AT", "CH",
];

/// "postgres://app:s3cr3t@db.internal": the part after the colon is a password in a
/// connection string, not the local part of an email address.
fn in_url_userinfo(text: &str, start: usize) -> bool {
    let token_start = text[..start]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '('))
        .map_or(0, |(i, c)| i + c.len_utf8());
    text[token_start..start].contains("://")
}

/// Phone numbers are validated against libphonenumber metadata: international numbers by
/// their country code, national ones against the regions the supported languages cover.
fn phone_score(phones: &PhoneValidator, candidate: &str, context: bool) -> Option<f32> {
    let count = candidate.bytes().filter(u8::is_ascii_digit).count();
    if !(7..=17).contains(&count) {
        return None;
    }
    // "149.183.31.197" has the digits of a phone number and the shape of an address.
    if candidate.parse::<std::net::Ipv4Addr>().is_ok() {
        return None;
    }
    let international = candidate.starts_with('+') || candidate.starts_with("00");
    let formatted = candidate.contains([' ', '-', '.', '(', '/']);
    // "+44 (0)20 …": the bracketed trunk prefix is not dialled from abroad.
    let trunk = candidate.find("(0)");
    let mut buf = [0u8; 17];
    let mut n = 0;
    for (i, b) in candidate.bytes().enumerate() {
        let in_trunk = trunk.is_some_and(|t| (t..t + 3).contains(&i));
        if b.is_ascii_digit() && !in_trunk {
            buf[n] = b;
            n += 1;
        }
    }
    let digits = std::str::from_utf8(&buf[..n]).unwrap_or_default();
    if international {
        let digits = if candidate.starts_with("00") {
            &digits[2.min(digits.len())..]
        } else {
            digits
        };
        return phones
            .valid_international(digits)
            .then_some(if context { 1.0 } else { 0.85 });
    }
    if !phones.valid_national(digits) {
        return None;
    }
    Some(match (context, formatted) {
        (true, _) => 0.95,
        (false, true) => 0.65,
        (false, false) => 0.4,
    })
}

/// Whether `value` is written in the grouping its issuer prints.
fn canonical_shape(entity: EntityType, value: &str) -> bool {
    let (groups, seps): (&[usize], &[u8]) = match entity {
        EntityType::UkNhs => (&[3, 3, 4], b" "),
        EntityType::CaSin => (&[3, 3, 3], b" -"),
        EntityType::DeTaxId => (&[2, 3, 3, 3], b" "),
        EntityType::InAadhaar => (&[4, 4, 4], b" -"),
        EntityType::NlBsn => (&[4, 2, 3], b"."),
        EntityType::UsSsn => (&[3, 2, 4], b"-"),
        _ => return false,
    };
    let b = value.as_bytes();
    let mut at = 0;
    let mut sep = None;
    for (i, len) in groups.iter().enumerate() {
        if i > 0 {
            match (b.get(at), sep) {
                (Some(c), None) if seps.contains(c) => sep = Some(*c),
                (Some(c), Some(s)) if *c == s => {}
                _ => return false,
            }
            at += 1;
        }
        if b.len() < at + len || !b[at..at + len].iter().all(u8::is_ascii_digit) {
            return false;
        }
        at += len;
    }
    at == b.len()
}

/// Machine timestamps (log lines with seconds) are not about a person; dates of birth are.
fn date_score(spec: &PatternSpec, value: &str, context: bool, score: f32) -> f32 {
    if spec.name == "date_iso" {
        let has_seconds = value.len() >= 19 && value.as_bytes().get(16) == Some(&b':');
        if has_seconds && !context {
            return 0.3;
        }
    }
    score
}

pub(crate) fn url_ok(s: &str) -> bool {
    let t = &s[..trim_url(s)];
    t.len() > 8 && t.contains('.')
}

pub(crate) fn bare_domain_ok(s: &str) -> bool {
    // Bare domains need a name part that is not a file or a version ("setup.py" is not
    // matched by the TLD list, "report.com" is).
    let host = s.split('/').next().unwrap_or(s);
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels[..labels.len() - 1]
            .iter()
            .any(|l| l.chars().any(|c| c.is_ascii_alphabetic()))
}

/// Trailing punctuation is the sentence's, not the URL's.
pub(crate) fn trim_url(s: &str) -> usize {
    let mut end = s.len();
    let open = |c: char| s.matches(c).count();
    while let Some(c) = s[..end].chars().next_back() {
        let drop = matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"')
            || (c == ')' && open('(') < open(')'))
            || (c == ']' && open('[') < open(']'));
        if !drop {
            break;
        }
        end -= c.len_utf8();
    }
    end
}

pub(crate) fn ipv4_ok(s: &str) -> bool {
    let addr = s.split('/').next().unwrap_or(s);
    // "1.0.0.0" style version numbers and all-zero addresses are not addresses of anyone.
    addr != "0.0.0.0" && !addr.ends_with(".0.0") && addr.parse::<std::net::Ipv4Addr>().is_ok()
}

pub(crate) fn ipv6_ok(s: &str) -> bool {
    s.matches(':').count() >= 2 && s.len() >= 6 && s.parse::<Ipv6Addr>().is_ok()
}

pub(crate) fn mac_ok(s: &str) -> bool {
    let hex: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    hex.len() == 12
        && !hex.iter().all(|b| *b == b'0')
        && !hex.iter().all(|b| b.eq_ignore_ascii_case(&b'f'))
}

pub(crate) fn ssn_ok(s: &str) -> bool {
    // Bare nine-digit numbers are only SSNs next to a context word (scored later); the
    // dashed or spaced form must use one separator consistently.
    let seps: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_digit()).collect();
    (seps.is_empty() || seps.windows(2).all(|w| w[0] == w[1])) && validators::us_ssn(s)
}

pub(crate) fn numeric_date_ok(s: &str) -> bool {
    let parts: Vec<&str> = s.split(['.', '/', '-']).collect();
    if parts.len() != 3 {
        return false;
    }
    let seps: Vec<char> = s.chars().filter(|c| matches!(c, '.' | '/' | '-')).collect();
    if seps[0] != seps[1] {
        return false;
    }
    let n: Vec<u32> = parts.iter().map(|p| p.parse().unwrap_or(0)).collect();
    if parts[0].len() == 4 {
        return validators::valid_day(n[0], n[1], n[2]);
    }
    // Two-digit years with dots read like version numbers ("1.2.10"): require four digits.
    if seps[0] == '.' && parts[2].len() != 4 {
        return false;
    }
    // Two-digit years: the leap-year rule only needs the right century for "00".
    let year = match parts[2].len() {
        2 if n[2] < 50 => 2000 + n[2],
        2 => 1900 + n[2],
        _ => n[2],
    };
    let dmy = validators::valid_day(year, n[1], n[0]);
    let mdy = validators::valid_day(year, n[0], n[1]);
    let year_ok = parts[2].len() == 2 || (1900..=2099).contains(&n[2]);
    (dmy || mdy) && year_ok
}

pub(crate) fn password_value_ok(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    // Placeholders and references to other variables are not secrets.
    !(lower.starts_with('$')
        || lower.starts_with("{{")
        || lower.starts_with("<")
        || lower.starts_with("%(")
        || matches!(
            lower.as_str(),
            "none"
                | "null"
                | "nil"
                | "true"
                | "false"
                | "required"
                | "optional"
                | "changeme"
                | "xxxx"
                | "xxxxxx"
                | "xxxxxxxx"
                | "****"
                | "********"
                | "password"
                | "secret"
                | "string"
                | "str"
                | "env"
                | "os.environ"
                | "getenv"
        )
        || lower.starts_with("os.environ")
        || lower.starts_with("env(")
        || lower.starts_with("getenv")
        || lower.chars().all(|c| c == '*' || c == 'x'))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Spans = Vec<(usize, usize)>;

    /// Matches of every recognizer searched at number starts, found that way and by a
    /// plain search of the whole text, by recognizer name.
    fn anchored_and_plain(hay: &str) -> Vec<(&'static str, Spans, Spans)> {
        static A: std::sync::OnceLock<Analyzer> = std::sync::OnceLock::new();
        let a = A.get_or_init(|| Analyzer::new(AnalyzerConfig::default()).unwrap());
        let mut out = Vec::new();
        for (spec, search) in a.specs.iter().zip(&a.searches) {
            if let Search::AtNumberStarts(anchored) = search {
                let mut got = Vec::new();
                let short = &hay[..numeric_end(hay)];
                anchored_spans(anchored, short, &number_starts(short), |s, e| {
                    got.push((s, e))
                });
                let plain: Vec<(usize, usize)> = Regex::new(spec.pattern)
                    .unwrap()
                    .find_iter(hay)
                    .map(|m| (m.start(), m.end()))
                    .collect();
                out.push((spec.name, got, plain));
            }
        }
        out
    }

    fn fired_and_regex_set(text: &str) -> (Vec<usize>, Vec<usize>) {
        static A: std::sync::OnceLock<(Analyzer, regex::RegexSet)> = std::sync::OnceLock::new();
        let (a, set) = A.get_or_init(|| {
            let a = Analyzer::new(AnalyzerConfig::default()).unwrap();
            let set = regex::RegexSet::new(a.specs.iter().map(|s| s.pattern)).unwrap();
            (a, set)
        });
        (
            a.set.fired(text).iter().collect(),
            set.matches(text).iter().collect(),
        )
    }

    #[test]
    fn fired_recognizers_are_what_a_regex_set_reports() {
        for text in [
            "Anna Romano, 338 718 5826, hr@libreria-dante.it\nCi trasferiamo in Austria.",
            "2023-10-18 07:28:20,285 WARN too many requests from 2001:db8::8d6f:ee04:86d3",
            "IBAN DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111, SSN 123-45-6789",
            "AKIAIOSFODNN7EXAMPLE password=hunter2 https://example.com/x?y=1 www.a.de",
            "Musterstraße 12, 10115 Berlin; 12 rue de la Paix; 221B Baker Street",
            "",
        ] {
            let (ours, theirs) = fired_and_regex_set(text);
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn anchored_number_search_finds_what_a_plain_search_finds(
            hay in "[0-9 +().,/:_aTZ-]{0,40}"
        ) {
            for (name, got, plain) in anchored_and_plain(&hay) {
                proptest::prop_assert_eq!(got, plain, "{}", name);
            }
        }

        #[test]
        fn fired_recognizers_agree_on_any_text(text in "[0-9A-Za-zé@:/. +()=,-]{0,60}") {
            let (ours, theirs) = fired_and_regex_set(&text);
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn anchored_search_sees_past_a_trailing_letter() {
        for hay in [
            "at 2023-10-18T07:28:20Zabc",
            "at 2023-10-18T07:28:20Z.",
            "call (030) 1234567)x",
            "ip 10.0.0.1/24b",
            "no digits here",
        ] {
            for (name, got, plain) in anchored_and_plain(hay) {
                assert_eq!(got, plain, "{name} in {hay:?}");
            }
        }
    }
}
