//! The stack's event stream: the latest events, and following them live until the stack settles.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::bail;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::StackEvent;

use super::stack::{POLL, describe};
use crate::console;

/// Prints new stack events until the stack leaves every `*_IN_PROGRESS` state.
pub async fn follow(cf: &Client, stack: &str, seen: &mut HashSet<String>) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut failures = Vec::new();
    // On a terminal a status line with the elapsed time is redrawn between events (RDS alone
    // can take ten quiet minutes); in a log only the event lines appear.
    let mut status_line = console::StatusLine::new();
    loop {
        let mut fresh: Vec<StackEvent> = recent_events(cf, stack, 100)
            .await?
            .into_iter()
            .filter(|event| event.event_id().is_some_and(|id| !seen.contains(id)))
            .collect();
        fresh.reverse(); // oldest first
        if !fresh.is_empty() {
            status_line.clear();
        }
        for event in &fresh {
            seen.insert(event.event_id().unwrap_or_default().to_owned());
            let status = event
                .resource_status()
                .map(|status| status.as_str())
                .unwrap_or_default();
            let reason = event.resource_status_reason().unwrap_or_default();
            console::note(format!(
                "{:>5.0} s  {status:<28} {:<32} {reason}",
                started.elapsed().as_secs_f64(),
                event.logical_resource_id().unwrap_or_default(),
            ));
            if status.ends_with("_FAILED") && !reason.contains("Resource creation cancelled") {
                failures.push(format!(
                    "{} ({}): {reason}",
                    event.logical_resource_id().unwrap_or_default(),
                    event.resource_type().unwrap_or_default()
                ));
            }
        }
        let Some(state) = describe(cf, stack).await? else {
            status_line.clear();
            return Ok(()); // deleted
        };
        if !state.status.ends_with("_IN_PROGRESS") {
            status_line.clear();
            let failed = state.status.contains("ROLLBACK") || state.status.ends_with("_FAILED");
            if failed {
                if failures.is_empty() {
                    bail!("stack {stack} ended in {}", state.status);
                }
                bail!(
                    "stack {stack} ended in {}; failed: {}",
                    state.status,
                    failures.join("; ")
                );
            }
            console::note(format!("stack {stack}: {}", state.status));
            return Ok(());
        }
        status_line.show(&format!(
            "… {stack}: {}, {:.0} s",
            state.status,
            started.elapsed().as_secs_f64()
        ));
        tokio::time::sleep(POLL).await;
    }
}

/// The stack's most recent events, newest first.
pub async fn recent_events(
    cf: &Client,
    stack: &str,
    at_most: usize,
) -> anyhow::Result<Vec<StackEvent>> {
    match cf.describe_stack_events().stack_name(stack).send().await {
        Ok(answer) => Ok(answer
            .stack_events()
            .iter()
            .take(at_most)
            .cloned()
            .collect()),
        Err(error)
            if error
                .message()
                .is_some_and(|m| m.contains("does not exist")) =>
        {
            Ok(Vec::new())
        }
        Err(error) => Err(anyhow::Error::new(error).context(format!("reading events of {stack}"))),
    }
}
