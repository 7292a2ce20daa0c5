//! Input types validated once at the edge and trusted after: each `parse` names the field it
//! refuses, with a sentence for the user (Spanish).

use crate::http::problem::FieldError;

/// The most characters any text field may carry before trimming (names, titles, emails).
pub const MAX_RAW_CHARS: usize = 1000;

/// The characters `str::trim` removes (Unicode `White_Space`), as the body of a regex class.
const WHITE: &str = r"\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// The characters `char::is_control` refuses (Unicode `Cc`), as the body of a regex class.
const CONTROL: &str = r"\x00-\x1F\x7F-\x9F";

/// A regex (ECMA-262 and Python alike) matching exactly the texts [`chars_between`] accepts:
/// after trimming, `min`..=`max` characters, none of them a control character.
pub fn trimmed_text_pattern(max: usize) -> String {
    format!(
        "^[{WHITE}]*[^{WHITE}{CONTROL}](?:[^{CONTROL}]{{0,{}}}[^{WHITE}{CONTROL}])?[{WHITE}]*$",
        max - 2
    )
}

/// A regex matching exactly the addresses [`Email::parse`] accepts.
pub fn email_pattern() -> String {
    let plain = format!("[^{WHITE}{CONTROL}@,]");
    let edge = format!("[^{WHITE}{CONTROL}@,.]");
    format!(
        "^[{WHITE}]*(?=(?:{plain}|@){{3,{EMAIL_MAX_CHARS}}}[{WHITE}]*$){plain}{{1,{EMAIL_LOCAL_MAX_CHARS}}}@(?!{plain}*\\.\\.){edge}{plain}*\\.{plain}*{edge}[{WHITE}]*$"
    )
}

const EMAIL_MAX_CHARS: usize = 254;
const EMAIL_LOCAL_MAX_CHARS: usize = 64;

fn chars_between(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
    label: &str,
) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min || length > max || value.chars().count() > MAX_RAW_CHARS {
        return Err(FieldError::new(
            field,
            format!("{label} debe tener entre {min} y {max} caracteres."),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("{label} contiene caracteres no permitidos."),
        ));
    }
    Ok(trimmed.to_owned())
}

/// A person's or place's name: 1–100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &'static str, label: &str, value: &str) -> Result<Self, FieldError> {
        chars_between(field, value, 1, Self::MAX_CHARS, label).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, trimmed and lower-cased: one `@`, no spaces, control characters or commas,
/// a local part of 1–64 characters, a domain with an inner dot and no empty label at either end
/// or in the middle, 254 characters in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, value: &str) -> Result<Self, FieldError> {
        let email = value.trim();
        let invalid = || FieldError::new(field, "El correo electrónico no es válido.");
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let plain = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| !c.is_whitespace() && !c.is_control() && c != '@' && c != ',')
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if email.chars().count() > EMAIL_MAX_CHARS
            || local.chars().count() > EMAIL_LOCAL_MAX_CHARS
            || value.chars().count() > MAX_RAW_CHARS
            || !plain(local)
            || !plain(domain)
            || !domain_ok
        {
            return Err(invalid());
        }
        Ok(Self(email.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8–128 characters (not trimmed: spaces are characters like any other).
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(field: &'static str, value: &str) -> Result<Self, FieldError> {
        let length = value.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&length) {
            return Err(FieldError::new(
                field,
                "La contraseña debe tener entre 8 y 128 caracteres.",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A video title: 1–200 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(value: &str) -> Result<Self, FieldError> {
        chars_between("title", value, 1, Self::MAX_CHARS, "El título").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A short free text (a report's details, a staff member's reason): 1–500 characters after
/// trimming, on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(field: &'static str, label: &str, value: &str) -> Result<Self, FieldError> {
        chars_between(field, value, 1, Self::MAX_CHARS, label).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("city", "La ciudad", "  Bogotá ").map(|n| n.0),
            Ok("Bogotá".to_owned())
        );
        assert!(Name::parse("city", "La ciudad", "   ").is_err());
        assert!(Name::parse("city", "La ciudad", &"ñ".repeat(100)).is_ok());
        assert!(Name::parse("city", "La ciudad", &"ñ".repeat(101)).is_err());
        assert_eq!(
            Name::parse("city", "La ciudad", "a\u{0}b").map_err(|e| e.field),
            Err("city")
        );
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("email", " Ana.Perez@Example.COM ").map(|e| e.0),
            Ok("ana.perez@example.com".to_owned())
        );
        for bad in [
            "", "ana", "ana@", "@x.co", "ana@x", "a b@x.co", "a@@x.co", "a@x..co", "a@.x.co",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_count_characters() {
        assert!(Password::parse("password1", "1234567").is_err());
        assert!(Password::parse("password1", "contraseña").is_ok());
        assert!(Password::parse("password1", &"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password("secret123".into())),
            "Password(***)"
        );
    }

    #[test]
    fn titles_are_bounded() {
        assert!(Title::parse("").is_err());
        assert!(Title::parse(&"t".repeat(200)).is_ok());
        assert!(Title::parse(&"t".repeat(5000)).is_err());
    }
}
