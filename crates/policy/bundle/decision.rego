# The decision: every denial and obligation of the built-in rules and of workspace
# extensions (packages custodia.ext.*). Deny by default: allowed only when nothing denies.
package custodia.decision

import rego.v1

import data.custodia.lib

denials contains d if some d in data.custodia.purpose.deny

denials contains d if some d in data.custodia.jurisdiction.deny

denials contains d if some d in data.custodia.residency.deny

denials contains d if some d in data.custodia.access.deny

denials contains d if {
	some name
	some d in data.custodia.ext[name].deny
}

obligations contains o if some o in data.custodia.jurisdiction.obligations

obligations contains o if some o in data.custodia.residency.obligations

obligations contains o if some o in data.custodia.access.obligations

obligations contains o if {
	some name
	some o in data.custodia.ext[name].obligations
}

default allow := false

allow if count(denials) == 0

decision := {
	"allow": allow,
	"denials": denials,
	"obligations": obligations,
	"jurisdictions": {
		"applied": lib.jurisdictions,
		"consent_level": data.custodia.jurisdiction.level,
		"decided_by": data.custodia.jurisdiction.decided_by,
		"requirements": data.custodia.jurisdiction.requirements,
	},
	"roles": lib.roles,
	"expired_grants": lib.expired_grants,
}
