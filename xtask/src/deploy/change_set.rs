//! Change sets: what a deploy would change (computed by CloudFormation, shown as a table), and
//! executing one while its events stream by.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter};

use super::events::{follow, recent_events};
use super::stack::{POLL, StackState, describe};
use super::template::Rendered;
use crate::console;

/// One line of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    pub replacement: String,
}

/// A change set ready to execute, or the news that there is nothing to change.
#[derive(Debug)]
pub enum Plan {
    NoChanges,
    Ready { name: String, changes: Vec<Change> },
}

/// Creates a change set of the rendered template against the stack (a new stack when
/// `existing` is `None`) and waits for CloudFormation to compute it.
pub async fn plan(
    cf: &Client,
    stack: &str,
    rendered: &Rendered,
    existing: Option<&StackState>,
) -> anyhow::Result<Plan> {
    let name = format!(
        "xtask-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or_default()
    );
    let mut parameters = Vec::new();
    for (key, value) in &rendered.parameters {
        let keep_deployed = existing.is_some_and(|state| state.parameters.contains(key))
            && !rendered.given.contains(key);
        let parameter = Parameter::builder().parameter_key(key);
        parameters.push(if keep_deployed {
            parameter.use_previous_value(true).build()
        } else {
            parameter.parameter_value(value).build()
        });
    }
    if let Some(state) = existing {
        // A parameter without default that was not given keeps its deployed value; one the
        // template no longer declares is left out (CloudFormation refuses unknown names).
        for key in &state.parameters {
            if !rendered.parameters.contains_key(key)
                && rendered.template["Parameters"].get(key).is_some()
            {
                parameters.push(
                    Parameter::builder()
                        .parameter_key(key)
                        .use_previous_value(true)
                        .build(),
                );
            }
        }
    }
    let kind = if existing.is_some() {
        ChangeSetType::Update
    } else {
        ChangeSetType::Create
    };
    let created = cf
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(kind)
        .template_body(&rendered.body)
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .send()
        .await;
    match created {
        Ok(_) => {}
        // CloudFormation reports "nothing to change" as a FAILED change set (below); the moto
        // emulator refuses to create one instead.
        Err(error) if error.message().is_some_and(is_no_change) => return Ok(Plan::NoChanges),
        Err(error) => {
            return Err(anyhow::Error::new(error)
                .context(format!("creating change set {name} for stack {stack}")));
        }
    }

    let started = Instant::now();
    loop {
        let described = cf
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(&name)
            .send()
            .await
            .with_context(|| format!("describing change set {name}"))?;
        match described.status() {
            Some(ChangeSetStatus::CreateComplete) => break,
            Some(ChangeSetStatus::Failed) => {
                let reason = described.status_reason().unwrap_or_default().to_owned();
                let _ = cf
                    .delete_change_set()
                    .stack_name(stack)
                    .change_set_name(&name)
                    .send()
                    .await;
                if is_no_change(&reason) {
                    return Ok(Plan::NoChanges);
                }
                bail!("CloudFormation refused the change set: {reason}");
            }
            _ => {
                if started.elapsed() > Duration::from_secs(600) {
                    bail!("change set {name} still not ready after 10 minutes");
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }
    let changes = changes(cf, stack, &name).await?;
    if changes.is_empty() {
        let _ = cf
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(&name)
            .send()
            .await;
        return Ok(Plan::NoChanges);
    }
    Ok(Plan::Ready { name, changes })
}

/// Whether CloudFormation's message means "the stack already is what was asked for".
fn is_no_change(message: &str) -> bool {
    message.contains("didn't contain changes") || message.contains("No updates are to be performed")
}

async fn changes(cf: &Client, stack: &str, name: &str) -> anyhow::Result<Vec<Change>> {
    let mut changes = Vec::new();
    let mut next = None;
    loop {
        let page = cf
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(name)
            .set_next_token(next)
            .send()
            .await?;
        for change in page.changes() {
            let Some(resource) = change.resource_change() else {
                continue;
            };
            changes.push(Change {
                action: resource
                    .action()
                    .map(|action| action.as_str().to_owned())
                    .unwrap_or_default(),
                logical_id: resource
                    .logical_resource_id()
                    .unwrap_or_default()
                    .to_owned(),
                resource_type: resource.resource_type().unwrap_or_default().to_owned(),
                replacement: resource
                    .replacement()
                    .map(|replacement| replacement.as_str().to_owned())
                    .unwrap_or_default(),
            });
        }
        next = page.next_token().map(str::to_owned);
        if next.is_none() {
            return Ok(changes);
        }
    }
}

/// The changes as an aligned table: action, resource, type, replacement.
pub fn change_table(changes: &[Change]) -> String {
    let rows: Vec<[&str; 4]> = changes
        .iter()
        .map(|change| {
            let replacement = match (change.action.as_str(), change.replacement.as_str()) {
                ("Modify", "True") => "replaced",
                ("Modify", "Conditional") => "maybe replaced",
                ("Modify", _) => "in place",
                _ => "",
            };
            [
                change.action.as_str(),
                change.logical_id.as_str(),
                change.resource_type.as_str(),
                replacement,
            ]
        })
        .collect();
    console::table(&["action", "resource", "type", "replacement"], &rows)
}

/// Executes a change set and follows the stack's events until it settles; an error names the
/// resources that failed and why.
pub async fn execute(cf: &Client, stack: &str, change_set: &str) -> anyhow::Result<()> {
    let mut seen: HashSet<String> = recent_events(cf, stack, 100)
        .await?
        .iter()
        .filter_map(|event| event.event_id().map(str::to_owned))
        .collect();
    cf.execute_change_set()
        .stack_name(stack)
        .change_set_name(change_set)
        .send()
        .await
        .with_context(|| format!("executing change set {change_set}"))?;
    follow(cf, stack, &mut seen).await
}

/// Re-applies the deployed template when a completed stack reports none of the outputs the
/// template declares. The moto emulator builds a stack created through a change set from an empty
/// template and never fills its outputs; an UpdateStack with the same template and parameters
/// does. Real CloudFormation always has the outputs, so this never runs there.
pub async fn fill_missing_outputs(
    cf: &Client,
    stack: &str,
    rendered: &Rendered,
) -> anyhow::Result<()> {
    let declared = rendered.template["Outputs"]
        .as_object()
        .map_or(0, serde_json::Map::len);
    let Some(state) = describe(cf, stack).await? else {
        return Ok(());
    };
    if declared == 0 || !state.outputs.is_empty() {
        return Ok(());
    }
    console::note(
        "the stack reports no outputs (an emulator quirk): re-applying the same template",
    );
    // The values just deployed, given explicitly (the emulator mishandles UsePreviousValue here).
    let parameters = state
        .parameters
        .iter()
        .map(|key| {
            let parameter = Parameter::builder().parameter_key(key);
            match rendered.parameters.get(key) {
                Some(value) => parameter.parameter_value(value).build(),
                None => parameter.use_previous_value(true).build(),
            }
        })
        .collect();
    let mut seen = recent_events(cf, stack, 100)
        .await?
        .iter()
        .filter_map(|event| event.event_id().map(str::to_owned))
        .collect();
    match cf
        .update_stack()
        .stack_name(stack)
        .template_body(&rendered.body)
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .send()
        .await
    {
        Ok(_) => follow(cf, stack, &mut seen).await,
        Err(error) if error.message().is_some_and(|m| m.contains("No updates")) => Ok(()),
        Err(error) => Err(anyhow::Error::new(error).context("re-applying the template")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &str, id: &str, kind: &str, replacement: &str) -> Change {
        Change {
            action: action.to_owned(),
            logical_id: id.to_owned(),
            resource_type: kind.to_owned(),
            replacement: replacement.to_owned(),
        }
    }

    #[test]
    fn the_change_table_says_what_is_replaced() {
        let table = change_table(&[
            change("Add", "Dashboard", "AWS::CloudWatch::Dashboard", ""),
            change(
                "Modify",
                "WebTaskDefinition",
                "AWS::ECS::TaskDefinition",
                "True",
            ),
            change("Modify", "WebService", "AWS::ECS::Service", "False"),
            change("Remove", "OldAlarm", "AWS::CloudWatch::Alarm", ""),
        ]);
        let lines: Vec<&str> = table.lines().map(str::trim).collect();
        assert_eq!(
            lines,
            [
                "action  resource           type                        replacement",
                "Add     Dashboard          AWS::CloudWatch::Dashboard",
                "Modify  WebTaskDefinition  AWS::ECS::TaskDefinition    replaced",
                "Modify  WebService         AWS::ECS::Service           in place",
                "Remove  OldAlarm           AWS::CloudWatch::Alarm",
            ]
        );
    }
}
