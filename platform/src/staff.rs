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
