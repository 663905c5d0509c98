//! Generators and validators for identifiers that carry check digits.
//!
//! Every `gen_*` function returns a value that passes the matching
//! `*_valid` validator; the unit tests at the bottom of this file prove it.
//! Validators accept the value as it appears in text (with spaces, dashes or
//! dots as separators) and ignore those separators.

use rand::seq::SliceRandom;
use rand::Rng;

/// Keeps only ASCII digits and returns them as numeric values.
pub fn digit_values(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

/// Renders digit values as a string.
pub fn digits_to_string(d: &[u8]) -> String {
    d.iter().map(|&x| char::from(b'0' + x)).collect()
}

/// Random digit values.
pub fn random_digits<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.gen_range(0..10)).collect()
}

/// Joins `s` into groups of the given sizes with `sep`.
pub fn group(s: &str, sizes: &[usize], sep: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut pos = 0;
    for (i, &n) in sizes.iter().enumerate() {
        if pos >= chars.len() {
            break;
        }
        if i > 0 {
            out.push_str(sep);
        }
        let end = (pos + n).min(chars.len());
        out.extend(&chars[pos..end]);
        pos = end;
    }
    if pos < chars.len() {
        out.push_str(sep);
        out.extend(&chars[pos..]);
    }
    out
}

// ---------------------------------------------------------------- Luhn ----

/// The Luhn check digit for `payload` (the digits before the check digit).
pub fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let v = u32::from(d);
            if i % 2 == 0 {
                let v = v * 2;
                if v > 9 {
                    v - 9
                } else {
                    v
                }
            } else {
                v
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// True when the digits of `s` (separators ignored) pass the Luhn test.
pub fn luhn_valid(s: &str) -> bool {
    let d = digit_values(s);
    if d.len() < 2 {
        return false;
    }
    let (payload, check) = d.split_at(d.len() - 1);
    luhn_check_digit(payload) == check[0]
}

/// Card brands produced by [`gen_card`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBrand {
    /// Visa, prefix 4, 16 digits.
    Visa,
    /// Mastercard, 51–55 or 2221–2720, 16 digits.
    Mastercard,
    /// American Express, 34/37, 15 digits.
    Amex,
    /// Discover, 6011/65, 16 digits.
    Discover,
    /// JCB, 3528–3589, 16 digits.
    Jcb,
}

/// Card number digits (compact) with a valid Luhn check digit.
pub fn gen_card_digits<R: Rng + ?Sized>(rng: &mut R) -> (String, CardBrand) {
    let brand = *[
        CardBrand::Visa,
        CardBrand::Visa,
        CardBrand::Mastercard,
        CardBrand::Mastercard,
        CardBrand::Amex,
        CardBrand::Discover,
        CardBrand::Jcb,
    ]
    .choose(rng)
    .expect("non-empty");
    let (prefix, len): (String, usize) = match brand {
        CardBrand::Visa => ("4".into(), 16),
        CardBrand::Mastercard => {
            if rng.gen_bool(0.7) {
                (rng.gen_range(51..=55).to_string(), 16)
            } else {
                (rng.gen_range(2221..=2720).to_string(), 16)
            }
        }
        CardBrand::Amex => ((if rng.gen_bool(0.5) { "34" } else { "37" }).into(), 15),
        CardBrand::Discover => ((if rng.gen_bool(0.5) { "6011" } else { "65" }).into(), 16),
        CardBrand::Jcb => (rng.gen_range(3528..=3589).to_string(), 16),
    };
    let mut d = digit_values(&prefix);
    d.extend(random_digits(rng, len - 1 - d.len()));
    d.push(luhn_check_digit(&d));
    (digits_to_string(&d), brand)
}

/// Formats a compact card number as spaced, dashed or compact text.
pub fn format_card<R: Rng + ?Sized>(rng: &mut R, compact: &str, brand: CardBrand) -> String {
    let sizes: &[usize] = if brand == CardBrand::Amex {
        &[4, 6, 5]
    } else {
        &[4, 4, 4, 4]
    };
    match rng.gen_range(0..10) {
        0..=4 => group(compact, sizes, " "),
        5..=6 => group(compact, sizes, "-"),
        _ => compact.to_string(),
    }
}

/// A formatted card number with a valid Luhn check digit.
pub fn gen_card<R: Rng + ?Sized>(rng: &mut R) -> String {
    let (c, b) = gen_card_digits(rng);
    format_card(rng, &c, b)
}

/// A card-shaped number whose Luhn check digit is wrong.
pub fn gen_bad_card<R: Rng + ?Sized>(rng: &mut R) -> String {
    let (c, b) = gen_card_digits(rng);
    let mut d = digit_values(&c);
    let last = d.len() - 1;
    d[last] = (d[last] + rng.gen_range(1..10)) % 10;
    format_card(rng, &digits_to_string(&d), b)
}

/// A number of `min..=max` digits (no leading zero) that fails Luhn.
pub fn gen_non_luhn_number<R: Rng + ?Sized>(rng: &mut R, min: usize, max: usize) -> String {
    let n = rng.gen_range(min..=max);
    let mut d = random_digits(rng, n);
    d[0] = rng.gen_range(1..10);
    let last = n - 1;
    if luhn_check_digit(&d[..last]) == d[last] {
        d[last] = (d[last] + rng.gen_range(1..10)) % 10;
    }
    digits_to_string(&d)
}

// ---------------------------------------------------------------- IBAN ----

/// Countries for which IBANs are generated, with their total IBAN length.
pub const IBAN_COUNTRIES: &[(&str, usize)] = &[
    ("DE", 22),
    ("FR", 27),
    ("ES", 24),
    ("IT", 27),
    ("NL", 18),
    ("PL", 28),
    ("SE", 24),
    ("GB", 22),
    ("BE", 16),
    ("AT", 20),
    ("CH", 21),
];

fn iban_len(cc: &str) -> Option<usize> {
    IBAN_COUNTRIES
        .iter()
        .find(|(c, _)| *c == cc)
        .map(|&(_, n)| n)
}

/// ISO 7064 MOD 97-10 remainder of an alphanumeric string (letters A=10..Z=35).
fn mod97(s: &str) -> u32 {
    let mut r: u32 = 0;
    for c in s.chars() {
        let v = c.to_digit(36).expect("alphanumeric");
        if v >= 10 {
            r = (r * 100 + v) % 97;
        } else {
            r = (r * 10 + v) % 97;
        }
    }
    r
}

fn upper_letters<R: Rng + ?Sized>(rng: &mut R, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'A' + rng.gen_range(0..26u8)))
        .collect()
}

fn ds<R: Rng + ?Sized>(rng: &mut R, n: usize) -> String {
    digits_to_string(&random_digits(rng, n))
}

fn es_control(ten: &str) -> u32 {
    const W: [u32; 10] = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6];
    let s: u32 = digit_values(ten)
        .iter()
        .zip(W)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    match 11 - s % 11 {
        11 => 0,
        10 => 1,
        x => x,
    }
}

/// A national BBAN for `cc` (with national check digits where cheap to do).
fn gen_bban<R: Rng + ?Sized>(rng: &mut R, cc: &str) -> String {
    match cc {
        "FR" => {
            let bank = ds(rng, 5);
            let branch = ds(rng, 5);
            let account = ds(rng, 11);
            let b: u64 = bank.parse().expect("digits");
            let g: u64 = branch.parse().expect("digits");
            let a: u64 = account.parse().expect("digits");
            let key = 97 - (89 * b + 15 * g + 3 * a) % 97;
            format!("{bank}{branch}{account}{key:02}")
        }
        "ES" => {
            let bank = ds(rng, 4);
            let branch = ds(rng, 4);
            let account = ds(rng, 10);
            let c1 = es_control(&format!("00{bank}{branch}"));
            let c2 = es_control(&account);
            format!("{bank}{branch}{c1}{c2}{account}")
        }
        "IT" => format!(
            "{}{}{}{}",
            upper_letters(rng, 1),
            ds(rng, 5),
            ds(rng, 5),
            ds(rng, 12)
        ),
        "NL" => {
            let bank = ["ABNA", "INGB", "RABO", "TRIO", "SNSB", "ASNB"]
                .choose(rng)
                .expect("non-empty");
            format!("{bank}{}", ds(rng, 10))
        }
        "GB" => {
            let bank = ["NWBK", "BARC", "LOYD", "HBUK", "MIDL", "MONZ"]
                .choose(rng)
                .expect("non-empty");
            format!("{bank}{}{}", ds(rng, 6), ds(rng, 8))
        }
        "BE" => {
            let ten: u64 = rng.gen_range(1_000_000_000..10_000_000_000);
            let chk = match ten % 97 {
                0 => 97,
                x => x,
            };
            format!("{ten:010}{chk:02}")
        }
        _ => {
            let n = iban_len(cc).expect("known country") - 4;
            ds(rng, n)
        }
    }
}

/// The two IBAN check digits for a country code and BBAN.
pub fn iban_check_digits(cc: &str, bban: &str) -> u32 {
    98 - mod97(&format!("{bban}{cc}00"))
}

/// A compact IBAN with correct length and mod-97 check digits.
pub fn gen_iban_compact<R: Rng + ?Sized>(rng: &mut R, cc: &str) -> String {
    let bban = gen_bban(rng, cc);
    format!("{cc}{:02}{bban}", iban_check_digits(cc, &bban))
}

/// Formats an IBAN compact or in space-separated groups of four.
pub fn format_iban<R: Rng + ?Sized>(rng: &mut R, compact: &str) -> String {
    if rng.gen_bool(0.5) {
        let n = compact.len().div_ceil(4);
        group(compact, &vec![4; n], " ")
    } else {
        compact.to_string()
    }
}

/// A formatted valid IBAN for `cc`.
pub fn gen_iban<R: Rng + ?Sized>(rng: &mut R, cc: &str) -> String {
    let c = gen_iban_compact(rng, cc);
    format_iban(rng, &c)
}

/// A formatted IBAN-shaped value with wrong check digits.
pub fn gen_bad_iban<R: Rng + ?Sized>(rng: &mut R, cc: &str) -> String {
    let good = gen_iban_compact(rng, cc);
    let chk: u32 = good[2..4].parse().expect("digits");
    // Maps into 2..=98 and never back onto `chk` (that would need an offset of 95).
    let bad = (chk + rng.gen_range(1..90)) % 97 + 2;
    let s = format!("{cc}{bad:02}{}", &good[4..]);
    format_iban(rng, &s)
}

/// True for a valid IBAN (spaces ignored) of a supported country.
pub fn iban_valid(s: &str) -> bool {
    let c: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if c.len() < 5 || !c.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    match iban_len(&c[..2]) {
        Some(n) if n == c.len() => {}
        _ => return false,
    }
    mod97(&format!("{}{}", &c[4..], &c[..4])) == 1
}

// ------------------------------------------------------------------ US ----

/// A valid US SSN written `AAA-GG-SSSS`.
pub fn gen_ssn<R: Rng + ?Sized>(rng: &mut R) -> String {
    loop {
        let area: u32 = rng.gen_range(1..=899);
        let grp: u32 = rng.gen_range(1..=99);
        let serial: u32 = rng.gen_range(1..=9999);
        let s = format!("{area:03}-{grp:02}-{serial:04}");
        if ssn_valid(&s) {
            return s;
        }
    }
}

/// An SSN-shaped value in an invalid range (000-, 666-, 9xx-, group 00 or serial 0000).
pub fn gen_bad_ssn<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut area: u32 = rng.gen_range(1..=899);
    let mut grp: u32 = rng.gen_range(1..=99);
    let mut serial: u32 = rng.gen_range(1..=9999);
    match rng.gen_range(0..5) {
        0 => area = 0,
        1 => area = 666,
        2 => area = rng.gen_range(900..=999),
        3 => grp = 0,
        _ => serial = 0,
    }
    format!("{area:03}-{grp:02}-{serial:04}")
}

/// True for an SSN in the valid ranges (and not a well-known sample number).
pub fn ssn_valid(s: &str) -> bool {
    let d = digit_values(s);
    if d.len() != 9 {
        return false;
    }
    let n = |r: &[u8]| r.iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let (area, grp, serial) = (n(&d[..3]), n(&d[3..5]), n(&d[5..]));
    let all_same = d.iter().all(|&x| x == d[0]);
    area != 0
        && area != 666
        && area < 900
        && grp != 0
        && serial != 0
        && !all_same
        && !matches!(
            digits_to_string(&d).as_str(),
            "078051120" | "219099999" | "123456789"
        )
}

// ------------------------------------------------------------------ UK ----

const NINO_FIRST: &str = "ABCEGHJKLMNOPRSTWXYZ";
const NINO_SECOND: &str = "ABCEGHJKLMNPRSTWXYZ";
const NINO_BAD_PREFIX: [&str; 7] = ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"];

/// A valid UK National Insurance number, spaced (`AB 12 34 56 C`) or compact.
pub fn gen_nino<R: Rng + ?Sized>(rng: &mut R) -> String {
    let f: Vec<char> = NINO_FIRST.chars().collect();
    let s: Vec<char> = NINO_SECOND.chars().collect();
    loop {
        let prefix: String = [*f.choose(rng).expect("x"), *s.choose(rng).expect("x")]
            .iter()
            .collect();
        if NINO_BAD_PREFIX.contains(&prefix.as_str()) {
            continue;
        }
        let num = ds(rng, 6);
        let suffix = char::from(b'A' + rng.gen_range(0..4u8));
        return if rng.gen_bool(0.5) {
            format!(
                "{prefix} {} {} {} {suffix}",
                &num[..2],
                &num[2..4],
                &num[4..]
            )
        } else {
            format!("{prefix}{num}{suffix}")
        };
    }
}

/// True for a structurally valid NINO (spaces ignored).
pub fn nino_valid(s: &str) -> bool {
    let c: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    c.len() == 9
        && NINO_FIRST.contains(c[0])
        && NINO_SECOND.contains(c[1])
        && !NINO_BAD_PREFIX.contains(&c[..2].iter().collect::<String>().as_str())
        && c[2..8].iter().all(char::is_ascii_digit)
        && ('A'..='D').contains(&c[8])
}

fn nhs_check(nine: &[u8]) -> Option<u8> {
    let s: u32 = nine
        .iter()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * (10 - i as u32))
        .sum();
    match 11 - s % 11 {
        11 => Some(0),
        10 => None,
        x => Some(x as u8),
    }
}

/// A valid NHS number written `3-3-4` with spaces (sometimes compact).
pub fn gen_nhs<R: Rng + ?Sized>(rng: &mut R) -> String {
    loop {
        let mut d = random_digits(rng, 9);
        d[0] = *[4u8, 6, 7].choose(rng).expect("x");
        if let Some(c) = nhs_check(&d) {
            d.push(c);
            let s = digits_to_string(&d);
            return if rng.gen_bool(0.8) {
                group(&s, &[3, 3, 4], " ")
            } else {
                s
            };
        }
    }
}

/// True for a 10-digit NHS number with a correct mod-11 check digit.
pub fn nhs_valid(s: &str) -> bool {
    let d = digit_values(s);
    d.len() == 10 && nhs_check(&d[..9]) == Some(d[9])
}

// ------------------------------------------------------------------ FR ----

/// A valid French NIR (social security number) with its mod-97 key,
/// spaced as `1 84 12 76 451 089 46` or compact.
pub fn gen_nir<R: Rng + ?Sized>(rng: &mut R) -> String {
    let sex = rng.gen_range(1..=2u32);
    let yy = rng.gen_range(0..=99u32);
    let mm = rng.gen_range(1..=12u32);
    let dept = loop {
        let d = rng.gen_range(1..=95u32);
        if d != 20 {
            break d;
        }
    };
    let commune = rng.gen_range(1..=990u32);
    let order = rng.gen_range(1..=999u32);
    let body = format!("{sex}{yy:02}{mm:02}{dept:02}{commune:03}{order:03}");
    let n: u64 = body.parse().expect("digits");
    let key = 97 - n % 97;
    let full = format!("{body}{key:02}");
    if rng.gen_bool(0.6) {
        group(&full, &[1, 2, 2, 2, 3, 3, 2], " ")
    } else {
        full
    }
}

/// True for a 15-digit NIR with a correct key.
pub fn nir_valid(s: &str) -> bool {
    let d = digit_values(s);
    if d.len() != 15 || !(1..=2).contains(&d[0]) {
        return false;
    }
    let body: u64 = digits_to_string(&d[..13]).parse().expect("digits");
    let key: u64 = digits_to_string(&d[13..]).parse().expect("digits");
    97 - body % 97 == key
}

// ------------------------------------------------------------------ ES ----

const NIF_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// A valid Spanish DNI/NIF: 8 digits plus the mod-23 letter.
pub fn gen_nif<R: Rng + ?Sized>(rng: &mut R) -> String {
    let n: u32 = rng.gen_range(1_000_000..100_000_000);
    let sep = if rng.gen_bool(0.15) { "-" } else { "" };
    format!("{n:08}{sep}{}", char::from(NIF_LETTERS[(n % 23) as usize]))
}

/// A valid Spanish NIE: X/Y/Z, 7 digits and the mod-23 letter.
pub fn gen_nie<R: Rng + ?Sized>(rng: &mut R) -> String {
    let p = rng.gen_range(0..3u32);
    let n: u32 = rng.gen_range(0..10_000_000);
    let full = p * 10_000_000 + n;
    let prefix = ['X', 'Y', 'Z'][p as usize];
    let letter = char::from(NIF_LETTERS[(full % 23) as usize]);
    if rng.gen_bool(0.2) {
        format!("{prefix}-{n:07}-{letter}")
    } else {
        format!("{prefix}{n:07}{letter}")
    }
}

/// True for a DNI/NIF (`12345678Z`) or NIE (`X1234567L`) with the right letter.
pub fn nif_nie_valid(s: &str) -> bool {
    let c: Vec<char> = s.chars().filter(|c| *c != '-').collect();
    if c.len() != 9 {
        return false;
    }
    let mut num = String::new();
    match c[0] {
        'X' => num.push('0'),
        'Y' => num.push('1'),
        'Z' => num.push('2'),
        d if d.is_ascii_digit() => num.push(d),
        _ => return false,
    }
    if !c[1..8].iter().all(char::is_ascii_digit) {
        return false;
    }
    num.extend(&c[1..8]);
    let n: u32 = num.parse().expect("digits");
    char::from(NIF_LETTERS[(n % 23) as usize]) == c[8]
}

// ------------------------------------------------------------------ IT ----

const CF_ODD: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];
const CF_MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
const CF_PLACES: [&str; 10] = [
    "H501", "F205", "L219", "F839", "G273", "D612", "A944", "L736", "A662", "C351",
];

/// The check character of the first 15 characters of a codice fiscale.
pub fn cf_check_char(first15: &str) -> char {
    let sum: u32 = first15
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let v = if c.is_ascii_digit() {
                c as u32 - '0' as u32
            } else {
                c as u32 - 'A' as u32
            };
            if i % 2 == 0 {
                CF_ODD[v as usize]
            } else {
                v
            }
        })
        .sum();
    char::from(b'A' + (sum % 26) as u8)
}

fn ascii_upper_letters(s: &str) -> Vec<char> {
    crate::corpus::fold_ascii(s)
        .to_ascii_uppercase()
        .chars()
        .filter(char::is_ascii_alphabetic)
        .collect()
}

fn cf_name_code(s: &str, is_first_name: bool) -> String {
    let letters = ascii_upper_letters(s);
    let cons: Vec<char> = letters
        .iter()
        .copied()
        .filter(|c| !"AEIOU".contains(*c))
        .collect();
    let vows: Vec<char> = letters
        .iter()
        .copied()
        .filter(|c| "AEIOU".contains(*c))
        .collect();
    if is_first_name && cons.len() >= 4 {
        return [cons[0], cons[2], cons[3]].iter().collect();
    }
    cons.iter()
        .chain(vows.iter())
        .chain(['X', 'X', 'X'].iter())
        .take(3)
        .collect()
}

/// A valid Italian codice fiscale derived from a person's name.
pub fn gen_codice_fiscale<R: Rng + ?Sized>(
    rng: &mut R,
    first: &str,
    last: &str,
    female: bool,
) -> String {
    let yy = rng.gen_range(0..=99u32);
    let month = char::from(CF_MONTHS[rng.gen_range(0..12)]);
    let day = rng.gen_range(1..=28u32) + if female { 40 } else { 0 };
    let place = CF_PLACES.choose(rng).expect("x");
    let first15 = format!(
        "{}{}{yy:02}{month}{day:02}{place}",
        cf_name_code(last, false),
        cf_name_code(first, true)
    );
    let c = cf_check_char(&first15);
    format!("{first15}{c}")
}

/// True for a 16-character codice fiscale with a correct check character.
pub fn codice_fiscale_valid(s: &str) -> bool {
    s.len() == 16
        && s.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && cf_check_char(&s[..15]) == s.chars().nth(15).expect("len 16")
}

// ------------------------------------------------------------------ NL ----

/// A valid Dutch BSN (11-test), 9 digits, sometimes dotted `1234.56.789`.
pub fn gen_bsn<R: Rng + ?Sized>(rng: &mut R) -> String {
    loop {
        let mut d = random_digits(rng, 8);
        d[0] = rng.gen_range(1..10);
        let s: u32 = d
            .iter()
            .enumerate()
            .map(|(i, &x)| u32::from(x) * (9 - i as u32))
            .sum();
        let c = s % 11;
        if c <= 9 {
            d.push(c as u8);
            let s = digits_to_string(&d);
            return if rng.gen_bool(0.15) {
                group(&s, &[4, 2, 3], ".")
            } else {
                s
            };
        }
    }
}

/// True for a 9-digit BSN passing the 11-test.
pub fn bsn_valid(s: &str) -> bool {
    let d = digit_values(s);
    if d.len() != 9 {
        return false;
    }
    let sum: i32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| i32::from(x) * if i == 8 { -1 } else { 9 - i as i32 })
        .sum();
    sum % 11 == 0 && sum != 0
}

// ------------------------------------------------------------------ PL ----

/// Days in `month` (1–12) of `year`.
pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const PESEL_W: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];

/// A valid PESEL for a random birth date between 1940 and 2012.
pub fn gen_pesel<R: Rng + ?Sized>(rng: &mut R) -> String {
    let year = rng.gen_range(1940..=2012u32);
    let month = rng.gen_range(1..=12u32);
    let day = rng.gen_range(1..=days_in_month(year, month));
    let mm = month + if year >= 2000 { 20 } else { 0 };
    let body = format!("{:02}{mm:02}{day:02}{}", year % 100, ds(rng, 4));
    let d = digit_values(&body);
    let s: u32 = d.iter().zip(PESEL_W).map(|(&x, w)| u32::from(x) * w).sum();
    format!("{body}{}", (10 - s % 10) % 10)
}

/// True for an 11-digit PESEL with a valid date and check digit.
pub fn pesel_valid(s: &str) -> bool {
    let d = digit_values(s);
    if d.len() != 11 || s.chars().any(|c| !c.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = d[..10]
        .iter()
        .zip(PESEL_W)
        .map(|(&x, w)| u32::from(x) * w)
        .sum();
    if (10 - sum % 10) % 10 != u32::from(d[10]) {
        return false;
    }
    let yy = u32::from(d[0]) * 10 + u32::from(d[1]);
    let mm = u32::from(d[2]) * 10 + u32::from(d[3]);
    let dd = u32::from(d[4]) * 10 + u32::from(d[5]);
    let (year, month) = match mm {
        1..=12 => (1900 + yy, mm),
        21..=32 => (2000 + yy, mm - 20),
        81..=92 => (1800 + yy, mm - 80),
        41..=52 => (2100 + yy, mm - 40),
        61..=72 => (2200 + yy, mm - 60),
        _ => return false,
    };
    dd >= 1 && dd <= days_in_month(year, month)
}

// ------------------------------------------------------------------ SE ----

/// A valid Swedish personnummer `YYMMDD-NNNN` (sometimes `YYYYMMDD-NNNN`).
pub fn gen_personnummer<R: Rng + ?Sized>(rng: &mut R) -> String {
    let year = rng.gen_range(1940..=2010u32);
    let month = rng.gen_range(1..=12u32);
    let day = rng.gen_range(1..=days_in_month(year, month));
    let nine = format!("{:02}{month:02}{day:02}{}", year % 100, ds(rng, 3));
    let check = luhn_check_digit(&digit_values(&nine));
    let (date, serial) = nine.split_at(6);
    match rng.gen_range(0..10) {
        0..=6 => format!("{date}-{serial}{check}"),
        7..=8 => format!("{}{}-{serial}{check}", year / 100, date),
        _ => format!("{date}{serial}{check}"),
    }
}

/// True for a personnummer whose last ten digits pass Luhn and encode a date.
pub fn personnummer_valid(s: &str) -> bool {
    let d = digit_values(s);
    if d.len() != 10 && d.len() != 12 {
        return false;
    }
    let ten = &d[d.len() - 10..];
    let mm = u32::from(ten[2]) * 10 + u32::from(ten[3]);
    let dd = u32::from(ten[4]) * 10 + u32::from(ten[5]);
    luhn_valid(&digits_to_string(ten)) && (1..=12).contains(&mm) && (1..=31).contains(&dd)
}

// ------------------------------------------------------------------ IN ----

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const VERHOEFF_INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// The Verhoeff check digit for `payload`.
pub fn verhoeff_check_digit(payload: &[u8]) -> u8 {
    let mut c = 0u8;
    for (i, &d) in payload.iter().rev().enumerate() {
        c = VERHOEFF_D[c as usize][VERHOEFF_P[(i + 1) % 8][d as usize] as usize];
    }
    VERHOEFF_INV[c as usize]
}

/// True when the digits of `s` pass the Verhoeff check.
pub fn verhoeff_valid(s: &str) -> bool {
    let d = digit_values(s);
    let mut c = 0u8;
    for (i, &x) in d.iter().rev().enumerate() {
        c = VERHOEFF_D[c as usize][VERHOEFF_P[i % 8][x as usize] as usize];
    }
    !d.is_empty() && c == 0
}

/// A valid Aadhaar number (first digit 2–9, Verhoeff check), usually `4-4-4` spaced.
pub fn gen_aadhaar<R: Rng + ?Sized>(rng: &mut R) -> String {
    loop {
        let mut d = random_digits(rng, 11);
        d[0] = rng.gen_range(2..10);
        d.push(verhoeff_check_digit(&d));
        let s = digits_to_string(&d);
        if !aadhaar_valid(&s) {
            continue;
        }
        return match rng.gen_range(0..10) {
            0..=6 => group(&s, &[4, 4, 4], " "),
            7 => group(&s, &[4, 4, 4], "-"),
            _ => s,
        };
    }
}

/// True for a 12-digit Aadhaar number (first digit 2–9, not a palindrome, Verhoeff).
pub fn aadhaar_valid(s: &str) -> bool {
    let d = digit_values(s);
    let rev: Vec<u8> = d.iter().rev().copied().collect();
    d.len() == 12 && d[0] >= 2 && d != rev && verhoeff_valid(s)
}

// ------------------------------------------------------------------ CA ----

/// A valid Canadian SIN (Luhn), `3-3-3` spaced or dashed.
pub fn gen_sin<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut d = random_digits(rng, 8);
    d[0] = *[1u8, 2, 3, 4, 5, 6, 7, 9].choose(rng).expect("x");
    d.push(luhn_check_digit(&d));
    let s = digits_to_string(&d);
    match rng.gen_range(0..10) {
        0..=5 => group(&s, &[3, 3, 3], " "),
        6..=8 => group(&s, &[3, 3, 3], "-"),
        _ => s,
    }
}

/// True for a 9-digit SIN passing Luhn with a valid first digit.
pub fn sin_valid(s: &str) -> bool {
    let d = digit_values(s);
    d.len() == 9 && d[0] != 0 && d[0] != 8 && luhn_valid(s)
}

// ------------------------------------------------------------------ DE ----

/// ISO 7064 MOD 11,10 check digit used by the German Steuer-IdNr.
pub fn mod11_10_check_digit(payload: &[u8]) -> u8 {
    let mut product: u32 = 10;
    for &d in payload {
        let mut sum = (u32::from(d) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    match 11 - product {
        10 => 0,
        x => x as u8,
    }
}

/// A valid German Steuer-IdNr (11 digits), sometimes grouped `12 345 678 901`.
pub fn gen_steuer_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    loop {
        let reps = if rng.gen_bool(0.8) { 2 } else { 3 };
        let mut pool: Vec<u8> = (0..10).collect();
        pool.shuffle(rng);
        let mut ten = vec![pool[0]; reps];
        ten.extend(&pool[1..=10 - reps]);
        ten.shuffle(rng);
        let mut d = ten.clone();
        d.push(mod11_10_check_digit(&ten));
        let s = digits_to_string(&d);
        if !steuer_id_valid(&s) {
            continue;
        }
        return if rng.gen_bool(0.2) {
            group(&s, &[2, 3, 3, 3], " ")
        } else {
            s
        };
    }
}

/// True for a valid Steuer-IdNr: first digit non-zero, digit-frequency rule, check digit.
pub fn steuer_id_valid(s: &str) -> bool {
    let d = digit_values(s);
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[x as usize] += 1;
    }
    let multi: Vec<usize> = (0..10).filter(|&i| counts[i] > 1).collect();
    if multi.len() != 1 || counts[multi[0]] > 3 {
        return false;
    }
    let triple_run = d[..10].windows(3).any(|w| w[0] == w[1] && w[1] == w[2]);
    !triple_run && mod11_10_check_digit(&d[..10]) == d[10]
}

// --------------------------------------------------------------- other ----

/// A valid ISBN-13 with prefix 978, hyphenated or compact.
pub fn gen_isbn13<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut d = vec![9, 7, 8];
    d.extend(random_digits(rng, 9));
    d.push(isbn13_check_digit(&d));
    let s = digits_to_string(&d);
    if rng.gen_bool(0.6) {
        let sizes: &[usize] = [&[3, 1, 3, 5, 1][..], &[3, 1, 4, 4, 1], &[3, 2, 3, 4, 1]]
            .choose(rng)
            .expect("x");
        group(&s, sizes, "-")
    } else {
        s
    }
}

/// The ISBN-13 check digit for 12 payload digits.
pub fn isbn13_check_digit(payload: &[u8]) -> u8 {
    let s: u32 = payload
        .iter()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    ((10 - s % 10) % 10) as u8
}

/// True for a 13-digit ISBN with a valid check digit.
pub fn isbn13_valid(s: &str) -> bool {
    let d = digit_values(s);
    d.len() == 13 && isbn13_check_digit(&d[..12]) == d[12]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const N: usize = 3000;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn known_examples() {
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
        assert!(iban_valid("DE89 3704 0044 0532 0130 00"));
        assert!(iban_valid("GB82WEST12345698765432"));
        assert!(!iban_valid("GB83WEST12345698765432"));
        assert!(nhs_valid("943 476 5919"));
        assert!(codice_fiscale_valid("RSSMRA85T10A562S"));
        assert!(bsn_valid("111222333"));
        assert!(pesel_valid("44051401359"));
        // The classic sample SIN passes Luhn but 0 is never an issued first digit.
        assert!(luhn_valid("046 454 286") && !sin_valid("046 454 286"));
        assert!(nif_nie_valid("12345678Z"));
        assert!(nif_nie_valid("X1234567L"));
        assert!(personnummer_valid("811218-9876"));
        assert!(steuer_id_valid("86095742719"));
        assert!(verhoeff_valid("2363"));
        assert!(isbn13_valid("978-3-16-148410-0"));
        assert!(nino_valid("AB 12 34 56 C"));
        assert!(!nino_valid("GB 12 34 56 C"));
        assert!(ssn_valid("123-45-6788"));
        assert!(!ssn_valid("666-12-3456"));
    }

    #[test]
    fn cards_pass_luhn_and_bad_cards_fail() {
        let mut r = rng();
        for _ in 0..N {
            let c = gen_card(&mut r);
            assert!(luhn_valid(&c), "{c}");
            let len = digit_values(&c).len();
            assert!(len == 15 || len == 16, "{c}");
            assert!(!luhn_valid(&gen_bad_card(&mut r)));
            let o = gen_non_luhn_number(&mut r, 8, 16);
            assert!(!luhn_valid(&o) && (8..=16).contains(&o.len()), "{o}");
        }
    }

    #[test]
    fn ibans_pass_mod97_and_bad_ibans_fail() {
        let mut r = rng();
        for _ in 0..N {
            for &(cc, len) in IBAN_COUNTRIES {
                let i = gen_iban(&mut r, cc);
                assert!(iban_valid(&i), "{i}");
                assert_eq!(i.chars().filter(|c| !c.is_whitespace()).count(), len);
                let b = gen_bad_iban(&mut r, cc);
                assert!(!iban_valid(&b), "{b}");
            }
        }
    }

    #[test]
    fn national_ids_pass_their_checksums() {
        let mut r = rng();
        for _ in 0..N {
            let s = gen_ssn(&mut r);
            assert!(ssn_valid(&s), "{s}");
            assert!(!ssn_valid(&gen_bad_ssn(&mut r)));
            let s = gen_nino(&mut r);
            assert!(nino_valid(&s), "{s}");
            let s = gen_nhs(&mut r);
            assert!(nhs_valid(&s), "{s}");
            let s = gen_nir(&mut r);
            assert!(nir_valid(&s), "{s}");
            let s = gen_nif(&mut r);
            assert!(nif_nie_valid(&s), "{s}");
            let s = gen_nie(&mut r);
            assert!(nif_nie_valid(&s), "{s}");
            let s = gen_codice_fiscale(&mut r, "Maria Grazia", "D'Angelo", true);
            assert!(codice_fiscale_valid(&s), "{s}");
            let s = gen_codice_fiscale(&mut r, "Luca", "Rossi", false);
            assert!(codice_fiscale_valid(&s), "{s}");
            let s = gen_bsn(&mut r);
            assert!(bsn_valid(&s), "{s}");
            let s = gen_pesel(&mut r);
            assert!(pesel_valid(&s), "{s}");
            let s = gen_personnummer(&mut r);
            assert!(personnummer_valid(&s), "{s}");
            let s = gen_aadhaar(&mut r);
            assert!(aadhaar_valid(&s), "{s}");
            let s = gen_sin(&mut r);
            assert!(sin_valid(&s), "{s}");
            let s = gen_steuer_id(&mut r);
            assert!(steuer_id_valid(&s), "{s}");
            let s = gen_isbn13(&mut r);
            assert!(isbn13_valid(&s), "{s}");
        }
    }

    #[test]
    fn codice_fiscale_name_codes() {
        assert_eq!(cf_name_code("Rossi", false), "RSS");
        assert_eq!(cf_name_code("Mario", true), "MRA");
        assert_eq!(cf_name_code("Gianfranco", true), "GFR");
        assert_eq!(cf_name_code("Fo", false), "FOX");
    }

    #[test]
    fn verhoeff_agrees_with_published_aadhaar_examples() {
        // Examples from python-stdnum's `stdnum.in_.aadhaar` documentation: an independent
        // implementation, so a typo in the tables above cannot agree with itself.
        assert!(aadhaar_valid("234123412346"));
        assert!(aadhaar_valid("499118665246"));
        assert!(!aadhaar_valid("234123412347"));
        assert_eq!(verhoeff_check_digit(&[2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]), 6);
    }
}
