//! Every built-in rule, allowed and denied, on the real bundle through regorus.

use custodia_policy::{
    Action, Actor, ActorAttributes, BreakGlass, ColumnInput, DatasetInput, Decision, DecisionInput,
    FilterKind, Grant, Obligation, Policy, PolicyError, PolicyFile, PolicySources, PurposeInput,
};
use serde_json::json;

fn col(name: &str, classification: &str, transform: Option<&str>) -> ColumnInput {
    ColumnInput {
        name: name.into(),
        classification: classification.into(),
        entity: None,
        transform: transform.map(String::from),
    }
}

/// customers (eu): email L2 tokenized, ssn L3, plan L0; usable for model_training
/// (legitimate_interest) and personalization (consent).
fn customers() -> DatasetInput {
    DatasetInput {
        name: "customers".into(),
        region: Some("eu".into()),
        purposes: vec![
            PurposeInput {
                name: "model_training".into(),
                legal_basis: "legitimate_interest".into(),
            },
            PurposeInput {
                name: "personalization".into(),
                legal_basis: "consent".into(),
            },
        ],
        columns: vec![
            col("email", "L2", Some("tokenize")),
            col("ssn", "L3", None),
            col("plan", "L0", None),
        ],
    }
}

/// An ML engineer training on customers' non-sensitive columns, in the EU, for a purpose
/// the contract lists: allowed.
fn request() -> DecisionInput {
    DecisionInput {
        action: Action::Train,
        purpose: "model_training".into(),
        dataset: customers(),
        columns: Some(vec!["email".into(), "plan".into()]),
        actor: Actor {
            id: "ci".into(),
            roles: vec!["ml_engineer".into()],
            ..Actor::default()
        },
        time: Some("2026-11-23T10:00:00Z".into()),
        ..DecisionInput::default()
    }
}

fn decide(input: &DecisionInput) -> Decision {
    Policy::builtin().unwrap().decide(input).unwrap()
}

/// The bundle with admins allowed to see L3 columns in the clear (by default nobody is,
/// and masked columns are not processed, so no sensitive-data rule applies).
fn decide_l3_clear(input: &DecisionInput) -> Decision {
    Policy::load(&PolicySources {
        params: Some(PolicyFile {
            path: "policies/params.json".into(),
            text: r#"{"roles": {"admin": {"l3": "clear"}}}"#.into(),
        }),
        ..PolicySources::default()
    })
    .unwrap()
    .decide(input)
    .unwrap()
}

fn rules(d: &Decision) -> Vec<&str> {
    d.denials.iter().map(|x| x.rule.as_str()).collect()
}

fn denied_by(input: &DecisionInput, rule: &str) -> Decision {
    let d = decide(input);
    assert!(!d.allow, "expected a denial by {rule}: {d:#?}");
    assert!(
        rules(&d).contains(&rule),
        "expected {rule}, got {:?}",
        rules(&d)
    );
    for x in &d.denials {
        assert!(!x.message.is_empty() && !x.fix.is_empty(), "{x:?}");
    }
    d
}

#[test]
fn a_plain_allowed_request() {
    let d = decide(&request());
    assert!(d.allow, "{d:#?}");
    assert!(d.denials.is_empty());
    assert_eq!(d.jurisdictions.applied, vec!["gdpr"]);
    assert_eq!(d.jurisdictions.consent_level, "none");
    assert!(d.obligations.is_empty(), "{:?}", d.obligations);
}

#[test]
fn purpose_is_required_listed_and_on_an_allowed_basis() {
    let mut r = request();
    r.purpose = String::new();
    denied_by(&r, "purpose.missing");

    let mut r = request();
    r.purpose = "marketing".into();
    let d = denied_by(&r, "purpose.not_in_contract");
    assert!(d.denials[0].message.contains("customers"));

    let mut r = request();
    r.purpose = "astrology".into();
    r.dataset.purposes.push(PurposeInput {
        name: "astrology".into(),
        legal_basis: "consent".into(),
    });
    denied_by(&r, "purpose.unknown");

    // Personalization rests on consent only; a contract claiming legitimate interest fails.
    let mut r = request();
    r.purpose = "personalization".into();
    r.dataset.purposes[1].legal_basis = "legitimate_interest".into();
    denied_by(&r, "purpose.legal_basis");

    let mut r = request();
    r.legal_basis = Some("contract".into());
    denied_by(&r, "purpose.basis_mismatch");
}

#[test]
fn consent_based_purposes_get_a_consent_row_filter() {
    let mut r = request();
    r.purpose = "personalization".into();
    let d = decide(&r);
    assert!(d.allow, "{d:#?}");
    assert_eq!(
        d.obligations,
        vec![Obligation::RowFilter {
            filter: FilterKind::Consent,
            purpose: "personalization".into(),
            level: "consent".into(),
            required_by: vec!["contract".into()],
            rule: "jurisdiction.row_filter".into(),
        }]
    );
}

#[test]
fn sensitive_columns_need_explicit_consent_under_gdpr_uk_gdpr_and_lgpd() {
    // EU data: GDPR always applies; UK and Brazilian subjects add their laws to it.
    for (j, key, name) in [
        ("gdpr", "gdpr", "GDPR"),
        ("uk", "uk_gdpr", "UK GDPR"),
        ("br", "lgpd", "LGPD"),
    ] {
        // ssn (L3) on legitimate interest: denied, naming the law.
        let mut r = request();
        r.columns = None;
        r.actor.roles = vec!["admin".into()];
        r.subject_jurisdictions = vec![j.into()];
        let d = decide_l3_clear(&r);
        assert!(!d.allow);
        let law = d
            .denials
            .iter()
            .find(|x| x.rule == format!("jurisdiction.{key}.sensitive"))
            .unwrap();
        assert!(law.message.starts_with(name), "{j}: {law:?}");
        assert!(law.message.contains("ssn") && law.message.contains("explicit_consent"));
        // On consent: allowed, with an explicit-consent row filter set by that law.
        let mut r = r.clone();
        r.purpose = "personalization".into();
        let d = decide_l3_clear(&r);
        assert!(d.allow, "{j}: {d:#?}");
        assert_eq!(d.jurisdictions.consent_level, "explicit_consent");
        match &d
            .obligations
            .iter()
            .find(|o| matches!(o, Obligation::RowFilter { .. }))
        {
            Some(Obligation::RowFilter {
                level, required_by, ..
            }) => {
                assert_eq!(level, "explicit_consent");
                assert!(required_by.iter().any(|b| b == key), "{required_by:?}");
            }
            other => panic!("{other:?}"),
        }
    }
    // A transform that destroys the value takes the column out of the sensitive set.
    let mut r = request();
    r.columns = None;
    r.actor.roles = vec!["admin".into()];
    assert!(!decide_l3_clear(&r).allow);
    r.dataset.columns[1].transform = Some("redact".into());
    assert!(decide_l3_clear(&r).allow);
    // So does a mask the actor's role imposes: the clear value is never processed.
    let mut r = request();
    r.columns = None;
    let d = decide(&r);
    assert!(d.allow, "{d:#?}");
    assert!(d
        .obligations
        .iter()
        .any(|o| matches!(o, Obligation::Mask { column, .. } if column == "ssn")));
}

#[test]
fn legal_obligation_is_an_exemption_for_sensitive_data() {
    let mut r = request();
    r.columns = None;
    r.purpose = "fraud_detection".into();
    r.dataset.purposes.push(PurposeInput {
        name: "fraud_detection".into(),
        legal_basis: "legal_obligation".into(),
    });
    r.actor.roles = vec!["admin".into()];
    r.action = Action::Read;
    let d = decide_l3_clear(&r);
    assert!(d.allow, "{d:#?}");
    // The same read on legitimate interest needs explicit consent for the ssn.
    r.dataset.purposes.last_mut().unwrap().legal_basis = "legitimate_interest".into();
    let d = decide_l3_clear(&r);
    assert!(rules(&d).contains(&"jurisdiction.gdpr.sensitive"), "{d:#?}");
}

#[test]
fn cpra_sale_and_sharing_honours_opt_outs() {
    let mut r = request();
    r.purpose = "sale_sharing".into();
    r.dataset.region = Some("us".into());
    r.dataset.purposes.push(PurposeInput {
        name: "sale_sharing".into(),
        legal_basis: "consent".into(),
    });
    r.subject_jurisdictions = vec!["us-ca".into()];
    r.compute_region = Some("us".into());
    let d = decide(&r);
    assert!(d.allow, "{d:#?}");
    // The contract's consent basis is stricter than CPRA's opt-out: consent wins, and the
    // decision says the contract set the bar.
    assert_eq!(d.jurisdictions.consent_level, "consent");
    assert_eq!(d.jurisdictions.decided_by, vec!["contract"]);
    assert!(d
        .jurisdictions
        .requirements
        .iter()
        .any(|q| q.by == "ccpa" && q.level == "opt_out"));
}

#[test]
fn most_restrictive_law_wins_and_is_named() {
    // EU and Chinese subjects, sensitive data on consent: PIPL's separate consent beats
    // GDPR's explicit consent.
    let mut r = request();
    r.purpose = "personalization".into();
    r.columns = None;
    r.actor.roles = vec!["admin".into()];
    r.subject_jurisdictions = vec!["gdpr".into(), "pipl".into()];
    let d = decide_l3_clear(&r);
    assert!(d.allow, "{d:#?}");
    assert_eq!(d.jurisdictions.consent_level, "separate_consent");
    assert_eq!(d.jurisdictions.decided_by, vec!["pipl"]);
    assert_eq!(d.jurisdictions.applied, vec!["gdpr", "pipl"]);
    // Without PIPL, GDPR decides.
    r.subject_jurisdictions = vec!["gdpr".into(), "ccpa".into()];
    let d = decide_l3_clear(&r);
    assert_eq!(d.jurisdictions.consent_level, "explicit_consent");
    assert_eq!(d.jurisdictions.decided_by, vec!["gdpr"]);
}

#[test]
fn unknown_or_missing_jurisdictions_are_denied() {
    let mut r = request();
    r.subject_jurisdictions = vec!["atlantis".into()];
    denied_by(&r, "jurisdiction.unknown");
    let mut r = request();
    r.dataset.region = Some("mars".into());
    r.compute_region = Some("mars".into());
    denied_by(&r, "jurisdiction.none");
}

fn with_transfers(transfers: serde_json::Value) -> Policy {
    Policy::load(&PolicySources {
        config: json!({ "transfers": transfers }),
        ..PolicySources::default()
    })
    .unwrap()
}

#[test]
fn residency_needs_a_mechanism_every_law_accepts_and_audits_the_transfer() {
    let mut r = request();
    r.compute_region = Some("us".into());
    denied_by(&r, "residency.no_transfer_mechanism");

    let mut p = with_transfers(json!([{"from": "eu", "to": "us", "mechanism": "scc"}]));
    let d = p.decide(&r).unwrap();
    assert!(d.allow, "{d:#?}");
    assert!(d.obligations.contains(&Obligation::Audit {
        reason: "transfer".into(),
        from: Some("eu".into()),
        to: Some("us".into()),
        mechanism: Some("scc".into()),
        notify: None,
        rule: "residency.transfer".into(),
    }));

    // A mechanism GDPR does not know.
    let mut p = with_transfers(json!([{"from": "eu", "to": "us", "mechanism": "handshake"}]));
    let d = p.decide(&r).unwrap();
    assert!(rules(&d).contains(&"residency.gdpr.mechanism"), "{d:#?}");

    // Writing results elsewhere counts too.
    let mut r = request();
    r.storage_region = Some("us".into());
    denied_by(&r, "residency.no_transfer_mechanism");

    // No personal columns: no residency rule applies.
    let mut r = request();
    r.columns = Some(vec!["plan".into()]);
    r.compute_region = Some("us".into());
    assert!(decide(&r).allow);

    // Personal data without a region.
    let mut r = request();
    r.dataset.region = None;
    r.subject_jurisdictions = vec!["gdpr".into()];
    denied_by(&r, "residency.no_region");
}

#[test]
fn pipl_localisation_needs_a_cac_mechanism_and_separate_consent() {
    let mut r = request();
    r.purpose = "personalization".into();
    r.dataset.region = Some("cn".into());
    r.compute_region = Some("eu".into());
    // Without a mechanism: denied by residency.
    denied_by(&r, "residency.no_transfer_mechanism");
    // With an SCC (not a PIPL mechanism): denied by PIPL.
    let mut p = with_transfers(json!([{"from": "cn", "to": "eu", "mechanism": "scc"}]));
    let d = p.decide(&r).unwrap();
    assert!(rules(&d).contains(&"residency.pipl.mechanism"), "{d:#?}");
    // With the CAC standard contract: allowed, separate consent required by PIPL.
    let mut p =
        with_transfers(json!([{"from": "cn", "to": "eu", "mechanism": "cac_standard_contract"}]));
    let d = p.decide(&r).unwrap();
    assert!(d.allow, "{d:#?}");
    assert_eq!(d.jurisdictions.consent_level, "separate_consent");
    assert_eq!(d.jurisdictions.decided_by, vec!["pipl"]);
    // On legitimate interest the cross-border requirement cannot be met.
    let mut r2 = r.clone();
    r2.purpose = "model_training".into();
    let d = p.decide(&r2).unwrap();
    assert!(
        rules(&d).contains(&"jurisdiction.pipl.cross_border"),
        "{d:#?}"
    );
}

#[test]
fn roles_actions_and_attributes() {
    let mut r = request();
    r.actor.roles = vec![];
    denied_by(&r, "access.no_role");

    let mut r = request();
    r.actor.roles = vec!["analyst".into()];
    denied_by(&r, "access.action"); // analysts read, they do not train

    let mut r = request();
    r.actor.roles = vec!["wizard".into()];
    denied_by(&r, "access.unknown_role");

    let mut r = request();
    r.actor.attributes = ActorAttributes {
        purposes: Some(vec!["analytics".into()]),
        regions: None,
    };
    denied_by(&r, "access.purpose_attribute");

    let mut r = request();
    r.actor.attributes = ActorAttributes {
        purposes: None,
        regions: Some(vec!["us".into()]),
    };
    denied_by(&r, "access.region_attribute");
}

#[test]
fn l3_is_masked_and_l2_pseudonymised_for_analysts() {
    let mut r = request();
    r.action = Action::Read;
    r.columns = None;
    r.purpose = "personalization".into(); // consent basis: the ssn is usable
    r.actor.roles = vec!["analyst".into()];
    let d = decide(&r);
    assert!(d.allow, "{d:#?}");
    assert!(d.obligations.contains(&Obligation::Mask {
        column: "ssn".into(),
        method: "redact".into(),
        rule: "access.l3_masked".into()
    }));
    assert!(d.obligations.contains(&Obligation::Pseudonymize {
        column: "email".into(),
        method: "hash".into(),
        rule: "access.l2_pseudonymized".into()
    }));
    // An ML engineer sees L2 in the clear but still not L3.
    r.actor.roles = vec!["ml_engineer".into()];
    let d = decide(&r);
    assert!(!d
        .obligations
        .iter()
        .any(|o| matches!(o, Obligation::Pseudonymize { .. })));
    assert!(d
        .obligations
        .iter()
        .any(|o| matches!(o, Obligation::Mask { .. })));
    // The DPO sees L3 for a DSAR.
    let mut r = r.clone();
    r.purpose = "dsar".into();
    r.dataset.purposes.push(PurposeInput {
        name: "dsar".into(),
        legal_basis: "legal_obligation".into(),
    });
    r.actor.roles = vec!["dpo".into()];
    let d = decide(&r);
    assert!(d.allow, "{d:#?}");
    assert!(
        !d.obligations
            .iter()
            .any(|o| matches!(o, Obligation::Mask { .. })),
        "{d:#?}"
    );
}

#[test]
fn time_bound_grants_count_only_until_they_expire() {
    let mut r = request();
    r.actor.roles = vec!["analyst".into()];
    r.actor.grants = vec![Grant {
        role: "ml_engineer".into(),
        expires: "2026-12-01T00:00:00Z".into(),
        purposes: Some(vec!["model_training".into()]),
    }];
    assert!(decide(&r).allow);
    r.time = Some("2026-12-02T00:00:00Z".into());
    let d = denied_by(&r, "access.action");
    assert_eq!(d.expired_grants, vec!["ml_engineer"]);
    // A grant for another purpose does not apply.
    r.time = Some("2026-11-23T10:00:00Z".into());
    r.actor.grants[0].purposes = Some(vec!["analytics".into()]);
    denied_by(&r, "access.action");
}

#[test]
fn break_glass_waives_access_checks_only_with_a_justification() {
    let mut r = request();
    r.actor.roles = vec![];
    r.actor.break_glass = Some(BreakGlass {
        justification: "INC-4411".into(),
    });
    denied_by(&r, "access.break_glass_justification");
    r.actor.break_glass = Some(BreakGlass {
        justification: "INC-4411 fraud ring investigation, approved by on-call".into(),
    });
    let d = decide(&r);
    assert!(d.allow, "{d:#?}");
    assert!(d.obligations.iter().any(|o| matches!(o, Obligation::Audit { reason, notify: Some(n), .. } if reason == "break_glass" && n == "dpo")));
    // Never purpose limitation.
    r.purpose = "marketing".into();
    denied_by(&r, "purpose.not_in_contract");
}

#[test]
fn workspaces_extend_under_custodia_ext_and_cannot_replace_the_bundle() {
    let ext = PolicyFile {
        path: "policies/team.rego".into(),
        text: "package custodia.ext.team\n\ndeny contains {\"rule\": \"team.no_weekend_training\", \"message\": \"no training on Sundays\", \"fix\": \"wait for Monday\"} if {\n\tinput.action == \"train\"\n\ttime.weekday(time.parse_rfc3339_ns(input.time)) == \"Sunday\"\n}\n\ntest_sunday_denied if {\n\tsome d in deny with input as {\"action\": \"train\", \"time\": \"2026-11-22T10:00:00Z\"}\n\td.rule == \"team.no_weekend_training\"\n}\n\ntest_monday_fails_on_purpose if {\n\tcount(deny) > 0 with input as {\"action\": \"train\", \"time\": \"2026-11-23T10:00:00Z\"}\n}\n".into(),
    };
    let mut p = Policy::load(&PolicySources {
        rego: vec![ext.clone()],
        ..PolicySources::default()
    })
    .unwrap();
    let mut r = request();
    assert!(p.decide(&r).unwrap().allow);
    r.time = Some("2026-11-22T10:00:00Z".into());
    let d = p.decide(&r).unwrap();
    assert_eq!(rules(&d), vec!["team.no_weekend_training"]);
    let tests = p.run_tests();
    assert_eq!(tests.len(), 2);
    assert_eq!(tests[0].result, custodia_policy::TestResult::Pass);
    assert_eq!(tests[1].result, custodia_policy::TestResult::Fail);
    assert_ne!(p.digest(), Policy::builtin().unwrap().digest());

    // Replacing a built-in package is refused with file and line.
    let evil = PolicyFile {
        path: "policies/allow_all.rego".into(),
        text: "# sneaky\npackage custodia.decision\n\nallow := true\n".into(),
    };
    let err = Policy::load(&PolicySources {
        rego: vec![evil],
        ..PolicySources::default()
    })
    .err()
    .unwrap();
    assert!(
        matches!(err, PolicyError::Reserved { line: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("custodia.ext"), "{err}");
}

#[test]
fn bad_rego_names_file_line_and_the_parser_message() {
    let bad = PolicyFile {
        path: "policies/broken.rego".into(),
        text: "package custodia.ext.x\n\ndeny contains d if {\n\td := \n}\n".into(),
    };
    let err = Policy::load(&PolicySources {
        rego: vec![bad],
        ..PolicySources::default()
    })
    .err()
    .unwrap();
    match &err {
        PolicyError::Rego {
            path,
            line,
            message,
            ..
        } => {
            assert_eq!(path.to_str(), Some("policies/broken.rego"));
            assert_eq!(*line, 4, "{err}");
            assert!(!message.is_empty());
        }
        other => panic!("{other}"),
    }
    // An obligation of an unknown kind is an error, not silently dropped.
    let odd = PolicyFile {
        path: "policies/odd.rego".into(),
        text: "package custodia.ext.odd\n\nobligations contains {\"kind\": \"teleport\"} if true\n"
            .into(),
    };
    let err = Policy::load(&PolicySources {
        rego: vec![odd],
        ..PolicySources::default()
    })
    .err()
    .unwrap();
    assert!(matches!(err, PolicyError::Output { .. }), "{err}");
}

#[test]
fn params_override_merges_over_the_builtin_ones() {
    let params = PolicyFile {
        path: "policies/params.json".into(),
        text: r#"{"purposes": {"personalization": {"legal_bases": ["consent", "legitimate_interest"]}}}"#.into(),
    };
    let mut p = Policy::load(&PolicySources {
        params: Some(params),
        ..PolicySources::default()
    })
    .unwrap();
    let mut r = request();
    r.purpose = "personalization".into();
    r.dataset.purposes[1].legal_basis = "legitimate_interest".into();
    assert!(p.decide(&r).unwrap().allow);
    // Other params stay: model_training is still known.
    assert!(p.decide(&request()).unwrap().allow);
    let bad = PolicyFile {
        path: "policies/params.json".into(),
        text: "{\"purposes\": [}".into(),
    };
    let err = Policy::load(&PolicySources {
        params: Some(bad),
        ..PolicySources::default()
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("policies/params.json") && err.to_string().contains("line 1"));
}

#[test]
fn model_cards_are_checked_against_policy() {
    let mut p = Policy::builtin().unwrap();
    let card = json!({
        "name": "churn", "version": "3", "purpose": "model_training", "legal_basis": "legitimate_interest",
        "training_data": [{"dataset": "customers", "version": 4}], "owner": "ml@example.com",
        "metrics": {"auc": 0.81}, "consent_scope": ["model_training"], "risk": "limited",
        "fairness": [{"metric": "demographic_parity_ratio", "value": 0.86, "threshold": 0.8}],
    });
    let training = json!([{"dataset": "customers", "version": 4, "registered": true,
        "purposes": [{"name": "model_training", "legal_basis": "legitimate_interest"}]}]);
    let ok = p
        .decide_model(&json!({"card": card, "training": training}))
        .unwrap();
    assert!(ok.allow, "{ok:#?}");

    let mut c = card.clone();
    c["owner"] = json!("");
    let d = p
        .decide_model(&json!({"card": c, "training": training}))
        .unwrap();
    assert_eq!(d.denials[0].rule, "model.incomplete");

    let mut c = card.clone();
    c["purpose"] = json!("marketing");
    c["legal_basis"] = json!("consent");
    c["consent_scope"] = json!(["marketing"]);
    let d = p
        .decide_model(&json!({"card": c, "training": training}))
        .unwrap();
    assert!(
        d.denials.iter().any(|x| x.rule == "model.purpose_mismatch"),
        "{d:#?}"
    );

    let mut c = card.clone();
    c["risk"] = json!("high");
    let d = p
        .decide_model(&json!({"card": c, "training": training}))
        .unwrap();
    assert!(d.high_risk && d.denials.iter().any(|x| x.rule == "model.dpia"));
    c["dpia"] = json!({"reference": "DPIA-2026-07", "status": "approved"});
    assert!(
        p.decide_model(&json!({"card": c, "training": training}))
            .unwrap()
            .allow
    );

    let mut c = card.clone();
    c["fairness"] = json!([{"metric": "equalized_odds_difference", "value": 0.2, "threshold": 0.1, "direction": "max"}]);
    let d = p
        .decide_model(&json!({"card": c, "training": training}))
        .unwrap();
    assert!(d.denials.iter().any(|x| x.rule == "model.fairness"));

    let unknown = json!([{"dataset": "ghost", "version": 1, "registered": false, "purposes": []}]);
    let d = p
        .decide_model(&json!({"card": card, "training": unknown}))
        .unwrap();
    assert!(d.denials.iter().any(|x| x.rule == "model.unknown_dataset"));
}

#[test]
fn inputs_are_validated_with_field_names() {
    let err = DecisionInput::from_json("req.json", "{\"purpose\": \"x\", \"colour\": 1}")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("req.json") && err.contains("colour") && err.contains("line 1"),
        "{err}"
    );
    let err = DecisionInput::from_json(
        "req.json",
        r#"{"dataset": {"name": "d", "columns": [{"name": "a", "classification": "L9"}]}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("L9"), "{err}");
    let err = DecisionInput::from_json("req.json", r#"{"time": "yesterday"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("RFC 3339"), "{err}");
}

fn load_params(text: &str) -> Result<Policy, PolicyError> {
    Policy::load(&PolicySources {
        params: Some(PolicyFile {
            path: "policies/params.json".into(),
            text: text.into(),
        }),
        ..PolicySources::default()
    })
}

#[test]
fn params_cannot_switch_a_rule_off() {
    for (text, key) in [
        (
            r#"{"jurisdictions": {"gdpr": {"sensitive_level": "none"}}}"#,
            "jurisdictions",
        ),
        (
            r#"{"break_glass": {"min_justification_chars": 0}}"#,
            "break_glass",
        ),
        (r#"{"consent_levels": {"none": 9}}"#, "consent_levels"),
        (
            r#"{"purposes": {"model_training": null}}"#,
            "purposes.model_training",
        ),
        (
            r#"{"purposes": {"model_training": {"legal_bases": []}}}"#,
            "is empty",
        ),
        (
            r#"{"purposes": {"x": {"legal_bases": ["vibes"]}}}"#,
            "vibes",
        ),
        (r#"{"roles": null}"#, "roles"),
        (
            r#"{"roles": {"intern": {"actions": ["read"]}}}"#,
            "roles.intern",
        ),
        (
            r#"{"region_jurisdictions": {"eu": ["nowhere"]}}"#,
            "region_jurisdictions.eu",
        ),
    ] {
        let err = load_params(text)
            .err()
            .unwrap_or_else(|| panic!("{text} loaded"));
        let msg = err.to_string();
        assert!(
            msg.starts_with("policies/params.json: ") && msg.contains(key),
            "{text}: {msg}"
        );
    }
    // Add-only lists keep the built-in entries.
    let mut p = load_params(
        r#"{"high_risk_purposes": ["churn_scoring"], "model_card_required": ["fairness"]}"#,
    )
    .unwrap();
    let hr =
        p.query(&json!({}), "data.custodia.model.params").unwrap()["high_risk_purposes"].clone();
    assert!(hr.to_string().contains("credit_scoring") && hr.to_string().contains("churn_scoring"));
}

#[test]
fn nested_extension_packages_are_refused() {
    let err = Policy::load(&PolicySources {
        rego: vec![PolicyFile {
            path: "policies/pii.rego".into(),
            text: "package custodia.ext.team.pii\n\ndeny contains {\"rule\": \"x\", \"message\": \"m\", \"fix\": \"f\"} if true\n".into(),
        }],
        ..PolicySources::default()
    })
    .err()
    .unwrap();
    assert!(
        matches!(err, PolicyError::Reserved { line: 1, .. }),
        "{err}"
    );
}

#[test]
fn the_data_regions_law_applies_whatever_the_request_names() {
    // EU data read for Californian subjects: GDPR still applies, and decides.
    let mut r = request();
    r.columns = None;
    r.actor.roles = vec!["admin".into()];
    r.subject_jurisdictions = vec!["us-ca".into()];
    let d = decide_l3_clear(&r);
    assert_eq!(d.jurisdictions.applied, vec!["ccpa", "gdpr"]);
    assert!(rules(&d).contains(&"jurisdiction.gdpr.sensitive"), "{d:#?}");
    // And a transfer mechanism CCPA would not mind must still satisfy GDPR.
    let mut p = with_transfers(json!([{"from": "eu", "to": "us", "mechanism": "handshake"}]));
    let mut r = request();
    r.subject_jurisdictions = vec!["ccpa".into()];
    r.compute_region = Some("us".into());
    let d = p.decide(&r).unwrap();
    assert!(rules(&d).contains(&"residency.gdpr.mechanism"), "{d:#?}");
}

#[test]
fn columns_outside_the_contract_are_denied() {
    let mut r = request();
    r.columns = Some(vec!["email".into(), "health_notes".into()]);
    let d = denied_by(&r, "access.unknown_column");
    assert!(d.denials.iter().any(|x| x.message.contains("health_notes")));
}

#[test]
fn pipl_knows_no_legitimate_interest_and_cpra_marketing_honours_opt_outs() {
    let mut r = request();
    r.subject_jurisdictions = vec!["cn".into()];
    denied_by(&r, "jurisdiction.pipl.legal_basis");

    // US data used for marketing (cross-context advertising is "sharing" under CPRA) on
    // legitimate interest: allowed, minus the subjects who opted out.
    let mut r = request();
    r.purpose = "analytics".into();
    r.dataset.region = Some("us".into());
    r.dataset.purposes.push(PurposeInput {
        name: "analytics".into(),
        legal_basis: "legitimate_interest".into(),
    });
    let d = decide(&r);
    assert!(d.allow && d.obligations.is_empty(), "{d:#?}");
    let mut p = load_params(
        r#"{"purposes": {"marketing": {"legal_bases": ["consent", "legitimate_interest"]}}}"#,
    )
    .unwrap();
    r.purpose = "marketing".into();
    r.dataset.purposes.push(PurposeInput {
        name: "marketing".into(),
        legal_basis: "legitimate_interest".into(),
    });
    let d = p.decide(&r).unwrap();
    assert!(d.allow, "{d:#?}");
    assert_eq!(d.jurisdictions.consent_level, "opt_out");
    assert_eq!(d.jurisdictions.decided_by, vec!["ccpa"]);
    assert!(d.obligations.iter().any(|o| matches!(
        o,
        Obligation::RowFilter {
            filter: FilterKind::OptOut,
            ..
        }
    )));
}

#[test]
fn a_keyed_hash_is_still_personal_data() {
    let mut r = request();
    r.columns = None;
    r.actor.roles = vec!["admin".into()];
    r.dataset.columns[1].transform = Some("hash".into());
    assert!(rules(&decide_l3_clear(&r)).contains(&"jurisdiction.gdpr.sensitive"));
}

#[test]
fn more_model_card_rules() {
    let mut p = Policy::builtin().unwrap();
    let training = json!([{"dataset": "customers", "version": 4, "registered": true,
        "purposes": [{"name": "personalization", "legal_basis": "consent"}, {"name": "credit_scoring", "legal_basis": "contract"}]}]);
    let card = |purpose: &str, basis: &str, scope: serde_json::Value| {
        json!({
        "name": "m", "version": "1", "purpose": purpose, "legal_basis": basis, "training_data": [{"dataset": "customers"}],
        "owner": "o", "metrics": {"auc": 0.8}, "consent_scope": scope, "risk": "limited"})
    };
    let rules_of = |p: &mut Policy, c: serde_json::Value| -> Vec<String> {
        p.decide_model(&json!({"card": c, "training": training}))
            .unwrap()
            .denials
            .into_iter()
            .map(|d| d.rule)
            .collect()
    };
    assert_eq!(
        rules_of(&mut p, card("credit_scoring", "contract", json!(["x"]))),
        vec!["model.dpia", "model.unknown_purpose"]
    );
    assert_eq!(
        rules_of(
            &mut p,
            card(
                "personalization",
                "legitimate_interest",
                json!(["personalization"])
            )
        ),
        vec!["model.legal_basis"]
    );
    assert_eq!(
        rules_of(
            &mut p,
            card("personalization", "consent", json!(["analytics"]))
        ),
        vec!["model.consent_scope"]
    );
    assert!(rules_of(
        &mut p,
        card("personalization", "consent", json!(["personalization"]))
    )
    .is_empty());
}

#[test]
fn malformed_requests_are_input_errors() {
    let err =
        DecisionInput::from_json("r.json", r#"{"time": "2026-13-45T99:99:99Z"}"#).unwrap_err();
    assert!(err.to_string().contains("RFC 3339"), "{err}");
    let err = DecisionInput::from_json(
        "r.json",
        r#"{"dataset": {"name": "d", "purposes": [{"name": "ads", "legal_basis": "consent"}, {"name": "ads", "legal_basis": "contract"}]}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("listed twice"), "{err}");
}
