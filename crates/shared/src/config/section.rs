//! How a settings section is declared: one line per setting (its doc comment, its name, type
//! and default), from which the struct, its defaults and its documentation entry are made.

/// One setting of a section, for the documentation and the environment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The key in the TOML file (within the section's table).
    pub name: &'static str,
    /// What the setting does (its doc comment).
    pub doc: &'static str,
    /// Environment variables that set it, first one winning; empty for the derived name
    /// (`GRANDMA_` + the section's prefix + the key, upper-cased).
    pub env: &'static [&'static str],
}

/// A settings table: its fields in declaration order.
pub trait Section {
    const FIELDS: &'static [Field];
}

/// Declares a section. Each setting is `/// doc` lines, an optional
/// `#[env("NAME", "OTHER")]` for names that differ from the derived one, then
/// `pub name: Type = default,`.
macro_rules! settings_section {
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $(#[env($($env:literal),+)])?
                pub $field:ident : $ty:ty = $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: $default, )* }
            }
        }

        impl $crate::config::section::Section for $name {
            const FIELDS: &'static [$crate::config::section::Field] = &[
                $(
                    $crate::config::section::Field {
                        name: stringify!($field),
                        doc: concat!($($doc),*),
                        env: &[$($($env),+)?],
                    },
                )*
            ];
        }
    };
}

pub(crate) use settings_section;
