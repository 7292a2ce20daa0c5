//! Upload sessions: a file sent in parts that survive dropped connections, straight to S3 through
//! pre-signed part links, or to the API (which stores them) with local storage. Completing one
//! joins the parts in storage, probes the object there by ranged reads, and takes it in by the
//! single upload's own rules and record (`super::intake`).

use std::io::BufReader;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use platform::storage::{StorageError, StoredPart};
use platform::videos::intake::in_flight;
use platform::videos::rules::MAX_UPLOAD_BYTES;
use platform::videos::sessions::{self, NewSession, Session, SessionStatus};
use uuid::Uuid;

use super::intake::{Fields, Intake, Refusal, check_fields, probe_with, record};
use super::probe::probe_reader;
use super::stored::{Fetched, StoredReader};
use crate::domain::Title;
use crate::http::errors::ApiError;
use crate::state::AppState;

/// Every part's size but the last one's: S3's smallest, so a dropped connection costs at most
/// 5 MiB of resending per part in flight.
pub const PART_SIZE: u64 = 5 * 1024 * 1024;

/// How long a part link works; a client asks the session again for fresh ones.
pub const PART_LINK_TTL: Duration = Duration::from_secs(3600);

/// How many expired sessions one sweep takes at once.
const SWEEP_BATCH: i64 = 100;

/// One part of a session as a client sees it.
#[derive(Debug, Clone)]
pub struct PartPlan {
    pub number: u32,
    pub size: u64,
    pub received: bool,
    /// Where to `PUT` it: a pre-signed S3 link, or a signed path on this API.
    pub url: String,
}

/// A session and its parts.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub session: Session,
    /// Empty unless the session is open or assembled.
    pub parts: Vec<PartPlan>,
    pub links_expire_at: DateTime<Utc>,
}

/// What became of a request for a new session.
#[derive(Debug)]
pub enum Opened {
    Opened(Box<SessionView>),
    /// Over the upload size limit.
    TooLarge,
    /// A field is wrong (`validation_error`).
    Refused(Refusal),
    /// The account's videos in flight are at the ceiling.
    InFlight,
    /// The account's open sessions are at the ceiling.
    TooManySessions,
}

/// What a new session asks for.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    pub size: u64,
    pub title: String,
    pub publish: Option<bool>,
    pub checksum: Option<String>,
}

/// Opens a session for `owner_id`: the fields are checked as the single upload checks them, the
/// account's videos in flight and open sessions counted, and the store's multipart upload started.
pub async fn open(
    state: &AppState,
    owner_id: Uuid,
    request: SessionRequest,
) -> Result<Opened, ApiError> {
    if request.size > MAX_UPLOAD_BYTES {
        return Ok(Opened::TooLarge);
    }
    let publish = request.publish.map(|publish| publish.to_string());
    let fields = match check_fields(Some(&request.title), publish.as_deref()) {
        Ok(fields) => fields,
        Err(refusal) => return Ok(Opened::Refused(refusal)),
    };
    // Early, as for the single upload: the record counts again when the video is taken in.
    if in_flight(&state.pool, owner_id).await? >= i64::from(state.max_in_flight_per_account) {
        return Ok(Opened::InFlight);
    }
    let new = NewSession {
        owner_id,
        size_bytes: request.size,
        part_size: PART_SIZE,
        title: fields.title.as_str().to_owned(),
        publish: fields.publish,
        checksum: request.checksum,
    };
    let Some(mut session) =
        sessions::open_within(&state.pool, &new, state.max_sessions_per_account).await?
    else {
        return Ok(Opened::TooManySessions);
    };
    let started = state
        .storage
        .create_multipart(&session.key(), "video/mp4")
        .await;
    let upload_id = match started {
        Ok(upload_id) => upload_id,
        Err(error) => {
            sessions::delete(&state.pool, session.id).await?;
            return Err(error.into());
        }
    };
    sessions::set_storage_upload(&state.pool, session.id, &upload_id).await?;
    session.storage_upload_id = Some(upload_id);
    tracing::info!(upload_id = %session.id, bytes = request.size, "upload session opened");
    Ok(Opened::Opened(Box::new(view(state, session).await?)))
}

/// The caller's session `id`: `None` when there is none, it is someone else's, or it expired.
pub async fn find(state: &AppState, owner_id: Uuid, id: &str) -> Result<Option<Session>, ApiError> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(None);
    };
    let session = sessions::find(&state.pool, id).await?;
    Ok(session.filter(|session| session.owner_id == owner_id && session.is_live(Utc::now())))
}

/// `session` with its parts: which arrived, and fresh links for every one.
pub async fn view(state: &AppState, session: Session) -> Result<SessionView, ApiError> {
    let links_expire_at = Utc::now()
        + chrono::Duration::from_std(PART_LINK_TTL).unwrap_or_else(|_| chrono::Duration::zero());
    let received: Vec<StoredPart> = match (session.status(), &session.storage_upload_id) {
        (SessionStatus::Open, Some(upload_id)) => {
            match state.storage.list_parts(&session.key(), upload_id).await {
                Ok(parts) => parts,
                Err(StorageError::NotFound(_)) => Vec::new(),
                Err(error) => return Err(error.into()),
            }
        }
        _ => Vec::new(),
    };
    let mut parts = Vec::new();
    if let (SessionStatus::Open | SessionStatus::Assembled, Some(upload_id)) =
        (session.status(), &session.storage_upload_id)
    {
        let expires = unix_seconds(SystemTime::now() + PART_LINK_TTL);
        for number in 1..=session.part_count() {
            let size = session.expected_part_size(number).unwrap_or(0);
            let presigned = state
                .storage
                .presign_part(&session.key(), upload_id, number, size, PART_LINK_TTL)
                .await?;
            let url = match presigned {
                Some(url) => url,
                None => local_part_link(state, session.id, number, expires)?,
            };
            let received = session.status() == SessionStatus::Assembled
                || received
                    .iter()
                    .any(|part| part.number == number && part.size == size);
            parts.push(PartPlan {
                number,
                size,
                received,
                url,
            });
        }
    }
    Ok(SessionView {
        session,
        parts,
        links_expire_at,
    })
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// What a part link of the API signs: the session, the part number as written in the link, and
/// the expiry as written.
fn part_link_message(session_id: &str, part: &str, expires: &str) -> String {
    format!("upload-part\n{session_id}\n{part}\n{expires}")
}

/// The API's own link for part `number` of a session on local storage: a path on this API,
/// signed and expiring like the file links, so the client sends it no token (as to S3).
fn local_part_link(
    state: &AppState,
    session_id: Uuid,
    number: u32,
    expires: u64,
) -> Result<String, ApiError> {
    let local = state
        .storage
        .as_local()
        .ok_or_else(|| ApiError::internal("a store that neither signs parts nor is local"))?;
    let signature = local.sign(&part_link_message(
        &session_id.to_string(),
        &number.to_string(),
        &expires.to_string(),
    ));
    Ok(format!(
        "/api/videos/uploads/{session_id}/parts/{number}?expires={expires}&signature={signature}"
    ))
}

/// Whether a part link is one this API signed and it is still good; its parts are taken as
/// written, so nothing in a link that is not ours is even parsed.
pub fn part_link_is_valid(
    state: &AppState,
    session_id: &str,
    part: &str,
    expires: &str,
    signature: &str,
) -> bool {
    let Some(local) = state.storage.as_local() else {
        return false;
    };
    local.verify(&part_link_message(session_id, part, expires), signature)
        && expires
            .parse::<u64>()
            .is_ok_and(|expires| unix_seconds(SystemTime::now()) < expires)
}

/// What became of a completion.
#[derive(Debug)]
pub enum Completion {
    /// The video is recorded and queued (again the same answer for a session completed before).
    Accepted {
        video_id: Uuid,
        task_id: Uuid,
    },
    /// A rule failed (the object is removed), or for now: busy, or too many videos in flight.
    Refused(Refusal),
    /// Parts are missing or of the wrong size: their numbers. The session stays open.
    Incomplete(Vec<u32>),
    /// Another request is completing or aborting it.
    Busy,
    NotFound,
}

/// Completes the caller's session `id`.
pub async fn complete(state: &AppState, owner_id: Uuid, id: &str) -> Result<Completion, ApiError> {
    let Some(found) = find(state, owner_id, id).await? else {
        return Ok(Completion::NotFound);
    };
    if let Some(settled) = settled(&found) {
        return Ok(settled);
    }
    let Some(session) = sessions::claim(&state.pool, found.id, owner_id).await? else {
        // Taken meanwhile, or settled by the request that held it.
        return Ok(match sessions::find(&state.pool, found.id).await? {
            Some(now) => settled(&now).unwrap_or(Completion::Busy),
            None => Completion::NotFound,
        });
    };
    let outcome = complete_claimed(state, &session).await;
    if !matches!(
        outcome,
        Ok(Completion::Accepted { .. }
            | Completion::Refused(Refusal::Field { .. } | Refusal::Video { .. }))
    ) {
        sessions::release(&state.pool, session.id).await?;
    }
    outcome
}

/// The answer a session already settled gives again.
fn settled(session: &Session) -> Option<Completion> {
    match session.status() {
        SessionStatus::Completed => Some(Completion::Accepted {
            video_id: session.video_id,
            task_id: session.task_id.unwrap_or_default(),
        }),
        SessionStatus::Refused => Some(Completion::Refused(stored_refusal(session))),
        SessionStatus::Open | SessionStatus::Assembled => None,
    }
}

/// A refused session's problem, as it was first answered.
fn stored_refusal(session: &Session) -> Refusal {
    let detail = session.refusal_detail.clone().unwrap_or_default();
    match (&session.refusal_field, session.refusal_code.as_deref()) {
        (Some(field), _) => Refusal::Field {
            field: field.clone(),
            detail,
        },
        (None, code) => Refusal::Video {
            code: match code {
                Some("invalid_duration") => "invalid_duration",
                Some("invalid_resolution") => "invalid_resolution",
                Some("invalid_frame_rate") => "invalid_frame_rate",
                _ => "invalid_video",
            },
            detail,
        },
    }
}

/// The work of a completion, on a session this request holds.
async fn complete_claimed(state: &AppState, session: &Session) -> Result<Completion, ApiError> {
    let key = session.key();
    let Some(upload_id) = &session.storage_upload_id else {
        return Ok(Completion::Incomplete((1..=session.part_count()).collect()));
    };
    if session.status() == SessionStatus::Open {
        let stored = match state.storage.list_parts(&key, upload_id).await {
            Ok(parts) => parts,
            Err(StorageError::NotFound(_)) => Vec::new(),
            Err(error) => return Err(error.into()),
        };
        let mut parts = Vec::new();
        let mut missing = Vec::new();
        for number in 1..=session.part_count() {
            let size = session.expected_part_size(number);
            match stored.iter().find(|part| part.number == number) {
                Some(part) if Some(part.size) == size => parts.push(part.clone()),
                _ => missing.push(number),
            }
        }
        if !missing.is_empty() {
            return Ok(Completion::Incomplete(missing));
        }
        state
            .storage
            .complete_multipart(&key, upload_id, &parts)
            .await?;
        sessions::mark_assembled(&state.pool, session.id).await?;
    }
    let size = state.storage.size_of(&key).await?;
    let fetched = Arc::new(Fetched::default());
    let (storage, runtime, probe_key, counted) = (
        state.storage.clone(),
        tokio::runtime::Handle::current(),
        key.clone(),
        fetched.clone(),
    );
    let probed = probe_with(state, move |reserve| {
        let reader = StoredReader::new(storage, probe_key, size, runtime, counted);
        probe_reader(BufReader::with_capacity(64 * 1024, reader), size, reserve)
    })
    .await;
    tracing::info!(
        upload_id = %session.id,
        bytes = size,
        ranged_reads = fetched.reads.load(Ordering::Relaxed),
        bytes_read = fetched.bytes.load(Ordering::Relaxed),
        "upload session probed where it is stored"
    );
    let probed = match probed {
        Ok(probed) if size == session.size() => probed,
        Ok(_) => {
            return refuse(
                state,
                session,
                Refusal::Video {
                    code: "invalid_video",
                    detail: "El archivo no es un video MP4 válido.".to_owned(),
                },
            )
            .await;
        }
        Err(Refusal::Busy) => return Ok(Completion::Refused(Refusal::Busy)),
        Err(refusal) => return refuse(state, session, refusal).await,
    };
    let fields = Fields {
        title: Title::parse(&session.title)
            .map_err(|error| ApiError::internal(format!("a session's stored title: {error}")))?,
        publish: session.publish,
    };
    match record(
        state,
        session.owner_id,
        session.video_id,
        size,
        &fields,
        &probed,
    )
    .await?
    {
        Intake::Accepted { video_id, task_id } => {
            sessions::mark_completed(&state.pool, session.id, task_id).await?;
            Ok(Completion::Accepted { video_id, task_id })
        }
        // Too many videos in flight: the object stays, and the session with it, for a later try.
        Intake::Refused(refusal) => Ok(Completion::Refused(refusal)),
    }
}

/// Refuses a session by a rule: its object goes, its row keeps the problem.
async fn refuse(
    state: &AppState,
    session: &Session,
    refusal: Refusal,
) -> Result<Completion, ApiError> {
    state.storage.delete(&session.key()).await?;
    let (code, field, detail) = match &refusal {
        Refusal::Field { field, detail } => ("validation_error", Some(field.as_str()), detail),
        Refusal::Video { code, detail } => (*code, None, detail),
        Refusal::Busy | Refusal::InFlight => return Ok(Completion::Refused(refusal)),
    };
    sessions::mark_refused(&state.pool, session.id, code, field, detail).await?;
    tracing::info!(upload_id = %session.id, code, "upload session refused; its object removed");
    Ok(Completion::Refused(refusal))
}

/// What became of an abort.
#[derive(Debug, PartialEq, Eq)]
pub enum Aborted {
    Aborted,
    /// It already became a video.
    Completed,
    /// A completion holds it now.
    Busy,
    NotFound,
}

/// Aborts the caller's session `id`: its parts (or joined object) are removed, then its row.
pub async fn abort(state: &AppState, owner_id: Uuid, id: &str) -> Result<Aborted, ApiError> {
    let Some(found) = find(state, owner_id, id).await? else {
        return Ok(Aborted::NotFound);
    };
    match found.status() {
        SessionStatus::Completed => return Ok(Aborted::Completed),
        SessionStatus::Refused => {
            sessions::delete(&state.pool, found.id).await?;
            return Ok(Aborted::Aborted);
        }
        SessionStatus::Open | SessionStatus::Assembled => {}
    }
    let Some(session) = sessions::claim(&state.pool, found.id, owner_id).await? else {
        return Ok(Aborted::Busy);
    };
    remove_stored(state, &session).await?;
    sessions::delete(&state.pool, session.id).await?;
    tracing::info!(upload_id = %session.id, "upload session aborted");
    Ok(Aborted::Aborted)
}

/// Removes what an unfinished session stored: its parts, or its joined object.
async fn remove_stored(state: &AppState, session: &Session) -> Result<(), StorageError> {
    match (session.status(), &session.storage_upload_id) {
        (SessionStatus::Open, Some(upload_id)) => {
            state
                .storage
                .abort_multipart(&session.key(), upload_id)
                .await
        }
        (SessionStatus::Assembled, _) => state.storage.delete(&session.key()).await,
        _ => Ok(()),
    }
}

/// One sweep: every expired session's stored parts or object are removed, then its row (a
/// completed session's object is its video's and stays). Returns how many went.
pub async fn sweep(state: &AppState) -> Result<usize, ApiError> {
    let mut removed = 0;
    loop {
        let expired = sessions::claim_expired(&state.pool, SWEEP_BATCH).await?;
        if expired.is_empty() {
            return Ok(removed);
        }
        for session in &expired {
            if let Err(error) = remove_stored(state, session).await {
                // Left claimed: the next sweep after the claim runs out tries again.
                tracing::warn!(upload_id = %session.id, %error, "could not remove an expired upload's parts");
                continue;
            }
            sessions::delete(&state.pool, session.id).await?;
            removed += 1;
        }
        if expired.len() < usize::try_from(SWEEP_BATCH).unwrap_or(usize::MAX) {
            return Ok(removed);
        }
    }
}

/// Sweeps every `UPLOAD_SESSION_SWEEP_SECONDS`.
pub fn spawn_sweep(state: AppState) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(state.session_sweep_interval);
        loop {
            ticker.tick().await;
            match sweep(&state).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "expired upload sessions removed"),
                Err(_) => tracing::warn!("sweeping expired upload sessions failed"),
            }
        }
    });
}
