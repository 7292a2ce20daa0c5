//! Staff accounts: the `staff` role an operator grants and takes back by command (never signup),
//! each change recorded in the audit log. Shared by `rising-stars-api staff …` (a one-off task on
//! a deployed stack) and `cargo xtask staff …` (the local database).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::audit::{self, Action, Actor};

/// A staff account as the operator lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffMember {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// When the role was last granted (from the audit log; null if granted some other way).
    pub since: Option<DateTime<Utc>>,
}

/// What a grant or a removal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// No account has that e-mail.
    NoAccount,
    /// The account already was (or already was not) staff: nothing changed, nothing recorded.
    Unchanged { id: Uuid },
    /// Done, and recorded in the audit log under this entry.
    Changed { id: Uuid, entry: i64 },
}

/// The account with `email` (compared lower-cased, as stored), its row locked.
async fn lock_account(
    tx: &mut Transaction<'_, Postgres>,
    email: &str,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, role FROM users WHERE email = lower(trim($1)) FOR UPDATE")
        .bind(email)
        .fetch_optional(&mut **tx)
        .await
}

/// Makes the account with `email` staff, recording who asked (`actor`) and why.
pub async fn grant(
    pool: &PgPool,
    email: &str,
    actor: &Actor,
    reason: &str,
) -> Result<Change, sqlx::Error> {
    set_role(pool, email, "staff", Action::StaffAdded, actor, reason).await
}

/// Takes the staff role from the account with `email`: its tokens stop opening staff endpoints
/// at once (each staff request checks the role in the database).
pub async fn revoke(
    pool: &PgPool,
    email: &str,
    actor: &Actor,
    reason: &str,
) -> Result<Change, sqlx::Error> {
    set_role(pool, email, "player", Action::StaffRemoved, actor, reason).await
}

async fn set_role(
    pool: &PgPool,
    email: &str,
    role: &str,
    action: Action,
    actor: &Actor,
    reason: &str,
) -> Result<Change, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some((id, current)) = lock_account(&mut tx, email).await? else {
        return Ok(Change::NoAccount);
    };
    if current == role {
        return Ok(Change::Unchanged { id });
    }
    sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
        .bind(id)
        .bind(role)
        .execute(&mut *tx)
        .await?;
    let entry = audit::record(
        &mut tx,
        actor,
        action,
        id,
        reason,
        serde_json::json!({ "email": email.trim().to_lowercase() }),
    )
    .await?;
    tx.commit().await?;
    Ok(Change::Changed { id, entry })
}

/// Every staff account, by e-mail.
pub async fn list(pool: &PgPool) -> Result<Vec<StaffMember>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.email, u.first_name, u.last_name,
                (SELECT max(a.at) FROM staff_actions a
                 WHERE a.target_id = u.id AND a.action = 'staff_added') AS since
         FROM users u WHERE u.role = 'staff' ORDER BY u.email",
    )
    .fetch_all(pool)
    .await
}

/// Whether the account `id` is staff now.
pub async fn is_staff(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, bool>("SELECT role = 'staff' FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
            .unwrap_or(false),
    )
}

/// An operator's staff command, as `rising-stars-api staff …` and `cargo xtask staff …` take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Add { email: String, reason: String },
    Remove { email: String, reason: String },
    List,
}

/// The usage line of the staff command.
pub const USAGE: &str =
    "staff add <email> [--reason <text>] | staff remove <email> [--reason <text>] | staff list";

impl Command {
    /// Parses `add <email> [--reason <text>]`, `remove <email> [--reason <text>]` or `list`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut words = args.iter().map(String::as_str);
        let verb = words.next();
        let mut email = None;
        let mut reason = None;
        while let Some(word) = words.next() {
            match word {
                "--reason" => {
                    reason = Some(words.next().ok_or("--reason needs a text")?.to_owned());
                }
                _ if email.is_none() && !word.starts_with('-') => {
                    // As signup stores it.
                    email = Some(word.trim().to_lowercase());
                }
                other => return Err(format!("unexpected argument {other:?}")),
            }
        }
        let reason = |default: &str| match &reason {
            Some(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
            Some(_) => Err("--reason must not be empty".to_owned()),
            None => Ok(default.to_owned()),
        };
        match (verb, email) {
            (Some("list"), None) => Ok(Self::List),
            (Some("add"), Some(email)) => Ok(Self::Add {
                reason: reason("granted by an operator")?,
                email,
            }),
            (Some("remove"), Some(email)) => Ok(Self::Remove {
                reason: reason("removed by an operator")?,
                email,
            }),
            (Some("add" | "remove"), None) => Err("an e-mail address is needed".to_owned()),
            (Some("list"), Some(_)) => Err("list takes no e-mail address".to_owned()),
            _ => Err(format!("usage: {USAGE}")),
        }
    }

    /// Runs the command as the operator; returns what it did, one line each, and whether it
    /// succeeded (an unknown e-mail is a failure).
    pub async fn run(&self, pool: &PgPool) -> Result<(bool, Vec<String>), sqlx::Error> {
        let changed = match self {
            Self::List => {
                let members = list(pool).await?;
                let mut lines = vec![format!("{} staff account(s)", members.len())];
                for member in members {
                    let since = member
                        .since
                        .map(|since| format!(" since {}", since.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default();
                    lines.push(format!(
                        "  {} ({} {}, id {}){since}",
                        member.email, member.first_name, member.last_name, member.id
                    ));
                }
                return Ok((true, lines));
            }
            Self::Add { email, reason } => (
                email,
                grant(pool, email, &Actor::Operator, reason).await?,
                "is now staff",
                "was already staff: nothing changed",
            ),
            Self::Remove { email, reason } => (
                email,
                revoke(pool, email, &Actor::Operator, reason).await?,
                "is no longer staff (its tokens stop opening staff endpoints at once)",
                "was not staff: nothing changed",
            ),
        };
        let (email, change, done, unchanged) = changed;
        Ok(match change {
            Change::NoAccount => (
                false,
                vec![format!(
                    "no account has the e-mail {email}: the person must sign up first"
                )],
            ),
            Change::Unchanged { id } => (true, vec![format!("{email} (id {id}) {unchanged}")]),
            Change::Changed { id, entry } => (
                true,
                vec![format!(
                    "{email} (id {id}) {done}; recorded as audit log entry {entry}"
                )],
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn commands_parse() {
        assert_eq!(Command::parse(&words("list")), Ok(Command::List));
        assert_eq!(
            Command::parse(&words("add ana@example.com --reason jurado")),
            Ok(Command::Add {
                email: "ana@example.com".into(),
                reason: "jurado".into()
            })
        );
        assert!(matches!(
            Command::parse(&words("remove ana@example.com")),
            Ok(Command::Remove { .. })
        ));
        for bad in [
            "add",
            "list x@y.co",
            "grant a@b.co",
            "add a@b.co b@c.co",
            "add a@b.co --reason",
        ] {
            assert!(Command::parse(&words(bad)).is_err(), "{bad}");
        }
    }
}
