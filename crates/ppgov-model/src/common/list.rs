//! The paged list envelope used by BAP, Power Apps, Flow, Dataverse and Graph.

use serde::{Deserialize, Serialize};

/// One page of a list: `{"value":[...], "nextLink"?}` (BAP/Power Apps/Flow) or the OData form
/// `{"value":[...], "@odata.nextLink"?, "@odata.context"?}` (Dataverse, Graph). Both link keys
/// are accepted; use [`ListPage::next_link`] to read whichever is present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>", serialize = "T: Serialize"))]
pub struct ListPage<T> {
    /// The items of this page; `null` or absent reads as empty.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub value: Vec<T>,
    /// Absolute URL of the next page (BAP, Power Apps, Flow spelling).
    #[serde(rename = "nextLink", default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    /// Absolute URL of the next page (OData spelling).
    #[serde(
        rename = "@odata.nextLink",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_next_link: Option<String>,
    /// OData metadata context URL.
    #[serde(
        rename = "@odata.context",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_context: Option<String>,
}

impl<T> ListPage<T> {
    /// A single page with no continuation.
    pub fn new(value: Vec<T>) -> Self {
        Self {
            value,
            next_link: None,
            odata_next_link: None,
            odata_context: None,
        }
    }

    /// The continuation URL under either key; empty strings count as "no more pages".
    pub fn next_link(&self) -> Option<&str> {
        self.next_link
            .as_deref()
            .or(self.odata_next_link.as_deref())
            .filter(|s| !s.is_empty())
    }
}

impl<T> Default for ListPage<T> {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn accepts_both_link_keys_and_null_value() {
        let a: ListPage<Value> = serde_json::from_str(r#"{"value":[1],"nextLink":"u1"}"#).unwrap();
        assert_eq!(a.next_link(), Some("u1"));
        let b: ListPage<Value> =
            serde_json::from_str(r#"{"@odata.context":"c","value":[],"@odata.nextLink":"u2"}"#)
                .unwrap();
        assert_eq!(b.next_link(), Some("u2"));
        let c: ListPage<Value> = serde_json::from_str(r#"{"value":null,"nextLink":""}"#).unwrap();
        assert!(c.value.is_empty());
        assert_eq!(c.next_link(), None);
    }
}
