//! Value types of settings that read the same from a TOML file and from an environment
//! variable (where everything is text): an environment name, a rate quota, and lists written
//! either as TOML arrays or as comma-separated text.

use std::fmt;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Where the server runs; production is strict about secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    #[default]
    Development,
    Production,
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Environment::Development),
            "production" | "prod" => Ok(Environment::Production),
            _ => Err(format!("expected development or production, got {s:?}")),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Environment::Development => "development",
            Environment::Production => "production",
        })
    }
}

/// A token bucket: `per_minute` tokens refill continuously up to `burst`. Written
/// `PER_MINUTE/BURST` (`60/10`), or `PER_MINUTE` alone for a burst of a sixth of the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub per_minute: u32,
    pub burst: u32,
}

impl Quota {
    pub const fn new(per_minute: u32, burst: u32) -> Self {
        Quota { per_minute, burst }
    }
}

impl FromStr for Quota {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected = || format!("{s:?}: expected PER_MINUTE[/BURST], e.g. 60/10");
        let (rate, burst) = match s.trim().split_once('/') {
            Some((r, b)) => (r.trim(), Some(b.trim())),
            None => (s.trim(), None),
        };
        let per_minute: u32 = rate.parse().map_err(|_| expected())?;
        let burst: u32 = match burst {
            Some(b) => b.parse().map_err(|_| expected())?,
            None => (per_minute / 6).max(1),
        };
        if per_minute == 0 || burst == 0 {
            return Err(format!("{s:?}: rate and burst must be positive"));
        }
        Ok(Quota { per_minute, burst })
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.per_minute, self.burst)
    }
}

/// Serialized as text, parsed with `FromStr`: the spelling of the documentation.
macro_rules! text_setting {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(de::Error::custom)
            }
        }
    )*};
}

text_setting!(Environment, Quota);

/// A list: a TOML array, or comma-separated text (`a, b`) as environment variables have it.
/// Blank entries are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<T> std::ops::Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: fmt::Display> Serialize for List<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de, T: ListItem> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Items(Vec<String>),
        }
        let entries = match Raw::deserialize(d)? {
            Raw::Text(text) => text.split(',').map(str::to_owned).collect(),
            Raw::Items(items) => items,
        };
        entries
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .map(|e| T::parse_item(e).map_err(de::Error::custom))
            .collect::<Result<_, _>>()
            .map(List)
    }
}

/// How one list entry is read.
pub trait ListItem: Sized {
    fn parse_item(text: &str) -> Result<Self, String>;
}

impl ListItem for String {
    fn parse_item(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
}

impl ListItem for IpNet {
    /// A CIDR network, or a bare address as its one-host network.
    fn parse_item(text: &str) -> Result<Self, String> {
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| format!("{text:?} is not a network (expected 10.0.0.0/8 or 10.1.2.3)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas() {
        assert_eq!("60/10".parse::<Quota>(), Ok(Quota::new(60, 10)));
        assert_eq!("60".parse::<Quota>(), Ok(Quota::new(60, 10)));
        assert_eq!("5".parse::<Quota>(), Ok(Quota::new(5, 1)));
        assert!("0/1".parse::<Quota>().is_err());
        assert!("sixty".parse::<Quota>().is_err());
        assert_eq!(Quota::new(30, 5).to_string(), "30/5");
    }

    #[test]
    fn lists_from_text_or_arrays() {
        let text: List<IpNet> = serde_json::from_str("\"127.0.0.1/32, 10.0.0.1,\"").unwrap();
        assert_eq!(text.len(), 2);
        assert_eq!(text[1].to_string(), "10.0.0.1/32");
        let array: List<String> = serde_json::from_str("[\"a\", \" b \"]").unwrap();
        assert_eq!(array.0, ["a", "b"]);
        assert!(serde_json::from_str::<List<IpNet>>("\"nope\"").is_err());
    }

    #[test]
    fn environments() {
        assert_eq!("PROD".parse(), Ok(Environment::Production));
        assert_eq!("dev".parse(), Ok(Environment::Development));
        assert!("staging".parse::<Environment>().is_err());
    }
}
