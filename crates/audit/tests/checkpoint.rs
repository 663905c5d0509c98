//! C2SP tlog-checkpoint bodies.

use custodia_audit::{AuditError, Checkpoint, NoteSigner};
use rand::rngs::OsRng;

// The example body from the tlog-checkpoint spec.
const SPEC_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

#[test]
fn spec_example_body_round_trips() {
    let cp = Checkpoint::parse_body(SPEC_BODY).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(
        hex::encode(cp.root),
        "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
    );
    assert_eq!(cp.body(), SPEC_BODY);
}

#[test]
fn extension_lines_are_ignored() {
    let with_ext = format!("{SPEC_BODY}extension one\nextension two\n");
    assert_eq!(
        Checkpoint::parse_body(&with_ext).unwrap(),
        Checkpoint::parse_body(SPEC_BODY).unwrap()
    );
}

#[test]
fn non_canonical_bodies_are_rejected_with_the_line() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let cases: [(String, usize); 11] = [
        (SPEC_BODY.trim_end().to_string(), 0),
        (format!("o\n020852163\n{root}\n"), 2),
        (format!("o\n+5\n{root}\n"), 2),
        (format!("o\n 5\n{root}\n"), 2),
        (format!("o\n18446744073709551616\n{root}\n"), 2),
        (
            "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".into(),
            3,
        ),
        (
            "o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2\n".into(),
            3,
        ),
        ("o\n5\nAAAA\n".into(), 3),
        (format!("\n5\n{root}\n"), 1),
        (format!("o\n5\n{root}\n\n"), 4),
        ("o\n5\n".into(), 3),
    ];
    for (body, line) in &cases {
        match Checkpoint::parse_body(body) {
            Err(AuditError::Checkpoint { line: got, .. }) => {
                assert_eq!(got, *line, "{body:?}")
            }
            other => panic!("{body:?} gave {other:?}"),
        }
    }
    assert_eq!(
        Checkpoint::parse_body(&format!("o\n0\n{root}\n"))
            .unwrap()
            .size,
        0
    );
}

#[test]
fn signed_checkpoint_opens_and_bad_origins_are_not_signed() {
    let signer = NoteSigner::generate("custodia.example/audit", &mut OsRng).unwrap();
    let cp = Checkpoint {
        origin: "custodia.example/audit".into(),
        size: 42,
        root: [7; 32],
    };
    let note = cp.sign(&signer).unwrap();
    assert_eq!(Checkpoint::open(&note, &signer.verifier()).unwrap(), cp);
    for origin in ["", "two\nlines"] {
        let bad = Checkpoint {
            origin: origin.into(),
            ..cp.clone()
        };
        assert!(matches!(
            bad.sign(&signer),
            Err(AuditError::Checkpoint { line: 1, .. })
        ));
    }
}
