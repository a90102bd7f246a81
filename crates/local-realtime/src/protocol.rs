//! Phoenix channel frames as realtime-js speaks them: protocol `2.0.0` (the
//! default) sends `[join_ref, ref, topic, event, payload]` arrays, `1.0.0`
//! sends `{topic, event, payload, ref}` objects. Only text frames are used:
//! realtime-js encodes nothing but client broadcasts as binary.

use serde::Serialize;
use serde_json::Value;

/// The protocol version a socket asked for with `?vsn=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vsn {
    V1,
    V2,
}

impl Vsn {
    /// `None` for a version realtime-js does not speak (the socket is refused).
    pub fn parse(text: Option<&str>) -> Option<Self> {
        match text {
            None | Some("1.0.0") => Some(Self::V1),
            Some("2.0.0") => Some(Self::V2),
            Some(_) => None,
        }
    }
}

/// One frame from the client.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub join_ref: Option<String>,
    pub msg_ref: Option<String>,
    pub topic: String,
    pub event: String,
    pub payload: Value,
}

/// Reads a text frame; `Err` says what is wrong with it.
pub fn decode(vsn: Vsn, text: &str) -> Result<Inbound, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let text_field = |value: Option<&Value>| -> Option<String> {
        match value {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    };
    let (join_ref, msg_ref, topic, event, payload) = match (vsn, value) {
        (Vsn::V2, Value::Array(mut parts)) if parts.len() == 5 => {
            let payload = parts.pop().unwrap_or(Value::Null);
            (
                text_field(parts.first()),
                text_field(parts.get(1)),
                parts.get(2).cloned(),
                parts.get(3).cloned(),
                payload,
            )
        }
        (Vsn::V1, Value::Object(mut fields)) => (
            text_field(fields.get("join_ref")),
            text_field(fields.get("ref")),
            fields.remove("topic"),
            fields.remove("event"),
            fields.remove("payload").unwrap_or(Value::Null),
        ),
        (Vsn::V2, _) => {
            return Err("protocol 2.0.0 frames are [join_ref, ref, topic, event, payload]".into())
        }
        (Vsn::V1, _) => return Err("protocol 1.0.0 frames are {topic, event, payload, ref}".into()),
    };
    match (topic, event) {
        (Some(Value::String(topic)), Some(Value::String(event))) => Ok(Inbound {
            join_ref,
            msg_ref,
            topic,
            event,
            payload,
        }),
        _ => Err("topic and event must be strings".into()),
    }
}

/// Writes one frame to the client.
pub fn encode(
    vsn: Vsn,
    join_ref: Option<&str>,
    msg_ref: Option<&str>,
    topic: &str,
    event: &str,
    payload: &impl Serialize,
) -> String {
    #[derive(Serialize)]
    struct V1<'a, P> {
        topic: &'a str,
        event: &'a str,
        payload: &'a P,
        #[serde(rename = "ref")]
        msg_ref: Option<&'a str>,
    }
    let encoded = match vsn {
        Vsn::V2 => serde_json::to_string(&(join_ref, msg_ref, topic, event, payload)),
        Vsn::V1 => serde_json::to_string(&V1 {
            topic,
            event,
            payload,
            msg_ref,
        }),
    };
    // Serializing maps with string keys and plain values cannot fail.
    encoded.unwrap_or_default()
}

/// `phx_reply` to the frame `to`: `{"status", "response"}`.
pub fn reply(vsn: Vsn, to: &Inbound, status: &str, response: &impl Serialize) -> String {
    #[derive(Serialize)]
    struct Reply<'a, R> {
        status: &'a str,
        response: &'a R,
    }
    encode(
        vsn,
        to.join_ref.as_deref(),
        to.msg_ref.as_deref(),
        &to.topic,
        "phx_reply",
        &Reply { status, response },
    )
}

/// A `system` message: `{extension, status, message, channel}`, as Realtime
/// sends after a postgres_changes subscription is made or when it shuts a
/// channel down.
pub fn system(
    vsn: Vsn,
    join_ref: Option<&str>,
    topic: &str,
    extension: &str,
    status: &str,
    message: &str,
) -> String {
    let channel = topic.strip_prefix("realtime:").unwrap_or(topic);
    encode(
        vsn,
        join_ref,
        None,
        topic,
        "system",
        &serde_json::json!({
            "extension": extension, "status": status, "message": message, "channel": channel
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_frames_are_arrays() {
        let frame = r#"["1","2","realtime:x","phx_join",{"config":{}}]"#;
        let inbound = decode(Vsn::V2, frame).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inbound.join_ref.as_deref(), Some("1"));
        assert_eq!(inbound.msg_ref.as_deref(), Some("2"));
        assert_eq!(inbound.topic, "realtime:x");
        assert_eq!(inbound.event, "phx_join");
        let out = reply(Vsn::V2, &inbound, "ok", &serde_json::json!({}));
        assert_eq!(
            out,
            r#"["1","2","realtime:x","phx_reply",{"status":"ok","response":{}}]"#
        );
    }

    #[test]
    fn v1_frames_are_objects() {
        let frame = r#"{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"7"}"#;
        let inbound = decode(Vsn::V1, frame).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inbound.join_ref, None);
        let out = reply(Vsn::V1, &inbound, "ok", &serde_json::json!({}));
        assert_eq!(
            out,
            r#"{"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"7"}"#
        );
    }

    #[test]
    fn malformed_frames_are_refused() {
        assert!(decode(Vsn::V2, "not json").is_err());
        assert!(decode(Vsn::V2, r#"{"topic":"a","event":"b"}"#).is_err());
        assert!(decode(Vsn::V1, r#"["1","2","t","e",{}]"#).is_err());
        assert!(decode(Vsn::V2, r#"[null,null,1,"e",{}]"#).is_err());
        assert_eq!(Vsn::parse(Some("3.0.0")), None);
    }

    #[test]
    fn system_message_names_the_channel_without_prefix() {
        let out = system(
            Vsn::V2,
            Some("1"),
            "realtime:stock",
            "postgres_changes",
            "ok",
            "Subscribed to PostgreSQL",
        );
        assert_eq!(
            out,
            r#"["1",null,"realtime:stock","system",{"channel":"stock","extension":"postgres_changes","message":"Subscribed to PostgreSQL","status":"ok"}]"#
        );
    }
}
