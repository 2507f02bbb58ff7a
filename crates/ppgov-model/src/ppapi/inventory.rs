//! Inventory API (`POST /resourcequery/resources/query`): request and result.

use crate::common::{JsonMap, OwnerRef};
use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Request body. PascalCase keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryRequest {
    /// Always `PowerPlatformResources` today.
    pub table_name: String,
    /// Clauses, applied in order.
    #[serde(default)]
    pub clauses: Vec<Clause>,
    /// Paging options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<QueryOptions>,
}

impl QueryRequest {
    /// The table every Power Platform query targets.
    pub const TABLE: &'static str = "PowerPlatformResources";

    /// A query on `PowerPlatformResources`.
    pub fn new(clauses: Vec<Clause>) -> Self {
        Self {
            table_name: Self::TABLE.to_owned(),
            clauses,
            options: None,
        }
    }

    /// The same query for the page after `skip_token`, re-sending `Top` (ARG needs it on every
    /// page) and never `Skip` (it would override the token's offset).
    pub fn next_page(&self, top: u32, skip_token: &str) -> Self {
        Self {
            options: Some(QueryOptions {
                top: Some(top),
                skip: None,
                skip_token: Some(skip_token.to_owned()),
            }),
            ..self.clone()
        }
    }
}

/// True when every clause object in a raw request body (nested join sub-queries included)
/// has `"$type"` as its first key, as the service requires. For the emulator: serde itself
/// accepts the tag anywhere, so check the raw JSON (parsed with key order preserved).
pub fn dollar_type_first(body: &Value) -> bool {
    let Some(clauses) = body.get("Clauses").and_then(Value::as_array) else {
        return true;
    };
    clauses.iter().all(|c| {
        let Some(obj) = c.as_object() else {
            return false;
        };
        obj.keys().next().map(String::as_str) == Some("$type")
            && obj.get("RightTable").is_none_or(dollar_type_first)
    })
}

/// `Options`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryOptions {
    /// Rows per page (max 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<u32>,
    /// Rows to skip; never together with a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<u32>,
    /// Continuation token from the previous page; `""` means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_token: Option<String>,
}

/// One clause. Serialised with `"$type"` as the first key (the service rejects it elsewhere).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "$type", rename_all_fields = "PascalCase")]
pub enum Clause {
    /// `| where FieldName Operator Values`; string values carry their own single quotes.
    #[serde(rename = "where")]
    Where {
        /// Column or expression.
        field_name: String,
        /// KQL operator, e.g. `==`, `in~`.
        operator: String,
        /// KQL literals.
        #[serde(default)]
        values: Vec<String>,
    },
    /// `| project a, b, alias = expr`.
    #[serde(rename = "project")]
    Project {
        /// Columns.
        field_list: Vec<String>,
    },
    /// `| take N`.
    #[serde(rename = "take")]
    Take {
        /// Row count.
        take_count: u32,
    },
    /// `| sort by k1 dir1, k2 dir2` in key order.
    #[serde(rename = "orderby")]
    OrderBy {
        /// Expression -> direction, insertion-ordered.
        field_names_asc_desc: IndexMap<String, SortDirection>,
    },
    /// `| distinct a, b`.
    #[serde(rename = "distinct")]
    Distinct {
        /// Columns.
        field_list: Vec<String>,
    },
    /// `| count`.
    #[serde(rename = "count")]
    Count,
    /// `| summarize ...`.
    #[serde(rename = "summarize")]
    Summarize {
        /// The aggregation.
        summarize_clause_expression: SummarizeExpression,
    },
    /// `| extend FieldName = Expression`.
    #[serde(rename = "extend")]
    Extend {
        /// New column.
        field_name: String,
        /// Raw KQL.
        expression: String,
    },
    /// `| join kind=JoinKind (RightTable) on $left.L == $right.R`.
    #[serde(rename = "join")]
    Join {
        /// `innerunique`, `leftouter`, ...
        join_kind: String,
        /// Sub-query.
        right_table: Box<JoinTable>,
        /// Left key column.
        left_column_name: String,
        /// Right key column.
        right_column_name: String,
    },
}

/// `RightTable` of a join.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JoinTable {
    /// Table.
    pub table_name: String,
    /// Clauses of the sub-query.
    #[serde(default)]
    pub clauses: Vec<Clause>,
}

/// `SummarizeClauseExpression`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummarizeExpression {
    /// `count` or `argmax`.
    pub operator_name: String,
    /// Output column (count) or the arg_max field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_field_name: Option<String>,
    /// Group-by columns.
    #[serde(default)]
    pub field_list: Vec<String>,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDirection {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// Response body. camelCase keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult {
    /// Rows matching the query.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub total_records: Option<i64>,
    /// Rows in this page.
    #[serde(default, deserialize_with = "crate::common::lenient::opt_i64")]
    pub count: Option<i64>,
    /// ARG truncation flag; do not page on it, use [`QueryResult::next_token`].
    #[serde(default)]
    pub result_truncated: Option<ResultTruncated>,
    /// Continuation token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_token: Option<String>,
    /// Rows.
    #[serde(default, deserialize_with = "crate::common::lenient::null_vec")]
    pub data: Vec<ResourceRow>,
}

impl QueryResult {
    /// The token for the next page; absent, null or empty means done.
    pub fn next_token(&self) -> Option<&str> {
        self.skip_token.as_deref().filter(|s| !s.is_empty())
    }
}

/// `resultTruncated`: the .NET enum `True = 0, False = 1` written as an int.
///
/// Read leniently (int, bool, or the strings "0", "1", "true", "false"); written as the int.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultTruncated {
    /// Wire `0` / `true`: the result was cut (e.g. by `take`) and has no token.
    Truncated,
    /// Wire `1` / `false`: complete, or continued through `skipToken`.
    NotTruncated,
}

impl Serialize for ResultTruncated {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(match self {
            Self::Truncated => 0,
            Self::NotTruncated => 1,
        })
    }
}

impl<'de> Deserialize<'de> for ResultTruncated {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = Value::deserialize(d)?;
        match &v {
            Value::Number(n) if n.as_i64() == Some(0) => Ok(Self::Truncated),
            Value::Number(n) if n.as_i64() == Some(1) => Ok(Self::NotTruncated),
            Value::Bool(true) => Ok(Self::Truncated),
            Value::Bool(false) => Ok(Self::NotTruncated),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "0" | "true" => Ok(Self::Truncated),
                "1" | "false" => Ok(Self::NotTruncated),
                _ => Err(D::Error::custom(format!("unknown resultTruncated {v}"))),
            },
            _ => Err(D::Error::custom(format!("unknown resultTruncated {v}"))),
        }
    }
}

/// One row. After `project` only projected columns exist, so every field is optional and
/// extra columns (`extend`/`join`) land in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRow {
    /// ARM-style id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Resource GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Lower-case type, e.g. `microsoft.powerapps/canvasapps`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Property bag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<ResourceProperties>,
    /// Other columns (ARM envelope nulls, `extend`/`join` columns).
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// The `properties` bag; only shared fields are typed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceProperties {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Environment id (casing may differ from the environment row's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Creator: id string or object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<OwnerRef>,
    /// Owner (the creator for flows): id string or object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<OwnerRef>,
    /// Last modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
    /// Last modifier: id string (may be `""`) or object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<OwnerRef>,
    /// Everything else (type-specific).
    #[serde(flatten)]
    pub extra: JsonMap,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_type_is_serialised_first() {
        let q = QueryRequest::new(vec![
            Clause::Where {
                field_name: "type".into(),
                operator: "in~".into(),
                values: vec!["'microsoft.powerapps/canvasapps'".into()],
            },
            Clause::Count,
        ]);
        let s = serde_json::to_string(&q).unwrap();
        assert!(
            s.starts_with(r#"{"TableName":"PowerPlatformResources","Clauses":[{"$type":"where","FieldName":"type""#),
            "{s}"
        );
        assert!(s.contains(r#"{"$type":"count"}"#), "{s}");
    }

    #[test]
    fn detects_late_dollar_type() {
        let good = serde_json::to_value(QueryRequest::new(vec![Clause::Count])).unwrap();
        assert!(dollar_type_first(&good));
        let bad: Value = serde_json::from_str(
            r#"{"TableName":"T","Clauses":[{"$type":"join","JoinKind":"inner","RightTable":{"TableName":"T","Clauses":[{"FieldList":["a"],"$type":"project"}]},"LeftColumnName":"a","RightColumnName":"a"}]}"#,
        )
        .unwrap();
        assert!(!dollar_type_first(&bad));
        // serde accepts it anyway, which is why the raw check exists.
        assert!(serde_json::from_value::<QueryRequest>(bad).is_ok());
    }

    #[test]
    fn orderby_keeps_insertion_order() {
        let mut m = IndexMap::new();
        m.insert(
            "tostring(properties.createdAt)".to_owned(),
            SortDirection::Desc,
        );
        m.insert("name".to_owned(), SortDirection::Asc);
        let c = Clause::OrderBy {
            field_names_asc_desc: m,
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"$type":"orderby","FieldNamesAscDesc":{"tostring(properties.createdAt)":"desc","name":"asc"}}"#
        );
        let back: Clause = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn result_truncated_is_lenient() {
        for (raw, want) in [
            ("0", ResultTruncated::Truncated),
            ("1", ResultTruncated::NotTruncated),
            ("true", ResultTruncated::Truncated),
            ("false", ResultTruncated::NotTruncated),
            (r#""0""#, ResultTruncated::Truncated),
            (r#""1""#, ResultTruncated::NotTruncated),
            (r#""true""#, ResultTruncated::Truncated),
            (r#""False""#, ResultTruncated::NotTruncated),
        ] {
            let r: ResultTruncated = serde_json::from_str(raw).unwrap();
            assert_eq!(r, want, "{raw}");
        }
        assert!(serde_json::from_str::<ResultTruncated>("2").is_err());
        assert_eq!(
            serde_json::to_string(&ResultTruncated::NotTruncated).unwrap(),
            "1"
        );
    }

    #[test]
    fn next_page_drops_skip_and_keeps_top() {
        let mut q = QueryRequest::new(vec![Clause::Take { take_count: 5 }]);
        q.options = Some(QueryOptions {
            top: Some(1000),
            skip: Some(0),
            skip_token: Some(String::new()),
        });
        let n = q.next_page(1000, "tok");
        assert_eq!(
            serde_json::to_value(&n).unwrap()["Options"],
            serde_json::json!({"Top":1000,"SkipToken":"tok"})
        );
    }

    #[test]
    fn owner_may_be_string_or_object() {
        let p: ResourceProperties = serde_json::from_str(
            r#"{"ownerId":"oid-1","createdBy":{"id":"oid-2","displayName":"A"},"lastModifiedBy":"","x":1}"#,
        )
        .unwrap();
        assert_eq!(p.owner_id.as_ref().and_then(OwnerRef::id), Some("oid-1"));
        assert_eq!(p.created_by.as_ref().and_then(OwnerRef::id), Some("oid-2"));
        assert_eq!(p.last_modified_by.as_ref().and_then(OwnerRef::id), None);
        assert_eq!(p.extra["x"], 1);
    }
}
