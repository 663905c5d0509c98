# Access: RBAC roles plus attributes (purposes, regions), time-bound grants and break-glass.
# L3 columns are masked unless a role allows them in the clear for this purpose; L2 columns
# are pseudonymised for roles that see them only so (analysts, auditors).
package custodia.access

import rego.v1

import data.custodia.lib

params := data.custodia.params

role_spec(r) := params.roles[r]

known_roles := {r | some r in lib.roles; params.roles[r]}

deny contains d if {
	some name in object.get(input, "columns", [])
	not name in {c.name | some c in lib.columns}
	d := {
		"rule": "access.unknown_column",
		"message": sprintf("column %q is not in the contract of %q; columns a contract does not list are denied", [name, lib.dataset_name]),
		"fix": sprintf("add the column (with its classification) to the contract of %q, or stop reading it", [lib.dataset_name]),
	}
}

deny contains d if {
	some r in lib.roles
	not params.roles[r]
	d := {
		"rule": "access.unknown_role",
		"message": sprintf("role %q is not defined", [r]),
		"fix": sprintf("use one of %v, or define it under roles in policies/params.json", [sort(object.keys(params.roles))]),
	}
}

deny contains d if {
	count(known_roles) == 0
	not lib.break_glass
	d := {
		"rule": "access.no_role",
		"message": sprintf("the actor has no role that is in force (expired grants: %v)", [sort(lib.expired_grants)]),
		"fix": "act with a role (actor.roles), ask for a time-bound grant, or use break-glass with a justification",
	}
}

deny contains d if {
	count(known_roles) > 0
	not action_allowed
	not lib.break_glass
	d := {
		"rule": "access.action",
		"message": sprintf("roles %v may not %s", [sort(known_roles), lib.action]),
		"fix": sprintf("ask for a role that may %s (a time-bound grant), or use break-glass with a justification", [lib.action]),
	}
}

action_allowed if {
	some r in known_roles
	lib.action in role_spec(r).actions
}

deny contains d if {
	allowed := lib.actor.attributes.purposes
	not lib.purpose in allowed
	not lib.break_glass
	d := {
		"rule": "access.purpose_attribute",
		"message": sprintf("the actor may act only for purposes %v, not %q", [allowed, lib.purpose]),
		"fix": "use one of the actor's purposes, or have the actor's purposes attribute extended",
	}
}

deny contains d if {
	allowed := lib.actor.attributes.regions
	not lib.data_region in allowed
	not lib.break_glass
	d := {
		"rule": "access.region_attribute",
		"message": sprintf("the actor may act only on regions %v, not %q", [allowed, lib.data_region]),
		"fix": "have someone with access to the region do it, or extend the actor's regions attribute",
	}
}

deny contains d if {
	lib.break_glass_requested
	not lib.break_glass
	d := {
		"rule": "access.break_glass_justification",
		"message": sprintf("break-glass needs a justification of at least %d characters", [params.break_glass.min_justification_chars]),
		"fix": "say why access cannot wait (an incident or ticket reference, no personal data); it is logged and the DPO is told",
	}
}

l3_clear if {
	some r in known_roles
	role_spec(r).l3 == "clear"
}

l3_clear if {
	some r in known_roles
	lib.purpose in role_spec(r).l3_purposes
}

l3_clear if lib.break_glass

l2_clear if {
	some r in known_roles
	role_spec(r).l2 == "clear"
}

l2_clear if lib.break_glass

obligations contains o if {
	some c in lib.in_scope
	lib.level(c) >= 3
	not lib.protected(c)
	not l3_clear
	o := {"kind": "mask", "column": c.name, "method": "redact", "rule": "access.l3_masked"}
}

obligations contains o if {
	some c in lib.in_scope
	lib.level(c) == 2
	not lib.protected(c)
	not l2_clear
	o := {"kind": "pseudonymize", "column": c.name, "method": "hash", "rule": "access.l2_pseudonymized"}
}

obligations contains o if {
	lib.break_glass
	o := {"kind": "audit", "reason": "break_glass", "notify": "dpo", "rule": "access.break_glass"}
}
