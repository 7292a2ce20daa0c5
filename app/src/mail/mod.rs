//! Outgoing e-mail: one [`Mailer`], chosen by `MAIL_URL`, that writes each message to a folder
//! (dev, tests) or sends it through Amazon SES.
//!
//! Messages are plain text in Spanish, one recipient each; nothing here knows what they say.

pub mod folder;
pub mod ses;

use std::path::PathBuf;
use std::time::Duration;

use crate::config::MailSettings;

/// One plain-text message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    /// The body, plain text (UTF-8); lines end with `\n`.
    pub text: String,
}

/// Where a message went: the file written, or SES's message id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    File(PathBuf),
    Ses { message_id: String },
}

/// Why a message was not sent (the cause is for the logs).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("writing the message: {0}")]
    Folder(#[from] std::io::Error),
    #[error("SES: {0}")]
    Ses(String),
    #[error("the mail service did not answer within {0:?}")]
    TimedOut(Duration),
}

/// The display name every message comes from.
pub const SENDER_NAME: &str = "Rising Stars";

/// The longest one message may take to hand over; past it the send counts as failed.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends messages where `MAIL_URL` says; cheap to clone.
#[derive(Debug, Clone)]
pub enum Mailer {
    Folder(folder::FolderMailer),
    Ses(ses::SesMailer),
}

impl Mailer {
    /// Opens the mailer `settings` name: creates the folder, or builds an SES client from the
    /// shared AWS configuration (`platform::aws`).
    pub async fn open(settings: &MailSettings) -> anyhow::Result<Self> {
        match settings {
            MailSettings::Folder { dir, .. } => Ok(Self::Folder(
                folder::FolderMailer::create(dir.clone()).await?,
            )),
            MailSettings::Ses { sender } => {
                let aws = platform::aws::load_config().await;
                let client = aws_sdk_sesv2::Client::new(&aws);
                Ok(Self::Ses(ses::SesMailer::new(client, sender)))
            }
        }
    }

    /// Hands `message` over, within a time limit.
    pub async fn send(&self, message: &Message) -> Result<Sent, MailError> {
        let sending = async {
            match self {
                Self::Folder(folder) => Ok(Sent::File(folder.send(message).await?)),
                Self::Ses(ses) => ses.send(message).await,
            }
        };
        tokio::time::timeout(SEND_TIMEOUT, sending)
            .await
            .map_err(|_| MailError::TimedOut(SEND_TIMEOUT))?
    }
}
