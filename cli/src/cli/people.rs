//! `kvitt user …` and `kvitt token …`: the people who sign in to a node's web app and the
//! API tokens of its tills and scripts, in the node's access.json (kvitt_node::access).
//! They change the file directly, so they work whether or not the node runs; a running
//! node sees a change at its next request.

use std::process::ExitCode;

use kvitt_node::access::{self, AccessFile};
use kvitt_node::config::NodeConfig;
use kvitt_node::core::CallerRole;

use crate::node_commands::DataArg;

/// The roles a person or token can hold.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum CallerRoleArg {
    /// A point-of-sale system pushing receipts (merchant nodes).
    Till,
    /// An employee listing receipts and building claims (agency nodes).
    Employee,
    /// An approver deciding claims (agency nodes).
    Approver,
    /// Shared service center staff (SSC node).
    SscStaff,
    /// The node's operator.
    Operator,
}

impl From<CallerRoleArg> for CallerRole {
    fn from(role: CallerRoleArg) -> CallerRole {
        match role {
            CallerRoleArg::Till => CallerRole::Till,
            CallerRoleArg::Employee => CallerRole::Employee,
            CallerRoleArg::Approver => CallerRole::Approver,
            CallerRoleArg::SscStaff => CallerRole::SscStaff,
            CallerRoleArg::Operator => CallerRole::Operator,
        }
    }
}

/// Where the web app is reached, for the sign-in links printed.
#[derive(Debug, clap::Args)]
pub struct UrlArg {
    /// The web app's address as people reach it (behind a TLS proxy, say:
    /// https://kvitt.example.se); default http:// and the `api` address of config.toml.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

/// `kvitt user …`.
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a person who signs in to the web app, and print a one-time sign-in link (valid
    /// 15 minutes).
    Add {
        #[command(flatten)]
        data: DataArg,
        /// Who: their reference, as the records will name them.
        #[arg(long)]
        person: String,
        /// What they may do.
        #[arg(long, value_enum)]
        role: CallerRoleArg,
        #[command(flatten)]
        url: UrlArg,
    },
    /// Print a new one-time sign-in link for a person (valid 15 minutes).
    Link {
        #[command(flatten)]
        data: DataArg,
        /// Who.
        person: String,
        #[command(flatten)]
        url: UrlArg,
    },
    /// List the people, their roles and whether they were revoked.
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Revoke a person: no more sign-ins, and their sessions end at their next request.
    Revoke {
        #[command(flatten)]
        data: DataArg,
        /// Who.
        person: String,
    },
}

/// `kvitt token …`.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Add an API token for a person or till and print it: it is shown only now (the node
    /// keeps its hash) and works at once, a running node too.
    Add {
        #[command(flatten)]
        data: DataArg,
        /// Who holds it: an employee id, a till, a staff member.
        #[arg(long)]
        person: String,
        /// What they may do.
        #[arg(long, value_enum)]
        role: CallerRoleArg,
    },
    /// List the tokens by id (never the secret), holder, role and state.
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Revoke a token by its id (from `kvitt token list`); refused from the next request.
    Revoke {
        #[command(flatten)]
        data: DataArg,
        /// The token's id.
        id: String,
    },
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The sign-in URL of a link secret.
fn link_url(data: &DataArg, url: &UrlArg, secret: &str) -> anyhow::Result<String> {
    let base = match &url.url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", NodeConfig::load(&data.data)?.api),
    };
    Ok(format!("{base}/signin/{secret}"))
}

fn role_text(role: CallerRole) -> String {
    serde_json::to_value(role).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default()
}

fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|time| time.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// `kvitt user …`.
pub fn user(command: &UserCommand) -> anyhow::Result<ExitCode> {
    let (UserCommand::Add { data, .. }
    | UserCommand::Link { data, .. }
    | UserCommand::List { data }
    | UserCommand::Revoke { data, .. }) = command;
    // Only a node's data directory holds people.
    NodeConfig::load(&data.data)?;
    match command {
        UserCommand::Add { data, person, role, url } => {
            let secret = access::add_user(&data.data, person, (*role).into(), now())?;
            println!("{}", link_url(data, url, &secret)?);
            eprintln!("A sign-in link for {person}: it works once, within 15 minutes.");
        }
        UserCommand::Link { data, person, url } => {
            let secret = access::new_link(&data.data, person, now())?;
            println!("{}", link_url(data, url, &secret)?);
        }
        UserCommand::List { data } => {
            for user in AccessFile::load(&data.data)?.users {
                let state = user.revoked.map_or("active".to_owned(), |at| format!("revoked {}", when(at)));
                println!(
                    "{:<24} {:<10} added {}  {state}",
                    user.person,
                    role_text(user.role),
                    when(user.created)
                );
            }
        }
        UserCommand::Revoke { data, person } => {
            access::revoke_user(&data.data, person, now())?;
            println!("{person} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `kvitt token …`.
pub fn token(command: &TokenCommand) -> anyhow::Result<ExitCode> {
    let (TokenCommand::Add { data, .. } | TokenCommand::List { data } | TokenCommand::Revoke { data, .. }) =
        command;
    NodeConfig::load(&data.data)?;
    match command {
        TokenCommand::Add { data, person, role } => {
            let (secret, id) = kvitt_node::setup::add_token(&data.data, person, (*role).into())?;
            println!("{secret}");
            eprintln!("token {id} for {person}: shown only now; `kvitt token revoke {id}` ends it");
        }
        TokenCommand::List { data } => {
            let now = now();
            for token in AccessFile::load(&data.data)?.tokens {
                let state = match (token.revoked, token.expires) {
                    (true, _) => "revoked".to_owned(),
                    (false, Some(expires)) if expires <= now => "expired".to_owned(),
                    (false, Some(expires)) => format!("until {}", when(expires)),
                    (false, None) => "active".to_owned(),
                };
                println!("{}  {:<24} {:<10} {state}", token.id, token.person, role_text(token.role));
            }
        }
        TokenCommand::Revoke { data, id } => {
            access::revoke_token(&data.data, id)?;
            println!("token {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
