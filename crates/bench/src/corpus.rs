//! Labelled accuracy corpus generator.
//!
//! Produces short multilingual documents (reviews, support tickets, HR notes,
//! e-mails, log lines, config snippets) with gold entity spans using
//! Presidio's entity names. Offsets are Unicode code points, end exclusive;
//! spans within a document are sorted and never overlap.
//!
//! Generation is fully deterministic for a given seed. Roughly a quarter of
//! the documents are hard negatives: text full of things that look like PII
//! (order numbers failing Luhn, UUIDs, hashes, version strings, log
//! timestamps, tracking numbers, ISBNs, IDs with wrong check digits,
//! capitalised common words) but contain no entity at all.

pub mod ids;
pub mod locales;

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use locales::{Locale, LOCALES, TECH_NEGATIVE, TECH_POSITIVE, WORLD_CITIES};

/// Every entity type the corpus can label (Presidio names).
pub const ENTITY_TYPES: &[&str] = &[
    PERSON,
    LOCATION,
    DATE_TIME,
    EMAIL_ADDRESS,
    PHONE_NUMBER,
    CREDIT_CARD,
    IBAN_CODE,
    IP_ADDRESS,
    MAC_ADDRESS,
    URL,
    US_SSN,
    UK_NINO,
    UK_NHS,
    FR_NIR,
    ES_NIF,
    ES_NIE,
    IT_FISCAL_CODE,
    NL_BSN,
    PL_PESEL,
    SE_PERSONNUMMER,
    IN_AADHAAR,
    CA_SIN,
    DE_TAX_ID,
    SECRET,
];

const PERSON: &str = "PERSON";
const LOCATION: &str = "LOCATION";
const DATE_TIME: &str = "DATE_TIME";
const EMAIL_ADDRESS: &str = "EMAIL_ADDRESS";
const PHONE_NUMBER: &str = "PHONE_NUMBER";
const CREDIT_CARD: &str = "CREDIT_CARD";
const IBAN_CODE: &str = "IBAN_CODE";
const IP_ADDRESS: &str = "IP_ADDRESS";
const MAC_ADDRESS: &str = "MAC_ADDRESS";
const URL: &str = "URL";
const US_SSN: &str = "US_SSN";
const UK_NINO: &str = "UK_NINO";
const UK_NHS: &str = "UK_NHS";
const FR_NIR: &str = "FR_NIR";
const ES_NIF: &str = "ES_NIF";
const ES_NIE: &str = "ES_NIE";
const IT_FISCAL_CODE: &str = "IT_FISCAL_CODE";
const NL_BSN: &str = "NL_BSN";
const PL_PESEL: &str = "PL_PESEL";
const SE_PERSONNUMMER: &str = "SE_PERSONNUMMER";
const IN_AADHAAR: &str = "IN_AADHAAR";
const CA_SIN: &str = "CA_SIN";
const DE_TAX_ID: &str = "DE_TAX_ID";
const SECRET: &str = "SECRET";

/// Maximum number of labelled entities in one document.
pub const MAX_ENTITIES: usize = 4;
/// Share of documents that are pure hard negatives.
pub const HARD_NEGATIVE_SHARE: f64 = 0.25;

/// One gold entity span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// First code point of the entity.
    pub start: usize,
    /// One past the last code point of the entity.
    pub end: usize,
    /// Presidio entity name, e.g. `EMAIL_ADDRESS`.
    pub entity_type: String,
}

/// One labelled document (one JSONL line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    /// Document id, `d000001` style.
    pub id: String,
    /// Locale code (`en`, `de`, `fr`, `es`, `it`, `nl`, `pl`, `sv`).
    pub locale: String,
    /// The document text.
    pub text: String,
    /// Gold spans, sorted and non-overlapping.
    pub spans: Vec<Span>,
}

impl Doc {
    /// The text covered by `span` (offsets are code points).
    pub fn span_text(&self, span: &Span) -> String {
        self.text
            .chars()
            .skip(span.start)
            .take(span.end.saturating_sub(span.start))
            .collect()
    }
}

/// Counts labelled spans per entity type over `docs`.
pub fn entity_counts(docs: &[Doc]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for d in docs {
        for s in &d.spans {
            *m.entry(s.entity_type.clone()).or_insert(0) += 1;
        }
    }
    m
}

/// Maps letters with diacritics to ASCII (`ä`→`ae`, `ł`→`l`, `é`→`e`, ...),
/// keeps ASCII as is and drops any other non-ASCII character.
pub fn fold_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let r = match c {
            'ä' => "ae",
            'Ä' => "Ae",
            'ö' | 'ø' => "oe",
            'Ö' | 'Ø' => "Oe",
            'ü' => "ue",
            'Ü' => "Ue",
            'ß' => "ss",
            'á' | 'à' | 'â' | 'å' | 'ą' | 'ã' => "a",
            'Á' | 'À' | 'Â' | 'Å' | 'Ą' => "A",
            'é' | 'è' | 'ê' | 'ë' | 'ę' => "e",
            'É' | 'È' | 'Ê' | 'Ë' | 'Ę' => "E",
            'í' | 'ì' | 'î' | 'ï' => "i",
            'Í' | 'Ì' | 'Î' => "I",
            'ó' | 'ò' | 'ô' | 'õ' => "o",
            'Ó' | 'Ò' | 'Ô' => "O",
            'ú' | 'ù' | 'û' => "u",
            'Ú' | 'Ù' | 'Û' => "U",
            'ñ' | 'ń' => "n",
            'Ñ' | 'Ń' => "N",
            'ç' | 'ć' => "c",
            'Ç' | 'Ć' => "C",
            'ł' => "l",
            'Ł' => "L",
            'ś' => "s",
            'Ś' => "S",
            'ż' | 'ź' => "z",
            'Ż' | 'Ź' => "Z",
            c if c.is_ascii() => {
                out.push(c);
                continue;
            }
            _ => "",
        };
        out.push_str(r);
    }
    out
}

/// Text under construction with its spans; offsets counted in code points.
#[derive(Debug, Default)]
struct Builder {
    text: String,
    len: usize,
    spans: Vec<Span>,
}

impl Builder {
    fn lit(&mut self, s: &str) {
        self.text.push_str(s);
        self.len += s.chars().count();
    }

    fn ent(&mut self, s: &str, entity_type: &str) {
        let start = self.len;
        self.lit(s);
        self.spans.push(Span {
            start,
            end: self.len,
            entity_type: entity_type.to_string(),
        });
    }

    fn append(&mut self, other: Builder) {
        let shift = self.len;
        self.text.push_str(&other.text);
        self.len += other.len;
        self.spans.extend(other.spans.into_iter().map(|s| Span {
            start: s.start + shift,
            end: s.end + shift,
            entity_type: s.entity_type,
        }));
    }
}

/// A generated person name.
struct Person {
    first: String,
    last: String,
    female: bool,
}

impl Person {
    fn full(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

fn pick<'a, R: Rng + ?Sized>(rng: &mut R, items: &[&'a str]) -> &'a str {
    items.choose(rng).copied().expect("non-empty list")
}

fn hex<R: Rng + ?Sized>(rng: &mut R, n: usize) -> String {
    const H: &[u8] = b"0123456789abcdef";
    (0..n)
        .map(|_| char::from(H[rng.gen_range(0..16)]))
        .collect()
}

fn from_alphabet<R: Rng + ?Sized>(rng: &mut R, alphabet: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url encoding (for JWT parts).
pub fn base64url(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(B64URL[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

const PRODUCTS: &[&str] = &[
    "Nimbus X2",
    "Orion Pro 14",
    "Vortex 3000",
    "Solaris Lite",
    "Atlas 40L",
    "Mistral Kettle 2",
    "Falcon Air",
    "Aurora Mini",
    "Titan Dock",
    "Zephyr 5G",
];

const COMPANIES: &[&str] = &[
    "Northwind Traders",
    "Globex Corporation",
    "Initech",
    "Blue Harbor Logistics",
    "Contoso Ltd",
    "Stellar Freight GmbH",
    "Fjordline Parts AB",
    "Hanse Logistik GmbH",
    "Soleil Distribution SARL",
    "Vértice Soluciones S.L.",
    "Tecnoservizi S.r.l.",
    "Polmarket Sp. z o.o.",
    "Tulpen Handel B.V.",
];

const PASSWORD_WORDS: &[&str] = &[
    "hunter", "dragon", "sunshine", "Sommer", "soleil", "verano", "estate", "zomer", "lato",
    "sommar", "shadow", "Welcome", "letmein", "tiger", "Kolibri", "Passw0rd",
];

/// The corpus generator: a seeded, deterministic stream of [`Doc`]s.
pub struct Generator {
    rng: StdRng,
    produced: usize,
}

impl Iterator for Generator {
    type Item = Doc;

    fn next(&mut self) -> Option<Doc> {
        Some(self.next_doc())
    }
}

/// Generates `n` documents from `seed`.
pub fn generate(n: usize, seed: u64) -> Vec<Doc> {
    Generator::new(seed).take(n).collect()
}

impl Generator {
    /// A generator seeded with `seed`; the same seed yields the same corpus.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            produced: 0,
        }
    }

    /// Produces the next document.
    pub fn next_doc(&mut self) -> Doc {
        self.produced += 1;
        let loc = &LOCALES[self.rng.gen_range(0..LOCALES.len())];
        let hard_negative = self.rng.gen_bool(HARD_NEGATIVE_SHARE);
        let sentences = match self.rng.gen_range(0..10) {
            0..=3 => 1,
            4..=7 => 2,
            _ => 3,
        };
        let mut doc = Builder::default();
        let mut prev_tech = false;
        let mut used: Vec<&str> = Vec::new();
        for i in 0..sentences {
            let positive = !hard_negative && (i == 0 || self.rng.gen_bool(0.7));
            let mut chosen = None;
            if positive {
                for _ in 0..8 {
                    let (tpl, tech) = self.pick_positive(loc);
                    if used.contains(&tpl) {
                        continue;
                    }
                    let b = self.render(loc, tpl);
                    if doc.spans.len() + b.spans.len() <= MAX_ENTITIES {
                        used.push(tpl);
                        chosen = Some((b, tech));
                        break;
                    }
                }
            }
            let (b, tech) = match chosen {
                Some(c) => c,
                None => {
                    let (mut tpl, mut tech) = self.pick_negative(loc);
                    for _ in 0..8 {
                        if !used.contains(&tpl) {
                            break;
                        }
                        (tpl, tech) = self.pick_negative(loc);
                    }
                    used.push(tpl);
                    (self.render(loc, tpl), tech)
                }
            };
            if i > 0 {
                // Log/config lines and label-style sentences without final
                // punctuation ("SSN: ...") go on their own line.
                let open_end = !doc.text.ends_with(['.', '!', '?']);
                doc.lit(if tech || prev_tech || open_end {
                    "\n"
                } else {
                    " "
                });
            }
            doc.append(b);
            prev_tech = tech;
        }
        Doc {
            id: format!("d{:06}", self.produced),
            locale: loc.code.to_string(),
            text: doc.text,
            spans: doc.spans,
        }
    }

    fn pick_positive(&mut self, loc: &Locale) -> (&'static str, bool) {
        // Locales with several national IDs (en: five) get more ID sentences
        // so that every ID type is reasonably frequent.
        let id_share = 0.22 + 0.06 * (loc.id_kinds.len() - 1) as f64;
        let prose_share = (1.0 - id_share) * 0.7;
        let r: f64 = self.rng.gen();
        if r < prose_share {
            (pick(&mut self.rng, loc.prose), false)
        } else if r < prose_share + id_share {
            if self.rng.gen_bool(0.8) {
                (pick(&mut self.rng, loc.id_context), false)
            } else {
                (pick(&mut self.rng, loc.id_plain), false)
            }
        } else {
            (pick(&mut self.rng, TECH_POSITIVE), true)
        }
    }

    fn pick_negative(&mut self, loc: &Locale) -> (&'static str, bool) {
        if self.rng.gen_bool(0.6) {
            (pick(&mut self.rng, loc.negatives), false)
        } else {
            (pick(&mut self.rng, TECH_NEGATIVE), true)
        }
    }

    /// Renders a template, replacing `{KEY}` placeholders.
    fn render(&mut self, loc: &Locale, tpl: &str) -> Builder {
        let mut b = Builder::default();
        let mut rest = tpl;
        while let Some(open) = rest.find('{') {
            b.lit(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .unwrap_or_else(|| panic!("unclosed placeholder in template {tpl:?}"));
            self.fill(loc, &rest[open + 1..close], &mut b);
            rest = &rest[close + 1..];
        }
        b.lit(rest);
        b
    }

    fn fill(&mut self, loc: &Locale, key: &str, b: &mut Builder) {
        match key {
            // ---- people and places
            "PERSON" => {
                let p = self.person(loc, None);
                b.ent(&p.full(), PERSON);
            }
            "PERSON_M" | "PERSON_F" => {
                let p = self.person(loc, Some(key == "PERSON_F"));
                b.ent(&p.full(), PERSON);
            }
            "FIRST" => {
                let p = self.person(loc, None);
                b.ent(&p.first, PERSON);
            }
            "MR" | "MRS" => {
                let female = key == "MRS";
                let p = self.person(loc, Some(female));
                let title = pick(
                    &mut self.rng,
                    if female { loc.title_f } else { loc.title_m },
                );
                b.lit(title);
                b.lit(" ");
                let name = if self.rng.gen_bool(0.5) {
                    // Dutch capitalises a leading particle without first name.
                    let mut c = p.last.chars();
                    match c.next() {
                        Some(f) if loc.code == "nl" => f.to_uppercase().chain(c).collect(),
                        _ => p.last.clone(),
                    }
                } else {
                    p.full()
                };
                b.ent(&name, PERSON);
            }
            "DR" => {
                let p = self.person(loc, None);
                b.lit("Dr. ");
                b.ent(&p.full(), PERSON);
            }
            "CITY" => {
                let c = self.city(loc);
                b.ent(c, LOCATION);
            }
            "COUNTRY" => {
                let c = pick(&mut self.rng, loc.countries);
                b.ent(c, LOCATION);
            }
            "STREET" => {
                let s = self.street(loc);
                b.ent(&s, LOCATION);
            }
            "ADDRESS" => {
                let street = self.street(loc);
                let city = self.city(loc);
                let pc = self.postcode(loc);
                b.ent(&street, LOCATION);
                b.lit(", ");
                if loc.code == "en" {
                    b.ent(city, LOCATION);
                    b.lit(" ");
                    b.lit(&pc);
                } else {
                    b.lit(&pc);
                    b.lit(" ");
                    b.ent(city, LOCATION);
                }
            }
            "DATE" => {
                let d = self.date(loc);
                b.ent(&d, DATE_TIME);
            }
            // ---- contact and finance
            "EMAIL" => {
                let e = self.email(loc);
                b.ent(&e, EMAIL_ADDRESS);
            }
            "PHONE" => {
                let p = self.phone(loc);
                b.ent(&p, PHONE_NUMBER);
            }
            "CARD" => {
                let c = ids::gen_card(&mut self.rng);
                b.ent(&c, CREDIT_CARD);
            }
            "IBAN" => {
                let cc = self.iban_country(loc);
                let i = ids::gen_iban(&mut self.rng, cc);
                b.ent(&i, IBAN_CODE);
            }
            "URL" => {
                let u = self.url(loc);
                b.ent(&u, URL);
            }
            "IP" => {
                let ip = if self.rng.gen_bool(0.65) {
                    self.ipv4()
                } else {
                    self.ipv6()
                };
                b.ent(&ip, IP_ADDRESS);
            }
            "IPV4" => {
                let ip = self.ipv4();
                b.ent(&ip, IP_ADDRESS);
            }
            "IPV6" => {
                let ip = self.ipv6();
                b.ent(&ip, IP_ADDRESS);
            }
            "MAC" => {
                let m = self.mac();
                b.ent(&m, MAC_ADDRESS);
            }
            // ---- national identifiers
            "NATID" => {
                let kind = pick(&mut self.rng, loc.id_kinds);
                self.fill(loc, kind, b);
            }
            "SSN" => {
                let v = ids::gen_ssn(&mut self.rng);
                b.ent(&v, US_SSN);
            }
            "NINO" => {
                let v = ids::gen_nino(&mut self.rng);
                b.ent(&v, UK_NINO);
            }
            "NHS" => {
                let v = ids::gen_nhs(&mut self.rng);
                b.ent(&v, UK_NHS);
            }
            "NIR" => {
                let v = ids::gen_nir(&mut self.rng);
                b.ent(&v, FR_NIR);
            }
            "NIF" => {
                let v = ids::gen_nif(&mut self.rng);
                b.ent(&v, ES_NIF);
            }
            "NIE" => {
                let v = ids::gen_nie(&mut self.rng);
                b.ent(&v, ES_NIE);
            }
            "CF" => {
                let it = &LOCALES[4];
                let p = self.person(it, None);
                let v = ids::gen_codice_fiscale(&mut self.rng, &p.first, &p.last, p.female);
                b.ent(&v, IT_FISCAL_CODE);
            }
            "BSN" => {
                let v = ids::gen_bsn(&mut self.rng);
                b.ent(&v, NL_BSN);
            }
            "PESEL" => {
                let v = ids::gen_pesel(&mut self.rng);
                b.ent(&v, PL_PESEL);
            }
            "PNR" => {
                let v = ids::gen_personnummer(&mut self.rng);
                b.ent(&v, SE_PERSONNUMMER);
            }
            "AADHAAR" => {
                let v = ids::gen_aadhaar(&mut self.rng);
                b.ent(&v, IN_AADHAAR);
            }
            "SIN" => {
                let v = ids::gen_sin(&mut self.rng);
                b.ent(&v, CA_SIN);
            }
            "STEUERID" => {
                let v = ids::gen_steuer_id(&mut self.rng);
                b.ent(&v, DE_TAX_ID);
            }
            // ---- secrets
            "AWS" => {
                let v = format!("AKIA{}", from_alphabet(&mut self.rng, UPPER_DIGITS, 16));
                b.ent(&v, SECRET);
            }
            "GHP" => {
                let v = format!("ghp_{}", from_alphabet(&mut self.rng, ALNUM, 36));
                b.ent(&v, SECRET);
            }
            "SLACK" => {
                let v = self.slack_token();
                b.ent(&v, SECRET);
            }
            "STRIPE" => {
                let v = format!("sk_live_{}", from_alphabet(&mut self.rng, ALNUM, 24));
                b.ent(&v, SECRET);
            }
            "JWT" => {
                let v = self.jwt();
                b.ent(&v, SECRET);
            }
            "SECRET" => {
                let kind = pick(&mut self.rng, &["AWS", "GHP", "SLACK", "STRIPE", "JWT"]);
                self.fill(loc, kind, b);
            }
            "PRIVKEY" => {
                let v = self.private_key();
                b.ent(&v, SECRET);
            }
            "PASSWORD" => {
                let v = self.password();
                b.ent(&v, SECRET);
            }
            "CONN" => self.connection_string(b),
            // ---- unlabelled look-alikes
            "LOGTS" => {
                let v = self.log_timestamp();
                b.lit(&v);
            }
            "MS" => {
                let v = self.rng.gen_range(2..2500).to_string();
                b.lit(&v);
            }
            "N" => {
                let v = self.rng.gen_range(2..60).to_string();
                b.lit(&v);
            }
            "PRICE" => {
                let v = self.price(loc);
                b.lit(&v);
            }
            "ORDER" => {
                let v = ids::gen_non_luhn_number(&mut self.rng, 8, 16);
                b.lit(&v);
            }
            "UUID" => {
                let v = self.uuid();
                b.lit(&v);
            }
            "SHA1" | "GIT" => {
                let v = hex(&mut self.rng, 40);
                b.lit(&v);
            }
            "GIT7" => {
                let v = hex(&mut self.rng, 7);
                b.lit(&v);
            }
            "SHA256" => {
                let v = hex(&mut self.rng, 64);
                b.lit(&v);
            }
            "VERSION" => {
                let v = self.version();
                b.lit(&v);
            }
            "BUILD" => {
                let r = &mut self.rng;
                let v = format!(
                    "{}.{}.{}.{}",
                    r.gen_range(1..13),
                    r.gen_range(0..10),
                    r.gen_range(0..300),
                    r.gen_range(0..10000)
                );
                b.lit(&v);
            }
            "UPS" => {
                let r = &mut self.rng;
                let v = format!(
                    "1Z{}0{}{}",
                    from_alphabet(r, UPPER_DIGITS, 6),
                    r.gen_range(1..4),
                    ids::digits_to_string(&ids::random_digits(r, 8))
                );
                b.lit(&v);
            }
            "USPS" => {
                let v = self.usps();
                b.lit(&v);
            }
            "SKU" => {
                let v = self.sku();
                b.lit(&v);
            }
            "ISBN" => {
                let v = ids::gen_isbn13(&mut self.rng);
                b.lit(&v);
            }
            "BADCARD" => {
                let v = ids::gen_bad_card(&mut self.rng);
                b.lit(&v);
            }
            "BADIBAN" => {
                let cc = self.iban_country(loc);
                let v = ids::gen_bad_iban(&mut self.rng, cc);
                b.lit(&v);
            }
            "BADSSN" => {
                let v = ids::gen_bad_ssn(&mut self.rng);
                b.lit(&v);
            }
            "PRODUCT" => {
                let v = pick(&mut self.rng, PRODUCTS);
                b.lit(v);
            }
            "COMPANY" => {
                let v = pick(&mut self.rng, COMPANIES);
                b.lit(v);
            }
            other => panic!("unknown placeholder {{{other}}}"),
        }
    }

    // ------------------------------------------------------------ values ----

    fn person(&mut self, loc: &Locale, female: Option<bool>) -> Person {
        // Mostly local names, sometimes a name from another locale.
        let src = if self.rng.gen_bool(0.9) {
            loc
        } else {
            &LOCALES[self.rng.gen_range(0..LOCALES.len())]
        };
        let female = female.unwrap_or_else(|| self.rng.gen_bool(0.5));
        let first = pick(&mut self.rng, if female { src.female } else { src.male }).to_string();
        let mut last = pick(&mut self.rng, src.surnames).to_string();
        if src.code == "pl" && female && last.ends_with("ki") {
            last.pop();
            last.push('a');
        }
        if src.code == "es" && self.rng.gen_bool(0.35) {
            let second = pick(&mut self.rng, src.surnames);
            if second != last {
                last = format!("{last} {second}");
            }
        }
        Person {
            first,
            last,
            female,
        }
    }

    fn city(&mut self, loc: &Locale) -> &'static str {
        if self.rng.gen_bool(0.1) {
            pick(&mut self.rng, WORLD_CITIES)
        } else {
            pick(&mut self.rng, loc.cities)
        }
    }

    fn street(&mut self, loc: &Locale) -> String {
        let name = pick(&mut self.rng, loc.streets);
        let mut n = self.rng.gen_range(1..180).to_string();
        if self.rng.gen_bool(0.1) {
            n.push(*['a', 'B', 'b'].choose(&mut self.rng).expect("x"));
        }
        if loc.number_first {
            if loc.code == "fr" && self.rng.gen_bool(0.15) {
                format!("{n} bis {name}")
            } else {
                format!("{n} {name}")
            }
        } else if loc.code == "es" && self.rng.gen_bool(0.4) {
            format!("{name}, {n}")
        } else {
            format!("{name} {n}")
        }
    }

    fn postcode(&mut self, loc: &Locale) -> String {
        let r = &mut self.rng;
        let d = |r: &mut StdRng, n| ids::digits_to_string(&ids::random_digits(r, n));
        match loc.code {
            "en" => {
                if r.gen_bool(0.5) {
                    let l = |r: &mut StdRng| char::from(b'A' + r.gen_range(0..26u8));
                    format!(
                        "{}{}{} {}{}{}",
                        l(r),
                        l(r),
                        r.gen_range(1..20),
                        r.gen_range(1..10),
                        l(r),
                        l(r)
                    )
                } else {
                    format!("{:05}", r.gen_range(1001..99950))
                }
            }
            "nl" => format!(
                "{} {}",
                r.gen_range(1000..9999),
                from_alphabet(r, b"ABCDEGHJKLMNPRSTVWXZ", 2)
            ),
            "pl" => format!("{}-{}", d(r, 2), d(r, 3)),
            "sv" => format!("{} {}", r.gen_range(100..990), d(r, 2)),
            _ => format!("{:05}", r.gen_range(1000..99000)),
        }
    }

    fn date(&mut self, loc: &Locale) -> String {
        let r = &mut self.rng;
        let y = r.gen_range(1945..=2025u32);
        let m = r.gen_range(1..=12u32);
        let d = r.gen_range(1..=ids::days_in_month(y, m));
        let month = loc.months[(m - 1) as usize];
        let style = r.gen_range(0..10);
        if style < 2 {
            return format!("{y}-{m:02}-{d:02}");
        }
        let long = style >= 6;
        match (loc.code, long) {
            ("en", false) => {
                if r.gen_bool(0.5) {
                    format!("{d:02}/{m:02}/{y}")
                } else {
                    format!("{m:02}/{d:02}/{y}")
                }
            }
            ("en", true) => {
                if r.gen_bool(0.5) {
                    format!("{d} {month} {y}")
                } else {
                    format!("{month} {d}, {y}")
                }
            }
            ("de", false) | ("pl", false) => format!("{d:02}.{m:02}.{y}"),
            ("de", true) => format!("{d}. {month} {y}"),
            ("es", true) => format!("{d} de {month} de {y}"),
            ("nl", false) => format!("{d:02}-{m:02}-{y}"),
            ("sv", false) => format!("{y}-{m:02}-{d:02}"),
            (_, false) => format!("{d:02}/{m:02}/{y}"),
            (_, true) => format!("{d} {month} {y}"),
        }
    }

    fn email(&mut self, loc: &Locale) -> String {
        if self.rng.gen_bool(0.2) {
            let role = pick(
                &mut self.rng,
                &[
                    "support", "info", "billing", "hr", "kontakt", "service", "admin",
                ],
            );
            let site = pick(&mut self.rng, loc.sites);
            // Drop a leading sub-domain such as `portal.` for mailbox domains.
            let domain = match site.split_once('.') {
                Some((_, rest)) if rest.contains('.') => rest,
                _ => site,
            };
            return format!("{role}@{domain}");
        }
        let p = self.person(loc, None);
        let clean = |s: &str| -> String {
            fold_ascii(s)
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect()
        };
        let first = clean(&p.first);
        let last = clean(&p.last);
        let domain = pick(&mut self.rng, loc.mail_domains);
        let local = match self.rng.gen_range(0..5) {
            0 | 1 => format!("{first}.{last}"),
            2 => format!("{}.{last}", &first[..1]),
            3 => format!("{first}{last}{}", self.rng.gen_range(1..99)),
            _ => format!("{first}_{last}"),
        };
        format!("{local}@{domain}")
    }

    fn phone(&mut self, loc: &Locale) -> String {
        let country = match loc.code {
            "en" => pick(&mut self.rng, &["US", "US", "US", "GB", "GB", "IN"]),
            c if self.rng.gen_bool(0.9) => match c {
                "de" => "DE",
                "fr" => "FR",
                "es" => "ES",
                "it" => "IT",
                "nl" => "NL",
                "pl" => "PL",
                _ => "SE",
            },
            _ => pick(&mut self.rng, &["US", "GB"]),
        };
        self.phone_for(country)
    }

    /// A phone number valid under libphonenumber's rules for `country`.
    fn phone_for(&mut self, country: &str) -> String {
        let r = &mut self.rng;
        let d = |r: &mut StdRng, n| ids::digits_to_string(&ids::random_digits(r, n));
        let intl = r.gen_bool(0.45);
        match country {
            "US" => {
                let area = pick(
                    r,
                    &[
                        "212", "415", "617", "312", "646", "202", "305", "713", "206", "303",
                        "404", "503", "512", "702", "718", "310", "347", "602",
                    ],
                );
                let exch = loop {
                    let e = r.gen_range(200..1000u32);
                    if e != 555 && e % 100 != 11 {
                        break e;
                    }
                };
                let line = d(r, 4);
                match r.gen_range(0..5) {
                    0 => format!("({area}) {exch}-{line}"),
                    1 => format!("{area}-{exch}-{line}"),
                    2 => format!("+1 {area} {exch} {line}"),
                    3 => format!("+1-{area}-{exch}-{line}"),
                    _ => format!("{area}.{exch}.{line}"),
                }
            }
            "GB" => {
                if r.gen_bool(0.5) {
                    let (a, b) = if r.gen_bool(0.5) {
                        ("7946".to_string(), format!("0{}", d(r, 3)))
                    } else {
                        (format!("{}{}", pick(r, &["3", "7", "8"]), d(r, 3)), d(r, 4))
                    };
                    if intl {
                        format!("+44 20 {a} {b}")
                    } else {
                        format!("020 {a} {b}")
                    }
                } else {
                    // Ofcom's drama range 07700 900xxx is invalid in libphonenumber,
                    // so use ordinary allocated mobile blocks.
                    let pre = pick(r, &["7456", "7825", "7398", "7584", "7412", "7960"]);
                    let rest = d(r, 6);
                    if intl {
                        format!("+44 {pre} {rest}")
                    } else {
                        format!("0{pre} {rest}")
                    }
                }
            }
            "DE" => {
                if r.gen_bool(0.5) {
                    let area = pick(r, &["30", "40", "89", "221", "69"]);
                    let len = if area.len() == 2 { 8 } else { 7 };
                    let sub = format!("{}{}", r.gen_range(2..10), d(r, len - 1));
                    match (intl, r.gen_bool(0.5)) {
                        (true, _) => format!("+49 {area} {sub}"),
                        (false, true) => format!("0{area} {sub}"),
                        (false, false) => format!("0{area}/{sub}"),
                    }
                } else {
                    let pre = pick(r, &["151", "152", "157", "160", "170", "176"]);
                    let len = match pre {
                        "160" | "170" => 7,
                        _ => 8,
                    };
                    let sub = d(r, len);
                    if intl {
                        format!("+49 {pre} {sub}")
                    } else {
                        format!("0{pre} {sub}")
                    }
                }
            }
            "FR" => {
                let first = if r.gen_bool(0.6) {
                    format!("6{}", pick(r, &["0", "1", "2", "4", "5", "6", "7", "8"]))
                } else {
                    format!("{}{}", pick(r, &["1", "3"]), r.gen_range(0..10))
                };
                let nsn = format!("{first}{}", d(r, 7));
                let pairs = ids::group(&nsn[1..], &[2, 2, 2, 2], " ");
                if intl {
                    format!("+33 {} {pairs}", &nsn[..1])
                } else if r.gen_bool(0.2) {
                    format!("0{}", ids::group(&nsn, &[1, 2, 2, 2, 2], "."))
                } else {
                    format!("0{} {pairs}", &nsn[..1])
                }
            }
            "ES" => {
                let nsn = if r.gen_bool(0.6) {
                    format!("6{}", d(r, 8))
                } else {
                    format!("91{}{}", r.gen_range(2..10), d(r, 6))
                };
                let local = if r.gen_bool(0.5) {
                    ids::group(&nsn, &[3, 3, 3], " ")
                } else {
                    ids::group(&nsn, &[3, 2, 2, 2], " ")
                };
                if intl {
                    format!("+34 {local}")
                } else {
                    local
                }
            }
            "IT" => {
                let nsn = if r.gen_bool(0.65) {
                    format!(
                        "{}{}",
                        pick(
                            r,
                            &["320", "328", "333", "338", "340", "347", "348", "366", "389"]
                        ),
                        d(r, 7)
                    )
                } else {
                    format!("0{}{}", pick(r, &["6", "2"]), d(r, 8))
                };
                let local = if nsn.starts_with('3') {
                    ids::group(&nsn, &[3, 3, 4], " ")
                } else {
                    ids::group(&nsn, &[2, 4, 4], " ")
                };
                if intl {
                    format!("+39 {local}")
                } else {
                    local
                }
            }
            "NL" => {
                if r.gen_bool(0.6) {
                    let sub = format!("{}{}", r.gen_range(1..6), d(r, 7));
                    if intl {
                        format!("+31 6 {sub}")
                    } else if r.gen_bool(0.5) {
                        format!("06-{sub}")
                    } else {
                        format!("06 {sub}")
                    }
                } else {
                    let area = pick(r, &["20", "10", "30", "70"]);
                    let sub = format!("{}{}", r.gen_range(2..10), d(r, 6));
                    let grouped = ids::group(&sub, &[3, 4], " ");
                    if intl {
                        format!("+31 {area} {grouped}")
                    } else {
                        format!("0{area} {grouped}")
                    }
                }
            }
            "PL" => {
                if r.gen_bool(0.7) {
                    let pre = pick(
                        r,
                        &[
                            "50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88",
                        ],
                    );
                    let nsn = format!("{pre}{}", d(r, 7));
                    let sep = if r.gen_bool(0.7) { " " } else { "-" };
                    let local = ids::group(&nsn, &[3, 3, 3], sep);
                    if intl {
                        format!("+48 {local}")
                    } else {
                        local
                    }
                } else {
                    let nsn = format!("22{}{}", r.gen_range(2..10), d(r, 6));
                    let local = ids::group(&nsn, &[2, 3, 2, 2], " ");
                    if intl {
                        format!("+48 {local}")
                    } else {
                        local
                    }
                }
            }
            "SE" => {
                if r.gen_bool(0.7) {
                    let pre = pick(r, &["70", "72", "73", "76", "79"]);
                    let rest = d(r, 7);
                    let grouped = ids::group(&rest, &[3, 2, 2], " ");
                    if intl {
                        format!("+46 {pre} {grouped}")
                    } else {
                        format!("0{pre}-{grouped}")
                    }
                } else {
                    let rest = format!("{}{}", r.gen_range(1..10), d(r, 7));
                    let grouped = ids::group(&rest, &[3, 3, 2], " ");
                    if intl {
                        format!("+46 8 {grouped}")
                    } else {
                        format!("08-{grouped}")
                    }
                }
            }
            _ => {
                // India mobile.
                let pre = pick(r, &["98", "99", "97", "94", "90", "70", "81", "88"]);
                let nsn = format!("{pre}{}", d(r, 8));
                let local = ids::group(&nsn, &[5, 5], " ");
                if intl || r.gen_bool(0.5) {
                    format!("+91 {local}")
                } else {
                    format!("0{local}")
                }
            }
        }
    }

    fn iban_country(&mut self, loc: &Locale) -> &'static str {
        if self.rng.gen_bool(0.15) {
            return ids::IBAN_COUNTRIES[self.rng.gen_range(0..ids::IBAN_COUNTRIES.len())].0;
        }
        match loc.code {
            "en" => "GB",
            "de" => pick(&mut self.rng, &["DE", "DE", "DE", "AT", "CH"]),
            "fr" => pick(&mut self.rng, &["FR", "FR", "FR", "BE", "CH"]),
            "es" => "ES",
            "it" => "IT",
            "nl" => pick(&mut self.rng, &["NL", "NL", "NL", "BE"]),
            "pl" => "PL",
            _ => "SE",
        }
    }

    fn url(&mut self, loc: &Locale) -> String {
        let site = pick(&mut self.rng, loc.sites);
        let path = pick(
            &mut self.rng,
            &[
                "account/orders",
                "help/returns",
                "products/4521",
                "docs/api/v2",
                "login",
                "support/ticket?id=88213",
                "de/kontakt",
                "faq#shipping",
            ],
        );
        let www = if site.matches('.').count() == 1 {
            "www."
        } else {
            ""
        };
        match self.rng.gen_range(0..10) {
            0..=4 => format!("https://{www}{site}/{path}"),
            5 => format!("http://{www}{site}/{path}"),
            6 | 7 if !www.is_empty() => format!("www.{site}"),
            6 | 7 => format!("https://{site}"),
            _ => format!("{site}/{path}"),
        }
    }

    fn ipv4(&mut self) -> String {
        let r = &mut self.rng;
        let first = loop {
            let f = r.gen_range(1..224u32);
            if f != 127 {
                break f;
            }
        };
        format!(
            "{first}.{}.{}.{}",
            r.gen_range(0..256),
            r.gen_range(0..256),
            r.gen_range(1..255)
        )
    }

    fn ipv6(&mut self) -> String {
        let r = &mut self.rng;
        let groups: Vec<u16> = (0..8).map(|_| r.gen()).collect();
        match r.gen_range(0..4) {
            0 => {
                // Full form with leading zeros.
                let mut g = groups.clone();
                g[0] = 0x2001;
                g[1] = 0x0db8;
                g.iter()
                    .map(|x| format!("{x:04x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            }
            1 => {
                let prefix = pick(r, &["2001:db8", "2a02:8108", "2600:1f18", "2a00:1450"]);
                format!("{prefix}::{:x}:{:x}:{:x}", groups[5], groups[6], groups[7])
            }
            2 => format!(
                "fe80::{:x}:{:x}:{:x}:{:x}",
                groups[4] | 0x100,
                groups[5] | 0x100,
                groups[6] | 0x100,
                groups[7] | 0x100
            ),
            _ => {
                // Full form, upper case, no leading zeros.
                let mut g = groups.clone();
                g[0] = 0x2a01;
                g.iter()
                    .map(|x| format!("{x:X}"))
                    .collect::<Vec<_>>()
                    .join(":")
            }
        }
    }

    fn mac(&mut self) -> String {
        let bytes: Vec<u8> = (0..6).map(|_| self.rng.gen()).collect();
        let upper = self.rng.gen_bool(0.5);
        let h: Vec<String> = bytes
            .iter()
            .map(|b| {
                if upper {
                    format!("{b:02X}")
                } else {
                    format!("{b:02x}")
                }
            })
            .collect();
        match self.rng.gen_range(0..3) {
            0 => h.join(":"),
            1 => h.join("-"),
            _ => {
                let s = h.concat().to_lowercase();
                ids::group(&s, &[4, 4, 4], ".")
            }
        }
    }

    fn slack_token(&mut self) -> String {
        let r = &mut self.rng;
        format!(
            "xoxb-{}{}-{}{}-{}",
            r.gen_range(1..10),
            ids::digits_to_string(&ids::random_digits(r, 10)),
            r.gen_range(1..10),
            ids::digits_to_string(&ids::random_digits(r, 12)),
            from_alphabet(r, ALNUM, 24)
        )
    }

    fn jwt(&mut self) -> String {
        let header = pick(
            &mut self.rng,
            &[
                r#"{"alg":"HS256","typ":"JWT"}"#,
                r#"{"alg":"RS256","typ":"JWT"}"#,
                r#"{"typ":"JWT","alg":"HS512"}"#,
            ],
        );
        let payload = format!(
            r#"{{"sub":"{}","role":"{}","iat":{}}}"#,
            self.rng.gen_range(1000..10_000_000),
            pick(&mut self.rng, &["user", "admin", "service"]),
            self.rng.gen_range(1_600_000_000u64..1_760_000_000)
        );
        let sig = from_alphabet(&mut self.rng, B64URL, 43);
        format!(
            "{}.{}.{sig}",
            base64url(header.as_bytes()),
            base64url(payload.as_bytes())
        )
    }

    fn private_key(&mut self) -> String {
        let lines = self.rng.gen_range(6..12);
        let mut body = vec![format!(
            "MIIEpAIBAAKCAQEA{}",
            from_alphabet(&mut self.rng, B64, 48)
        )];
        for _ in 0..lines {
            body.push(from_alphabet(&mut self.rng, B64, 64));
        }
        let tail = self.rng.gen_range(8..60);
        body.push(format!("{}==", from_alphabet(&mut self.rng, B64, tail)));
        format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
            body.join("\n")
        )
    }

    fn password(&mut self) -> String {
        if self.rng.gen_bool(0.5) {
            let w = pick(&mut self.rng, PASSWORD_WORDS);
            let n = self.rng.gen_range(1..10_000);
            // No URL-reserved or comment characters: the value is also
            // used inside connection strings and .env lines.
            let sym = pick(&mut self.rng, &["!", "$", "*", "_", "x!", "!1", ".", "+"]);
            format!("{w}{n}{sym}")
        } else {
            let len = self.rng.gen_range(12..25);
            from_alphabet(
                &mut self.rng,
                b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!$*_-+.",
                len,
            )
        }
    }

    fn connection_string(&mut self, b: &mut Builder) {
        let (scheme, port) = *[
            ("postgres", ":5432"),
            ("postgresql", ""),
            ("mysql", ":3306"),
            ("mongodb", ":27017"),
            ("redis", ":6379"),
        ]
        .choose(&mut self.rng)
        .expect("x");
        let user = pick(
            &mut self.rng,
            &[
                "app",
                "admin",
                "svc_orders",
                "reporting",
                "etl_user",
                "default",
            ],
        );
        let host = pick(
            &mut self.rng,
            &[
                "localhost",
                "db-primary",
                "pg-prod-01",
                "cache-01",
                "mysql-replica",
            ],
        );
        let db = pick(
            &mut self.rng,
            &["orders", "customers", "analytics", "app_prod"],
        );
        let pass = self.password();
        b.lit(&format!("{scheme}://{user}:"));
        b.ent(&pass, SECRET);
        b.lit(&format!("@{host}{port}/{db}"));
    }

    fn log_timestamp(&mut self) -> String {
        let r = &mut self.rng;
        let y = r.gen_range(2022..=2025u32);
        let mo = r.gen_range(1..=12u32);
        let d = r.gen_range(1..=ids::days_in_month(y, mo));
        let (h, mi, s, ms) = (
            r.gen_range(0..24),
            r.gen_range(0..60),
            r.gen_range(0..60),
            r.gen_range(0..1000),
        );
        match r.gen_range(0..4) {
            0 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
            1 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z"),
            2 => format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02},{ms:03}"),
            _ => format!("[{y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}]"),
        }
    }

    fn price(&mut self, loc: &Locale) -> String {
        let whole = self.rng.gen_range(3..900);
        let cents = self.rng.gen_range(0..100);
        match loc.code {
            "en" => format!("${whole}.{cents:02}"),
            "pl" => format!("{whole},{cents:02} zł"),
            "sv" => format!("{whole} kr"),
            _ => format!("{whole},{cents:02} €"),
        }
    }

    fn uuid(&mut self) -> String {
        let r = &mut self.rng;
        let variant = pick(r, &["8", "9", "a", "b"]);
        format!(
            "{}-{}-4{}-{variant}{}-{}",
            hex(r, 8),
            hex(r, 4),
            hex(r, 3),
            hex(r, 3),
            hex(r, 12)
        )
    }

    fn version(&mut self) -> String {
        let r = &mut self.rng;
        let (a, b, c) = (r.gen_range(0..6), r.gen_range(0..25), r.gen_range(0..40));
        match r.gen_range(0..4) {
            0 | 1 => format!("v{a}.{b}.{c}"),
            2 => format!("{a}.{b}.{c}"),
            _ => format!(
                "{a}.{b}.{c}-{}.{}",
                pick(r, &["rc", "beta", "alpha"]),
                r.gen_range(1..6)
            ),
        }
    }

    fn usps(&mut self) -> String {
        let r = &mut self.rng;
        let (pre, len) = *[("9400", 22), ("9205", 22), ("9261", 22), ("7016", 20)]
            .choose(r)
            .expect("x");
        let s = format!(
            "{pre}{}",
            ids::digits_to_string(&ids::random_digits(r, len - 4))
        );
        if r.gen_bool(0.5) {
            ids::group(&s, &[4, 4, 4, 4, 4, 2], " ")
        } else {
            s
        }
    }

    fn sku(&mut self) -> String {
        let r = &mut self.rng;
        let d = |r: &mut StdRng, n| ids::digits_to_string(&ids::random_digits(r, n));
        match r.gen_range(0..4) {
            0 => format!(
                "SKU-{}-{}",
                d(r, 5),
                pick(r, &["BLK", "WHT", "RED", "XL", "M"])
            ),
            1 => format!("ART-{}-{}", d(r, 4), d(r, 3)),
            2 => format!("PRD{}", d(r, 6)),
            _ => format!(
                "{}-{}",
                from_alphabet(r, b"ABCDEFGHJKLMNPRSTUVWXYZ", 3),
                d(r, 4)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of<'a>(doc: &'a Doc, ty: &'a str) -> impl Iterator<Item = String> + 'a {
        doc.spans
            .iter()
            .filter(move |s| s.entity_type == ty)
            .map(|s| doc.span_text(s))
    }

    #[test]
    fn deterministic_for_a_seed() {
        assert_eq!(generate(300, 42), generate(300, 42));
        assert_ne!(generate(50, 42), generate(50, 43));
    }

    #[test]
    fn spans_are_sorted_non_overlapping_and_trimmed() {
        for doc in generate(5000, 1) {
            let n = doc.text.chars().count();
            assert!(doc.spans.len() <= MAX_ENTITIES, "{doc:?}");
            let mut prev_end = 0;
            for s in &doc.spans {
                assert!(s.start < s.end && s.end <= n, "{doc:?}");
                assert!(s.start >= prev_end, "overlap in {doc:?}");
                prev_end = s.end;
                assert!(ENTITY_TYPES.contains(&s.entity_type.as_str()));
                let t = doc.span_text(s);
                assert_eq!(t.trim(), t, "untrimmed span in {doc:?}");
            }
        }
    }

    #[test]
    fn span_offsets_are_code_points() {
        // Render a value with multi-byte characters and check the offsets.
        let mut b = Builder::default();
        b.lit("Grüße an ");
        b.ent("Łukasz Wójcik", PERSON);
        b.lit(" aus ");
        b.ent("Malmö", LOCATION);
        let doc = Doc {
            id: "x".into(),
            locale: "pl".into(),
            text: b.text,
            spans: b.spans,
        };
        assert_eq!(doc.spans[0].start, 9);
        assert_eq!(doc.span_text(&doc.spans[0]), "Łukasz Wójcik");
        assert_eq!(doc.span_text(&doc.spans[1]), "Malmö");
    }

    #[test]
    fn every_template_renders() {
        let mut g = Generator::new(3);
        for loc in LOCALES {
            let all = loc
                .prose
                .iter()
                .chain(loc.negatives)
                .chain(loc.id_context)
                .chain(loc.id_plain)
                .chain(TECH_POSITIVE)
                .chain(TECH_NEGATIVE);
            for tpl in all {
                for _ in 0..20 {
                    let b = g.render(loc, tpl);
                    assert!(!b.text.contains('{'), "{tpl}");
                }
            }
            for tpl in loc.negatives.iter().chain(TECH_NEGATIVE) {
                assert!(g.render(loc, tpl).spans.is_empty(), "{tpl}");
            }
            for tpl in loc.id_context {
                assert_eq!(g.render(loc, tpl).spans.len(), 1, "{tpl}");
            }
        }
    }

    #[test]
    fn generated_ids_in_documents_pass_checksums() {
        let docs = generate(6000, 9);
        type Validator = fn(&str) -> bool;
        let checks: &[(&str, Validator)] = &[
            (CREDIT_CARD, ids::luhn_valid),
            (IBAN_CODE, ids::iban_valid),
            (US_SSN, ids::ssn_valid),
            (UK_NINO, ids::nino_valid),
            (UK_NHS, ids::nhs_valid),
            (FR_NIR, ids::nir_valid),
            (ES_NIF, ids::nif_nie_valid),
            (ES_NIE, ids::nif_nie_valid),
            (IT_FISCAL_CODE, ids::codice_fiscale_valid),
            (NL_BSN, ids::bsn_valid),
            (PL_PESEL, ids::pesel_valid),
            (SE_PERSONNUMMER, ids::personnummer_valid),
            (IN_AADHAAR, ids::aadhaar_valid),
            (CA_SIN, ids::sin_valid),
            (DE_TAX_ID, ids::steuer_id_valid),
        ];
        for &(ty, valid) in checks {
            let mut seen = 0;
            for d in &docs {
                for v in value_of(d, ty) {
                    assert!(valid(&v), "{ty} {v:?} fails its checksum");
                    seen += 1;
                }
            }
            assert!(seen > 5, "too few {ty}: {seen}");
        }
    }

    #[test]
    fn every_entity_type_occurs_and_hard_negatives_exist() {
        let docs = generate(4000, 42);
        let counts = entity_counts(&docs);
        for ty in ENTITY_TYPES {
            assert!(counts.get(*ty).copied().unwrap_or(0) > 5, "missing {ty}");
        }
        let empty = docs.iter().filter(|d| d.spans.is_empty()).count();
        let share = empty as f64 / docs.len() as f64;
        assert!((0.2..0.4).contains(&share), "empty share {share}");
    }

    #[test]
    fn value_shapes() {
        let docs = generate(4000, 5);
        for d in &docs {
            for v in value_of(d, SECRET) {
                assert!(!v.starts_with('"') && !v.ends_with('"'), "{v}");
                assert!(!v.contains("password"), "{v}");
                if !v.starts_with("-----BEGIN") {
                    assert!(!v.contains(['@', '%', '#', '?', ' ', '\'', '"']), "{v}");
                }
            }
            for v in value_of(d, IP_ADDRESS) {
                assert!(v.parse::<std::net::IpAddr>().is_ok(), "{v}");
            }
            for v in value_of(d, EMAIL_ADDRESS) {
                let (local, domain) = v.split_once('@').expect("@");
                assert!(!local.is_empty() && domain.contains('.'), "{v}");
                assert!(v.is_ascii(), "{v}");
            }
            for v in value_of(d, PERSON) {
                for t in [
                    "Mr", "Mrs", "Herr", "Frau", "Mme", "Sr.", "Sig", "Pan ", "Dr",
                ] {
                    assert!(!v.starts_with(t), "title inside PERSON span: {v}");
                }
            }
        }
    }

    #[test]
    fn jwt_parts_are_base64url() {
        assert_eq!(
            base64url(b"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        );
        assert_eq!(base64url(b"ab"), "YWI");
        let mut g = Generator::new(1);
        let j = g.jwt();
        assert!(j.starts_with("eyJ") && j.split('.').count() == 3, "{j}");
        assert!(j.split('.').nth(1).expect("payload").starts_with("eyJ"));
    }

    #[test]
    fn fold_ascii_maps_diacritics() {
        assert_eq!(fold_ascii("Łukasz Wójcik"), "Lukasz Wojcik");
        assert_eq!(fold_ascii("Jörg Weiß"), "Joerg Weiss");
        assert_eq!(fold_ascii("Åsa Ström"), "Asa Stroem");
    }
}
