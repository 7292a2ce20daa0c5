//! `MAIL_URL=ses:<sender address>`: messages sent through Amazon SES (API v2, `SendEmail` with
//! simple content, so SES builds the MIME message and only `ses:SendEmail` is needed).
//!
//! The sender must be a verified SES identity (the address or its domain); while the account is
//! in the SES sandbox, recipients must be verified too (docs/operations.md).

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent};

use super::contract::{MailError, Message, SENDER_NAME, Sent};

/// Sends through SES as `Rising Stars <sender>`.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesMailer {
    /// `client` is built from the shared AWS configuration (`platform::aws`).
    pub fn new(client: aws_sdk_sesv2::Client, sender: &str) -> Self {
        Self {
            client,
            from: format!("{SENDER_NAME} <{sender}>"),
        }
    }

    pub async fn send(&self, message: &Message) -> Result<Sent, MailError> {
        let utf8 = |text: &str| {
            Content::builder()
                .data(text)
                .charset("UTF-8")
                .build()
                .map_err(|error| MailError::Ses(error.to_string()))
        };
        let content = aws_sdk_sesv2::types::Message::builder()
            .subject(utf8(&message.subject)?)
            .body(Body::builder().text(utf8(&message.text)?).build())
            .build();
        let sent = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&message.to).build())
            .content(EmailContent::builder().simple(content).build())
            .send()
            .await
            .map_err(|error| {
                MailError::Ses(format!(
                    "{}",
                    aws_sdk_sesv2::error::DisplayErrorContext(&error)
                ))
            })?;
        Ok(Sent::Ses {
            message_id: sent.message_id().unwrap_or_default().to_owned(),
        })
    }
}
