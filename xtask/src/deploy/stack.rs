//! A deployed CloudFormation stack as xtask sees it: its status, outputs and parameters.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;

/// How often waits poll CloudFormation.
pub const POLL: Duration = Duration::from_secs(3);

/// What CloudFormation says of a deployed stack.
#[derive(Debug)]
pub struct StackState {
    pub status: String,
    pub outputs: BTreeMap<String, String>,
    pub parameters: HashSet<String>,
    /// The deployed parameter values (`****` for a `NoEcho` one).
    pub values: BTreeMap<String, String>,
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
        values: found
            .parameters()
            .iter()
            .filter_map(|parameter| {
                Some((
                    parameter.parameter_key()?.to_owned(),
                    parameter.parameter_value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
    }))
}
