//! Typed payloads from the body's JSON, with errors as data.
//!
//! A `serde::Deserializer` over `serde_json::Value` whose error says what was wrong (a
//! missing, unknown or mistyped field, ...) and where (the keys from the root), so
//! `dispatch` names the field without reading serde_json's messages. It is one concrete
//! deserializer with one error type, so each payload's `Deserialize` is compiled once;
//! a generic path tracker around a generic value deserializer compiled it per wrapper
//! and cost each wasm module about 60 KB (docs/ARCHITECTURE.md, "Module size").
//!
//! It hands values to serde as a JSON value tree always has: `null` is the unit, a
//! number is `u64`, else `i64`, else `f64`; an enum is a string, or an object of one
//! key for a variant with a value.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

/// What serde reported about a payload.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadErrorKind {
    MissingField(&'static str),
    UnknownField(String),
    /// The variant given and the ones accepted.
    UnknownVariant(String, &'static [&'static str]),
    /// A value of the wrong type or out of range: what came, as serde describes it
    /// (`string "42"`, `integer `7``), and what was expected.
    Invalid {
        got: String,
        expected: String,
    },
    InvalidLength(usize, String),
    Custom(String),
}

/// A payload that does not fit its type: what was wrong, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadError {
    pub kind: PayloadErrorKind,
    /// Keys (and `[index]`es) from the value that failed up to the root: pushed as the
    /// error travels out, so innermost first.
    reversed_path: Vec<String>,
}

impl PayloadError {
    fn new(kind: PayloadErrorKind) -> PayloadError {
        PayloadError {
            kind,
            reversed_path: Vec::new(),
        }
    }

    /// The same error, one level further out: `segment` is the key it was found under.
    fn under(mut self, segment: String) -> PayloadError {
        self.reversed_path.push(segment);
        self
    }

    /// The keys from the root to the value at fault (for an unknown or missing field:
    /// to the object that has or lacks it).
    pub fn path(&self) -> impl Iterator<Item = &str> {
        self.reversed_path.iter().rev().map(String::as_str)
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path: Vec<&str> = self.path().collect();
        write!(formatter, "{:?} at `{}`", self.kind, path.join("."))
    }
}

impl std::error::Error for PayloadError {}

impl de::Error for PayloadError {
    fn custom<T: fmt::Display>(message: T) -> PayloadError {
        PayloadError::new(PayloadErrorKind::Custom(message.to_string()))
    }

    fn invalid_type(got: Unexpected<'_>, expected: &dyn de::Expected) -> PayloadError {
        PayloadError::new(PayloadErrorKind::Invalid {
            got: got.to_string(),
            expected: expected.to_string(),
        })
    }

    fn invalid_value(got: Unexpected<'_>, expected: &dyn de::Expected) -> PayloadError {
        PayloadError::invalid_type(got, expected)
    }

    fn invalid_length(length: usize, expected: &dyn de::Expected) -> PayloadError {
        PayloadError::new(PayloadErrorKind::InvalidLength(
            length,
            expected.to_string(),
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> PayloadError {
        PayloadError::new(PayloadErrorKind::UnknownVariant(variant.into(), expected))
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> PayloadError {
        PayloadError::new(PayloadErrorKind::UnknownField(field.into()))
    }

    fn missing_field(field: &'static str) -> PayloadError {
        PayloadError::new(PayloadErrorKind::MissingField(field))
    }
}

/// `T` from a JSON value.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, PayloadError> {
    T::deserialize(ValueDeserializer(value))
}

/// How serde describes a JSON value it did not expect.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(number) => match (number.as_u64(), number.as_i64()) {
            (Some(n), _) => Unexpected::Unsigned(n),
            (None, Some(n)) => Unexpected::Signed(n),
            (None, None) => Unexpected::Float(number.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// A visitor that accepted an array or object without reading all of it is refused, as
/// serde's own value deserializers refuse it.
fn all_taken(count: usize, left: usize, container: &str) -> Result<(), PayloadError> {
    if left == 0 {
        return Ok(());
    }
    let taken = count - left;
    let elements = if taken == 1 { "element" } else { "elements" };
    Err(PayloadError::new(PayloadErrorKind::InvalidLength(
        count,
        format!("{taken} {elements} in {container}"),
    )))
}

struct ValueDeserializer(Value);

impl<'de> Deserializer<'de> for ValueDeserializer {
    type Error = PayloadError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            // Without serde_json's `arbitrary_precision` a number is one of the three.
            Value::Number(number) => match (number.as_u64(), number.as_i64()) {
                (Some(n), _) => visitor.visit_u64(n),
                (None, Some(n)) => visitor.visit_i64(n),
                (None, None) => visitor.visit_f64(number.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => {
                let count = items.len();
                let mut items = Items {
                    items: items.into_iter(),
                    index: 0,
                };
                let value = visitor.visit_seq(&mut items)?;
                all_taken(count, items.items.len(), "sequence")?;
                Ok(value)
            }
            Value::Object(fields) => {
                let count = fields.len();
                let mut fields = Fields {
                    fields: fields.into_iter(),
                    value: None,
                };
                let value = visitor.visit_map(&mut fields)?;
                all_taken(count, fields.fields.len(), "map")?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        let (variant, value) = match self.0 {
            Value::String(variant) => (variant, None),
            Value::Object(object) => {
                let mut entries = object.into_iter();
                match (entries.next(), entries.next()) {
                    (Some((variant, value)), None) => (variant, Some(value)),
                    _ => {
                        return Err(de::Error::invalid_value(
                            Unexpected::Map,
                            &"map with a single key",
                        ))
                    }
                }
            }
            other => {
                return Err(de::Error::invalid_type(
                    unexpected(&other),
                    &"string or map",
                ))
            }
        };
        visitor.visit_enum(Variant { variant, value })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool u8 u16 u32 u64 i8 i16 i32 i64 f32 f64 char str string unit
        seq bytes byte_buf map unit_struct
        tuple_struct struct tuple ignored_any identifier
    }
}

/// The elements of an array; an error inside one is found under `[index]`.
struct Items {
    items: std::vec::IntoIter<Value>,
    index: usize,
}

impl<'de> SeqAccess<'de> for &mut Items {
    type Error = PayloadError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, PayloadError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(ValueDeserializer(item))
            .map(Some)
            .map_err(|error| error.under(format!("[{index}]")))
    }
}

/// The entries of an object; an error inside a value is found under its key.
struct Fields {
    fields: <Map<String, Value> as IntoIterator>::IntoIter,
    /// The value of the key just handed out, with its key.
    value: Option<(String, Value)>,
}

impl<'de> MapAccess<'de> for &mut Fields {
    type Error = PayloadError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, PayloadError> {
        let Some((key, value)) = self.fields.next() else {
            return Ok(None);
        };
        self.value = Some((key.clone(), value));
        seed.deserialize(ValueDeserializer(Value::String(key)))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, PayloadError> {
        let (key, value) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value was asked for before its key"))?;
        seed.deserialize(ValueDeserializer(value))
            .map_err(|error| error.under(key))
    }
}

/// An enum's variant and, unless it was given as a bare string, its value; an error in
/// the value is found under the variant.
struct Variant {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for Variant {
    type Error = PayloadError;
    type Variant = Variant;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Variant), PayloadError> {
        let tag = seed.deserialize(ValueDeserializer(Value::String(self.variant.clone())))?;
        Ok((tag, self))
    }
}

impl Variant {
    /// The variant's value, for a variant that must have one of `kind`.
    fn value(self, kind: &str) -> Result<(Value, String), PayloadError> {
        match self.value {
            Some(value) => Ok((value, self.variant)),
            None => Err(PayloadError::new(PayloadErrorKind::Invalid {
                got: Unexpected::UnitVariant.to_string(),
                expected: kind.into(),
            })
            .under(self.variant)),
        }
    }
}

impl<'de> VariantAccess<'de> for Variant {
    type Error = PayloadError;

    fn unit_variant(self) -> Result<(), PayloadError> {
        match self.value {
            Some(value) => serde::Deserialize::deserialize(ValueDeserializer(value))
                .map_err(|error| error.under(self.variant)),
            None => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, PayloadError> {
        let (value, variant) = self.value("newtype variant")?;
        seed.deserialize(ValueDeserializer(value))
            .map_err(|error| error.under(variant))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        let (value, variant) = self.value("tuple variant")?;
        match value {
            Value::Array(_) => ValueDeserializer(value).deserialize_any(visitor),
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"tuple variant",
            )),
        }
        .map_err(|error| error.under(variant))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        let (value, variant) = self.value("struct variant")?;
        match value {
            Value::Object(_) => ValueDeserializer(value).deserialize_any(visitor),
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"struct variant",
            )),
        }
        .map_err(|error| error.under(variant))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Plain,
        Boxed(i32),
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        kind: Kind,
        count: Option<i32>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        inner: Inner,
        list: Vec<Inner>,
        pair: Option<(bool, bool)>,
    }

    fn outer(value: Value) -> Result<Outer, PayloadError> {
        from_value(value)
    }

    fn path(error: &PayloadError) -> String {
        error.path().collect::<Vec<_>>().join(".")
    }

    fn valid() -> Value {
        json!({
            "inner": {"kind": "plain", "count": null},
            "list": [{"kind": {"boxed": 7}}],
        })
    }

    fn with(key: &str, value: Value) -> Value {
        let mut object = valid();
        object[key] = value;
        object
    }

    #[test]
    fn reads_what_a_json_value_holds() {
        assert_eq!(
            outer(valid()).expect("valid"),
            Outer {
                inner: Inner {
                    kind: Kind::Plain,
                    count: None
                },
                list: vec![Inner {
                    kind: Kind::Boxed(7),
                    count: None
                }],
                pair: None,
            }
        );
        let pair = outer(with("pair", json!([true, false]))).expect("pair");
        assert_eq!(pair.pair, Some((true, false)));
    }

    #[test]
    fn errors_carry_the_path_to_the_value() {
        let error =
            outer(with("inner", json!({"kind": "plain", "count": 1.5}))).expect_err("float");
        assert_eq!(path(&error), "inner.count");
        assert_eq!(
            error.kind,
            PayloadErrorKind::Invalid {
                got: "floating point `1.5`".into(),
                expected: "i32".into()
            }
        );

        let error = outer(with(
            "list",
            json!([{"kind": "plain"}, {"kind": {"boxed": "x"}}]),
        ))
        .expect_err("string in a variant");
        assert_eq!(path(&error), "list.[1].kind.boxed");

        let error =
            outer(with("inner", json!({"kind": {"plain": 1}}))).expect_err("unit with a value");
        assert_eq!(path(&error), "inner.kind.plain");

        let error =
            outer(with("inner", json!({"kind": "boxed"}))).expect_err("newtype without a value");
        assert_eq!(path(&error), "inner.kind.boxed");
        assert_eq!(
            error.kind,
            PayloadErrorKind::Invalid {
                got: "unit variant".into(),
                expected: "newtype variant".into()
            }
        );
    }

    #[test]
    fn unknown_and_missing_fields_name_the_object_and_the_field() {
        let error =
            outer(with("inner", json!({"kind": "plain", "extra": 1}))).expect_err("unknown");
        assert_eq!(path(&error), "inner");
        assert_eq!(error.kind, PayloadErrorKind::UnknownField("extra".into()));

        let error = outer(with("inner", json!({"count": 1}))).expect_err("missing");
        assert_eq!(path(&error), "inner");
        assert_eq!(error.kind, PayloadErrorKind::MissingField("kind"));

        let error = outer(with("inner", json!({"kind": "other"}))).expect_err("variant");
        assert_eq!(path(&error), "inner.kind");
        assert!(matches!(error.kind, PayloadErrorKind::UnknownVariant(v, _) if v == "other"));
    }

    #[test]
    fn integers_out_of_range_and_enums_of_the_wrong_shape_are_invalid() {
        for (count, got) in [
            (json!(2_147_483_648_u64), "integer `2147483648`"),
            (json!(-2_147_483_649_i64), "integer `-2147483649`"),
            (json!("1"), "string \"1\""),
        ] {
            let error =
                outer(with("inner", json!({"kind": "plain", "count": count}))).expect_err("range");
            assert!(
                matches!(&error.kind, PayloadErrorKind::Invalid { got: g, .. } if g == got),
                "{error}"
            );
        }
        for kind in [json!({}), json!({"plain": null, "boxed": 1})] {
            let error = outer(with("inner", json!({"kind": kind}))).expect_err("two keys");
            assert_eq!(path(&error), "inner.kind");
            assert!(
                matches!(error.kind, PayloadErrorKind::Invalid { expected, .. } if expected == "map with a single key")
            );
        }
    }

    #[test]
    fn an_array_longer_than_its_tuple_is_refused() {
        let error = outer(with("pair", json!([true, false, true]))).expect_err("three");
        assert_eq!(path(&error), "pair");
        assert_eq!(
            error.kind,
            PayloadErrorKind::InvalidLength(3, "2 elements in sequence".into())
        );
    }
}
