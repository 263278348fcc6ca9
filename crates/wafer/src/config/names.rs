//! Closed sets of names (log levels, formats, body overflow...) mapped to and
//! from text by their serde derive alone, so each enum lists its names once
//! and a wrong one is answered with the names it could have been.

use std::fmt;

use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Serialize};

/// The variant `v` names, or "expected a, b or c, not "v"".
pub fn parse<T: DeserializeOwned>(v: &str) -> Result<T, String> {
    T::deserialize(<&str as IntoDeserializer<'_, NameError>>::into_deserializer(v)).map_err(|e| e.0)
}

/// The name a unit variant has in serde.
pub fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => unreachable!("not a unit variant: {other:?}"),
    }
}

#[derive(Debug)]
struct NameError(String);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NameError {}

impl serde::de::Error for NameError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        NameError(msg.to_string())
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let list = match expected {
            [] => String::new(),
            [one] => (*one).to_owned(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        };
        NameError(format!("expected {list}, not {variant:?}"))
    }
}

/// How much the log says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

/// How the log is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

macro_rules! text_by_serde {
    ($($t:ty),*) => {$(
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(v: &str) -> Result<Self, String> {
                parse(v)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&name(self))
            }
        }
    )*};
}

text_by_serde!(LogLevel, LogFormat);

#[cfg(test)]
mod tests {
    use super::*;
    use wafer_engine::{BodyOverflow, Mode};

    #[test]
    fn names_come_from_serde_and_wrong_ones_list_the_right() {
        assert_eq!("debug".parse(), Ok(LogLevel::Debug));
        assert_eq!(LogLevel::Trace.to_string(), "trace");
        assert_eq!(
            "loud".parse::<LogLevel>(),
            Err("expected error, warn, info, debug or trace, not \"loud\"".to_owned())
        );
        assert_eq!(
            "xml".parse::<LogFormat>(),
            Err("expected text or json, not \"xml\"".to_owned())
        );
        assert_eq!(parse::<BodyOverflow>("reject"), Ok(BodyOverflow::Reject));
        assert_eq!(
            parse::<BodyOverflow>("drop"),
            Err("expected stream or reject, not \"drop\"".to_owned())
        );
        // The engine's own mapping of modes says the same as serde's.
        for m in [Mode::Block, Mode::Detect, Mode::Off] {
            assert_eq!(name(&m), m.to_string());
        }
        assert_eq!(parse::<Mode>("loud"), "loud".parse::<Mode>());
    }
}
