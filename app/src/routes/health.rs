//! `GET /health` (the process is up) and `GET /health/ready` (database, storage and queue answer).

use std::time::{Duration, Instant};

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::http::problem::Problem;
use crate::state::{AppState, DependencyChecks};

#[derive(Debug, Object)]
pub struct Health {
    /// Always `healthy` when the process answers.
    pub status: String,
    /// The running version.
    pub version: String,
}

/// The result of each dependency check: `ok`, or what failed.
#[derive(Debug, Object)]
pub struct Checks {
    pub database: String,
    pub storage: String,
    pub queue: String,
}

#[derive(Debug, Object)]
pub struct Readiness {
    /// `ready`.
    pub status: String,
    pub checks: Checks,
}

/// A problem naming the dependencies that did not answer.
#[derive(Debug, Object)]
pub struct NotReady {
    #[oai(flatten)]
    pub problem: Problem,
    pub checks: Checks,
}

#[derive(Debug, ApiResponse)]
pub enum HealthResponse {
    /// The process is up.
    #[oai(status = 200)]
    Healthy(Json<Health>),
}

#[derive(Debug, ApiResponse)]
pub enum ReadyResponse {
    /// Database, storage and queue all answer.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// At least one dependency does not answer; `checks` says which.
    #[oai(status = 503, content_type = "application/problem+json")]
    NotReady(Json<NotReady>),
}

pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: answers without any I/O.
    #[oai(path = "/health", method = "get", operation_id = "health")]
    async fn health(&self) -> HealthResponse {
        HealthResponse::Healthy(Json(Health {
            status: "healthy".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }))
    }

    /// Readiness: one round trip each to the database, the storage and the queue, at most once
    /// every few seconds per instance (answers in between repeat the last one).
    #[oai(path = "/health/ready", method = "get", operation_id = "ready")]
    async fn ready(&self, state: Data<&AppState>) -> ReadyResponse {
        let DependencyChecks {
            database,
            storage,
            queue,
        } = readiness(&state).await;
        let outcome = |name: &str, result: Result<(), String>| match result {
            Ok(()) => "ok".to_owned(),
            Err(error) => {
                tracing::warn!(dependency = name, %error, "readiness check failed");
                "unavailable".to_owned()
            }
        };
        let checks = Checks {
            database: outcome("database", database),
            storage: outcome("storage", storage),
            queue: outcome("queue", queue),
        };
        let failed: Vec<&str> = [
            ("base de datos", &checks.database),
            ("almacenamiento", &checks.storage),
            ("cola", &checks.queue),
        ]
        .into_iter()
        .filter(|(_, result)| *result != "ok")
        .map(|(name, _)| name)
        .collect();
        if failed.is_empty() {
            return ReadyResponse::Ready(Json(Readiness {
                status: "ready".to_owned(),
                checks,
            }));
        }
        ReadyResponse::NotReady(Json(NotReady {
            problem: Problem::new(
                poem::http::StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                format!(
                    "El servicio no está listo: no responde {}.",
                    failed.join(", ")
                ),
            ),
            checks,
        }))
    }
}

/// How long one round of readiness checks is reused.
const READINESS_REUSE: Duration = Duration::from_secs(5);

/// The last round of checks if it is recent, else a new one (concurrent callers share it).
async fn readiness(state: &AppState) -> DependencyChecks {
    let mut last = state.readiness.lock().await;
    if let Some((at, checks)) = last.as_ref()
        && at.elapsed() < READINESS_REUSE
    {
        return checks.clone();
    }
    let (database, storage, queue) = tokio::join!(
        platform::db::check(&state.pool),
        state.storage.check(),
        state.queue.check(),
    );
    let checks = DependencyChecks {
        database: database.map_err(|e| e.to_string()),
        storage: storage.map_err(|e| e.to_string()),
        queue: queue.map_err(|e| e.to_string()),
    };
    *last = Some((Instant::now(), checks.clone()));
    checks
}
