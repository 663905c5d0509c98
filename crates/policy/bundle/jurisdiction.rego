# Jurisdictions: GDPR, UK GDPR, CCPA/CPRA, LGPD and PIPL mapped to what they require of this
# use. Each requirement names a consent level; the most restrictive one wins, and the
# decision says which law (or the contract) set it.
package custodia.jurisdiction

import rego.v1

import data.custodia.lib

params := data.custodia.params

rank(level) := params.consent_levels[level]

law(j) := params.jurisdictions[j]

# The contract bases the purpose on consent.
requirements contains r if {
	lib.legal_basis == "consent"
	r := {
		"by": "contract",
		"kind": "consent_basis",
		"level": "consent",
		"why": sprintf("the contract of %q bases %q on consent", [lib.dataset_name, lib.purpose]),
	}
}

# Sensitive (L3) columns processed in the clear (access masks them otherwise, and masked
# values are not processed): explicit consent (GDPR, UK GDPR, LGPD), separate consent
# (PIPL), the right to limit their use (CPRA), unless the legal basis is an exemption.
sensitive := {n | some n in lib.sensitive; data.custodia.access.l3_clear}

requirements contains r if {
	count(sensitive) > 0
	some j in lib.jurisdictions
	not lib.legal_basis in law(j).sensitive_exempt_bases
	r := {
		"by": j,
		"kind": "sensitive",
		"level": law(j).sensitive_level,
		"why": sprintf("%s: sensitive columns %v need %s", [law(j).name, sort(sensitive), law(j).sensitive_level]),
	}
}

# CPRA: selling or sharing personal information honours opt-outs (and GPC signals).
requirements contains r if {
	lib.has_personal
	some j in lib.jurisdictions
	lib.purpose in object.get(law(j), "sale_purposes", [])
	r := {
		"by": j,
		"kind": "sale_sharing",
		"level": "opt_out",
		"why": sprintf("%s: %q is a sale or sharing of personal information, which subjects may opt out of", [law(j).name, lib.purpose]),
	}
}

# PIPL: personal information of a localised region that leaves it needs separate consent.
requirements contains r if {
	lib.has_personal
	some j in lib.jurisdictions
	loc := law(j).localisation_region
	lib.data_region == loc
	some target in {lib.compute_region, lib.storage_region}
	target != loc
	r := {
		"by": j,
		"kind": "cross_border",
		"level": law(j).transfer_level,
		"why": sprintf("%s: personal information leaving %q for %q needs %s", [law(j).name, loc, target, law(j).transfer_level]),
	}
}

default level := "none"

default max_rank := 0

max_rank := max(ranks) if {
	ranks := {rank(r.level) | some r in requirements}
	count(ranks) > 0
}

level := l if {
	some l, n in params.consent_levels
	n == max_rank
}

decided_by := sort({r.by | some r in requirements; rank(r.level) == max_rank})

deny contains d if {
	some raw in lib.unknown_jurisdictions
	d := {
		"rule": "jurisdiction.unknown",
		"message": sprintf("subject jurisdiction %q is not one the policy knows", [raw]),
		"fix": "use gdpr, uk_gdpr, ccpa, lgpd or pipl (or a region code eu, uk, us-ca, br, cn), or map it under jurisdiction_aliases in policies/params.json",
	}
}

deny contains d if {
	lib.has_personal
	count(lib.jurisdictions) == 0
	count(lib.unknown_jurisdictions) == 0
	d := {
		"rule": "jurisdiction.none",
		"message": sprintf("no jurisdiction is known for the personal data of %q (region %q)", [lib.dataset_name, lib.data_region]),
		"fix": "pass subject_jurisdictions, or map the region under region_jurisdictions in policies/params.json",
	}
}

# A law that does not know the legal basis at all (PIPL has no legitimate interest).
deny contains d if {
	some j in lib.jurisdictions
	allowed := law(j).allowed_bases
	lib.legal_basis != ""
	not lib.legal_basis in allowed
	d := {
		"rule": sprintf("jurisdiction.%s.legal_basis", [j]),
		"message": sprintf("%s does not recognise legal basis %q (it knows %v)", [law(j).name, lib.legal_basis, allowed]),
		"fix": "base the purpose on one of those in the contract, or keep the data of these subjects out of this use",
	}
}

# A requirement for consent that the legal basis cannot meet.
deny contains d if {
	some r in requirements
	rank(r.level) >= rank("consent")
	lib.legal_basis != "consent"
	d := {
		"rule": sprintf("jurisdiction.%s.%s", [r.by, r.kind]),
		"message": sprintf("%s, but the legal basis of %q is %q", [r.why, lib.purpose, lib.legal_basis]),
		"fix": "base the purpose on consent in the contract (legal_basis: consent) and collect it, or leave out the columns or the transfer that need it",
	}
}

obligations contains o if {
	max_rank >= rank("opt_out")
	o := {
		"kind": "row_filter",
		"filter": filter_kind,
		"purpose": lib.purpose,
		"level": level,
		"required_by": decided_by,
		"rule": "jurisdiction.row_filter",
	}
}

filter_kind := "consent" if max_rank >= rank("consent")

filter_kind := "opt_out" if max_rank == rank("opt_out")
