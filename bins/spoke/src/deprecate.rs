//! `spoke deprecate` and `spoke undeprecate`: mark a module or one of its
//! versions deprecated, or remove the mark; and the warnings `push` and
//! `pull` print about deprecated versions.

use anyhow::{Context as _, Result};
use serde::Serialize;
use spoke_client::{Client, DeprecatedBody, VersionBody, WarningBody};
use spoke_domain::{ModuleName, VersionSelector};

pub const DEPRECATE_HELP: &str = "\
Deprecates MODULE (every version of it without a mark of its own shows the
module's) or MODULE@VERSION (`latest` names the highest release, a label the
version it points at, resolved once by the registry). Versions stay available: pushes that pin a deprecated version
succeed and print a warning, and so does pulling one. Deprecating again replaces
the message. Needs the owner role on the module.

The message may be at most 1024 bytes.";

pub const UNDEPRECATE_HELP: &str = "\
Removes the mark of MODULE (its own; its versions' marks stay) or of
MODULE@VERSION (a deprecation of its module still shows). Removing a mark that
is not there succeeds. Needs the owner role on the module.";

#[derive(clap::Args)]
pub struct DeprecateArgs {
    /// The module, or one version of it: MODULE or MODULE@VERSION.
    #[arg(value_name = "MODULE[@VERSION]")]
    pub target: String,
    /// Why, and what to use instead; shown to whoever depends on it.
    #[arg(long, default_value = "")]
    pub message: String,
}

#[derive(clap::Args)]
pub struct UndeprecateArgs {
    /// The module, or one version of it: MODULE or MODULE@VERSION.
    #[arg(value_name = "MODULE[@VERSION]")]
    pub target: String,
}

/// `MODULE` or `MODULE@VERSION`, checked before anything is sent.
fn target(text: &str) -> Result<(String, Option<String>)> {
    let (module, version) = match text.split_once('@') {
        Some((module, version)) => (module, Some(version)),
        None => (text, None),
    };
    let bad = || format!("bad target {text:?}: expected MODULE or MODULE@VERSION");
    ModuleName::parse(module).with_context(bad)?;
    if let Some(version) = version {
        VersionSelector::parse(version).with_context(bad)?;
    }
    Ok((module.to_owned(), version.map(str::to_owned)))
}

pub async fn deprecate(client: &Client, args: DeprecateArgs, json: bool) -> Result<()> {
    let (module, version) = target(&args.target)?;
    let body = client
        .deprecate(&module, version.as_deref(), &args.message)
        .await?;
    if json {
        return crate::print_json(&body);
    }
    let what = match &body.version {
        Some(version) => format!("{}@{version}", body.module_name),
        None => format!("module {}", body.module_name),
    };
    println!("deprecated {what}");
    Ok(())
}

#[derive(Serialize)]
struct Undeprecated<'a> {
    module_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
}

pub async fn undeprecate(client: &Client, args: UndeprecateArgs, json: bool) -> Result<()> {
    let (module, version) = target(&args.target)?;
    client.undeprecate(&module, version.as_deref()).await?;
    if json {
        return crate::print_json(&Undeprecated {
            module_name: &module,
            version: version.as_deref(),
        });
    }
    match version {
        Some(version) => println!("{module}@{version} is no longer deprecated"),
        None => println!("module {module} is no longer deprecated"),
    }
    Ok(())
}

/// A push's warnings, one `warning: …` line each on stderr.
pub fn print_warnings(warnings: &[WarningBody]) {
    for warning in warnings {
        crate::term::warning(crate::single_line(&warning.message));
    }
}

/// A `warning: M@V is deprecated…` line on stderr for each pulled version
/// that is deprecated (its own mark, else its module's).
pub fn print_deprecated(versions: &[VersionBody]) {
    for version in versions {
        if let Some(mark) = &version.deprecated {
            crate::term::warning(deprecated_line(
                &version.module_name,
                &version.version,
                mark,
            ));
        }
    }
}

fn deprecated_line(module: &str, version: &str, mark: &DeprecatedBody) -> String {
    match crate::single_line(&mark.message).as_str() {
        "" => format!("{module}@{version} is deprecated"),
        message => format!("{module}@{version} is deprecated: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_a_module_or_a_version() {
        assert_eq!(target("shop").unwrap(), ("shop".to_owned(), None));
        assert_eq!(
            target("shop@latest").unwrap(),
            ("shop".to_owned(), Some("latest".to_owned()))
        );
        for bad in ["Shop", "shop@", "shop@not a version", "@v1.0.0"] {
            let err = target(bad).unwrap_err().to_string();
            assert!(
                err.contains("expected MODULE or MODULE@VERSION"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_deprecated_line_names_the_version_and_the_message() {
        let mark = |message: &str| DeprecatedBody {
            message: message.to_owned(),
            time: "2026-01-01T00:00:00Z".to_owned(),
        };
        assert_eq!(
            deprecated_line("shop", "v1.0.0", &mark("use\nv2")),
            "shop@v1.0.0 is deprecated: use v2"
        );
        assert_eq!(
            deprecated_line("shop", "v1.0.0", &mark("")),
            "shop@v1.0.0 is deprecated"
        );
    }
}
