//! PERSON and LOCATION from gazetteers and token features.
//!
//! Precision first: a capitalised word is a name only with evidence — a first name that is
//! rarely an ordinary word, a first name followed by a capitalised surname, a title
//! ("Dr.", "Herr", "Mme"), or a greeting/signature context ("Dear", "Hallo", "Regards").
//! Places come from GeoNames cities, countries and regions, weighed by population and by how
//! often the word is an ordinary word ("Nice", "Reading" need "in"/"from" before them).

use std::{collections::HashSet, sync::OnceLock};

use aho_corasick::{
    automaton::Automaton,
    dfa::{Builder as DfaBuilder, DFA},
    Anchored, MatchKind, StartKind,
};
use custodia_core::EntityType;
use foldhash::fast::FixedState;

use crate::{gazetteer::Gazetteers, lexicon::Weights, Finding};

/// Titles that precede a name; the title itself is not part of the span.
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lord", "lady", "herr", "frau",
    "fr", "hr", "m", "mme", "mlle", "monsieur", "madame", "sr", "sra", "srta", "señor", "señora",
    "don", "doña", "sig", "sig.ra", "signor", "signora", "dott", "dott.ssa", "dhr", "mevr",
    "mevrouw", "meneer", "pan", "pani", "fru", "rev", "father", "sister", "capt", "judge",
    "officer", "agent", "nurse", "coach",
];

/// Words before a name that introduce it (greetings, signatures, "my name is").
const PERSON_CONTEXT: &[&str] = &[
    "dear",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank you",
    "regards",
    "best",
    "cheers",
    "sincerely",
    "signed",
    "name is",
    "named",
    "called",
    "i am",
    "i'm",
    "contact",
    "ask for",
    "spoke with",
    "spoke to",
    "talked to",
    "assisted by",
    "helped by",
    "attn",
    "attention",
    "liebe",
    "lieber",
    "hallo",
    "sehr geehrte",
    "sehr geehrter",
    "grüße",
    "gruß",
    "heiße",
    "name ist",
    "ich bin",
    "cher",
    "chère",
    "bonjour",
    "salut",
    "cordialement",
    "je m'appelle",
    "je suis",
    "estimado",
    "estimada",
    "hola",
    "saludos",
    "me llamo",
    "soy",
    "caro",
    "cara",
    "gentile",
    "ciao",
    "saluti",
    "mi chiamo",
    "sono",
    "beste",
    "geachte",
    "hoi",
    "groeten",
    "ik heet",
    "ik ben",
    "drogi",
    "droga",
    "szanowny",
    "szanowna",
    "cześć",
    "pozdrawiam",
    "nazywam się",
    "jestem",
    "hej",
    "kära",
    "hälsningar",
    "jag heter",
    "jag är",
    "mvh",
    "med vänliga",
    "med vänlig hälsning",
    "vänliga hälsningar",
    "groetjes",
    "met vriendelijke groet",
    "vriendelijke groet",
    "mvg",
    "bien à vous",
    "bien cordialement",
    "un saludo",
    "atentamente",
    "cordiali saluti",
    "distinti saluti",
    "viele grüße",
    "liebe grüße",
    "mit freundlichen grüßen",
    "kind regards",
    "best regards",
    "warm regards",
    "z poważaniem",
];

/// Weaker cues: enough to accept a full name whose parts are not both in the gazetteers,
/// never a lone word ("from Berlin" is a place).
const WEAK_PERSON_CONTEXT: &[&str] = &[
    "customer",
    "patient",
    "employee",
    "client",
    "user",
    "from",
    "by",
    "with",
    "agent",
    "colleague",
    "manager",
    "friend",
    "wife",
    "husband",
    "son",
    "daughter",
    "mother",
    "father",
];

/// Words before a place that introduce it.
const PLACE_CONTEXT: &[&str] = &[
    "in",
    "from",
    "to",
    "near",
    "at",
    "lives in",
    "located in",
    "based in",
    "moved to",
    "born in",
    "city",
    "town",
    "aus",
    "nach",
    "wohnt in",
    "bei",
    "à",
    "de",
    "en",
    "habite",
    "vive",
    "vive en",
    "a",
    "da",
    "di",
    "abita a",
    "naar",
    "uit",
    "woont in",
    "w",
    "z",
    "do",
    "mieszka w",
    "i",
    "från",
    "till",
    "bor i",
];

/// Lower-case particles inside multi-part names ("van der Berg", "de la Cruz").
const PARTICLES: &[&str] = &[
    "van", "von", "der", "den", "de", "da", "di", "del", "della", "du", "le", "la", "dos", "das",
    "ten", "ter", "bin", "al", "zu", "y", "e", "af", "d'",
];

/// Longest run of capitalised tokens considered as one name or place.
const MAX_RUN: usize = 6;

pub(crate) struct NameRecognizer {
    person_ctx: EndingWords,
    weak_person_ctx: EndingWords,
    place_ctx: EndingWords,
}

#[derive(Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    capitalised: bool,
    /// First word of a sentence (or line): capitalisation says nothing there.
    sentence_start: bool,
}

/// The character at byte `i` and its length, without decoding ASCII.
#[inline]
fn char_at(text: &str, i: usize) -> (char, usize) {
    let b = text.as_bytes()[i];
    if b < 0x80 {
        (char::from(b), 1)
    } else {
        let c = text[i..].chars().next().unwrap_or(' ');
        (c, c.len_utf8())
    }
}

/// Characters after which the next word starts a sentence (or a line, a quote, a bullet).
fn ends_sentence(c: char) -> bool {
    matches!(
        c,
        '.' | '!'
            | '?'
            | '\n'
            | '\r'
            | '¿'
            | '¡'
            | '"'
            | '“'
            | '„'
            | '«'
            | '('
            | '['
            | '*'
            | '•'
            | '>'
            | '|'
    )
}

/// The end of a word whose letters continue at `end`: letters, with inner `'`, `’` and
/// `-` kept ("O'Brien", "Jean-Luc"), but not a trailing dash.
fn word_end(text: &str, mut end: usize) -> usize {
    let bytes = text.as_bytes();
    while end < bytes.len() {
        if bytes[end].is_ascii_alphabetic() {
            end += 1;
            continue;
        }
        let (d, dlen) = char_at(text, end);
        let joins_letters = || {
            matches!(d, '\'' | '’' | '-')
                && end + dlen < bytes.len()
                && char_at(text, end + dlen).0.is_alphabetic()
        };
        if !(d.is_alphabetic() || joins_letters()) {
            break;
        }
        end += dlen;
    }
    end
}

/// Whether the letter at `i` starts a word, i.e. is not inside one ("Brien" in "O'Brien").
fn starts_word(text: &str, i: usize) -> bool {
    let mut before = text[..i].chars().rev();
    match before.next() {
        None => true,
        Some(p) if p.is_alphabetic() => false,
        Some('\'' | '’' | '-') => !before.next().is_some_and(char::is_alphabetic),
        Some(_) => true,
    }
}

/// Whether the word at `i` starts a sentence (or a line, a quote, a bullet): the nearest
/// letter, digit or sentence end before it decides. A period after a lone letter is an
/// initial ("John F. Kennedy"), not an end.
fn starts_sentence(text: &str, i: usize) -> bool {
    let mut rest = &text[..i];
    while let Some(c) = rest.chars().next_back() {
        rest = &rest[..rest.len() - c.len_utf8()];
        if c.is_alphabetic() || c.is_ascii_digit() {
            return false;
        }
        if ends_sentence(c) {
            let initial = c == '.'
                && rest.chars().next_back().is_some_and(|p| {
                    p.is_alphabetic() && starts_word(rest, rest.len() - p.len_utf8())
                });
            return !initial;
        }
    }
    true
}

/// The word starting at `start` (a letter that [`starts_word`]).
fn token_at(text: &str, start: usize) -> Token {
    let (c, len) = char_at(text, start);
    let end = word_end(text, start + len);
    Token {
        start,
        end,
        // One capital letter alone is an initial, not a name.
        capitalised: c.is_uppercase() && end > start + len,
        sentence_start: starts_sentence(text, start),
    }
}

/// The word right at `i`, if a letter is there (callers pass the end of a gap, where a
/// letter always starts a word).
fn word_at(text: &str, i: usize) -> Option<Token> {
    let c = text[i..].chars().next()?;
    c.is_alphabetic().then(|| token_at(text, i))
}

/// Calls `f` with each run of capitalised words separated by single spaces, with name
/// particles allowed inside ("Ludwig van Beethoven"), at most [`MAX_RUN`] words long.
/// Only capital letters are visited: the text between them is skipped byte-wise, which
/// is most of it.
fn for_each_run(text: &str, mut f: impl FnMut(&[Token])) {
    let bytes = text.as_bytes();
    let mut pos = 0;
    // A capital is an ASCII upper-case byte or starts with a multi-byte lead byte.
    while let Some(off) = bytes[pos..]
        .iter()
        .position(|&b| b.is_ascii_uppercase() | (b >= 0xC0))
    {
        let i = pos + off;
        let (c, len) = char_at(text, i);
        pos = i + len;
        if !(c.is_uppercase() && c.is_alphabetic() && starts_word(text, i)) {
            continue;
        }
        let first = token_at(text, i);
        if !first.capitalised {
            pos = first.end;
            continue;
        }
        let mut run = [first; MAX_RUN];
        let mut n = 1;
        while n < MAX_RUN {
            let prev = run[n - 1];
            let word = &text[prev.start..prev.end];
            let rest = &text[prev.end..];
            let after_initial_or_title = || word.chars().count() == 1 || is_title(word);
            let gap = if rest.starts_with(' ') {
                1
            } else if rest.starts_with('\u{a0}')
                || (rest.starts_with(". ") && after_initial_or_title())
            {
                2
            } else {
                break;
            };
            let Some(next) = word_at(text, prev.end + gap) else {
                break;
            };
            if next.capitalised {
                run[n] = next;
                n += 1;
                continue;
            }
            // One to three particles, then a capitalised word: "van der Linden".
            let (mut k, mut t) = (n, next);
            while k - n < 3
                && k + 1 < MAX_RUN
                && !t.capitalised
                && is_particle(&text[t.start..t.end])
            {
                let Some(after) = text[t.end..]
                    .starts_with(' ')
                    .then(|| word_at(text, t.end + 1))
                    .flatten()
                else {
                    break;
                };
                run[k] = t;
                k += 1;
                t = after;
            }
            if k > n && t.capitalised {
                run[k] = t;
                n = k + 1;
                continue;
            }
            break;
        }
        f(&run[..n]);
        pos = run[n - 1].end;
    }
}

#[derive(Clone, Copy)]
struct Word {
    fname: u64,
    sname: u64,
    common: u64,
}

impl Word {
    fn of(w: Weights) -> Word {
        Word {
            fname: w.first_name,
            sname: w.surname,
            common: w.common,
        }
    }
    /// A first name that is rarely anything else ("John", "Anna"; not "Will", "May").
    fn strong_first(&self, ratio: u64) -> bool {
        self.fname >= 20 && self.common <= self.fname.saturating_mul(ratio)
    }
    /// Very frequent ordinary words ("The", "Will", "Long").
    fn function_word(&self) -> bool {
        self.common >= 1_000_000 && self.fname < 5_000
    }
}

/// A short word list as a hash set, fronted by a table of which lengths occur for each
/// first byte: the lists are consulted for most capitalised tokens, and most tokens
/// ("Anna", "Berlin") are refused by that table without hashing.
struct WordSet {
    words: HashSet<&'static [u8], FixedState>,
    /// Bit `n` of entry `b`: some word starts with byte `b` and is `n` bytes long.
    lengths: [u16; 256],
}

/// Longest entry of [`TITLES`], [`PARTICLES`] and the one-word [`PERSON_CONTEXT`]
/// entries, in bytes: longer tokens cannot be one.
const LONGEST_WORD: usize = 15;

impl WordSet {
    fn new(words: impl Iterator<Item = &'static str>) -> WordSet {
        let mut set = WordSet {
            words: HashSet::default(),
            lengths: [0; 256],
        };
        for w in words {
            debug_assert!(w.len() <= LONGEST_WORD && !w.is_empty(), "{w}");
            set.lengths[usize::from(w.as_bytes()[0])] |= 1 << w.len();
            set.words.insert(w.as_bytes());
        }
        set
    }

    /// Whether `w`, with ASCII letters lower-cased (the lists' spelling), is in the list.
    fn contains(&self, w: &str) -> bool {
        let Some(&first) = w.as_bytes().first() else {
            return false;
        };
        if w.len() > LONGEST_WORD
            || self.lengths[usize::from(first.to_ascii_lowercase())] & (1 << w.len()) == 0
        {
            return false;
        }
        let mut buf = [0u8; LONGEST_WORD];
        let buf = &mut buf[..w.len()];
        buf.copy_from_slice(w.as_bytes());
        buf.make_ascii_lowercase();
        self.words.contains(&*buf)
    }
}

struct WordSets {
    titles: WordSet,
    particles: WordSet,
    greetings: WordSet,
}

fn word_sets() -> &'static WordSets {
    static SETS: OnceLock<WordSets> = OnceLock::new();
    SETS.get_or_init(|| WordSets {
        titles: WordSet::new(TITLES.iter().copied()),
        particles: WordSet::new(PARTICLES.iter().copied()),
        greetings: WordSet::new(PERSON_CONTEXT.iter().copied().filter(|c| !c.contains(' '))),
    })
}

fn is_title(w: &str) -> bool {
    word_sets().titles.contains(w)
}

fn is_particle(w: &str) -> bool {
    word_sets().particles.contains(w)
}

fn is_greeting(w: &str) -> bool {
    word_sets().greetings.contains(w)
}

/// Census name lists are unaccented ("gonzalez", "lefevre") and know hyphenated first
/// names by their first part ("mary" of "mary-kate"): fill in name weights from those.
fn with_name_weights(mut w: Weights, g: &Gazetteers, lower: &[u8]) -> Weights {
    let mut other = |key: &[u8]| {
        let o = g.lookup(key);
        w.first_name = w.first_name.max(o.first_name);
        w.surname = w.surname.max(o.surname);
    };
    if !lower.is_ascii() {
        if let Ok(word) = std::str::from_utf8(lower) {
            let folded: String = word.chars().map(fold_diacritic).collect();
            if folded != word {
                other(folded.as_bytes());
            }
        }
    }
    if let Some(dash) = lower.iter().position(|&b| b == b'-') {
        other(&lower[..dash]);
    }
    w
}

/// The base letter of a Latin letter with a diacritic (`é` → `e`, `ł` → `l`).
fn fold_diacritic(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' | 'ă' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => 'e',
        'ğ' => 'g',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' => 'i',
        'ł' | 'ľ' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ř' => 'r',
        'ś' | 'š' | 'ş' => 's',
        'ť' | 'ţ' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        c => c,
    }
}

/// Whether the word just before `start` is a title written in lower case ("mevr.",
/// "sig.ra", "monsieur"); capitalised titles are part of the run and handled there.
fn title_before(text: &str, start: usize) -> bool {
    let before = preceding(text, start, 12).trim_end_matches([' ', '\u{a0}']);
    if !before
        .chars()
        .next_back()
        .is_some_and(|c| c == '.' || c.is_alphabetic())
    {
        return false;
    }
    let word = before
        .rsplit(|c: char| !(c.is_alphabetic() || c == '.'))
        .next()
        .unwrap_or("")
        .trim_end_matches('.');
    word.chars().next().is_some_and(char::is_lowercase) && is_title(word)
}

/// A reusable buffer for lower-casing words (gazetteer keys are lower case): short ASCII
/// words, nearly all of them, are lower-cased on the stack.
struct Lower {
    stack: [u8; 48],
    heap: String,
}

impl Lower {
    fn new() -> Lower {
        Lower {
            stack: [0; 48],
            heap: String::new(),
        }
    }

    /// `s` lower-cased, as UTF-8 bytes.
    fn of(&mut self, s: &str) -> &[u8] {
        if s.len() <= self.stack.len() && s.is_ascii() {
            let buf = &mut self.stack[..s.len()];
            buf.copy_from_slice(s.as_bytes());
            buf.make_ascii_lowercase();
            buf
        } else {
            self.heap.clear();
            self.heap.extend(s.chars().flat_map(char::to_lowercase));
            self.heap.as_bytes()
        }
    }
}

/// Context words that must end the text just before a token ("Dear", "lives in"): the
/// words are spelled backwards in a DFA that walks the text backwards from its end,
/// anchored, so a check costs a few steps rather than a search through the whole prefix.
struct EndingWords(DFA);

impl EndingWords {
    fn new(words: &[&str]) -> Self {
        let reversed: Vec<Vec<u8>> = words.iter().map(|w| w.bytes().rev().collect()).collect();
        let dfa = DfaBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Anchored)
            .build(&reversed)
            .expect("context word lists are small and valid");
        EndingWords(dfa)
    }

    /// Whether `hay` ends (modulo spaces and punctuation) with one of the words, and the
    /// word starts at a word boundary.
    fn end(&self, hay: &str) -> bool {
        let trimmed =
            hay.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '-' | '.'));
        let dfa = &self.0;
        let Ok(mut sid) = dfa.start_state(Anchored::Yes) else {
            return false;
        };
        for (start, &byte) in trimmed.as_bytes().iter().enumerate().rev() {
            sid = dfa.next_state(Anchored::Yes, sid, byte);
            if dfa.is_dead(sid) {
                return false;
            }
            // Past a match state the automaton follows failure transitions like an
            // unanchored search, so a match state only counts if one of its words is as
            // long as the walk: that word starts at `start` ("Wnin" ends with "in", which
            // is no word, and then with "W…" of "w": not a match at the start). Shorter
            // words do not hide longer ones ("i" and "in"): each length is checked as the
            // walk passes it.
            let walked = trimmed.len() - start;
            let anchored = dfa.is_match(sid)
                && (0..dfa.match_len(sid))
                    .any(|i| dfa.pattern_len(dfa.match_pattern(sid, i)) == walked);
            if anchored
                && trimmed
                    .get(..start)
                    .is_some_and(|b| b.chars().next_back().is_none_or(|c| !c.is_alphanumeric()))
            {
                return true;
            }
            if walked >= dfa.max_pattern_len() {
                return false;
            }
        }
        false
    }
}

/// A postal code right before a word ("44227 Dresden", "609 53 Göteborg", "91-952
/// Wrocław", "1102 PK Utrecht") makes that word a town.
fn after_postcode(before: &str) -> bool {
    let t = before.trim_end_matches([' ', '\u{a0}']);
    if t.len() == before.len() {
        return false;
    }
    // Dutch codes end in two capital letters after four digits.
    let t = match t.as_bytes() {
        [.., a, b, c, d, b' ', x, y]
            if x.is_ascii_uppercase()
                && y.is_ascii_uppercase()
                && [a, b, c, d].iter().all(|c| c.is_ascii_digit()) =>
        {
            &t[..t.len() - 3]
        }
        _ => t,
    };
    let code: Vec<u8> = t
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_digit() || *b == b' ' || *b == b'-')
        .collect();
    let digits = code.iter().filter(|b| b.is_ascii_digit()).count();
    let glued =
        t.len() > code.len() && t.as_bytes()[t.len() - code.len() - 1].is_ascii_alphanumeric();
    (4..=6).contains(&digits) && code.first().is_some_and(u8::is_ascii_digit) && !glued
}

fn preceding(text: &str, start: usize, bytes: usize) -> &str {
    let mut s = start.saturating_sub(bytes);
    while !text.is_char_boundary(s) {
        s += 1;
    }
    &text[s..start]
}

impl NameRecognizer {
    pub fn new() -> Self {
        NameRecognizer {
            person_ctx: EndingWords::new(PERSON_CONTEXT),
            weak_person_ctx: EndingWords::new(WEAK_PERSON_CONTEXT),
            place_ctx: EndingWords::new(PLACE_CONTEXT),
        }
    }

    pub fn find(&self, text: &str, person: bool, location: bool, out: &mut Vec<Finding>) {
        let g = Gazetteers::get();
        let mut lower = Lower::new();
        for_each_run(text, |run| {
            self.run(text, run, g, person, location, &mut lower, out);
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        text: &str,
        run: &[Token],
        g: &Gazetteers,
        person: bool,
        location: bool,
        lower: &mut Lower,
        out: &mut Vec<Finding>,
    ) {
        // Leading titles and greetings are evidence, not part of the name; so is a title
        // written in lower case just before it ("mevrouw Dekker", "signor Esposito").
        let mut k = 0;
        let mut title = title_before(text, run[0].start);
        let mut greeting = false;
        while k < run.len() {
            let w = &text[run[k].start..run[k].end];
            let followed_by_dot = text[run[k].end..].starts_with('.');
            let is_title = is_title(w) && (followed_by_dot || w.chars().count() > 2);
            if is_title && k + 1 < run.len() {
                title = true;
                k += 1;
            } else if k + 1 < run.len() && is_greeting(w) {
                greeting = true;
                k += 1;
            } else {
                break;
            }
        }
        let place_core = &run[k..];
        // Each token is looked up once; runs are at most MAX_RUN long.
        let mut looked_up = [Weights::default(); MAX_RUN];
        for (slot, t) in looked_up.iter_mut().zip(place_core) {
            let lower = lower.of(&text[t.start..t.end]);
            *slot = g.lookup(lower);
            if slot.first_name == 0 && slot.surname == 0 {
                *slot = with_name_weights(*slot, g, lower);
            }
        }
        let looked_up = &looked_up[..place_core.len()];
        // Capitalised ordinary words around a name ("Yesterday John Smith", "John Smith
        // Support") are not part of it.
        let plain =
            |w: &Weights, common: u64| w.first_name == 0 && w.surname == 0 && w.common >= common;
        let (mut lo, mut hi) = (0, place_core.len());
        while hi - lo > 1 && plain(&looked_up[lo], 5_000) {
            lo += 1;
        }
        while hi - lo > 1 && plain(&looked_up[hi - 1], 20_000) {
            hi -= 1;
        }
        if hi == lo {
            return;
        }
        let core = &place_core[lo..hi];
        let first = core[0];
        let before = preceding(text, run[0].start, 24);
        // Context words are looked for only when the tokens could be a name.
        let context = || greeting || self.person_ctx.end(before);
        let weak_context = || context() || self.weak_person_ctx.end(before);
        // Particles ("van", "de") are inside the span but say nothing about the name.
        let mut caps = [first; MAX_RUN];
        let mut words = [Word::of(Weights::default()); MAX_RUN];
        let mut n = 0;
        for (i, (t, w)) in core.iter().zip(&looked_up[lo..hi]).enumerate() {
            // "Giovanni De Santis": a capitalised particle inside a name is still one.
            let particle = i > 0 && is_particle(&text[t.start..t.end]);
            if t.capitalised && !particle {
                caps[n] = *t;
                words[n] = Word::of(*w);
                n += 1;
            }
        }
        let (caps, words) = (&caps[..n], &words[..n]);

        let mut person_score = 0.0f32;
        if person && !caps.is_empty() {
            let f = &words[0];
            let last = &words[words.len() - 1];
            if caps.len() >= 2 {
                let rest_ok = words[1..].iter().all(|w| !w.function_word());
                let last_name_like = last.sname > 0 || last.fname > 0 || last.common < 20_000;
                let introduced = || {
                    (f.fname > 0 || last.sname > 0 || last_name_like) && (title || weak_context())
                };
                if rest_ok && (f.strong_first(40) || introduced()) {
                    person_score = 0.85;
                } else if f.fname > 0 && last.sname >= 5 && rest_ok && !last.function_word() {
                    person_score = if f.common > 300_000 && first.sentence_start {
                        0.0
                    } else {
                        0.7
                    };
                }
            } else {
                let w = f;
                if title && !w.function_word() {
                    person_score = 0.85;
                } else if !w.function_word()
                    && (w.fname > 0 || w.sname > 0 || w.common < 50_000)
                    && context()
                {
                    person_score = if title || greeting { 0.85 } else { 0.7 };
                } else if w.strong_first(10) && w.fname >= 200 {
                    person_score = 0.65;
                } else if !first.sentence_start && w.strong_first(25) && w.fname >= 200 {
                    person_score = 0.6;
                }
            }
            if person_score > 0.0 {
                let last_tok = caps[caps.len() - 1];
                out.push(Finding {
                    entity_type: EntityType::Person,
                    start: first.start,
                    end: last_tok.end,
                    score: person_score,
                    recognizer: "person_gazetteer",
                });
            }
        }

        if location && !title {
            self.places(text, place_core, looked_up, g, lower, person_score, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn places(
        &self,
        text: &str,
        core: &[Token],
        words: &[Weights],
        g: &Gazetteers,
        lower: &mut Lower,
        person_score: f32,
        out: &mut Vec<Finding>,
    ) {
        let mut k = 0;
        while k < core.len() {
            let mut matched = false;
            // A span of several tokens is looked up only when it starts like a multi-word
            // place, which spares most lookups.
            let longest = if words[k].starts_place {
                (core.len() - k).min(4)
            } else {
                1
            };
            for len in (1..=longest).rev() {
                let toks = &core[k..k + len];
                if !toks[len - 1].capitalised || !toks[0].capitalised {
                    continue;
                }
                let w = if len == 1 {
                    words[k]
                } else {
                    g.lookup(lower.of(&text[toks[0].start..toks[len - 1].end]))
                };
                let (country, region, city) = (w.country, w.region, w.city);
                if country == 0 && region == 0 && city == 0 {
                    continue;
                }
                let word = &text[toks[0].start..toks[len - 1].end];
                // "PZ", "IG": postcode letters and abbreviations, unless a country ("UK").
                if len == 1
                    && country == 0
                    && word.len() <= 3
                    && !word.chars().any(char::is_lowercase)
                {
                    continue;
                }
                // "Aurora Mini", "Orion Pro": a place name followed in the same run by an
                // ordinary word is a product or a company.
                let next_ordinary = core.get(k + len).is_some_and(|t| {
                    t.capitalised && {
                        let n = words[k + len];
                        n.common >= 20_000 && n.city == 0 && n.country == 0 && n.surname == 0
                    }
                });
                if next_ordinary {
                    continue;
                }
                let (common, fname) = if len == 1 {
                    (w.common, w.first_name)
                } else {
                    (0, 0)
                };
                let before = preceding(text, toks[0].start, 16);
                let ctx = self.place_ctx.end(before) || after_postcode(before);
                // Word lists count "Leipzig" in running text too; a place name is an
                // ordinary word ("Nice", "Reading", "Split") only when the word is frequent
                // for a town of its size.
                let wordlike = common.saturating_mul(4) >= city;
                let ordinary = common >= 40_000 && wordlike && city < 1_000_000 && country == 0;
                let mut score: f32 = if country > 0 {
                    0.85
                } else if region >= 2 {
                    0.75
                } else if city >= 1_000_000 {
                    0.85
                } else if city >= 100_000 {
                    0.75
                } else if city >= 10_000 {
                    0.55
                } else {
                    0.4
                };
                if ordinary || (toks[0].sentence_start && common >= 10_000 && wordlike) {
                    score -= 0.3;
                }
                if fname >= 50 && city < 1_000_000 && country == 0 {
                    score -= 0.2;
                }
                if ctx {
                    score += 0.25;
                }
                let score = score.min(0.95);
                if score >= 0.5 && score > person_score {
                    out.push(Finding {
                        entity_type: EntityType::Location,
                        start: toks[0].start,
                        end: toks[len - 1].end,
                        score,
                        recognizer: "location_gazetteer",
                    });
                    k += len;
                    matched = true;
                    break;
                }
            }
            if !matched {
                k += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Vec<(EntityType, String)> {
        let mut out = Vec::new();
        NameRecognizer::new().find(text, true, true, &mut out);
        out.into_iter()
            .map(|f| (f.entity_type, text[f.start..f.end].to_string()))
            .collect()
    }

    #[test]
    fn full_names_titles_and_greetings() {
        let f = find("Yesterday John Smith called about his order.");
        assert!(
            f.contains(&(EntityType::Person, "John Smith".into())),
            "{f:?}"
        );
        let f = find("Dear Ms. Okonkwo, thank you for writing.");
        assert!(f.contains(&(EntityType::Person, "Okonkwo".into())), "{f:?}");
        let f = find("Sehr geehrter Herr Müller, vielen Dank.");
        assert!(f.contains(&(EntityType::Person, "Müller".into())), "{f:?}");
        let f = find("Ludwig van Beethoven wrote nine symphonies.");
        assert!(
            f.contains(&(EntityType::Person, "Ludwig van Beethoven".into())),
            "{f:?}"
        );
    }

    #[test]
    fn ordinary_capitalised_words_stay_quiet() {
        for text in [
            "Great service, will come again.",
            "Will do, thanks!",
            "Mark the date in your calendar.",
            "Hope you are well.",
            "The Product Team shipped version 2.",
        ] {
            let f: Vec<_> = find(text)
                .into_iter()
                .filter(|(e, _)| *e == EntityType::Person)
                .collect();
            assert!(f.is_empty(), "{text}: {f:?}");
        }
    }

    /// The straightforward char-by-char tokenizer the fast one must agree with.
    fn tokenize_reference(text: &str) -> Vec<(usize, usize, bool, bool)> {
        let mut out: Vec<(usize, usize, bool, bool)> = Vec::new();
        let mut iter = text.char_indices().peekable();
        let mut sentence_start = true;
        while let Some((i, c)) = iter.next() {
            if c.is_alphabetic() {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = iter.peek() {
                    if d.is_alphabetic() {
                        end = j + d.len_utf8();
                        iter.next();
                    } else if matches!(d, '\'' | '’' | '-') {
                        let mut ahead = iter.clone();
                        ahead.next();
                        if ahead.peek().is_some_and(|&(_, e)| e.is_alphabetic()) {
                            iter.next();
                        } else {
                            break;
                        }
                    } else {
                        break;
                    }
                }
                let capitalised = c.is_uppercase() && end > i + c.len_utf8();
                out.push((i, end, capitalised, sentence_start));
                sentence_start = false;
            } else if c.is_ascii_digit() {
                sentence_start = false;
            } else if ends_sentence(c) {
                let initial = c == '.'
                    && out
                        .last()
                        .is_some_and(|t| t.1 == i && text[t.0..t.1].chars().count() == 1);
                if !initial {
                    sentence_start = true;
                }
            }
        }
        out
    }

    /// Runs as a forward pass over all words builds them: each capitalised word starts a
    /// run; single-space (or NBSP, or ". " after an initial or title) gaps extend it;
    /// one to three particles are taken when a capitalised word follows and fits.
    fn runs_reference(text: &str) -> Vec<Vec<(usize, usize)>> {
        let tokens = tokenize_reference(text);
        let word = |t: &(usize, usize, bool, bool)| &text[t.0..t.1];
        let mut out = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            if !tokens[i].2 {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < tokens.len() && j - i < MAX_RUN {
                let gap = &text[tokens[j - 1].1..tokens[j].0];
                let prev = word(&tokens[j - 1]);
                let gap_ok = gap == " "
                    || gap == "\u{a0}"
                    || (gap == ". " && (prev.chars().count() == 1 || is_title(prev)));
                if !gap_ok {
                    break;
                }
                if tokens[j].2 {
                    j += 1;
                    continue;
                }
                let mut k = j;
                while k < tokens.len()
                    && k - j < 3
                    && !tokens[k].2
                    && is_particle(word(&tokens[k]))
                    && tokens
                        .get(k + 1)
                        .is_some_and(|t| &text[tokens[k].1..t.0] == " ")
                {
                    k += 1;
                }
                if k > j && tokens.get(k).is_some_and(|t| t.2) && k + 1 - i <= MAX_RUN {
                    j = k + 1;
                    continue;
                }
                break;
            }
            out.push(tokens[i..j].iter().map(|t| (t.0, t.1)).collect());
            i = j;
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn words_found_from_capitals_agree_with_a_forward_tokenizer(
            text in "(?s).{0,80}",
            ascii in "[ -~\n]{0,80}",
        ) {
            for t in [&text, &ascii] {
                let reference = tokenize_reference(t);
                for &(start, end, capitalised, sentence_start) in &reference {
                    proptest::prop_assert!(starts_word(t, start), "{:?} at {}", t, start);
                    let got = token_at(t, start);
                    proptest::prop_assert_eq!(
                        (got.start, got.end, got.capitalised, got.sentence_start),
                        (start, end, capitalised, sentence_start),
                        "{:?}", t
                    );
                }
                for (i, c) in t.char_indices() {
                    if c.is_alphabetic() && !reference.iter().any(|r| r.0 == i) {
                        proptest::prop_assert!(!starts_word(t, i), "{:?} at {}", t, i);
                    }
                }
            }
        }

        #[test]
        fn runs_agree_with_a_forward_pass(
            text in "((Anna|Marie|Dr|van|der|de|la|Jean-Luc|O'Brien|É|J|Ängel|x|Mr|the|42|MAC)( |\\. |, |\u{a0}|\n|-|\\.|  )){0,24}",
        ) {
            let mut got = Vec::new();
            for_each_run(&text, |run| got.push(run.iter().map(|t| (t.start, t.end)).collect::<Vec<_>>()));
            proptest::prop_assert_eq!(got, runs_reference(&text), "{:?}", text);
        }
    }

    #[test]
    fn long_runs_of_names_and_particles_stay_in_bounds() {
        // Six names then particles once overflowed the per-run lookup table (a panic).
        for text in [
            "Maria Anna Lena Sofia Clara van der de Rossi",
            "Maria Anna Lena Sofia Clara van Rossi",
            "A B C D E van der de Rossi",
            "Anna Maria van der Berg van den Broek von Weber",
        ] {
            let _ = find(text);
            let mut lengths = Vec::new();
            for_each_run(text, |run| lengths.push(run.len()));
            assert!(lengths.iter().all(|&n| n <= MAX_RUN), "{text}: {lengths:?}");
        }
    }

    #[test]
    fn tokenizer_keeps_apostrophes_and_hyphens_inside_words() {
        let words: Vec<&str> = {
            let t = "O'Brien met Jean-Luc - at l’Hôtel. J. R. R. Tolkien";
            tokenize_reference(t).iter().map(|k| &t[k.0..k.1]).collect()
        };
        assert_eq!(
            words,
            [
                "O'Brien",
                "met",
                "Jean-Luc",
                "at",
                "l’Hôtel",
                "J",
                "R",
                "R",
                "Tolkien"
            ]
        );
    }

    /// Each text yields a finding of `entity` with exactly the given span.
    fn assert_finds(entity: EntityType, cases: &[(&str, &str)]) {
        for (text, span) in cases {
            let f = find(text);
            assert!(f.contains(&(entity, (*span).into())), "{text}: {f:?}");
        }
    }

    #[test]
    fn accented_hyphenated_particled_and_titled_names() {
        assert_finds(
            EntityType::Person,
            &[
                ("Hola Juan González, gracias", "Juan González"),
                ("Louis Lefèvre was very helpful", "Louis Lefèvre"),
                ("Mary-Kate Wood called about the order", "Mary-Kate Wood"),
                ("Giovanni De Santis ci ha aiutato", "Giovanni De Santis"),
                ("Geachte mevrouw Dekker, in de bijlage", "Dekker"),
                ("Gentile signor Esposito, confermiamo", "Esposito"),
                ("Groetjes,\nBram", "Bram"),
            ],
        );
        assert_eq!(fold_diacritic('ł'), 'l');
        assert!(title_before("Bonjour mme. ", 13) && !title_before("the Mme ", 8));
    }

    #[test]
    fn towns_after_postcodes_and_frequent_city_names() {
        assert_finds(
            EntityType::Location,
            &[
                ("Am Markt 54, 44227 Dresden.", "Dresden"),
                ("Sveavägen 11, 609 53 Göteborg.", "Göteborg"),
                ("ul. Floriańska 116, 91-952 Wrocław.", "Wrocław"),
                ("Prinsengracht 105, 1102 PK Utrecht.", "Utrecht"),
                ("Leipzig is lovely in May.", "Leipzig"),
            ],
        );
        let f = find("Nice weather today, Reading is fun.");
        assert!(!f.iter().any(|(e, _)| *e == EntityType::Location), "{f:?}");
        assert!(!after_postcode("order 1234 "));
        assert!(!after_postcode("v2 1234 "));
    }

    /// The plain way to ask what [`EndingWords::end`] answers: every match of a word,
    /// overlapping, that ends where the trimmed text ends and starts at a word boundary.
    fn ends_with_word_reference(hay: &str, words: &[&str]) -> bool {
        let ac = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .unwrap();
        let trimmed =
            hay.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '-' | '.'));
        ac.find_overlapping_iter(trimmed).any(|m| {
            m.end() == trimmed.len()
                && trimmed[..m.start()]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric())
        })
    }

    proptest::proptest! {
        #[test]
        fn ending_words_agree_with_an_overlapping_search(
            prefix in "(?s).{0,12}",
            word in 0..PLACE_CONTEXT.len(),
            upper: bool,
            tail in "[ ,:.\\-]{0,3}",
        ) {
            let w = PLACE_CONTEXT[word];
            let w = if upper { w.to_ascii_uppercase() } else { w.to_string() };
            let ending = EndingWords::new(PLACE_CONTEXT);
            for hay in [format!("{prefix}{w}{tail}"), format!("{prefix}{tail}"), prefix.clone()] {
                proptest::prop_assert_eq!(
                    ending.end(&hay),
                    ends_with_word_reference(&hay, PLACE_CONTEXT),
                    "{:?}", hay
                );
            }
        }
    }

    #[test]
    fn ending_words_need_the_whole_word_at_a_boundary() {
        // Found by the property test above: "in" ends "Wnin" but not at a word start,
        // and the "w" of "Wn…" must not count as an anchored match of the walk.
        let ending = EndingWords::new(PLACE_CONTEXT);
        for hay in ["Wnin", "Wn", "xin", "twin"] {
            assert!(!ending.end(hay), "{hay:?}");
            assert!(!ends_with_word_reference(hay, PLACE_CONTEXT), "{hay:?}");
        }
        for hay in ["W in", "w", "moved to:", "lives in -"] {
            assert!(ending.end(hay), "{hay:?}");
            assert!(ends_with_word_reference(hay, PLACE_CONTEXT), "{hay:?}");
        }
    }

    #[test]
    fn context_words_that_start_other_context_words() {
        let f = find("She was seen in Boston.");
        assert!(
            f.contains(&(EntityType::Location, "Boston".into())),
            "{f:?}"
        );
    }

    #[test]
    fn list_scan_bounds_cover_the_lists() {
        assert!(TITLES
            .iter()
            .chain(PARTICLES)
            .all(|t| t.len() <= LONGEST_WORD));
        assert!(is_particle("VAN") && is_particle("d'") && !is_particle("vans"));
        assert!(TITLES
            .iter()
            .chain(PERSON_CONTEXT)
            .chain(PARTICLES)
            .all(|t| *t == t.to_ascii_lowercase()));
        assert!(is_title("Dr") && is_title("MRS") && is_title("Señora") && !is_title("Drive"));
        assert!(is_greeting("Dear") && is_greeting("HALLO") && !is_greeting("Thank you"));
        assert!(PERSON_CONTEXT
            .iter()
            .filter(|c| !c.contains(' '))
            .all(|c| c.len() <= LONGEST_WORD));
    }

    #[test]
    fn places() {
        let f = find("She moved from Berlin to São Paulo last year.");
        assert!(
            f.contains(&(EntityType::Location, "Berlin".into())),
            "{f:?}"
        );
        assert!(
            f.contains(&(EntityType::Location, "São Paulo".into())),
            "{f:?}"
        );
        let f = find("Nice work on the Reading list.");
        assert!(f.iter().all(|(e, _)| *e != EntityType::Location), "{f:?}");
    }
}
