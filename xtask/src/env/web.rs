//! The web app in `web/`: its npm packages, the generated API client's freshness, type checks,
//! unit tests, the static build (only when its sources changed), Vite's dev server, and the
//! browser tests.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::cmd;
use crate::console;
use crate::env::apt;

/// Where the web app lives.
pub fn dir() -> PathBuf {
    cmd::workspace_root().join("web")
}

/// The static build the API serves.
pub fn build_dir() -> PathBuf {
    dir().join("build")
}

/// What decides the build: these paths under `web/`, and the API document it is typed from.
const BUILD_INPUTS: &[&str] = &[
    "src",
    "static",
    "scripts",
    "package-lock.json",
    "svelte.config.js",
    "vite.config.ts",
    "tsconfig.json",
];

/// `npm` in `web/`.
pub fn npm() -> Command {
    let mut command = Command::new("npm");
    command.current_dir(dir());
    command
}

/// Node.js and npm (Debian's, when the machine has none), then the locked packages: `npm ci`
/// when `node_modules` is missing or older than `package-lock.json`.
pub fn ensure_packages() -> anyhow::Result<()> {
    if !cmd::exists("npm") {
        apt::ensure(&[
            (
                "nodejs",
                "the web app's build and browser tests run on Node.js",
            ),
            ("npm", "installs the web app's locked packages"),
        ])?;
    }
    let lock = dir().join("package-lock.json");
    // npm rewrites this copy of the lock file on every install.
    let installed = dir().join("node_modules").join(".package-lock.json");
    if modified(&installed).is_some() && modified(&installed) >= modified(&lock) {
        return Ok(());
    }
    console::step("Installing the web app's packages (npm ci, from package-lock.json)");
    cmd::run(npm().args(["ci", "--no-audit", "--no-fund"]))
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
}

/// Builds `web/build` unless it was built from exactly the current sources.
pub fn ensure_built() -> anyhow::Result<PathBuf> {
    ensure_packages()?;
    let fingerprint = format!("{:016x}", sources_fingerprint()?);
    let stamp = cmd::target_dir()
        .join("xtask")
        .join("web-build.fingerprint");
    let current = std::fs::read_to_string(&stamp).unwrap_or_default();
    if current == fingerprint && build_dir().join("index.html").is_file() {
        console::note(format!(
            "web app: {} is up to date with its sources",
            build_dir().display()
        ));
        return Ok(build_dir());
    }
    console::step(
        "Building the web app (npm run build: Vite, then the boot script moved out of index.html)",
    );
    cmd::run(npm().args(["run", "build"]))?;
    if let Some(parent) = stamp.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&stamp, fingerprint)?;
    Ok(build_dir())
}

/// A hash of every build input's path and content.
fn sources_fingerprint() -> anyhow::Result<u64> {
    let mut files = vec![cmd::workspace_root().join("docs").join("openapi.json")];
    for input in BUILD_INPUTS {
        collect_files(&dir().join(input), &mut files)?;
    }
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in files {
        file.hash(&mut hasher);
        std::fs::read(&file)
            .with_context(|| format!("cannot read {}", file.display()))?
            .hash(&mut hasher);
    }
    Ok(hasher.finish())
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_file() {
        files.push(path.to_path_buf());
    } else if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            collect_files(&entry?.path(), files)?;
        }
    }
    Ok(())
}

/// The checks that need no server: the generated client matches `docs/openapi.json`, and the
/// app type-checks against it (`svelte-check`, warnings included).
pub fn check() -> anyhow::Result<()> {
    ensure_packages()?;
    console::step("Web app: the generated API client is current (npm run api:check)");
    cmd::run(npm().args(["run", "api:check"]))?;
    console::step("Web app: types and Svelte checks (npm run check)");
    cmd::run(npm().args(["run", "check"]))
}

/// The web app's unit tier (Vitest, `src/**/*.test.ts`): its pure logic, with no browser and no
/// server; a few seconds.
pub fn unit_tests() -> anyhow::Result<()> {
    ensure_packages()?;
    console::step("Web app: unit tests (npm run test:unit: Vitest)");
    cmd::run(npm().args(["run", "test:unit"]))
}

/// Debian's Chromium: Playwright's own browser download cannot work on these machines.
const CHROMIUM: (&str, &str) = (
    "chromium",
    "the browser tests drive Debian's Chromium through Playwright",
);

/// Debian's Chromium and the web app's packages (Playwright among them).
pub fn ensure_browser() -> anyhow::Result<()> {
    apt::ensure(&[CHROMIUM])?;
    ensure_packages()
}

/// A staff member of the stack the browser tests run against: the operator made the account staff
/// (`platform::staff::grant`), the tests log in with these credentials.
pub struct StaffLogin {
    pub email: String,
    pub password: String,
}

/// Playwright's tests against a running stack at `base_url` whose API mails to the folder `mail`
/// (given to them as `MAIL_DIR`) and has the staff member `staff` (`STAFF_EMAIL`,
/// `STAFF_PASSWORD`); screenshots and traces go to `web/test-results`.
pub fn browser_tests(
    base_url: &str,
    mail: &std::path::Path,
    staff: &StaffLogin,
) -> anyhow::Result<()> {
    ensure_browser()?;
    console::step(format!(
        "Browser tests: Playwright with Chromium against {base_url}"
    ));
    cmd::run(
        npm()
            .args(["run", "test:e2e"])
            .env("WEB_BASE_URL", base_url)
            // The stack's mail folder (`MAIL_URL=file:<dir>`): the tests read the verification
            // links there.
            .env("MAIL_DIR", mail)
            // Staff are made only by an operator's command, never through the API: the jury's
            // pages are tested as this account.
            .env("STAFF_EMAIL", &staff.email)
            .env("STAFF_PASSWORD", &staff.password)
            .env("CI", "true"),
    )
}
