//! Logic Apps workflow definitions for flows, and the `definitionSummary` derived from them.

use serde_json::{Map, Value, json};

use super::catalog::{self, api_id};

/// Builds one workflow definition action by action (each runs after the previous one).
pub struct DefBuilder {
    triggers: Map<String, Value>,
    actions: Map<String, Value>,
    last: Option<String>,
    /// Connector keys used through OpenApiConnection (for `connectionReferences`).
    pub connectors: Vec<String>,
}

impl DefBuilder {
    /// Empty definition.
    pub fn new() -> Self {
        DefBuilder {
            triggers: Map::new(),
            actions: Map::new(),
            last: None,
            connectors: Vec::new(),
        }
    }

    fn use_connector(&mut self, key: &str) {
        if !self.connectors.iter().any(|c| c == key) {
            self.connectors.push(key.to_string());
        }
    }

    /// Recurrence trigger.
    pub fn recurrence(&mut self, frequency: &str, interval: u32) {
        self.triggers.insert(
            "Recurrence".into(),
            json!({"type": "Recurrence", "recurrence": {"frequency": frequency, "interval": interval}}),
        );
    }

    /// Request trigger (`Button` or `Http`).
    pub fn request(&mut self, kind: &str) {
        let name = if kind == "Button" {
            "manual"
        } else {
            "When_a_HTTP_request_is_received"
        };
        self.triggers.insert(
            name.into(),
            json!({"type": "Request", "kind": kind, "inputs": {"schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": []}}}),
        );
    }

    /// Connector trigger.
    pub fn connector_trigger(&mut self, key: &str, operation: &str, parameters: Value) {
        self.use_connector(key);
        self.triggers.insert(
            format!("When_{}", operation.to_lowercase()),
            json!({"type": "OpenApiConnection", "recurrence": {"frequency": "Minute", "interval": 5},
                   "inputs": {"host": {"connectionName": key, "operationId": operation, "apiId": api_id(key)},
                              "parameters": parameters, "authentication": "@parameters('$authentication')"}}),
        );
    }

    fn push(&mut self, name: &str, mut action: Value) {
        let run_after = match &self.last {
            Some(prev) => json!({prev.clone(): ["Succeeded"]}),
            None => json!({}),
        };
        if let Some(obj) = action.as_object_mut() {
            obj.insert("runAfter".into(), run_after);
        }
        self.actions.insert(name.to_string(), action);
        self.last = Some(name.to_string());
    }

    /// OpenApiConnection action.
    pub fn op(&mut self, name: &str, key: &str, operation: &str, parameters: Value) {
        self.use_connector(key);
        self.push(name, connector_action(key, operation, parameters));
    }

    /// OpenApiConnection action whose inputs are marked secure (a look-alike that holds no secret).
    pub fn secure_op(&mut self, name: &str, key: &str, operation: &str, parameters: Value) {
        self.use_connector(key);
        let mut a = connector_action(key, operation, parameters);
        if let Some(obj) = a.as_object_mut() {
            obj.insert(
                "runtimeConfiguration".into(),
                json!({"secureData": {"properties": ["inputs", "outputs"]}}),
            );
        }
        self.push(name, a);
    }

    /// Http action.
    pub fn http(
        &mut self,
        name: &str,
        method: &str,
        uri: &str,
        headers: Value,
        body: Option<Value>,
    ) {
        let mut inputs = json!({"method": method, "uri": uri, "headers": headers});
        if let (Some(b), Some(obj)) = (body, inputs.as_object_mut()) {
            obj.insert("body".into(), b);
        }
        self.push(name, json!({"type": "Http", "inputs": inputs}));
    }

    /// Compose action.
    pub fn compose(&mut self, name: &str, inputs: Value) {
        self.push(name, json!({"type": "Compose", "inputs": inputs}));
    }

    /// If action whose true branch runs one connector action.
    pub fn if_then(
        &mut self,
        name: &str,
        expression: Value,
        key: &str,
        operation: &str,
        parameters: Value,
    ) {
        self.use_connector(key);
        let inner = connector_action(key, operation, parameters);
        self.push(
            name,
            json!({"type": "If", "expression": expression,
                   "actions": {format!("{operation}_in_branch"): inner}, "else": {"actions": {}}}),
        );
    }

    /// Foreach over an expression, running one Compose.
    pub fn foreach(&mut self, name: &str, over: &str) {
        self.push(
            name,
            json!({"type": "Foreach", "foreach": over,
                   "actions": {"Compose_item": {"type": "Compose", "inputs": "@items('Apply_to_each')?['Title']", "runAfter": {}}}}),
        );
    }

    /// The definition JSON.
    pub fn finish(self) -> Value {
        json!({
            "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
            "contentVersion": "1.0.0.0",
            "parameters": {
                "$connections": {"defaultValue": {}, "type": "Object"},
                "$authentication": {"defaultValue": {}, "type": "SecureObject"}
            },
            "triggers": Value::Object(self.triggers),
            "actions": Value::Object(self.actions)
        })
    }
}

impl Default for DefBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn connector_action(key: &str, operation: &str, parameters: Value) -> Value {
    json!({"type": "OpenApiConnection",
           "inputs": {"host": {"connectionName": key, "operationId": operation, "apiId": api_id(key)},
                      "parameters": parameters, "authentication": "@parameters('$authentication')"}})
}

fn summarise(op: &Value, out: &mut Vec<Value>) {
    let ty = op.get("type").and_then(Value::as_str).unwrap_or("Unknown");
    let mut s = json!({"type": ty});
    if let (Some(id), Some(obj)) = (op.pointer("/inputs/host/operationId"), s.as_object_mut()) {
        obj.insert("swaggerOperationId".into(), id.clone());
    }
    if let (Some(kind), Some(obj)) = (op.get("kind"), s.as_object_mut()) {
        obj.insert("kind".into(), kind.clone());
    }
    out.push(s);
    for nested in ["actions"] {
        if let Some(Value::Object(m)) = op.get(nested) {
            for v in m.values() {
                summarise(v, out);
            }
        }
    }
    if let Some(Value::Object(m)) = op.pointer("/else/actions") {
        for v in m.values() {
            summarise(v, out);
        }
    }
}

/// `definitionSummary` of a definition (nested actions flattened).
pub fn summary(definition: &Value, metadata_id: &str) -> Value {
    let mut triggers = Vec::new();
    if let Some(Value::Object(m)) = definition.get("triggers") {
        for v in m.values() {
            summarise(v, &mut triggers);
        }
    }
    for t in &mut triggers {
        if let Some(obj) = t.as_object_mut() {
            obj.insert(
                "metadata".into(),
                json!({"operationMetadataId": metadata_id}),
            );
        }
    }
    let mut actions = Vec::new();
    if let Some(Value::Object(m)) = definition.get("actions") {
        for v in m.values() {
            summarise(v, &mut actions);
        }
    }
    json!({"triggers": triggers, "actions": actions})
}

/// Default parameters of a connector's operation, with look-alikes of secrets that are not
/// secrets (GUID list ids, expressions, parameter references).
pub fn params(key: &str, guid: &str, domain: &str) -> Value {
    match key {
        "shared_sharepointonline" => {
            json!({"dataset": format!("https://{}.sharepoint.com/sites/Operations", domain.split('.').next().unwrap_or("contoso")), "table": guid})
        }
        "shared_office365" => {
            json!({"emailMessage/To": "@{triggerOutputs()?['body/Author/Email']}", "emailMessage/Subject": "Status update", "emailMessage/Body": "<p>@{body('Get_token')?['token']}</p>"})
        }
        "shared_teams" => {
            json!({"poster": "Flow bot", "location": "Channel", "body/recipient/groupId": guid, "body/messageBody": "@{triggerOutputs()}"})
        }
        "shared_approvals" => {
            json!({"approvalType": "Basic", "WebhookApprovalCreationInput/title": "Please approve", "WebhookApprovalCreationInput/assignedTo": "@parameters('Approver (cr1a2_Approver)')"})
        }
        "shared_onedriveforbusiness" => {
            json!({"folderPath": "/Reports", "name": "report.csv", "body": "@body('Create_CSV_table')"})
        }
        "shared_excelonlinebusiness" => {
            json!({"source": "me", "drive": guid, "file": "/Book.xlsx", "table": "{00000000-0001-0000-0000-000000000000}"})
        }
        "shared_planner" => {
            json!({"body/planId": guid, "body/title": "@{triggerOutputs()?['body/Title']}"})
        }
        "shared_commondataserviceforapps" => {
            json!({"entityName": "accounts", "$filter": "statecode eq 0", "$top": 50})
        }
        "shared_office365users" => json!({"id": "@{triggerOutputs()?['headers/x-ms-user-email']}"}),
        other => json!({"input": format!("@parameters('{}')", catalog::meta(other).0)}),
    }
}
