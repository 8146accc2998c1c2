//! Access control from the command line: `login` and `logout` (the stored
//! token, see `credentials.rs`), `whoami`, `token`, `grant` and `audit`
//! (the registry's access routes).

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use spoke_client::{AuditQuery, Client, CreateGrantRequest, CreateTokenRequest};

use crate::{credentials, print_json, print_table};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token for a user and print its secret, which the registry
    /// never shows again.
    Create {
        /// The user the token authenticates as: `user:NAME`.
        #[arg(long, value_name = "user:NAME")]
        subject: String,
        /// How long it is valid, e.g. `24h`, `30days`; the registry's
        /// default when left out.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List the tokens you may see (never their secrets).
    List,
    /// Revoke a token: it authenticates nothing from then on.
    Revoke {
        /// The token's id, as `spoke token list` shows it.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum GrantCommand {
    /// Grant a role on a scope to a user or group.
    Add {
        /// `user:NAME` or `group:NAME`.
        #[arg(long, value_name = "PRINCIPAL")]
        subject: String,
        /// `*`, a module name, or a prefix ending in `*` (`acme.payments.*`).
        #[arg(long)]
        scope: String,
        /// The role to grant.
        #[arg(long, value_enum)]
        role: Role,
    },
    /// List grants, all or one subject's or one scope's.
    List {
        /// Only the grants of this principal.
        #[arg(long, value_name = "PRINCIPAL")]
        subject: Option<String>,
        /// Only the grants on exactly this scope.
        #[arg(long)]
        scope: Option<String>,
    },
    /// Remove a grant.
    Remove {
        /// The grant's id, as `spoke grant list` shows it.
        id: String,
    },
}

/// What a grant allows, each role including the ones before it.
#[derive(Clone, Copy, ValueEnum)]
pub enum Role {
    /// Read modules and versions.
    Reader,
    /// Also push versions and create modules.
    Writer,
    /// Also change policies and grant roles up to owner within the scope.
    Owner,
    /// Everything, on `*` only.
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Owner => "owner",
            Role::Admin => "admin",
        }
    }
}

#[derive(Args)]
pub struct AuditArgs {
    /// The most entries to show; the registry's default page when left out.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    limit: Option<u32>,
    /// Continue after an earlier page (the cursor it ended with).
    #[arg(long)]
    cursor: Option<String>,
    /// Only this subject's entries: `user:NAME` or `anonymous`.
    #[arg(long)]
    subject: Option<String>,
    /// Only this action's entries, e.g. `version.push`.
    #[arg(long)]
    action: Option<String>,
}

pub fn login(registry: &str, json: bool) -> Result<()> {
    let path = credentials::required_file()?;
    let token = credentials::read_token_from_stdin(registry)?;
    credentials::store(&path, registry, &token)?;
    if json {
        return print_json(&serde_json::json!({
            "registry": registry,
            "credentials": path,
        }));
    }
    println!(
        "stored a token for {registry} in {}; `spoke whoami` shows who it authenticates as",
        path.display()
    );
    Ok(())
}

pub fn logout(registry: &str, json: bool) -> Result<()> {
    let path = credentials::required_file()?;
    let removed = credentials::remove(&path, registry)?;
    if json {
        return print_json(&serde_json::json!({ "registry": registry, "removed": removed }));
    }
    if removed {
        println!("removed the token stored for {registry}");
    } else {
        println!("no token was stored for {registry}");
    }
    Ok(())
}

pub async fn whoami(client: &Client, json: bool) -> Result<()> {
    let whoami = client.whoami().await?;
    if json {
        return print_json(&whoami);
    }
    let roles: Vec<String> = whoami
        .roles
        .iter()
        .map(|r| format!("{} on {}", r.role, r.scope))
        .collect();
    println!("subject: {}", whoami.subject);
    println!("groups: {}", list_or_dash(&whoami.groups));
    println!("roles: {}", list_or_dash(&roles));
    Ok(())
}

pub async fn token(client: &Client, command: TokenCommand, json: bool) -> Result<()> {
    match command {
        TokenCommand::Create {
            subject,
            expires_in,
        } => {
            let request = CreateTokenRequest {
                subject,
                expires_in,
            };
            let created = client.create_token(&request).await?;
            if json {
                return print_json(&created);
            }
            println!("id: {}", created.id);
            println!("subject: {}", created.subject);
            println!("expires_at: {}", or_dash(created.expires_at, "never"));
            println!("token: {}", created.token);
            println!("The token is shown only this once; `spoke login` reads it from stdin.");
        }
        TokenCommand::List => {
            let tokens = client.list_tokens().await?.tokens;
            if json {
                return print_json(&tokens);
            }
            let rows: Vec<_> = tokens
                .into_iter()
                .map(|t| {
                    [
                        t.id,
                        t.subject,
                        t.created_at,
                        or_dash(t.expires_at, "never"),
                        or_dash(t.last_used_at, "-"),
                    ]
                })
                .collect();
            let header = ["ID", "SUBJECT", "CREATED_AT", "EXPIRES_AT", "LAST_USED_AT"];
            print_table(header, &rows)?;
        }
        TokenCommand::Revoke { id } => {
            client.revoke_token(&id).await?;
            if json {
                return print_json(&serde_json::json!({ "revoked": id }));
            }
            println!("revoked token {id}");
        }
    }
    Ok(())
}

pub async fn grant(client: &Client, command: GrantCommand, json: bool) -> Result<()> {
    match command {
        GrantCommand::Add {
            subject,
            scope,
            role,
        } => {
            let request = CreateGrantRequest {
                subject,
                scope,
                role: role.as_str().to_owned(),
            };
            let grant = client.create_grant(&request).await?;
            if json {
                return print_json(&grant);
            }
            println!(
                "granted {} on {} to {} ({})",
                grant.role, grant.scope, grant.subject, grant.id
            );
        }
        GrantCommand::List { subject, scope } => {
            let grants = client
                .list_grants(subject.as_deref(), scope.as_deref())
                .await?
                .grants;
            if json {
                return print_json(&grants);
            }
            let rows: Vec<_> = grants
                .into_iter()
                .map(|g| [g.id, g.subject, g.scope, g.role, g.created_at, g.created_by])
                .collect();
            let header = ["ID", "SUBJECT", "SCOPE", "ROLE", "CREATED_AT", "CREATED_BY"];
            print_table(header, &rows)?;
        }
        GrantCommand::Remove { id } => {
            client.delete_grant(&id).await?;
            if json {
                return print_json(&serde_json::json!({ "removed": id }));
            }
            println!("removed grant {id}");
        }
    }
    Ok(())
}

pub async fn audit(client: &Client, args: AuditArgs, json: bool) -> Result<()> {
    let query = AuditQuery {
        limit: args.limit,
        cursor: args.cursor,
        subject: args.subject,
        action: args.action,
    };
    let page = client.audit(&query).await?;
    if json {
        return print_json(&page);
    }
    let rows: Vec<_> = page
        .entries
        .into_iter()
        .map(|e| {
            [
                e.time,
                e.subject,
                e.action,
                e.target,
                e.outcome,
                e.request_id,
            ]
        })
        .collect();
    let header = [
        "TIME",
        "SUBJECT",
        "ACTION",
        "TARGET",
        "OUTCOME",
        "REQUEST_ID",
    ];
    print_table(header, &rows)?;
    // On stderr, so that stdout stays the table.
    if let Some(cursor) = page.next_cursor {
        eprintln!("more entries follow: repeat with --cursor {cursor}");
    }
    Ok(())
}

fn or_dash(value: Option<String>, none: &str) -> String {
    value.unwrap_or_else(|| none.to_owned())
}

fn list_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}
