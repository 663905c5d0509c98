//! Canonical encoding of audit entries: one spelling per entry, validated fields.

use custodia_audit::{leaf_hash, AuditError, Entry, EntryBuilder, Link, GENESIS_PREV};

fn sample() -> Entry {
    EntryBuilder::new(
        "2026-11-23T09:00:00Z",
        "operator:alice",
        "deid",
        "dataset:claims@3",
    )
    .subject("ab12cd")
    .count("rows", 10)
    .count("findings.EMAIL", 3)
    .detail("contract", "claims.yaml")
    .detail("note", "line one\n\"quoted\" é")
    .build(Link::Genesis)
    .unwrap()
}

const SAMPLE_JSON: &str = concat!(
    r#"{"index":0,"time":"2026-11-23T09:00:00Z","actor":"operator:alice","action":"deid","#,
    r#""object":"dataset:claims@3","subjects":["ab12cd"],"#,
    r#""counts":{"findings.EMAIL":3,"rows":10},"#,
    r#""details":{"contract":"claims.yaml","note":"line one\n\"quoted\" é"},"#,
    r#""prev":"0000000000000000000000000000000000000000000000000000000000000000"}"#
);

#[test]
fn canonical_bytes_known_answer() {
    let e = sample();
    assert_eq!(String::from_utf8(e.canonical_bytes()).unwrap(), SAMPLE_JSON);
    assert_eq!(e.leaf(), leaf_hash(SAMPLE_JSON.as_bytes()));
    assert_eq!(
        Entry::parse_canonical(SAMPLE_JSON.as_bytes(), 1).unwrap(),
        e
    );
}

#[test]
fn other_spellings_of_the_same_entry_are_rejected() {
    let variants = [
        SAMPLE_JSON.replace(r#""index":0,"#, r#""index": 0,"#),
        SAMPLE_JSON.replace(r#""rows":10"#, r#""rows":10.0"#),
        SAMPLE_JSON.replace("é", r"\u00e9"),
        SAMPLE_JSON.replace(
            r#"{"findings.EMAIL":3,"rows":10}"#,
            r#"{"rows":10,"findings.EMAIL":3}"#,
        ),
        SAMPLE_JSON.replace(
            r#"{"index":0,"time":"2026-11-23T09:00:00Z","#,
            r#"{"time":"2026-11-23T09:00:00Z","index":0,"#,
        ),
        SAMPLE_JSON.replace(r#""rows":10}"#, r#""rows":10,"rows":10}"#),
        format!("{SAMPLE_JSON}\n"),
        format!(" {SAMPLE_JSON}"),
    ];
    for v in &variants {
        assert_ne!(v, SAMPLE_JSON, "the variant must differ");
        let err = Entry::parse_canonical(v.as_bytes(), 7).unwrap_err();
        assert!(
            matches!(err, AuditError::Entry { line: Some(7), .. }),
            "{v}: {err}"
        );
    }
}

#[test]
fn unknown_and_missing_fields_are_rejected() {
    let extra = SAMPLE_JSON.replace(r#","prev""#, r#","extra":1,"prev""#);
    assert!(Entry::parse_canonical(extra.as_bytes(), 1).is_err());
    let missing = SAMPLE_JSON.replace(r#""subjects":["ab12cd"],"#, "");
    assert!(Entry::parse_canonical(missing.as_bytes(), 1).is_err());
}

#[test]
fn field_rules_apply_on_parse_and_build() {
    let bad_json = [
        SAMPLE_JSON.replace("2026-11-23T09:00:00Z", "2026-11-23 09:00:00"),
        SAMPLE_JSON.replace("2026-11-23T09:00:00Z", "2026-11-23T09:00:00+01:00"),
        SAMPLE_JSON.replace("2026-11-23T09:00:00Z", "2026-13-23T09:00:00Z"),
        SAMPLE_JSON.replace("ab12cd", "AB12CD"),
        SAMPLE_JSON.replace("ab12cd", "not-hex"),
        SAMPLE_JSON.replace(GENESIS_PREV, &"0".repeat(63)),
        SAMPLE_JSON.replace(r#""actor":"operator:alice""#, r#""actor":"""#),
    ];
    for v in &bad_json {
        assert!(Entry::parse_canonical(v.as_bytes(), 1).is_err(), "{v}");
    }
    let ok_time = SAMPLE_JSON.replace("09:00:00Z", "09:00:00.123456Z");
    assert!(Entry::parse_canonical(ok_time.as_bytes(), 1).is_ok());

    let err = EntryBuilder::new("yesterday", "a", "b", "c")
        .build(Link::Genesis)
        .unwrap_err();
    assert!(matches!(err, AuditError::Entry { line: None, .. }), "{err}");
}

#[test]
fn builder_links_to_the_previous_entry() {
    let first = sample();
    assert_eq!(first.index, 0);
    assert_eq!(first.prev, GENESIS_PREV);
    let second = EntryBuilder::new("2026-11-23T09:01:00Z", "svc", "erase", "subject")
        .build(Link::after(&first))
        .unwrap();
    assert_eq!(second.index, 1);
    assert_eq!(second.prev_hash().unwrap(), first.leaf());
    assert_eq!(second.prev, hex::encode(first.leaf()));

    let full = EntryBuilder::new("2026-11-23T09:01:00Z", "svc", "erase", "x").build(Link::After {
        index: u64::MAX,
        leaf: [0; 32],
    });
    assert!(full.is_err());
}
