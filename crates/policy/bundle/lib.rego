# Custodia built-in bundle: shared definitions. The input is a request to use a dataset
# (see docs/policy.md, "Input"); everything here normalises it.
package custodia.lib

import rego.v1

params := data.custodia.params

config := data.custodia.config

levels := {"L0": 0, "L1": 1, "L2": 2, "L3": 3}

actor := object.get(input, "actor", {})

action := object.get(input, "action", "read")

dataset := object.get(input, "dataset", {})

dataset_name := object.get(dataset, "name", "(unnamed)")

columns := object.get(dataset, "columns", [])

# The columns the request touches: those it names, or all of the dataset's.
in_scope contains c if {
	some c in columns
	not input.columns
}

in_scope contains c if {
	some c in columns
	c.name in input.columns
}

# A column without a known classification counts as the most sensitive.
level(c) := levels[c.classification]

level(c) := 3 if not levels[c.classification]

# Already transformed at rest into something that no longer identifies anyone.
protected(c) if object.get(c, "transform", "") in params.protective_transforms

personal contains c if {
	some c in in_scope
	level(c) >= 2
}

sensitive contains c.name if {
	some c in in_scope
	level(c) >= 3
	not protected(c)
}

has_personal if count(personal) > 0

data_region := object.get(dataset, "region", "")

compute_region := object.get(input, "compute_region", data_region)

storage_region := object.get(input, "storage_region", compute_region)

purpose := object.get(input, "purpose", "")

contract_purposes := [p.name | some p in object.get(dataset, "purposes", [])]

contract_basis contains p.legal_basis if {
	some p in object.get(dataset, "purposes", [])
	p.name == purpose
}

default legal_basis := ""

legal_basis := input.legal_basis

legal_basis := b if {
	not input.legal_basis
	some b in contract_basis
}

given_jurisdictions := object.get(input, "subject_jurisdictions", [])

jurisdictions contains j if {
	some raw in given_jurisdictions
	j := params.jurisdiction_aliases[lower(raw)]
}

# The laws of the data's region always apply; the subjects' jurisdictions add to them and
# never replace them (a request cannot name its way out of GDPR).
jurisdictions contains j if {
	some j in object.get(params.region_jurisdictions, data_region, [])
}

unknown_jurisdictions contains raw if {
	some raw in given_jurisdictions
	not params.jurisdiction_aliases[lower(raw)]
}

now_ns := time.parse_rfc3339_ns(input.time)

now_ns := time.now_ns() if not input.time

grant_active(g) if time.parse_rfc3339_ns(g.expires) > now_ns

grant_fits(g) if not g.purposes

grant_fits(g) if purpose in g.purposes

roles contains r if some r in object.get(actor, "roles", [])

roles contains g.role if {
	some g in object.get(actor, "grants", [])
	grant_active(g)
	grant_fits(g)
}

expired_grants contains g.role if {
	some g in object.get(actor, "grants", [])
	not grant_active(g)
}

break_glass_requested if actor.break_glass

justification := object.get(object.get(actor, "break_glass", {}), "justification", "")

break_glass if {
	break_glass_requested
	count(trim_space(justification)) >= params.break_glass.min_justification_chars
}
