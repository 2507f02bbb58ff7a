package ppgov.custom.app_overshared_test

import rego.v1

import data.ppgov.custom.app_overshared

apps := {"apps": [
	{"id": "a1", "display_name": "Wide", "environment_id": "e", "shared_users_count": 50},
	{"id": "a2", "display_name": "Narrow", "environment_id": "e", "shared_users_count": 3},
]}

test_default_threshold_from_config if {
	result := app_overshared.findings with input as apps
	count(result) == 1
	some f in result
	f.resource.id == "a1"
	f.evidence.max_users == 20
}

test_threshold_is_configurable if {
	result := app_overshared.findings with input as apps with data.config.thresholds.app_share_max_users as 2
	count(result) == 2
}
