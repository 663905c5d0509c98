//! Check-digit and structure validators. Each takes the candidate text as matched (with its
//! separators) and says whether it is a real identifier of its kind, so that numbers that
//! merely look right (order numbers, tracking numbers) stay quiet.

/// The ASCII digits of `s`, as numbers, ignoring separators.
pub(crate) fn digits(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

fn all_same(d: &[u8]) -> bool {
    d.windows(2).all(|w| w[0] == w[1])
}

/// Luhn (mod 10) over the digits.
pub(crate) fn luhn(d: &[u8]) -> bool {
    if d.is_empty() {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = x as u32;
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A payment card: 13–19 digits, Luhn, and an issuer prefix of a real brand.
pub(crate) fn credit_card(s: &str) -> bool {
    let d = digits(s);
    if !(13..=19).contains(&d.len()) || all_same(&d) || !luhn(&d) {
        return false;
    }
    let n = |k: usize| d[..k].iter().fold(0u32, |a, &x| a * 10 + x as u32);
    let len = d.len();
    let visa = d[0] == 4 && matches!(len, 13 | 16 | 19);
    let mastercard = len == 16 && ((51..=55).contains(&n(2)) || (2221..=2720).contains(&n(4)));
    let amex = len == 15 && matches!(n(2), 34 | 37);
    let discover =
        (16..=19).contains(&len) && (n(4) == 6011 || n(2) == 65 || (644..=649).contains(&n(3)));
    let diners = (14..=19).contains(&len)
        && ((300..=305).contains(&n(3)) || matches!(n(2), 36 | 38 | 39) || n(4) == 3095);
    let jcb = (16..=19).contains(&len) && (3528..=3589).contains(&n(4));
    let unionpay = (16..=19).contains(&len) && n(2) == 62;
    let maestro = (12..=19).contains(&len) && matches!(n(2), 50 | 56..=69);
    let mir = len == 16 && (2200..=2204).contains(&n(4));
    visa || mastercard || amex || discover || diners || jcb || unionpay || maestro || mir
}

/// IBAN lengths per country (SWIFT IBAN registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// An IBAN: known country, that country's length, and ISO 7064 mod-97 = 1.
pub(crate) fn iban(s: &str) -> bool {
    let compact: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'-'))
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if compact.len() < 15 || !compact.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let cc = std::str::from_utf8(&compact[..2]).unwrap_or("");
    match IBAN_LENGTHS.iter().find(|(c, _)| *c == cc) {
        Some((_, len)) if *len == compact.len() => {}
        _ => return false,
    }
    let mut rem: u32 = 0;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        if b.is_ascii_digit() {
            rem = (rem * 10 + (b - b'0') as u32) % 97;
        } else {
            let v = (b - b'A') as u32 + 10;
            rem = (rem * 100 + v) % 97;
        }
    }
    rem == 1
}

/// A US SSN with the ranges the SSA never issues excluded.
pub(crate) fn us_ssn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 9 || all_same(&d) {
        return false;
    }
    let area = d[0] as u32 * 100 + d[1] as u32 * 10 + d[2] as u32;
    let group = d[3] * 10 + d[4];
    let serial = d[5..].iter().fold(0u32, |a, &x| a * 10 + x as u32);
    let text: String = d.iter().map(|x| (b'0' + x) as char).collect();
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        // Numbers the SSA voided after they were printed in advertising.
        && !matches!(text.as_str(), "078051120" | "219099999" | "123456789")
}

/// A UK NHS number: 10 digits, mod-11 check digit.
pub(crate) fn uk_nhs(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 10 || all_same(&d) {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &x)| x as u32 * (10 - i as u32))
        .sum();
    let check = 11 - (sum % 11);
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == d[9] as u32
}

/// A UK National Insurance number: two prefix letters from the allowed sets (excluding
/// the never-issued pairs), six digits, suffix A–D.
pub(crate) fn uk_nino(s: &str) -> bool {
    let c: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if c.len() != 9 {
        return false;
    }
    let prefix = &c[..2];
    let bad_first = b"DFIQUV";
    let bad_second = b"DFIOQUV";
    !bad_first.contains(&prefix[0])
        && !bad_second.contains(&prefix[1])
        && !matches!(
            prefix,
            b"BG" | b"GB" | b"NK" | b"KN" | b"TN" | b"NT" | b"ZZ"
        )
        && c[2..8].iter().all(u8::is_ascii_digit)
        && matches!(c[8], b'A'..=b'D')
}

/// A French NIR: sex, year, month, department (2A/2B for Corsica), commune, order, and the
/// mod-97 key.
pub(crate) fn fr_nir(s: &str) -> bool {
    let c: String = s
        .chars()
        .filter(|ch| !ch.is_whitespace() && *ch != '-' && *ch != '.')
        .collect::<String>()
        .to_ascii_uppercase();
    if c.len() != 15 {
        return false;
    }
    let (body, key) = c.split_at(13);
    let sex = &body[..1];
    let month: u32 = body[3..5].parse().unwrap_or(0);
    if !matches!(sex, "1" | "2" | "3" | "4" | "7" | "8")
        || !((1..=12).contains(&month) || (20..=42).contains(&month) || (50..=99).contains(&month))
    {
        return false;
    }
    let numeric = body.replace("2A", "19").replace("2B", "18");
    let n: u64 = match numeric.parse() {
        Ok(n) => n,
        Err(_) => return false,
    };
    let key: u64 = match key.parse() {
        Ok(k) => k,
        Err(_) => return false,
    };
    97 - (n % 97) == key
}

const ES_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// A Spanish DNI/NIF: 8 digits and the mod-23 letter.
pub(crate) fn es_nif(s: &str) -> bool {
    let c: Vec<u8> = s
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if c.len() != 9 || !c[..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n: u32 = std::str::from_utf8(&c[..8])
        .unwrap_or("x")
        .parse()
        .unwrap_or(u32::MAX);
    n != u32::MAX && ES_LETTERS[(n % 23) as usize] == c[8]
}

/// A Spanish NIE: X/Y/Z, 7 digits and the mod-23 letter.
pub(crate) fn es_nie(s: &str) -> bool {
    let c: Vec<u8> = s
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if c.len() != 9 || !c[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let lead = match c[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        _ => return false,
    };
    let rest: u32 = std::str::from_utf8(&c[1..8])
        .unwrap_or("x")
        .parse()
        .unwrap_or(0);
    let n = lead * 10_000_000 + rest;
    ES_LETTERS[(n % 23) as usize] == c[8]
}

/// An Italian codice fiscale: structure and the odd/even check character (omocodia
/// substitutions allowed).
pub(crate) fn it_fiscal_code(s: &str) -> bool {
    let c: Vec<u8> = s.bytes().map(|b| b.to_ascii_uppercase()).collect();
    if c.len() != 16 || !c.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    const ODD: [u32; 36] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23, // A-Z
    ];
    let idx = |b: u8| -> usize {
        if b.is_ascii_digit() {
            (b - b'0') as usize
        } else {
            (b - b'A') as usize + 10
        }
    };
    let mut sum = 0u32;
    for (i, &b) in c[..15].iter().enumerate() {
        if i % 2 == 0 {
            sum += ODD[idx(b)];
        } else {
            sum += if b.is_ascii_digit() {
                (b - b'0') as u32
            } else {
                (b - b'A') as u32
            };
        }
    }
    (b'A' + (sum % 26) as u8) == c[15]
}

/// A Dutch BSN: 9 digits passing the "11-test".
pub(crate) fn nl_bsn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 9 || all_same(&d) || d[0] == 0 && d[1] == 0 {
        return false;
    }
    let sum: i32 = d[..8]
        .iter()
        .enumerate()
        .map(|(i, &x)| x as i32 * (9 - i as i32))
        .sum::<i32>()
        - d[8] as i32;
    sum % 11 == 0 && sum != 0
}

pub(crate) fn valid_day(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let max = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=max).contains(&day)
}

/// A Polish PESEL: a valid birth date (century in the month) and the weighted check digit.
pub(crate) fn pl_pesel(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || all_same(&d) {
        return false;
    }
    const W: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let sum: u32 = d[..10].iter().zip(W).map(|(&x, w)| x as u32 * w).sum();
    if (10 - sum % 10) % 10 != d[10] as u32 {
        return false;
    }
    let yy = d[0] as u32 * 10 + d[1] as u32;
    let mm = d[2] as u32 * 10 + d[3] as u32;
    let dd = d[4] as u32 * 10 + d[5] as u32;
    let (century, month) = match mm {
        1..=12 => (1900, mm),
        21..=32 => (2000, mm - 20),
        41..=52 => (2100, mm - 40),
        61..=72 => (2200, mm - 60),
        81..=92 => (1800, mm - 80),
        _ => return false,
    };
    valid_day(century + yy, month, dd)
}

/// A Swedish personnummer (or samordningsnummer): a valid date and Luhn over the last 10
/// digits.
pub(crate) fn se_personnummer(s: &str) -> bool {
    let d = digits(s);
    let ten: &[u8] = match d.len() {
        10 => &d,
        12 => {
            let cc = d[0] * 10 + d[1];
            if !(18..=20).contains(&cc) {
                return false;
            }
            &d[2..]
        }
        _ => return false,
    };
    let mm = ten[2] as u32 * 10 + ten[3] as u32;
    let mut dd = ten[4] as u32 * 10 + ten[5] as u32;
    if dd > 60 {
        dd -= 60;
    }
    let yy = ten[0] as u32 * 10 + ten[1] as u32;
    !all_same(ten) && valid_day(1900 + yy, mm, dd) && luhn(ten)
}

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

/// An Aadhaar number: 12 digits, not starting 0 or 1, Verhoeff check, not a palindrome.
pub(crate) fn in_aadhaar(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 12 || d[0] < 2 || all_same(&d) {
        return false;
    }
    if d.iter().eq(d.iter().rev()) {
        return false;
    }
    let mut c = 0u8;
    for (i, &x) in d.iter().rev().enumerate() {
        c = VERHOEFF_D[c as usize][VERHOEFF_P[i % 8][x as usize] as usize];
    }
    c == 0
}

/// A Canadian SIN: 9 digits, Luhn, first digit not 0 or 8.
pub(crate) fn ca_sin(s: &str) -> bool {
    let d = digits(s);
    d.len() == 9 && d[0] != 0 && d[0] != 8 && !all_same(&d) && luhn(&d)
}

/// A German Steuer-IdNr: 11 digits, no leading zero, in the first ten exactly one digit
/// repeated (twice or thrice, never three in a row) and the ISO 7064 MOD 11,10 check digit.
pub(crate) fn de_tax_id(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[x as usize] += 1;
    }
    let repeated: Vec<u8> = counts.iter().copied().filter(|&c| c > 1).collect();
    if repeated.len() != 1 || repeated[0] > 3 {
        return false;
    }
    if repeated[0] == 3 && d[..10].windows(3).any(|w| w[0] == w[1] && w[1] == w[2]) {
        return false;
    }
    let mut product = 10u32;
    for &x in &d[..10] {
        let mut sum = (x as u32 + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    check == d[10] as u32
}

/// ISBN-10 or ISBN-13 with a valid check digit: used to keep book numbers out of
/// phone and card findings.
pub(crate) fn isbn(s: &str) -> bool {
    let c: Vec<u8> = s
        .bytes()
        .filter(|b| b.is_ascii_digit() || *b == b'X' || *b == b'x')
        .collect();
    match c.len() {
        13 if c.iter().all(u8::is_ascii_digit)
            && (c.starts_with(b"978") || c.starts_with(b"979")) =>
        {
            let sum: u32 = c
                .iter()
                .enumerate()
                .map(|(i, &b)| (b - b'0') as u32 * if i % 2 == 0 { 1 } else { 3 })
                .sum();
            sum.is_multiple_of(10)
        }
        10 => {
            let mut sum = 0u32;
            for (i, &b) in c.iter().enumerate() {
                let v = match b {
                    b'0'..=b'9' => (b - b'0') as u32,
                    b'X' | b'x' if i == 9 => 10,
                    _ => return false,
                };
                sum += v * (10 - i as u32);
            }
            sum.is_multiple_of(11)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards() {
        for ok in [
            "4111 1111 1111 1111",
            "4012-8888-8888-1881",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
            "36227206271667",
            "6200000000000005",
        ] {
            assert!(credit_card(ok), "{ok}");
        }
        for bad in [
            "4111 1111 1111 1112",
            "1234567812345678",
            "0000000000000000",
            "9111111111111111",
        ] {
            assert!(!credit_card(bad), "{bad}");
        }
    }

    #[test]
    fn ibans() {
        assert!(iban("DE89 3704 0044 0532 0130 00"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(iban("FR1420041010050500013M02606"));
        assert!(iban("NL91ABNA0417164300"));
        assert!(!iban("DE89 3704 0044 0532 0130 01"));
        assert!(!iban("DE89370400440532013"));
        assert!(!iban("XX89370400440532013000"));
    }

    #[test]
    fn ssn_ranges() {
        assert!(us_ssn("536-22-8726"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "536-00-1234",
            "536-12-0000",
            "078-05-1120",
            "123-45-6789",
            "111-11-1111",
        ] {
            assert!(!us_ssn(bad), "{bad}");
        }
    }

    #[test]
    fn uk_ids() {
        assert!(uk_nhs("943 476 5919"));
        assert!(!uk_nhs("943 476 5918"));
        assert!(uk_nino("AB 12 34 56 C"));
        assert!(uk_nino("JG103759A"));
        assert!(!uk_nino("BG123456C"));
        assert!(!uk_nino("DA123456C"));
        assert!(!uk_nino("AB123456E"));
    }

    #[test]
    fn eu_ids() {
        assert!(fr_nir("1 84 12 76 451 089 46"));
        assert!(fr_nir("2 69 05 2A 004 123 14"));
        assert!(!fr_nir("2 69 05 2A 004 123 80"));
        assert!(!fr_nir("1 84 12 76 451 089 47"));
        assert!(es_nif("12345678Z"));
        assert!(!es_nif("12345678A"));
        assert!(es_nie("X1234567L"));
        assert!(!es_nie("X1234567A"));
        assert!(it_fiscal_code("RSSMRA85T10A562S"));
        assert!(!it_fiscal_code("RSSMRA85T10A562T"));
        assert!(nl_bsn("111222333"));
        assert!(!nl_bsn("111222334"));
        assert!(pl_pesel("44051401359"));
        assert!(pl_pesel("02070803628"));
        assert!(!pl_pesel("44051401358"));
        assert!(!pl_pesel("44133101350"));
        assert!(se_personnummer("811218-9876"));
        assert!(se_personnummer("19811218-9876"));
        assert!(!se_personnummer("811218-9875"));
        assert!(de_tax_id("86095742719"));
        assert!(!de_tax_id("86095742718"));
        assert!(!de_tax_id("12345678901"));
    }

    #[test]
    fn other_ids() {
        assert!(in_aadhaar("2341 2341 2346"));
        assert!(in_aadhaar("4991 1866 5246"));
        assert!(!in_aadhaar("2341 2341 2347"));
        assert!(!in_aadhaar("1341 2341 2346"));
        assert!(ca_sin("130 692 544"));
        assert!(!ca_sin("130 692 545"));
        assert!(!ca_sin("046 454 286"));
        assert!(isbn("978-3-16-148410-0"));
        assert!(isbn("0-306-40615-2"));
        assert!(!isbn("978-3-16-148410-1"));
    }
}
