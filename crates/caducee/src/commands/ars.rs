//! `caducee ars agent add|list|link|remove`: the agents of the regional health agencies'
//! back office (`/ars`, REG-11). `add` prints the one-time enrolment link (24 hours) that
//! the agent opens to choose a password and set up TOTP.

use crate::commands::open_store;
use crate::config::Config;
use caducee_core::clock::system_clock;
use caducee_portals::ars::agents::{self, AgentState};
use caducee_portals::one_time::SecretHasher;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ArsCommand {
    /// Agents of the back office.
    Agent {
        #[command(subcommand)]
        what: AgentCommand,
    },
}

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Creates an agent and prints their one-time enrolment link (valid 24 hours).
    Add {
        /// The agent's e-mail (their login; unique, without regard to case).
        #[arg(long)]
        email: String,
        /// The agent's name, as the back office shows it.
        #[arg(long)]
        name: String,
        /// The départements they handle, comma-separated: 01 to 95, 2A, 2B, 971 to 976.
        #[arg(long)]
        departments: String,
        /// Who creates the agent, for the audit trail.
        #[arg(long, default_value = "cli")]
        operator: String,
    },
    /// Lists the agents: e-mail, name, départements, state.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A new enrolment link for an agent (a lost phone or password): their password and
    /// TOTP secret are forgotten, their sessions ended.
    Link {
        email: String,
        #[arg(long, default_value = "cli")]
        operator: String,
    },
    /// Removes an agent: no more logins, their sessions ended (their actions stay in the
    /// audit trail).
    Remove {
        email: String,
        #[arg(long, default_value = "cli")]
        operator: String,
    },
}

fn when(unix: i64) -> String {
    caducee_core::date_fr::date_time(unix)
}

pub async fn run(config: Config, what: ArsCommand) -> anyhow::Result<ExitCode> {
    let ArsCommand::Agent { what } = what;
    let store = open_store(&config).await?;
    let now = system_clock().unix();
    let hasher =
        || -> anyhow::Result<SecretHasher> { Ok(SecretHasher::new(&config.instance_secret()?)) };
    let code = match what {
        AgentCommand::Add {
            email,
            name,
            departments,
            operator,
        } => {
            let added = agents::add(
                &store,
                &hasher()?,
                &email,
                &name,
                &departments,
                &format!("operator:{operator}"),
                now,
            )
            .await?;
            match added {
                Ok(a) => {
                    println!(
                        "Agent créé : {} <{}>, départements {}",
                        a.agent.name,
                        a.agent.email,
                        a.agent.departments.join(", ")
                    );
                    println!(
                        "Lien d'enrôlement (à usage unique, valable jusqu'au {}) :",
                        when(a.expires_at)
                    );
                    println!("{}", agents::enrolment_url(&config.public_url(), &a.token));
                    ExitCode::SUCCESS
                }
                Err(refused) => {
                    eprintln!("erreur : {refused}");
                    ExitCode::from(2)
                }
            }
        }
        AgentCommand::Link { email, operator } => {
            match agents::reenrol(
                &store,
                &hasher()?,
                &email,
                &format!("operator:{operator}"),
                now,
            )
            .await?
            {
                Some(a) => {
                    println!(
                        "Nouveau lien d'enrôlement de {} <{}> (à usage unique, valable jusqu'au {}) :",
                        a.agent.name,
                        a.agent.email,
                        when(a.expires_at)
                    );
                    println!("{}", agents::enrolment_url(&config.public_url(), &a.token));
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("erreur : aucun agent {email} (caducee ars agent list)");
                    ExitCode::from(3)
                }
            }
        }
        AgentCommand::Remove { email, operator } => {
            if agents::remove(&store, &email, &format!("operator:{operator}"), now).await? {
                println!("Agent {email} retiré : il ne peut plus se connecter.");
                ExitCode::SUCCESS
            } else {
                eprintln!("erreur : aucun agent actif {email} (caducee ars agent list)");
                ExitCode::from(3)
            }
        }
        AgentCommand::List { json } => {
            let all = agents::list(&store).await?;
            let state = |s: AgentState| match s {
                AgentState::Invited => "invité",
                AgentState::Active => "actif",
                AgentState::Removed => "retiré",
            };
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|a| {
                        serde_json::json!({
                            "email": a.email,
                            "name": a.name,
                            "departments": a.departments,
                            "state": a.state.as_str(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if all.is_empty() {
                println!(
                    "Aucun agent (caducee ars agent add --email E --name N --departments D,D)."
                );
            } else {
                println!("{:<36} {:<28} {:<20} état", "e-mail", "nom", "départements");
                for a in &all {
                    println!(
                        "{:<36} {:<28} {:<20} {}",
                        a.email,
                        a.name,
                        a.departments.join(","),
                        state(a.state)
                    );
                }
            }
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}
