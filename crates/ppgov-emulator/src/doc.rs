//! [`Doc`]: one JSON document kept as its compact serialised text.
//!
//! A `serde_json::Value` tree costs about five bytes of memory per byte of JSON (every object is
//! an `IndexMap`, every string its own allocation). The emulator holds hundreds of thousands of
//! resource documents and audit records, so it keeps them as text, parses one only when a write
//! changes it, and writes list pages straight from the text.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// One level of an object, its values left as text.
type RawMap = indexmap::IndexMap<String, Box<RawValue>>;

/// A JSON document stored as compact text (exactly what `serde_json::to_string` gives for the
/// `Value` it was made from, keys in the same order).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Doc(Box<RawValue>);

impl<'de> Deserialize<'de> for Doc {
    /// Reads any JSON value, from any deserializer (`serde_json::from_value` included, which
    /// cannot produce a `RawValue` directly), and stores it compactly.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        Value::deserialize(d).map(|v| Doc::new(&v))
    }
}

impl Doc {
    /// Serialises `value` compactly.
    pub fn new(value: &Value) -> Doc {
        // Serialising a `Value` cannot fail (its keys are strings); `null` is a safe fallback.
        Doc(serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// `null`.
    pub fn null() -> Doc {
        Doc(RawValue::NULL.to_owned())
    }

    /// Parses the document (for writes and tests; reads should use [`Doc::raw`]).
    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    /// Replaces the document after a write.
    pub fn set(&mut self, value: &Value) {
        *self = Doc::new(value);
    }

    /// Parses, lets `f` change the value, and stores it back.
    pub fn update<R>(&mut self, f: impl FnOnce(&mut Value) -> R) -> R {
        let mut v = self.value();
        let out = f(&mut v);
        self.set(&v);
        out
    }

    /// The raw text, to embed as is in a response.
    pub fn raw(&self) -> &RawValue {
        &self.0
    }

    /// The compact JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// A copy with `properties.<key>` set to `value` (appended when new, replaced in place when
    /// present), parsing only the top two levels: the rest of the text is copied as is. A
    /// document without a `properties` object comes back unchanged.
    pub fn with_property(&self, key: &str, value: &RawValue) -> Doc {
        let spliced = || -> Option<Box<RawValue>> {
            let mut top: RawMap = serde_json::from_str(self.text()).ok()?;
            let props = top.get("properties")?;
            let mut inner: RawMap = serde_json::from_str(props.get()).ok()?;
            inner.insert(key.to_string(), value.to_owned());
            top.insert(
                "properties".to_string(),
                serde_json::value::to_raw_value(&inner).ok()?,
            );
            serde_json::value::to_raw_value(&top).ok()
        };
        spliced().map_or_else(|| self.clone(), Doc)
    }

    /// Size of the text in bytes (what the document costs in memory, roughly).
    pub fn len(&self) -> usize {
        self.0.get().len()
    }

    /// Whether the text is empty (never, for a valid document; here for clippy's `len` rule).
    pub fn is_empty(&self) -> bool {
        self.0.get().is_empty()
    }
}

impl From<&Value> for Doc {
    fn from(value: &Value) -> Doc {
        Doc::new(value)
    }
}

impl From<Value> for Doc {
    fn from(value: Value) -> Doc {
        Doc::new(&value)
    }
}

impl PartialEq for Doc {
    fn eq(&self, other: &Doc) -> bool {
        self.text() == other.text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_with_key_order() {
        let v = json!({"z": 1, "a": {"y": [1, 2.5, "x"], "b": null}});
        let d = Doc::new(&v);
        assert_eq!(d.text(), r#"{"z":1,"a":{"y":[1,2.5,"x"],"b":null}}"#);
        assert_eq!(d.value(), v);
        assert_eq!(serde_json::to_string(&d).unwrap(), d.text());
        let back: Doc = serde_json::from_str(d.text()).unwrap();
        assert_eq!(back, d);
        let from_tree: Doc = serde_json::from_value(v).unwrap();
        assert_eq!(from_tree, d);
    }

    #[test]
    fn with_property_splices_into_properties() {
        let d = Doc::new(
            &json!({"name": "f", "properties": {"state": "Started", "x": {"k": 1}}, "z": 0}),
        );
        let def = Doc::new(&json!({"triggers": {"manual": {}}}));
        let out = d.with_property("definition", def.raw());
        assert_eq!(
            out.text(),
            r#"{"name":"f","properties":{"state":"Started","x":{"k":1},"definition":{"triggers":{"manual":{}}}},"z":0}"#
        );
        let replaced = d.with_property("state", Doc::new(&json!("Stopped")).raw());
        assert_eq!(replaced.value()["properties"]["state"], "Stopped");
        let plain = Doc::new(&json!([1]));
        assert_eq!(plain.with_property("a", def.raw()), plain);
    }

    #[test]
    fn update_stores_the_change() {
        let mut d = Doc::new(&json!({"properties": {"state": "Started"}}));
        d.update(|v| v["properties"]["state"] = json!("Stopped"));
        assert_eq!(d.text(), r#"{"properties":{"state":"Stopped"}}"#);
    }
}
