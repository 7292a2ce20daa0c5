//! `MAIL_URL=file:<dir>`: each message becomes one RFC 5322 file (`<id>.eml`) in a folder, for
//! development and tests; nothing leaves the machine.
//!
//! A file appears whole or not at all (written under a hidden temporary name, then renamed), so
//! whoever watches the folder never reads half a message. Names sort by time (UUID v7).

use std::path::{Path, PathBuf};

use base64::Engine;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::contract::{Message, SENDER_NAME};

/// The address folder messages come from (`.localhost` never delivers anywhere).
pub const FOLDER_SENDER: &str = "no-reply@rising-stars.localhost";

/// Writes messages into one folder.
#[derive(Debug, Clone)]
pub struct FolderMailer {
    dir: PathBuf,
}

impl FolderMailer {
    /// The mailer for `dir`, created if missing.
    pub async fn create(dir: PathBuf) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(&dir).await.map_err(|error| {
            anyhow::anyhow!("MAIL_URL: cannot create {}: {error}", dir.display())
        })?;
        Ok(Self { dir })
    }

    /// The mailer for an existing `dir` (tests).
    #[cfg(test)]
    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `message` as `<dir>/<id>.eml`; returns the file's path.
    pub async fn send(&self, message: &Message) -> std::io::Result<PathBuf> {
        let id = Uuid::now_v7().simple().to_string();
        let text = format_message(message, &id, Utc::now());
        let path = self.dir.join(format!("{id}.eml"));
        let partial = self.dir.join(format!(".{id}.eml.partial"));
        tokio::fs::write(&partial, text).await?;
        if let Err(error) = tokio::fs::rename(&partial, &path).await {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(error);
        }
        Ok(path)
    }
}

/// The message as an RFC 5322 text: headers (non-ASCII ones as RFC 2047 encoded words), a blank
/// line, then the UTF-8 body with CRLF line ends.
pub fn format_message(message: &Message, id: &str, date: DateTime<Utc>) -> String {
    let headers = [
        ("From", format!("{SENDER_NAME} <{FOLDER_SENDER}>")),
        ("To", message.to.clone()),
        ("Subject", encoded_word(&message.subject)),
        ("Date", date.to_rfc2822()),
        ("Message-ID", format!("<{id}@rising-stars.localhost>")),
        ("MIME-Version", "1.0".to_owned()),
        ("Content-Type", "text/plain; charset=utf-8".to_owned()),
        ("Content-Transfer-Encoding", "8bit".to_owned()),
    ];
    let mut text = String::new();
    for (name, value) in headers {
        text.push_str(name);
        text.push_str(": ");
        text.push_str(&value);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    for line in message.text.lines() {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text
}

/// `value` as it may stand in a header: as is when ASCII, else one RFC 2047 `B` encoded word.
fn encoded_word(value: &str) -> String {
    if value.is_ascii() {
        return value.to_owned();
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(value);
    format!("=?UTF-8?B?{encoded}?=")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            to: "ana@example.com".to_owned(),
            subject: "Confirma tu correo electrónico".to_owned(),
            text: "Hola, Ana:\n\nhttps://example.com/verificar?token=abc\n\nGracias.\n".to_owned(),
        }
    }

    #[test]
    fn a_message_is_headers_a_blank_line_and_the_body_with_the_link_on_its_own_line() {
        let date = DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = format_message(&message(), "0193", date);
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let headers: Vec<(&str, &str)> = head
            .split("\r\n")
            .map(|line| line.split_once(": ").unwrap())
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| *value)
        };
        assert_eq!(header("To"), Some("ana@example.com"));
        assert_eq!(
            header("From"),
            Some("Rising Stars <no-reply@rising-stars.localhost>")
        );
        assert_eq!(header("Date"), Some("Sun, 6 Dec 2026 10:00:00 +0000"));
        assert_eq!(header("Content-Type"), Some("text/plain; charset=utf-8"));
        // The subject is ASCII on the wire and decodes back to the Spanish text.
        let subject = header("Subject").unwrap();
        assert!(subject.is_ascii(), "{subject}");
        let encoded = subject
            .strip_prefix("=?UTF-8?B?")
            .and_then(|rest| rest.strip_suffix("?="))
            .unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "Confirma tu correo electrónico"
        );
        assert!(head.is_ascii());
        assert!(
            body.split("\r\n")
                .any(|line| line == "https://example.com/verificar?token=abc"),
            "{body}"
        );
        assert!(!body.replace("\r\n", "").contains('\n'), "CRLF only");
        assert!(body.ends_with("Gracias.\r\n"));
    }

    #[tokio::test]
    async fn the_folder_mailer_writes_one_whole_file_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FolderMailer::create(dir.path().join("mail")).await.unwrap();
        let first = mailer.send(&message()).await.unwrap();
        let second = mailer.send(&message()).await.unwrap();
        let mut names: Vec<String> = std::fs::read_dir(mailer.dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
        assert!(names.iter().all(|name| name.ends_with(".eml")));
        // Names sort in the order the messages were written.
        assert_eq!(
            [first, second].map(|path| path.file_name().unwrap().to_string_lossy().into_owned()),
            [names[0].clone(), names[1].clone()]
        );
        let text = std::fs::read_to_string(mailer.dir().join(&names[0])).unwrap();
        assert!(text.starts_with("From: Rising Stars <"), "{text}");
        assert!(text.contains("\r\nTo: ana@example.com\r\n"), "{text}");
    }
}
