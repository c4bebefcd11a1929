//! `kindred keys create|list|revoke`: API keys from the command line. A new key is printed
//! once; only its hash is stored.

use clap::Subcommand;
use kindred_graphql::access::Role;
use kindred_graphql::keys::generate;
use kindred_store::{NewApiKey, Store};

/// What to do with keys.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (once: it cannot be shown again).
    Create {
        /// admin, editor, analyst or ingest.
        #[arg(long)]
        role: String,
        /// A unique name for who or what uses it (the audit log names it).
        #[arg(long)]
        name: String,
    },
    /// List keys: name, role, prefix, created, last used, revoked.
    List,
    /// Revoke a key by name (or prefix); it stops working within seconds.
    Revoke {
        /// The key's name or prefix.
        name: String,
    },
}

/// Runs a keys command against `store`; returns what to print.
pub async fn run(store: &Store, command: KeysCommand) -> anyhow::Result<String> {
    match command {
        KeysCommand::Create { role, name } => {
            let role: Role = role.parse()?;
            let name = name.trim().to_owned();
            anyhow::ensure!(!name.is_empty(), "--name: must not be empty");
            let made = generate()?;
            let key = NewApiKey { name: name.clone(), role, prefix: made.prefix, hash: made.hash };
            store.create_api_key(&key).await?;
            Ok(format!(
                "{}\n\ncreated key {name:?} ({role}). Keep it now: it is not stored and cannot be shown again.\n",
                made.key
            ))
        }
        KeysCommand::List => {
            let keys = store.api_keys().await?;
            if keys.is_empty() {
                return Ok(
                    "no keys: create one with `kindred keys create --role admin --name NAME`\n".to_owned()
                );
            }
            let mut out = format!(
                "{:<24} {:<8} {:<14} {:<20} {:<20} {}\n",
                "name", "role", "prefix", "created", "last used", "revoked"
            );
            let time = |at: Option<chrono::DateTime<chrono::Utc>>| {
                at.map_or_else(|| "-".to_owned(), |at| at.format("%Y-%m-%d %H:%M:%S").to_string())
            };
            for key in keys {
                out.push_str(&format!(
                    "{:<24} {:<8} {:<14} {:<20} {:<20} {}\n",
                    key.name,
                    key.role,
                    key.prefix,
                    time(Some(key.created_at)),
                    time(key.last_used_at),
                    time(key.revoked_at)
                ));
            }
            Ok(out)
        }
        KeysCommand::Revoke { name } => match store.revoke_api_key(&name).await? {
            Some(key) => Ok(format!("revoked key {:?} ({})\n", key.name, key.role)),
            None => anyhow::bail!("no key named {name:?}"),
        },
    }
}
