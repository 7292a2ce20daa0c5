//! What every mailer shares: the message, where it went, why it failed.

use std::path::PathBuf;
use std::time::Duration;

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
