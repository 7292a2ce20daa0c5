//! Request text fields whose OpenAPI schema states exactly the rule `crate::domain` enforces.
//!
//! Parsing accepts any string, so a refusal comes from the domain types with the field's name and
//! a sentence for people; the schema (length, pattern) is generated from the same constants, and a
//! test checks the pattern and the parser agree on every kind of input.

use std::borrow::Cow;

use poem::web::Field as PoemField;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromMultipartField, ParseFromParameter, ParseResult, ToJSON,
    Type,
};
use serde_json::Value;

use crate::domain::{
    MAX_RAW_CHARS, Name, Note, Password, Title, email_pattern, trimmed_text_pattern,
};

/// Declares a `String` newtype whose schema is `$schema`.
macro_rules! documented_text {
    ($(#[$meta:meta])* $name:ident, $schema_name:literal, $schema:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                $schema_name.into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value {
                    Some(Value::String(text)) => Ok(Self(text)),
                    other => Err(ParseError::expected_type(other.unwrap_or_default())),
                }
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                Ok(Self(value.to_owned()))
            }
        }

        impl ParseFromMultipartField for $name {
            async fn parse_from_multipart(field: Option<PoemField>) -> ParseResult<Self> {
                String::parse_from_multipart(field)
                    .await
                    .map(Self)
                    .map_err(ParseError::propagate)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

fn trimmed_text(max_chars: usize, description: &'static str) -> MetaSchema {
    MetaSchema {
        min_length: Some(1),
        max_length: Some(MAX_RAW_CHARS),
        pattern: Some(trimmed_text_pattern(max_chars)),
        description: Some(description),
        ..MetaSchema::new("string")
    }
}

documented_text!(
    /// A person's or place's name as sent.
    NameText,
    "string(name)",
    trimmed_text(
        Name::MAX_CHARS,
        "1–100 characters once surrounding spaces are trimmed, no control characters."
    )
);

documented_text!(
    /// A video title as sent.
    TitleText,
    "string(title)",
    trimmed_text(
        Title::MAX_CHARS,
        "1–200 characters once surrounding spaces are trimmed, no control characters."
    )
);

documented_text!(
    /// An email address as sent (trimmed and lower-cased when stored).
    EmailText,
    "string(email)",
    MetaSchema {
        min_length: Some(3),
        max_length: Some(MAX_RAW_CHARS),
        pattern: Some(email_pattern()),
        description: Some(
            "One `@`; no spaces, commas or control characters; a local part of 1–64 characters \
             and a domain with a dot inside it (no empty label); 254 characters in all once \
             surrounding spaces are trimmed. Compared without regard to case."
        ),
        ..MetaSchema::new("string")
    }
);

documented_text!(
    /// A new password as sent.
    PasswordText,
    "string(password)",
    MetaSchema {
        min_length: Some(Password::MIN_CHARS),
        max_length: Some(Password::MAX_CHARS),
        description: Some("8–128 characters, spaces included."),
        format: Some("password"),
        ..MetaSchema::new("string")
    }
);

documented_text!(
    /// A short free text as sent: a report's details, a staff member's reason.
    NoteText,
    "string(note)",
    trimmed_text(
        Note::MAX_CHARS,
        "1–500 characters once surrounding spaces are trimmed, no control characters (one line)."
    )
);

documented_text!(
    /// Why a video is reported, as sent.
    ReportReasonText,
    "string(report_reason)",
    MetaSchema {
        enum_items: platform::videos::review::REASONS
            .iter()
            .map(|reason| Value::String((*reason).to_owned()))
            .collect(),
        description: Some(
            "`inappropriate` (offensive or inappropriate content), `not_basketball` (not a \
             basketball skill video), `not_the_player` (someone other than the player who \
             uploaded it), `copyright` (someone else's footage), `other` (`details` required)."
        ),
        ..MetaSchema::new("string")
    }
);

impl std::fmt::Debug for NoteText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for ReportReasonText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for NameText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for TitleText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for EmailText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Passwords never reach a log line.
impl std::fmt::Debug for PasswordText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use fancy_regex::Regex;

    use crate::domain::{Email, Name, Title};

    /// Pieces the texts below are built from: every class the rules tell apart.
    const PIECES: &[&str] = &[
        "a", "Z", "ñ", "é", "0", " ", "\t", "\n", "\u{a0}", "\u{3000}", "\u{85}", "\u{1c}",
        "\u{0}", "\u{7f}", "\u{9f}", "@", ",", ".", "..", "-", "_", "+", "日", "😀", "İ", "x.co",
        "ana",
    ];

    /// Deterministic pseudo-random texts (xorshift), with long ones near each limit.
    fn samples() -> Vec<String> {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut texts = Vec::new();
        for _ in 0..20_000 {
            let pieces = usize::try_from(next() % 12).unwrap_or(0);
            let mut text = String::new();
            for _ in 0..pieces {
                text.push_str(PIECES[usize::try_from(next()).unwrap_or(0) % PIECES.len()]);
            }
            texts.push(text);
        }
        for length in [
            63, 64, 65, 99, 100, 101, 199, 200, 201, 252, 253, 254, 255, 499, 500, 501, 999, 1000,
            1001,
        ] {
            for fill in ["a", "ñ", " a", "a "] {
                let body: String = fill.repeat(length).chars().take(length).collect();
                texts.push(body.clone());
                texts.push(format!(" {body} "));
                texts.push(format!("{body}@x.co"));
                texts.push(format!("a@{body}.co"));
                texts.push(format!("a@x.{body}"));
            }
        }
        texts
    }

    /// The schema (`minLength`, `maxLength`, `pattern`) and the parser accept the same texts.
    fn agree(schema: &poem_openapi::registry::MetaSchema, accepts: impl Fn(&str) -> bool) {
        let pattern = schema.pattern.as_deref().unwrap();
        let regex = Regex::new(pattern).unwrap();
        let (min, max) = (schema.min_length.unwrap(), schema.max_length.unwrap());
        for text in samples() {
            let length = text.chars().count();
            let valid = (min..=max).contains(&length) && regex.is_match(&text).unwrap();
            assert_eq!(
                valid,
                accepts(&text),
                "the schema ({pattern}) and the parser disagree on {text:?}"
            );
        }
    }

    fn schema<T: poem_openapi::types::Type>() -> poem_openapi::registry::MetaSchema {
        match T::schema_ref() {
            poem_openapi::registry::MetaSchemaRef::Inline(schema) => *schema,
            poem_openapi::registry::MetaSchemaRef::Reference(name) => panic!("{name} is a $ref"),
        }
    }

    #[test]
    fn the_name_pattern_says_what_the_parser_accepts() {
        agree(&schema::<super::NameText>(), |text| {
            Name::parse("city", "La ciudad", text).is_ok()
        });
    }

    #[test]
    fn the_title_pattern_says_what_the_parser_accepts() {
        agree(&schema::<super::TitleText>(), |text| {
            Title::parse(text).is_ok()
        });
    }

    #[test]
    fn the_note_pattern_says_what_the_parser_accepts() {
        agree(&schema::<super::NoteText>(), |text| {
            crate::domain::Note::parse("reason", "El motivo", text).is_ok()
        });
    }

    #[test]
    fn the_email_pattern_says_what_the_parser_accepts() {
        agree(&schema::<super::EmailText>(), |text| {
            Email::parse("email", text).is_ok()
        });
    }
}
