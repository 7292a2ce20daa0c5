//! The product's mail folder (`MAIL_URL=file:<dir>`, one `.eml` file per message): verification
//! links read back as a person reads an inbox, followed through the API, and printed as they
//! arrive while `cargo xtask dev` runs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::console;

/// One message of the folder: its recipient and the verification link it carries, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub link: Option<String>,
}

/// The path of the web app's verification page in a link (`app/src/verification.rs`).
const LINK_MARK: &str = "/verificar?token=";

/// Reads one message file: the `To` header, and the body line that holds a verification link.
pub fn read(path: &Path) -> anyhow::Result<Mail> {
    let text = std::fs::read_to_string(path)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("{} has no blank line after its headers", path.display()))?;
    let to = head
        .split("\r\n")
        .find_map(|line| line.strip_prefix("To: "))
        .with_context(|| format!("{} has no To header", path.display()))?;
    let link = body
        .split("\r\n")
        .find(|line| line.contains(LINK_MARK))
        .map(str::to_owned);
    Ok(Mail {
        to: to.to_owned(),
        link,
    })
}

/// The message files in `dir`, oldest first (the API names them by UUID v7); none when it does
/// not exist yet.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    files.sort();
    files
}

/// The newest verification link mailed to `to` in `dir`, waiting up to 10 s for one (signup
/// mails off its answer).
pub async fn newest_link(dir: &Path, to: &str) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut newest = None;
        for file in files(dir) {
            let mail = read(&file)?;
            if mail.to.eq_ignore_ascii_case(to) && mail.link.is_some() {
                newest = mail.link;
            }
        }
        if let Some(link) = newest {
            return Ok(link);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no verification link for {to} in {} after 10 s",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Verifies `email`'s address on the API at `base_url` with the newest link mailed to it in
/// `dir`, as the web app's page does (its token to `POST /api/auth/verify`).
pub async fn verify_address(
    http: &reqwest::Client,
    base_url: &str,
    dir: &Path,
    email: &str,
) -> anyhow::Result<()> {
    let link = newest_link(dir, email).await?;
    let token = link
        .split_once("token=")
        .map(|(_, token)| token)
        .with_context(|| format!("no token in {link}"))?;
    let answer = http
        .post(format!("{base_url}/api/auth/verify"))
        .json(&serde_json::json!({ "token": token }))
        .send()
        .await?;
    let status = answer.status();
    anyhow::ensure!(
        status.is_success(),
        "verifying {email} answered {status}: {}",
        answer.text().await.unwrap_or_default()
    );
    Ok(())
}

/// Prints each new message's recipient and link as it lands in `dir` (checked every second),
/// except those to addresses `quiet` picks; messages already there are not printed.
pub fn watch(dir: PathBuf, quiet: fn(&str) -> bool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen: HashSet<PathBuf> = files(&dir).into_iter().collect();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            for file in files(&dir) {
                if !seen.insert(file.clone()) {
                    continue;
                }
                match read(&file) {
                    Ok(mail) if quiet(&mail.to) => {}
                    Ok(Mail {
                        to,
                        link: Some(link),
                    }) => console::note(format!("Mail to {to}: {link}")),
                    Ok(Mail { to, link: None }) => {
                        console::note(format!("Mail to {to}: {}", file.display()));
                    }
                    Err(error) => console::note(format!("Unreadable mail: {error:#}")),
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_file_gives_its_recipient_and_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0193.eml");
        std::fs::write(
            &path,
            "From: Rising Stars <no-reply@rising-stars.localhost>\r\nTo: ana@example.com\r\n\
             Subject: =?UTF-8?B?eA==?=\r\n\r\nHola, Ana:\r\n\r\n\
             http://127.0.0.1:8080/verificar?token=abc\r\n\r\nGracias.\r\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(".0194.eml.partial"), "half").unwrap();
        assert_eq!(files(dir.path()), std::slice::from_ref(&path));
        assert_eq!(
            read(&path).unwrap(),
            Mail {
                to: "ana@example.com".to_owned(),
                link: Some("http://127.0.0.1:8080/verificar?token=abc".to_owned()),
            }
        );
        assert!(files(&dir.path().join("missing")).is_empty());
    }
}
