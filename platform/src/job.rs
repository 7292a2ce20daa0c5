//! The message the app enqueues and the worker consumes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Ask the worker to turn one uploaded video into its showcase clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessVideo {
    /// The job's id (the upload answer's `task_id`), for tracing one job across logs.
    pub task_id: Uuid,
    pub video_id: Uuid,
}

impl ProcessVideo {
    /// The queue message body: JSON, so that other tools can read and inject jobs.
    pub fn to_body(&self) -> String {
        // Two UUIDs always serialise; format by hand rather than panic in the impossible case.
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                r#"{{"task_id":"{}","video_id":"{}"}}"#,
                self.task_id, self.video_id
            )
        })
    }

    pub fn from_body(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips() {
        let job = ProcessVideo {
            task_id: Uuid::new_v4(),
            video_id: Uuid::new_v4(),
        };
        assert_eq!(ProcessVideo::from_body(&job.to_body()).ok(), Some(job));
        assert!(ProcessVideo::from_body("{}").is_err());
    }
}
