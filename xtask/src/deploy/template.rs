//! The CloudFormation template of `templates/`: read, rendered with its parameter values, written
//! out for review, and linted (cfn-lint, checkov) before anything is deployed.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::env::venv;
use crate::{cmd, console};

/// The template, relative to the workspace root.
pub const TEMPLATE: &str = "templates/rising-stars.yaml";
/// CloudFormation's limit for a template passed inline (larger ones must come from S3).
const TEMPLATE_BODY_LIMIT: usize = 51_200;

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

/// cfn-lint (no errors, no warnings) and checkov (no failed check; skips are justified in the
/// template's `Metadata`).
pub fn lint(template: &std::path::Path) -> anyhow::Result<()> {
    let cfn_lint = venv::ensure(&venv::CFN_LINT)?;
    let checkov = venv::ensure(&venv::CHECKOV)?;
    console::step("Linting the template: cfn-lint");
    cmd::run(Command::new(cfn_lint).arg(template))?;
    console::step("Scanning the template: checkov");
    cmd::run(
        Command::new(checkov)
            .args([
                "--quiet",
                "--compact",
                // Offline: no guideline download from the vendor's service.
                "--skip-download",
                "--framework",
                "cloudformation",
                "-f",
            ])
            .arg(template),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_take_defaults_and_refuse_unknown_names() {
        let given: BTreeMap<String, String> = [
            ("WebImage", "a"),
            ("WorkerImage", "b"),
            ("MailSender", "no-reply@example.com"),
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
