# Purpose limitation: a declared purpose, listed in the dataset's contract, on a legal basis
# the policy allows for it.
package custodia.purpose

import rego.v1

import data.custodia.lib

deny contains d if {
	lib.purpose == ""
	d := {
		"rule": "purpose.missing",
		"message": "the request declares no purpose",
		"fix": "name the purpose the data is used for (input.purpose, a pipeline's or step's purpose:)",
	}
}

deny contains d if {
	lib.purpose != ""
	not data.custodia.params.purposes[lib.purpose]
	d := {
		"rule": "purpose.unknown",
		"message": sprintf("purpose %q has no allowed legal bases in the policy", [lib.purpose]),
		"fix": sprintf("add %q under purposes in policies/params.json with the legal bases allowed for it", [lib.purpose]),
	}
}

deny contains d if {
	lib.purpose != ""
	count(lib.contract_basis) == 0
	d := {
		"rule": "purpose.not_in_contract",
		"message": sprintf("dataset %q may not be used for %q: its contract lists %v", [lib.dataset_name, lib.purpose, lib.contract_purposes]),
		"fix": sprintf("use a purpose the contract lists, or add %q with its legal basis to the contract of %q (custodia contract apply)", [lib.purpose, lib.dataset_name]),
	}
}

deny contains d if {
	allowed := data.custodia.params.purposes[lib.purpose].legal_bases
	lib.legal_basis != ""
	not lib.legal_basis in allowed
	d := {
		"rule": "purpose.legal_basis",
		"message": sprintf("legal basis %q is not allowed for purpose %q (allowed: %v)", [lib.legal_basis, lib.purpose, allowed]),
		"fix": "change the purpose's legal_basis in the contract to an allowed one, or allow it under purposes in policies/params.json (a DPO's decision)",
	}
}

deny contains d if {
	input.legal_basis
	count(lib.contract_basis) > 0
	not input.legal_basis in lib.contract_basis
	d := {
		"rule": "purpose.basis_mismatch",
		"message": sprintf("the request claims legal basis %q for %q but the contract of %q says %v", [input.legal_basis, lib.purpose, lib.dataset_name, lib.contract_basis]),
		"fix": "drop legal_basis from the request (the contract's applies) or change the contract",
	}
}
