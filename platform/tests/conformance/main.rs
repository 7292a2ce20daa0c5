//! One conformance suite per backend trait, run against every backend: the local directory and S3
//! (on the moto emulator) for storage; PostgreSQL and SQS (on moto) for the queue.

/// Defines each case of a suite once and runs it against both backends of the trait: the cases
/// become functions, and each backend a module (`postgres::…`, `sqs::…`) holding one
/// `#[tokio::test]` per case, which builds the backend (`super::<backend>()`) and hands the case
/// its `subject` field. So a case cannot be written and left out of a backend.
macro_rules! conformance_suite {
    (
        backends: $first:ident, $second:ident;
        subject: $subject:ident;
        $($(#[$meta:meta])* async fn $case:ident $params:tt -> anyhow::Result<()> $body:block)+
    ) => {
        $($(#[$meta])* async fn $case $params -> anyhow::Result<()> $body)+
        conformance_suite!(@backend $first, $subject; $($case)+);
        conformance_suite!(@backend $second, $subject; $($case)+);
    };
    (@backend $backend:ident, $subject:ident; $($case:ident)+) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    let backend = super::$backend().await?;
                    // The case's parameter says which: `&dyn Trait`, or the `&Arc` itself.
                    super::$case(std::borrow::Borrow::borrow(&backend.$subject)).await
                }
            )+
        }
    };
}

mod queue;
mod storage;
