//! DLP (data) policy shapes: GOV v2 (D1/D2), GOV v1 (D3), legacy BAP `apiPolicies` (D4) and
//! connector metadata (D5).

mod connectors;
mod legacy;
mod policy;

pub use connectors::{ConnectorMetadata, ConnectorMetadataEntry};
pub use legacy::{
    ApiGroup, ApiPolicy, ApiPolicyConstraint, ApiPolicyDefinition, ApiPolicyProperties,
    ApiPolicyRule, EnvironmentFilterParameters,
};
pub use policy::{
    ActionRule, Classification, ConnectorActionConfiguration, ConnectorConfigurationsDefinition,
    ConnectorGroup, CustomConnectorUrlPatternsDefinition, EndpointConfiguration, EndpointRule,
    EnvironmentFilterType, PolicyDefinition, PolicyV1, PolicyV2, RuleBehavior, UrlPatternRule,
};
