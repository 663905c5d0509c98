# Residency: personal data of region R is processed and stored in R. Moving it needs a
# transfer mechanism configured in custodia.toml ([[transfers]]) that every applicable law
# accepts; an allowed transfer is audited.
package custodia.residency

import rego.v1

import data.custodia.lib

params := data.custodia.params

targets contains t if {
	some t in {lib.compute_region, lib.storage_region}
	t != lib.data_region
}

mechanisms(target) := {t.mechanism |
	some t in object.get(lib.config, "transfers", [])
	t.from == lib.data_region
	t.to == target
}

accepted(j, m) if m in params.jurisdictions[j].transfer_mechanisms

# A law without transfer rules (CCPA) accepts any configured mechanism.
accepted(j, _) if count(params.jurisdictions[j].transfer_mechanisms) == 0

usable(target) := {m |
	some m in mechanisms(target)
	every j in lib.jurisdictions {
		accepted(j, m)
	}
}

deny contains d if {
	lib.has_personal
	lib.data_region == ""
	d := {
		"rule": "residency.no_region",
		"message": sprintf("dataset %q holds personal data but has no region", [lib.dataset_name]),
		"fix": "set region: in its contract (one of the workspace's [regions])",
	}
}

deny contains d if {
	lib.has_personal
	lib.data_region != ""
	some target in targets
	count(mechanisms(target)) == 0
	d := {
		"rule": "residency.no_transfer_mechanism",
		"message": sprintf("personal data of region %q would move to %q, and no transfer mechanism is configured for %s -> %s", [lib.data_region, target, lib.data_region, target]),
		"fix": sprintf("process it in %q, or add [[transfers]] from = %q, to = %q, mechanism = \"adequacy|scc|bcr|...\" to custodia.toml", [lib.data_region, lib.data_region, target]),
	}
}

deny contains d if {
	lib.has_personal
	some target in targets
	count(mechanisms(target)) > 0
	count(usable(target)) == 0
	some j in lib.jurisdictions
	some m in mechanisms(target)
	not accepted(j, m)
	d := {
		"rule": sprintf("residency.%s.mechanism", [j]),
		"message": sprintf("%s does not accept %v for moving personal data from %q to %q", [params.jurisdictions[j].name, sort(mechanisms(target)), lib.data_region, target]),
		"fix": sprintf("configure a mechanism %s accepts: %v", [params.jurisdictions[j].name, params.jurisdictions[j].transfer_mechanisms]),
	}
}

obligations contains o if {
	lib.has_personal
	some target in targets
	count(usable(target)) > 0
	o := {
		"kind": "audit",
		"reason": "transfer",
		"from": lib.data_region,
		"to": target,
		"mechanism": min(usable(target)),
		"rule": "residency.transfer",
	}
}
