//! Outgoing e-mail: one [`Mailer`], chosen by `MAIL_URL`, that writes each message to a folder
//! (dev, tests) or sends it through Amazon SES.
//!
//! Messages are plain text in Spanish, one recipient each; nothing here knows what they say.

mod contract;
pub mod folder;
pub mod ses;

use std::time::Duration;

pub use contract::{MailError, Message, SENDER_NAME, Sent};

use crate::config::MailSettings;

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
