//! Connector vocabulary shared by the DLP policies, the content builder and the audit stream.

/// Connectors the clean background uses: all Business (Confidential) in every policy, all in the
/// default environment's core allow-list, all unblockable.
pub const BACKGROUND: [&str; 9] = [
    "shared_office365",
    "shared_sharepointonline",
    "shared_teams",
    "shared_approvals",
    "shared_onedriveforbusiness",
    "shared_excelonlinebusiness",
    "shared_planner",
    "shared_commondataserviceforapps",
    "shared_office365users",
];

/// Connectors the broad policies classify Business besides the background ones (used by plants).
pub const EXTRA_BUSINESS: [&str; 5] = [
    "shared_gmail",
    "shared_dropbox",
    "shared_twitter",
    "shared_sql",
    "shared_azureblob",
];

/// Non-Business (General) connector used by mixing plants.
pub const NON_BUSINESS: &str = "shared_rss";

/// Connector the broad policies block.
pub const BLOCKED: &str = "shared_ftp";

/// Operation blocked by an action rule on `shared_azureblob`.
pub const BLOCKED_ACTION: &str = "DeleteFile_V2";

/// D5 unblockable list.
pub const UNBLOCKABLE: [&str; 16] = [
    "shared_approvals",
    "shared_office365",
    "shared_office365users",
    "shared_teams",
    "shared_excelonlinebusiness",
    "shared_onedriveforbusiness",
    "shared_planner",
    "shared_sharepointonline",
    "shared_commondataserviceforapps",
    "shared_commondataservice",
    "shared_powerbi",
    "shared_todo",
    "shared_office365groups",
    "shared_onenote",
    "shared_yammer",
    "shared_flowpush",
];

/// Display name, brand colour and tier of a connector key.
pub fn meta(key: &str) -> (&'static str, &'static str, &'static str) {
    match key {
        "shared_office365" => ("Office 365 Outlook", "#0078D4", "Standard"),
        "shared_sharepointonline" => ("SharePoint", "#036C70", "Standard"),
        "shared_teams" => ("Microsoft Teams", "#4B53BC", "Standard"),
        "shared_approvals" => ("Approvals", "#0075AB", "Standard"),
        "shared_onedriveforbusiness" => ("OneDrive for Business", "#0078D4", "Standard"),
        "shared_excelonlinebusiness" => ("Excel Online (Business)", "#107C41", "Standard"),
        "shared_planner" => ("Planner", "#31752F", "Standard"),
        "shared_commondataserviceforapps" => ("Microsoft Dataverse", "#637080", "Premium"),
        "shared_office365users" => ("Office 365 Users", "#EB3C00", "Standard"),
        "shared_gmail" => ("Gmail", "#D44638", "Standard"),
        "shared_dropbox" => ("Dropbox", "#0061FF", "Standard"),
        "shared_twitter" => ("X", "#000000", "Standard"),
        "shared_sql" => ("SQL Server", "#BA141A", "Premium"),
        "shared_azureblob" => ("Azure Blob Storage", "#804998", "Premium"),
        "shared_rss" => ("RSS", "#F08A24", "Standard"),
        "shared_ftp" => ("FTP", "#7E7E7E", "Standard"),
        "http" => ("HTTP", "#709727", "Premium"),
        _ => ("Connector", "#666666", "Standard"),
    }
}

/// One operation per connector (trigger-less action) and its parameters' key.
pub fn operation(key: &str) -> &'static str {
    match key {
        "shared_office365" => "SendEmailV2",
        "shared_sharepointonline" => "GetItems",
        "shared_teams" => "PostMessageToConversation",
        "shared_approvals" => "StartAndWaitForAnApproval",
        "shared_onedriveforbusiness" => "CreateFile",
        "shared_excelonlinebusiness" => "AddRowV2",
        "shared_planner" => "CreateTask_V3",
        "shared_commondataserviceforapps" => "ListRecords",
        "shared_office365users" => "UserProfile_V2",
        "shared_gmail" => "SendEmailV2",
        "shared_dropbox" => "CreateFile",
        "shared_twitter" => "Tweet",
        "shared_sql" => "ExecutePassThroughNativeQuery_V2",
        "shared_azureblob" => "CreateFile_V2",
        "shared_rss" => "ListFeedItems",
        "shared_ftp" => "CreateFile",
        _ => "Invoke",
    }
}

/// Lower-case api id for apps.
pub fn app_api_id(key: &str) -> String {
    format!("/providers/microsoft.powerapps/apis/{key}")
}

/// Api id as flows and DLP write it.
pub fn api_id(key: &str) -> String {
    format!("/providers/Microsoft.PowerApps/apis/{key}")
}
