//! Every recognizer with a true case and a false case through the public `Analyzer` (default
//! minimum score 0.5), plus the hard negatives the issue names. Check-digit values are
//! cross-checked with python-stdnum and phone numbers with Google's libphonenumber
//! (`phonenumbers` for Python), so a wrong validator cannot agree with itself.

use custodia_core::EntityType as E;
use custodia_detect::{Analyzer, AnalyzerConfig};

fn analyzer() -> Analyzer {
    Analyzer::new(AnalyzerConfig::default()).expect("default analyzer builds")
}

fn findings(a: &Analyzer, text: &str) -> Vec<(E, String)> {
    a.analyze(text)
        .into_iter()
        .map(|f| (f.entity_type, text[f.start..f.end].to_string()))
        .collect()
}

/// (text, entity, exact span expected)
const TRUE_CASES: &[(&str, E, &str)] = &[
    (
        "Write to anna.k@example.org today",
        E::EmailAddress,
        "anna.k@example.org",
    ),
    (
        "Mail: jürgen.müller@beispiel.de",
        E::EmailAddress,
        "jürgen.müller@beispiel.de",
    ),
    (
        "See https://shop.example.com/cart?id=1.",
        E::Url,
        "https://shop.example.com/cart?id=1",
    ),
    ("Visit www.example.org for more", E::Url, "www.example.org"),
    (
        "Call me on +44 20 7946 0958 tomorrow",
        E::PhoneNumber,
        "+44 20 7946 0958",
    ),
    ("Phone: +1 415-829-1234", E::PhoneNumber, "+1 415-829-1234"),
    ("Tel. 030 12345678", E::PhoneNumber, "030 12345678"),
    (
        "mon portable: 06 12 34 56 78",
        E::PhoneNumber,
        "06 12 34 56 78",
    ),
    (
        "Card 4111 1111 1111 1111 was declined",
        E::CreditCard,
        "4111 1111 1111 1111",
    ),
    (
        "card number 4111-1111-1111-1111",
        E::CreditCard,
        "4111-1111-1111-1111",
    ),
    (
        "IBAN DE89 3704 0044 0532 0130 00",
        E::IbanCode,
        "DE89 3704 0044 0532 0130 00",
    ),
    (
        "login from 192.168.1.20 failed",
        E::IpAddress,
        "192.168.1.20",
    ),
    (
        "client fe80::51e7:ffe3:2538:8728 connected",
        E::IpAddress,
        "fe80::51e7:ffe3:2538:8728",
    ),
    (
        "from 2001:db8::8d6f:ee04:86d3",
        E::IpAddress,
        "2001:db8::8d6f:ee04:86d3",
    ),
    (
        "device 00:1A:2B:3C:4D:5E joined",
        E::MacAddress,
        "00:1A:2B:3C:4D:5E",
    ),
    ("SSN: 536-90-4399", E::UsSsn, "536-90-4399"),
    ("NINO AB123456C on file", E::UkNino, "AB123456C"),
    ("NHS number 943 476 5919", E::UkNhs, "943 476 5919"),
    (
        "Patient 943 476 5919 - see the attached form",
        E::UkNhs,
        "943 476 5919",
    ),
    (
        "numéro de sécurité sociale 295109912611193",
        E::FrNir,
        "295109912611193",
    ),
    ("Mi DNI es 12345678Z", E::EsNif, "12345678Z"),
    ("NIE X1234567L", E::EsNie, "X1234567L"),
    (
        "codice fiscale RCCMNL83S18D969H",
        E::ItFiscalCode,
        "RCCMNL83S18D969H",
    ),
    ("BSN: 111222333", E::NlBsn, "111222333"),
    ("PESEL 44051401359", E::PlPesel, "44051401359"),
    ("personnummer 880320-0016", E::SePersonnummer, "880320-0016"),
    ("Aadhaar: 2341 2341 2346", E::InAadhaar, "2341 2341 2346"),
    ("SIN 130 692 544", E::CaSin, "130 692 544"),
    ("Steuer-ID 36 574 261 809", E::DeTaxId, "36 574 261 809"),
    ("born on 12 March 1985 in", E::DateTime, "12 March 1985"),
    ("geboren am 3. Mai 1990", E::DateTime, "3. Mai 1990"),
    ("date of birth: 03/15/1984", E::DateTime, "03/15/1984"),
    (
        "aws key AKIAIOSFODNN7EXAMPLE",
        E::Secret,
        "AKIAIOSFODNN7EXAMPLE",
    ),
    (
        "token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        E::Secret,
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    ),
    ("DB_PASSWORD=hunter2!x", E::Secret, "hunter2!x"),
    (
        "DATABASE_URL=postgres://app:s3cr3tPass@db.internal:5432/app",
        E::Secret,
        "s3cr3tPass",
    ),
    ("Dear John Smith, thanks", E::Person, "John Smith"),
    ("Regards,\nMaria Rossi", E::Person, "Maria Rossi"),
    ("Herr Müller rief an", E::Person, "Müller"),
    ("She lives in Berlin now.", E::Location, "Berlin"),
    ("We moved to São Paulo last year.", E::Location, "São Paulo"),
];

/// (text, entity that must not be reported anywhere in the text)
const FALSE_CASES: &[(&str, E)] = &[
    // Checksum and structure failures.
    ("Card 4111 1111 1111 1112 was declined", E::CreditCard),
    ("IBAN DE89 3704 0044 0532 0130 01", E::IbanCode),
    ("SSN: 000-12-3456", E::UsSsn),
    ("SSN: 666-12-3456", E::UsSsn),
    ("NINO BG123456C", E::UkNino),
    ("NHS number 943 476 5918", E::UkNhs),
    ("numéro de sécurité sociale 295109912611194", E::FrNir),
    ("Mi DNI es 12345678A", E::EsNif),
    ("NIE X1234567A", E::EsNie),
    ("codice fiscale RCCMNL83S18D969X", E::ItFiscalCode),
    ("BSN: 111222334", E::NlBsn),
    ("PESEL 44051401358", E::PlPesel),
    ("personnummer 880320-0018", E::SePersonnummer),
    ("Aadhaar: 2341 2341 2347", E::InAadhaar),
    ("SIN 130 692 545", E::CaSin),
    ("Steuer-ID 36 574 261 808", E::DeTaxId),
    ("address 999.1.1.1 is not one", E::IpAddress),
    ("device 00:00:00:00:00:00", E::MacAddress),
    ("Call +99 1234", E::PhoneNumber),
    ("write to user@localhost", E::EmailAddress),
    ("edit setup.py and run", E::Url),
    ("date 31/02/1999 is impossible", E::DateTime),
    ("password: ${DB_PASSWORD}", E::Secret),
    ("password = changeme", E::Secret),
    // Hard negatives: identifiers that are nobody's personal data.
    (
        "request 550e8400-e29b-41d4-a716-446655440000 done",
        E::PhoneNumber,
    ),
    (
        "commit 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
        E::PhoneNumber,
    ),
    ("Build 1.8.126.45 deployed", E::IpAddress),
    ("upgraded to v2.14.3", E::DateTime),
    ("Release 1.2.10 is out", E::DateTime),
    ("2023-10-12T10:22:33Z ERROR worker restarted", E::DateTime),
    ("tracking number 1Z999AA10123456784", E::PhoneNumber),
    ("Order #48291-220 shipped", E::PhoneNumber),
    ("ISBN 978-3-16-148410-0", E::CreditCard),
    ("ISBN 978-3-16-148410-0", E::PhoneNumber),
    ("Your order number 4111111111111111 shipped", E::CreditCard),
    ("SKU 5542293754790350 in stock", E::CreditCard),
    // Capitalised ordinary words are not names or places.
    ("Will you open the door?", E::Person),
    ("The Long Island Iced Tea was great", E::Person),
    ("Please Reading the manual helps", E::Location),
    ("Thank You for the Great Service", E::Person),
];

#[test]
fn every_recognizer_finds_its_true_case() {
    let a = analyzer();
    let mut failures = Vec::new();
    for (text, entity, span) in TRUE_CASES {
        let got = findings(&a, text);
        if !got.iter().any(|(e, s)| e == entity && s == span) {
            failures.push(format!("{text:?}: expected {entity} {span:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_recognizer_stays_quiet_on_its_false_case() {
    let a = analyzer();
    let mut failures = Vec::new();
    for (text, entity) in FALSE_CASES {
        let got = findings(&a, text);
        if got.iter().any(|(e, _)| e == entity) {
            failures.push(format!("{text:?}: no {entity} expected, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_entity_type_has_a_true_and_a_false_case() {
    for entity in E::ALL {
        assert!(
            TRUE_CASES.iter().any(|(_, e, _)| e == entity),
            "{entity} has no true case"
        );
        assert!(
            FALSE_CASES.iter().any(|(_, e)| e == entity),
            "{entity} has no false case"
        );
    }
}

#[test]
fn a_piece_of_a_longer_number_is_not_an_identifier() {
    let a = analyzer();
    // The first twelve digits of a card number pass the Aadhaar check; they are not one.
    let got = findings(&a, "Die Kartennummer 5542 2937 5479 0350 wurde abgelehnt");
    assert!(!got.iter().any(|(e, _)| *e == E::InAadhaar), "{got:?}");
}

#[test]
fn context_words_decide_between_look_alikes() {
    let a = analyzer();
    // Ten digits: a phone number by default, an NHS number when the text says so.
    let nhs = findings(&a, "NHS number 7247340320 is registered");
    assert!(nhs.contains(&(E::UkNhs, "7247340320".into())), "{nhs:?}");
    let phone = findings(&a, "Phone: 0161 496 0000");
    assert!(
        phone
            .iter()
            .any(|(e, s)| *e == E::PhoneNumber && s == "0161 496 0000"),
        "{phone:?}"
    );
}

#[test]
fn entity_filter_and_min_score_are_honoured() {
    let only_email = Analyzer::new(AnalyzerConfig {
        entities: Some(vec![E::EmailAddress]),
        min_score: 0.5,
    })
    .expect("builds");
    let got = findings(
        &only_email,
        "Dear John Smith, mail anna@example.org or call +44 20 7946 0958",
    );
    assert_eq!(got, vec![(E::EmailAddress, "anna@example.org".to_string())]);
    assert!(Analyzer::new(AnalyzerConfig {
        entities: None,
        min_score: 1.5
    })
    .is_err());
}

#[test]
fn multi_byte_separators_before_an_email_are_handled() {
    // Found by the `analyze` fuzz target: a no-break space before an address.
    let a = analyzer();
    let got = findings(&a, "contact:\u{a0}garcia@example.es");
    assert!(
        got.contains(&(E::EmailAddress, "garcia@example.es".into())),
        "{got:?}"
    );
}

#[test]
fn a_log_timestamp_under_a_birth_date_is_not_personal() {
    let a = analyzer();
    let got = findings(
        &a,
        "Né le 19 décembre 1959\n2024-07-19T02:43:55.866Z DEBUG cache hit",
    );
    assert!(
        got.contains(&(E::DateTime, "19 décembre 1959".into())),
        "{got:?}"
    );
    assert!(!got.iter().any(|(_, s)| s.starts_with("2024")), "{got:?}");
    let got = findings(&a, "date of birth: 1984-03-15 10:22:33");
    assert!(got.iter().any(|(e, _)| *e == E::DateTime), "{got:?}");
}
