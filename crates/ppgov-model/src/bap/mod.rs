//! BAP (`api.bap.microsoft.com`, Microsoft.BusinessAppPlatform) shapes: environments (E1-E5),
//! lifecycle operations (E6), tenant settings (E7/E8), tenant info (E9), tenant isolation
//! (E10) and environment role assignments (R1/R2).

mod environment;
mod lifecycle;
mod roles;
mod tenant;
mod tenant_settings;

pub use environment::{
    Capacity, Environment, EnvironmentPatch, EnvironmentPatchProperties, EnvironmentProperties,
    EnvironmentSku, EnvironmentStates, GovernanceConfiguration, GovernanceSettings,
    LinkedEnvironmentMetadata, LinkedEnvironmentPatch, ProtectionLevel, RuntimeState,
    RuntimeStatePatch, StatesPatch,
};
pub use lifecycle::{LifecycleOperation, LifecycleStage, LifecycleState, LinkPath};
pub use roles::{
    ModifyRoleAssignmentsRequest, ModifyRoleAssignmentsResponse, RoleAssignment, RoleAssignmentAdd,
    RoleAssignmentAddProperties, RoleAssignmentProperties, RoleAssignmentResult, RoleDefinitionRef,
};
pub use tenant::{
    AllowedTenant, IsolationDirection, TenantInfo, TenantIsolationPolicy, TenantIsolationProperties,
};
pub use tenant_settings::{
    GovernancePolicySettings, GovernanceTenantSettings, PowerAppsTenantSettings,
    PowerAutomateTenantSettings, PowerPlatformSettings, TenantSettings,
};
