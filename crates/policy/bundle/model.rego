# Model promotion: a model card (docs/check.md, "Model cards") checked against policy and
# against the contracts of its training data. Input: {"card": {...}, "training": [{"dataset",
# "version", "registered", "purposes": [{"name", "legal_basis"}]}]}.
package custodia.model

import rego.v1

params := data.custodia.params

card := object.get(input, "card", {})

missing(field) if not card[field]

missing(field) if card[field] == ""

missing(field) if card[field] == []

deny contains d if {
	some field in params.model_card_required
	missing(field)
	d := {
		"rule": "model.incomplete",
		"message": sprintf("the model card has no %s", [field]),
		"fix": sprintf("add %s: to the card (see docs/check.md, Model cards)", [field]),
	}
}

deny contains d if {
	some t in object.get(input, "training", [])
	not t.registered
	d := {
		"rule": "model.unknown_dataset",
		"message": sprintf("training dataset %q has no contract", [t.dataset]),
		"fix": sprintf("write and apply a contract for %q (custodia contract apply), or fix the name in training_data", [t.dataset]),
	}
}

deny contains d if {
	some t in object.get(input, "training", [])
	t.registered
	listed := [p.name | some p in t.purposes]
	not card.purpose in listed
	d := {
		"rule": "model.purpose_mismatch",
		"message": sprintf("the model is for %q but its training dataset %q may be used only for %v", [card.purpose, t.dataset, listed]),
		"fix": sprintf("train on data whose contract lists %q, or add it (with a legal basis) to the contract of %q", [card.purpose, t.dataset]),
	}
}

deny contains d if {
	card.purpose
	not params.purposes[card.purpose]
	d := {
		"rule": "model.unknown_purpose",
		"message": sprintf("purpose %q has no allowed legal bases in the policy", [card.purpose]),
		"fix": sprintf("use a purpose the policy knows, or add %q under purposes in policies/params.json", [card.purpose]),
	}
}

deny contains d if {
	allowed := params.purposes[card.purpose].legal_bases
	card.legal_basis
	not card.legal_basis in allowed
	d := {
		"rule": "model.legal_basis",
		"message": sprintf("legal basis %q is not allowed for purpose %q (allowed: %v)", [card.legal_basis, card.purpose, allowed]),
		"fix": "use an allowed legal basis on the card and in the training data's contracts",
	}
}

deny contains d if {
	card.legal_basis == "consent"
	not card.purpose in object.get(card, "consent_scope", [])
	d := {
		"rule": "model.consent_scope",
		"message": sprintf("the model rests on consent but its consent scope %v does not cover %q", [object.get(card, "consent_scope", []), card.purpose]),
		"fix": "train on a snapshot filtered by consent for the purpose and list it in consent_scope",
	}
}

high_risk if card.risk == "high"

high_risk if card.purpose in params.high_risk_purposes

dpia := object.get(card, "dpia", {})

deny contains d if {
	high_risk
	not dpia_ok
	d := {
		"rule": "model.dpia",
		"message": sprintf("a high-risk model needs an approved DPIA; the card has reference %q, status %q", [object.get(dpia, "reference", ""), object.get(dpia, "status", "missing")]),
		"fix": "complete the data protection impact assessment and record dpia: {reference: ..., status: approved}",
	}
}

dpia_ok if {
	dpia.status == "approved"
	dpia.reference != ""
}

deny contains d if {
	some f in object.get(card, "fairness", [])
	not fair(f)
	d := {
		"rule": "model.fairness",
		"message": sprintf("fairness metric %q is %v, which misses its threshold %v (%s)", [f.metric, f.value, f.threshold, object.get(f, "direction", "min")]),
		"fix": "retrain or mitigate until the metric meets its threshold; changing the threshold needs the DPO's sign-off",
	}
}

fair(f) if {
	object.get(f, "direction", "min") == "min"
	f.value >= f.threshold
}

fair(f) if {
	f.direction == "max"
	f.value <= f.threshold
}

default allow := false

allow if count(deny) == 0

decision := {"allow": allow, "denials": deny, "high_risk": high_risk}

default high_risk := false
