//! The CloudFormation stack as xtask sees it: the template rendered with its parameters, and the
//! calls that `synth`, `diff`, `deploy`, `destroy` and `status` share.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, StackEvent,
};
use serde_json::Value;

use crate::cmd;
use crate::console;

/// The template, relative to the workspace root.
pub const TEMPLATE: &str = "templates/rising-stars.yaml";
/// CloudFormation's limit for a template passed inline (larger ones must come from S3).
const TEMPLATE_BODY_LIMIT: usize = 51_200;
/// How often waits poll CloudFormation.
const POLL: Duration = Duration::from_secs(3);

/// The template as JSON with the parameter values a deployment will use.
#[derive(Debug)]
pub struct Rendered {
    pub template: Value,
    /// Compact JSON, as sent to CloudFormation.
    pub body: String,
    /// Every parameter: the template default unless given.
    pub parameters: BTreeMap<String, String>,
    /// The parameters given explicitly (the others keep their deployed value on update).
    pub given: HashSet<String>,
}

/// Reads the YAML template into JSON (it uses only long-form intrinsics, so plain YAML reads it).
pub fn load_template() -> anyhow::Result<Value> {
    let path = cmd::workspace_root().join(TEMPLATE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_yaml_ng::from_str(&text).with_context(|| format!("{} is not valid YAML", path.display()))
}

/// Renders the template with `given` parameter values over the template's defaults. Unknown
/// names are refused; a parameter without default and without value is allowed only when
/// `allow_missing` (a diff or an update may keep the deployed value).
pub fn render(given: &BTreeMap<String, String>, allow_missing: bool) -> anyhow::Result<Rendered> {
    let template = load_template()?;
    let declared = template["Parameters"]
        .as_object()
        .context("the template declares no Parameters")?;
    for name in given.keys() {
        if !declared.contains_key(name) {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            bail!(
                "unknown parameter {name}; the template takes: {}",
                known.join(", ")
            );
        }
    }
    let mut parameters = BTreeMap::new();
    for (name, declaration) in declared {
        let value = match (given.get(name), &declaration["Default"]) {
            (Some(value), _) => value.clone(),
            (None, Value::String(default)) => default.clone(),
            (None, Value::Number(default)) => default.to_string(),
            (None, Value::Null) if allow_missing => continue,
            (None, Value::Null) => {
                bail!("the parameter {name} has no default: give --param {name}=…")
            }
            (None, other) => bail!("the parameter {name} has an unsupported default {other}"),
        };
        parameters.insert(name.clone(), value);
    }
    let body = serde_json::to_string(&template)?;
    anyhow::ensure!(
        body.len() <= TEMPLATE_BODY_LIMIT,
        "the rendered template is {} bytes; CloudFormation takes at most {TEMPLATE_BODY_LIMIT} inline",
        body.len()
    );
    Ok(Rendered {
        template,
        body,
        parameters,
        given: given.keys().cloned().collect(),
    })
}

/// Writes `template.json` and `parameters.json` (CloudFormation's parameter file format) to
/// `<target>/xtask/synth/<stack>/`; returns the folder.
pub fn write(rendered: &Rendered, stack: &str) -> anyhow::Result<PathBuf> {
    let dir = cmd::target_dir().join("xtask").join("synth").join(stack);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("template.json"),
        serde_json::to_string_pretty(&rendered.template)?,
    )?;
    let parameters: Vec<Value> = rendered
        .parameters
        .iter()
        .map(|(key, value)| serde_json::json!({"ParameterKey": key, "ParameterValue": value}))
        .collect();
    std::fs::write(
        dir.join("parameters.json"),
        serde_json::to_string_pretty(&parameters)?,
    )?;
    Ok(dir)
}

/// What CloudFormation says of a deployed stack.
#[derive(Debug)]
pub struct StackState {
    pub status: String,
    pub outputs: BTreeMap<String, String>,
    pub parameters: HashSet<String>,
}

impl StackState {
    pub fn output(&self, name: &str) -> anyhow::Result<&str> {
        self.outputs
            .get(name)
            .map(String::as_str)
            .with_context(|| format!("the stack has no output {name}"))
    }
}

/// The stack's state, or `None` when there is no such stack (or only a deleted one).
pub async fn describe(cf: &Client, stack: &str) -> anyhow::Result<Option<StackState>> {
    let answer = match cf.describe_stacks().stack_name(stack).send().await {
        Ok(answer) => answer,
        Err(error)
            if error
                .message()
                .is_some_and(|m| m.contains("does not exist")) =>
        {
            return Ok(None);
        }
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!("describing stack {stack}")));
        }
    };
    let Some(found) = answer.stacks().first() else {
        return Ok(None);
    };
    let status = found
        .stack_status()
        .map(|status| status.as_str().to_owned())
        .unwrap_or_default();
    if status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    Ok(Some(StackState {
        status,
        outputs: found
            .outputs()
            .iter()
            .filter_map(|output| {
                Some((
                    output.output_key()?.to_owned(),
                    output.output_value()?.to_owned(),
                ))
            })
            .collect(),
        parameters: found
            .parameters()
            .iter()
            .filter_map(|parameter| parameter.parameter_key().map(str::to_owned))
            .collect(),
    }))
}

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
        // A parameter without default that was not given keeps its deployed value.
        for key in &state.parameters {
            if !rendered.parameters.contains_key(key) {
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

    #[test]
    fn parameters_take_defaults_and_refuse_unknown_names() {
        let given: BTreeMap<String, String> = [
            ("WebImage", "a"),
            ("WorkerImage", "b"),
            ("WebMaxTasks", "9"),
        ]
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .into();
        let rendered = render(&given, false).unwrap();
        assert_eq!(rendered.parameters["WebMaxTasks"], "9");
        assert_eq!(rendered.parameters["WorkerMinTasks"], "0");
        assert!(rendered.given.contains("WebMaxTasks"));
        assert!(!rendered.given.contains("WorkerMinTasks"));

        let unknown: BTreeMap<String, String> = [("WebImag", "a")]
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .into();
        let error = render(&unknown, true).unwrap_err().to_string();
        assert!(error.contains("unknown parameter WebImag"), "{error}");

        let missing = render(&BTreeMap::new(), false).unwrap_err().to_string();
        assert!(missing.contains("has no default"), "{missing}");
        assert!(
            render(&BTreeMap::new(), true).is_ok(),
            "a diff may keep the deployed images"
        );
    }
}
