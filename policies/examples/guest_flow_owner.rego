# Flows whose creator is a guest (Entra userType Guest).
package ppgov.custom.guest_flow_owner

import rego.v1

metadata := {
	"id": "CUSTOM-GUEST-FLOW",
	"title": "Flow owned by a guest",
	"severity": "high",
	"resource_kind": "flow",
	"remediation": "Reassign the flow to a member account and review what it accesses.",
}

findings contains f if {
	some flow in input.flows
	creator := lower(flow.creator)
	p := input.principals[creator]
	p.guest == true
	f := {
		"resource": {"kind": "flow", "id": flow.id, "name": flow.display_name, "environment_id": flow.environment_id},
		"message": sprintf("Flow '%s' (%s) is owned by guest %s.", [flow.display_name, flow.id, creator]),
		"evidence": {"creator": creator, "upn": p.upn},
	}
}
