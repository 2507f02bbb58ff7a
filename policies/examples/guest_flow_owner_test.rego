package ppgov.custom.guest_flow_owner_test

import rego.v1

import data.ppgov.custom.guest_flow_owner

snapshot := {
	"flows": [
		{"id": "f1", "display_name": "Guest flow", "environment_id": "env-1", "creator": "G1"},
		{"id": "f2", "display_name": "Member flow", "environment_id": "env-1", "creator": "m1"},
		{"id": "f3", "display_name": "Unknown creator", "environment_id": "env-1", "creator": "zz"},
	],
	"principals": {
		"g1": {"id": "g1", "guest": true, "upn": "ext_contoso.com#EXT#@tenant.onmicrosoft.com"},
		"m1": {"id": "m1", "guest": false, "upn": "m1@tenant.com"},
	},
}

test_guest_creator_is_flagged if {
	result := guest_flow_owner.findings with input as snapshot
	count(result) == 1
	some f in result
	f.resource.id == "f1"
	f.resource.kind == "flow"
}

test_members_are_not_flagged if {
	result := guest_flow_owner.findings with input as {"flows": [snapshot.flows[1]], "principals": snapshot.principals}
	count(result) == 0
}

test_metadata_follows_the_contract if {
	guest_flow_owner.metadata.id == "CUSTOM-GUEST-FLOW"
	guest_flow_owner.metadata.resource_kind == "flow"
}
