//! Input types validated once at the edge and trusted after: each `parse` names the field it
//! refuses, with a sentence for the user (Spanish).

use crate::problem::FieldError;

fn chars_between(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
    label: &str,
) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min || length > max {
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
    pub fn parse(field: &'static str, label: &str, value: &str) -> Result<Self, FieldError> {
        chars_between(field, value, 1, 100, label).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, value: &str) -> Result<Self, FieldError> {
        let email = value.trim().to_lowercase();
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
        if email.len() > 254 || local.len() > 64 || !plain(local) || !plain(domain) || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
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
    pub fn parse(field: &'static str, value: &str) -> Result<Self, FieldError> {
        let length = value.chars().count();
        if !(8..=128).contains(&length) {
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
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        chars_between("title", value, 1, 200, "El título").map(Self)
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
