//! What the sampler watches besides k6: the local stack's queue and busy workers, or a deployed
//! stack's ECS services and SQS queues.

use anyhow::Context;
use sqlx::PgPool;

use super::k6::Interval;
use super::timeline::{Sample, Tasks};
use crate::deploy::resources::{self, TaskCounts};
use crate::deploy::stack::{self, StackState};
use crate::flags::{AwsArgs, LoadtestArgs};

/// Where task counts and queue depths come from.
pub enum Watched {
    /// Nothing beyond k6 (a bare URL).
    Nothing,
    /// The local stack: the PostgreSQL queue, and videos being processed.
    Local {
        pool: PgPool,
        queue: platform::queue::PgQueue,
    },
    /// A deployed stack, through the ECS and SQS APIs.
    Stack {
        api_url: String,
        state: Box<StackState>,
        ecs: aws_sdk_ecs::Client,
        sqs: aws_sdk_sqs::Client,
    },
}

impl Watched {
    pub fn local(pool: &PgPool) -> Self {
        Self::Local {
            pool: pool.clone(),
            queue: super::workload::local_queue(pool),
        }
    }

    pub async fn stack(args: &LoadtestArgs, name: &str) -> anyhow::Result<Self> {
        let aws = AwsArgs {
            stack: name.to_owned(),
            connection: args.connection.clone(),
        };
        let config = crate::deploy::aws::sdk_config(&aws).await;
        let cloudformation = aws_sdk_cloudformation::Client::new(&config);
        let state = stack::describe(&cloudformation, name)
            .await?
            .with_context(|| format!("stack {name} does not exist"))?;
        Ok(Self::Stack {
            api_url: state.output("ApiUrl")?.to_owned(),
            state: Box::new(state),
            ecs: aws_sdk_ecs::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
        })
    }

    /// One sample at `elapsed_s` of what is watched, with no k6 figures (k6 is not running).
    pub async fn sample_without_k6(&self, elapsed_s: f64) -> anyhow::Result<Sample> {
        self.sample(elapsed_s, &Interval::default(), 0.0).await
    }

    /// One sample at `elapsed_s`, with k6's figures over the last `span_s` seconds.
    pub async fn sample(
        &self,
        elapsed_s: f64,
        interval: &Interval,
        span_s: f64,
    ) -> anyhow::Result<Sample> {
        let mut sample = Sample {
            elapsed_s,
            requests_per_s: if span_s > 0.0 {
                interval.requests as f64 / span_s
            } else {
                0.0
            },
            p95_ms: interval.p95_ms(),
            error_rate: interval.error_rate(),
            ..Sample::default()
        };
        match self {
            Self::Nothing => {}
            Self::Local { pool, queue } => {
                let depth = platform::queue::JobQueue::depth(queue).await?;
                let busy: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM videos WHERE status = 'processing'")
                        .fetch_one(pool)
                        .await?;
                sample.busy_workers = Some(busy);
                sample.queue_visible = Some(i64::try_from(depth.visible).unwrap_or(i64::MAX));
                sample.queue_in_flight = Some(i64::try_from(depth.in_flight).unwrap_or(i64::MAX));
                sample.dead_letter = Some(i64::try_from(depth.dead_letter).unwrap_or(i64::MAX));
            }
            Self::Stack {
                state, ecs, sqs, ..
            } => {
                let services = resources::service_counts(ecs, state).await?;
                let tasks_of = |output: &str| -> Option<Tasks> {
                    let name = state.output(output).ok()?;
                    services
                        .iter()
                        .find(|(service, _)| service == name)
                        .map(|(_, counts)| tasks(*counts))
                };
                sample.web = tasks_of("WebServiceName");
                sample.worker = tasks_of("WorkerServiceName");
                let depths = resources::queue_depths(sqs, state).await?;
                sample.queue_visible = Some(i64::try_from(depths.visible).unwrap_or(i64::MAX));
                sample.queue_in_flight = Some(i64::try_from(depths.in_flight).unwrap_or(i64::MAX));
                sample.dead_letter = Some(i64::try_from(depths.dead_letter).unwrap_or(i64::MAX));
            }
        }
        Ok(sample)
    }
}

fn tasks(counts: TaskCounts) -> Tasks {
    Tasks {
        desired: i64::from(counts.desired),
        running: i64::from(counts.running),
        pending: i64::from(counts.pending),
    }
}
