//! `spoke compat get|set|clear`: a module's compatibility policy
//! (`/modules/{name}/compatibility`, docs/compatibility.md).

use anyhow::Result;
use clap::Subcommand;
use spoke_client::{Client, CompatibilityBody, CompatibilityPolicyBody};
use spoke_domain::CompatibilityPolicy;

use crate::print_json;

pub const COMPAT_HELP: &str = "\
Shows, sets or clears a module's compatibility policy: which earlier versions a
push is checked against (the mode) and with which buf breaking rules. A push
that breaks it is refused (409 COMPATIBILITY_VIOLATION) and nothing is stored.

Modes: NONE, BACKWARD, FORWARD, FULL, BACKWARD_TRANSITIVE, FORWARD_TRANSITIVE,
FULL_TRANSITIVE, SEMVER (a breaking change needs a new major version, a new
minor within 0.x). Rules: buf rule or category IDs (FILE, PACKAGE, WIRE_JSON,
WIRE, FIELD_NO_DELETE, …); none means FILE.

  spoke compat set payments SEMVER:WIRE_JSON --except FIELD_SAME_DEFAULT
  spoke compat get payments
  spoke compat clear payments      # the server's default applies again

Output: the policy in force, one `key: value` line each (mode, use, except,
ignore, ignore_unstable_packages, inherited); with --json the registry's JSON
body {mode, use, except, ignore, ignore_unstable_packages, inherited}.
Setting and clearing need the owner role on the module.";

#[derive(Subcommand)]
pub enum CompatCommand {
    /// Show the policy in force: the module's own, or the server's default.
    Get {
        /// Module name.
        module: String,
    },
    /// Set the module's own policy.
    Set {
        /// Module name.
        module: String,
        /// `MODE` or `MODE:RULE,RULE,…` (e.g. `BACKWARD:FILE`, `SEMVER`):
        /// the mode and the rule or category IDs to use.
        #[arg(value_name = "MODE[:RULE,…]", value_parser = parse_policy)]
        policy: CompatibilityPolicy,
        /// Rule or category IDs to leave out, repeated or comma-separated.
        #[arg(long, value_name = "ID", value_delimiter = ',')]
        except: Vec<String>,
        /// A file or directory no rule reports on; repeat for several.
        #[arg(long, value_name = "PATH")]
        ignore: Vec<String>,
        /// Leave out packages whose last component is unstable (`v1alpha1`,
        /// `v1beta1`, `v1test`).
        #[arg(long)]
        ignore_unstable_packages: bool,
    },
    /// Clear the module's own policy: the server's default applies again.
    Clear {
        /// Module name.
        module: String,
    },
}

/// The written form as `SPOKE_DEFAULT_COMPATIBILITY` takes it; a bad one is
/// a usage error naming the accepted form.
fn parse_policy(text: &str) -> Result<CompatibilityPolicy, String> {
    text.parse::<CompatibilityPolicy>()
        .map_err(|error| error.to_string())
}

pub async fn run(client: &Client, command: CompatCommand, json: bool) -> Result<()> {
    let in_force = match command {
        CompatCommand::Get { module } => client.compatibility(&module).await?,
        CompatCommand::Set {
            module,
            policy,
            except,
            ignore,
            ignore_unstable_packages,
        } => {
            let body = CompatibilityPolicyBody {
                mode: Some(policy.mode.as_str().to_owned()),
                uses: policy.rules.uses,
                except,
                ignore,
                ignore_unstable_packages,
            };
            client.set_compatibility(&module, &body).await?
        }
        CompatCommand::Clear { module } => {
            client
                .set_compatibility(&module, &CompatibilityPolicyBody::default())
                .await?
        }
    };
    if json {
        return print_json(&in_force);
    }
    print!("{}", render(&in_force));
    Ok(())
}

/// The policy in force, one `key: value` line per field of the JSON body.
fn render(policy: &CompatibilityBody) -> String {
    let list = |ids: &[String], empty: &str| {
        if ids.is_empty() {
            empty.to_owned()
        } else {
            ids.join(",")
        }
    };
    let source = if policy.inherited {
        "the server's default"
    } else {
        "the module's own"
    };
    format!(
        "mode: {}\nuse: {}\nexcept: {}\nignore: {}\nignore_unstable_packages: {}\ninherited: {} ({source})\n",
        policy.mode,
        list(&policy.uses, "FILE (default)"),
        list(&policy.except, "-"),
        list(&policy.ignore, "-"),
        policy.ignore_unstable_packages,
        policy.inherited,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_field() {
        let policy = CompatibilityBody {
            mode: "SEMVER".to_owned(),
            uses: vec!["WIRE_JSON".to_owned()],
            except: vec![
                "FIELD_SAME_DEFAULT".to_owned(),
                "FILE_SAME_PACKAGE".to_owned(),
            ],
            ignore: vec![],
            ignore_unstable_packages: true,
            inherited: false,
        };
        assert_eq!(
            render(&policy),
            "mode: SEMVER\nuse: WIRE_JSON\nexcept: FIELD_SAME_DEFAULT,FILE_SAME_PACKAGE\n\
             ignore: -\nignore_unstable_packages: true\ninherited: false (the module's own)\n"
        );
    }

    #[test]
    fn a_bad_policy_names_the_form() {
        let error = parse_policy("SIDEWAYS").unwrap_err();
        assert!(
            error.contains("SEMVER") && error.contains("MODE:RULE"),
            "{error}"
        );
        assert!(parse_policy("SEMVER:file").is_err());
        assert_eq!(parse_policy("SEMVER").unwrap().mode.as_str(), "SEMVER");
    }
}
