# Apps shared with more users than data.config.thresholds.app_share_max_users allows.
package ppgov.custom.app_overshared

import rego.v1

metadata := {
	"id": "CUSTOM-APP-OVERSHARED",
	"title": "App shared with more users than the configured maximum",
	"severity": "medium",
	"resource_kind": "app",
	"remediation": "Share the app with a group sized to its audience, or remove users who do not need it.",
}

max_users := data.config.thresholds.app_share_max_users

findings contains f if {
	some app in input.apps
	app.shared_users_count > max_users
	f := {
		"resource": {"kind": "app", "id": app.id, "name": app.display_name, "environment_id": app.environment_id},
		"message": sprintf("App '%s' (%s) is shared with %d users (maximum %d).", [app.display_name, app.id, app.shared_users_count, max_users]),
		"evidence": {"shared_users_count": app.shared_users_count, "max_users": max_users},
	}
}
