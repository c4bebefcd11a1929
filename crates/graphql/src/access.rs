//! Who may do what: roles, the permission every field needs, and the extension that checks
//! each field against the caller's role and records every mutation in the audit log.
//!
//! Root fields need the permission of their kind (reads, ingest writes, segmentation
//! management, administration); every field below a root needs `Read`, except the ids a
//! writer gets back from its own mutation. So a role without `Read` learns nothing about what
//! is stored, not even whether a record exists: it is refused before anything is resolved.

use crate::audit::AuditLog;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextResolve, ResolveInfo,
};
use async_graphql::{ErrorExtensions, Request, ServerError, ServerResult, Value, Variables};
use std::sync::{Arc, Mutex};

pub use kindred_store::{Permission, Role, UnknownRole};

/// Who is calling: the key's name and role, put in each request's data by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's name; none when the server runs without authentication.
    pub key_name: Option<String>,
    /// What the caller may do.
    pub role: Role,
}

impl Caller {
    /// The caller of a server running without authentication: may do everything.
    pub fn open() -> Self {
        Self { key_name: None, role: Role::Admin }
    }
}

/// Marks a request that came over the WebSocket (put in the connection's data by the server):
/// only subscriptions run there, so queries and mutations keep HTTP's limits and timeouts.
#[derive(Debug, Clone, Copy)]
pub struct OverWebSocket;

/// Whether requests must carry a [`Caller`]; in the schema's data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// A request without a caller is refused.
    pub require_caller: bool,
}

/// Checks that the caller of `ctx` has `permission`, for resolvers that extensions do not see
/// (subscription roots).
pub(crate) fn require(ctx: &async_graphql::Context<'_>, permission: Permission) -> async_graphql::Result<()> {
    let required = ctx.data_opt::<Policy>().is_some_and(|policy| policy.require_caller);
    let role = match ctx.data_opt::<Caller>() {
        Some(caller) => caller.role,
        None if required => {
            return Err(async_graphql::Error::new("an API key is required").extend_with(|_, extensions| {
                extensions.set("code", crate::ErrorCode::Unauthenticated.as_str())
            }));
        }
        None => Role::Admin,
    };
    if role.allows(permission) {
        Ok(())
    } else {
        Err(async_graphql::Error::new(format!("the {role} role may not subscribe"))
            .extend_with(|_, extensions| extensions.set("code", crate::ErrorCode::Forbidden.as_str())))
    }
}

/// Mutations that write customers, interactions, ties and needs.
const INGEST_MUTATIONS: [&str; 6] =
    ["upsertCustomer", "recordInteraction", "addTie", "removeTie", "addNeed", "removeNeed"];
/// Mutations that manage segmentations.
const MANAGE_MUTATIONS: [&str; 13] = [
    "mergeCustomers",
    "acceptSuggestion",
    "rejectSuggestion",
    "createSegmentation",
    "updateSegmentation",
    "deleteSegmentation",
    "refreshSegmentation",
    "cancelRefresh",
    "addSegmentMembers",
    "removeSegmentMembers",
    "importSegmentMembers",
    "addWebhook",
    "removeWebhook",
];
/// Mutations any reader may run: previews change nothing stored but their own job.
const READ_MUTATIONS: [&str; 2] = ["startPreview", "cancelPreview"];
/// Queries only admins may run.
const ADMIN_QUERIES: [&str; 6] =
    ["auditLog", "exportCustomerData", "apiKeys", "mergeLog", "resolveJob", "resolveJobs"];
/// Fields a caller without `Read` may select on what its own mutation returns.
const WRITER_FIELDS: [&str; 3] = ["id", "externalId", "__typename"];

/// The permission field `name` of `parent_type` needs, if any.
pub fn required_permission(parent_type: &str, name: &str) -> Option<Permission> {
    match parent_type {
        "Query" if ADMIN_QUERIES.contains(&name) => Some(Permission::Admin),
        "Query" | "SubscriptionRoot" => Some(Permission::Read),
        "Mutation" if READ_MUTATIONS.contains(&name) => Some(Permission::Read),
        "Mutation" if INGEST_MUTATIONS.contains(&name) => Some(Permission::Ingest),
        "Mutation" if MANAGE_MUTATIONS.contains(&name) => Some(Permission::Manage),
        // Erasure, deletion of people and anything added later: admins only until decided.
        "Mutation" => Some(Permission::Admin),
        _ if WRITER_FIELDS.contains(&name) => None,
        _ => Some(Permission::Read),
    }
}

/// The error a caller gets for a field its role does not allow.
fn forbidden(info: &ResolveInfo<'_>, role: Role) -> ServerError {
    let message = format!("the {role} role may not use {}.{}", info.parent_type, info.name);
    async_graphql::Error::new(message)
        .extend_with(|_, extensions| extensions.set("code", crate::ErrorCode::Forbidden.as_str()))
        .into_server_error(info.field.name.pos)
}

/// The error for a request that reached the schema without a caller.
fn unauthenticated(info: &ResolveInfo<'_>) -> ServerError {
    async_graphql::Error::new("an API key is required")
        .extend_with(|_, extensions| extensions.set("code", crate::ErrorCode::Unauthenticated.as_str()))
        .into_server_error(info.field.name.pos)
}

/// Checks every field against the caller's role and audits mutations.
pub struct AccessControl {
    /// Where mutations are recorded (none: not recorded).
    audit: Option<AuditLog>,
    /// Refuse requests that carry no [`Caller`] (a server); otherwise they may do everything
    /// (a schema embedded in a trusted program, or a test).
    require_caller: bool,
}

impl AccessControl {
    /// Access control that audits mutations to `audit`, and refuses requests without a
    /// caller if `require_caller`.
    pub fn new(audit: Option<AuditLog>, require_caller: bool) -> Self {
        Self { audit, require_caller }
    }

    /// The policy resolvers check.
    pub(crate) fn policy(&self) -> Policy {
        Policy { require_caller: self.require_caller }
    }
}

impl ExtensionFactory for AccessControl {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AccessCheck {
            audit: self.audit.clone(),
            require_caller: self.require_caller,
            variables: Mutex::new(Variables::default()),
        })
    }
}

/// The per-request half of [`AccessControl`].
struct AccessCheck {
    audit: Option<AuditLog>,
    require_caller: bool,
    /// The request's variables, to name a mutation's target in the audit log.
    variables: Mutex<Variables>,
}

/// What the `id` argument of each mutation names.
const ID_TARGETS: [(&str, &str); 8] = [
    ("cancelPreview", "preview"),
    ("deleteCustomer", "customer"),
    ("eraseCustomer", "customer"),
    ("updateSegmentation", "segmentation"),
    ("deleteSegmentation", "segmentation"),
    ("refreshSegmentation", "segmentation"),
    ("cancelRefresh", "segmentation"),
    ("removeWebhook", "webhook"),
];
/// Arguments that name what a mutation is about, by Kindred id (never personal data).
const TARGET_ARGUMENTS: [(&str, &str); 5] = [
    ("id", "id"),
    ("segmentationId", "segmentation"),
    ("customerId", "customer"),
    ("mergeId", "merge"),
    ("survivor", "customer"),
];

impl AccessCheck {
    /// `<what> <id>` from the mutation's id argument, if it has one.
    fn argument_target(&self, info: &ResolveInfo<'_>) -> Option<String> {
        TARGET_ARGUMENTS
            .iter()
            .find_map(|(argument, what)| {
                let (_, value) = info.field.arguments.iter().find(|(name, _)| name.node == *argument)?;
                let variables = self.variables.lock().ok()?;
                let value = value
                    .node
                    .clone()
                    .into_const_with(|name| variables.get(&name).cloned().ok_or(()))
                    .ok()?;
                let id = match value {
                    Value::String(text) => text,
                    Value::Number(number) => number.to_string(),
                    _ => return None,
                };
                let what = if *what == "id" {
                    ID_TARGETS
                        .iter()
                        .find(|(action, _)| *action == info.name)
                        .map(|(_, what)| *what)?
                        .to_owned()
                } else {
                    (*what).to_owned()
                };
                Some(format!("{what} {id}"))
            })
            .map(|target| match self.merged_ids(info) {
                Some(ids) => format!("{target} absorbing customers {ids}"),
                None => target,
            })
    }

    /// The customers a merge names (`ids`, the survivor among them or not), comma-separated.
    fn merged_ids(&self, info: &ResolveInfo<'_>) -> Option<String> {
        if info.name != "mergeCustomers" {
            return None;
        }
        let (_, value) = info.field.arguments.iter().find(|(name, _)| name.node == "ids")?;
        let variables = self.variables.lock().ok()?;
        let value =
            value.node.clone().into_const_with(|name| variables.get(&name).cloned().ok_or(())).ok()?;
        let Value::List(ids) = value else { return None };
        let ids: Vec<String> = ids
            .into_iter()
            .filter_map(|id| match id {
                Value::String(text) => Some(text),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            })
            .collect();
        Some(ids.join(", "))
    }
}

/// `Segmentation!` -> `segmentation`.
fn returned_type(return_type: &str) -> String {
    return_type.trim_matches(|c| c == '!' || c == '[' || c == ']').to_lowercase()
}

/// `<type> <id>` from what a mutation returned, when it selected an id.
fn result_target(return_type: &str, result: &ServerResult<Option<Value>>) -> Option<String> {
    match result {
        Ok(Some(Value::Object(fields))) => match fields.get("id") {
            Some(Value::String(id)) => Some(format!("{} {id}", returned_type(return_type))),
            _ => None,
        },
        _ => None,
    }
}

/// An audit record written when dropped, if not written before: a mutation whose request
/// ended before it did is recorded as CANCELLED.
struct PendingAudit<'a> {
    audit: &'a AuditLog,
    entry: Option<kindred_store::NewAuditEntry>,
}

impl Drop for PendingAudit<'_> {
    fn drop(&mut self) {
        if let Some(entry) = self.entry.take() {
            self.audit.record(entry);
        }
    }
}

/// The code of the first error of a failed field, for the audit log.
fn outcome(result: &ServerResult<Option<Value>>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(error) => error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(|code| match code {
                Value::String(code) => Some(code.clone()),
                Value::Enum(code) => Some(code.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "ERROR".to_owned()),
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for AccessCheck {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Ok(mut variables) = self.variables.lock() {
            *variables = request.variables.clone();
        }
        next.run(ctx, request).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.is_for_introspection {
            return next.run(ctx, info).await;
        }
        // Borrowed: this runs for every field of every request.
        let open = Caller::open();
        let caller = match ctx.data_opt::<Caller>() {
            Some(caller) => caller,
            None if self.require_caller => return Err(unauthenticated(&info)),
            None => &open,
        };
        if ctx.data_opt::<OverWebSocket>().is_some() && matches!(info.parent_type, "Query" | "Mutation") {
            let message =
                "queries and mutations go over HTTP (POST /graphql); the WebSocket is for subscriptions";
            return Err(async_graphql::Error::new(message)
                .extend_with(|_, extensions| extensions.set("code", crate::ErrorCode::BadRequest.as_str()))
                .into_server_error(info.field.name.pos));
        }
        if let Some(needed) = required_permission(info.parent_type, info.name)
            && !caller.role.allows(needed)
        {
            let refusal = Err(forbidden(&info, caller.role));
            if info.parent_type == "Mutation"
                && let Some(audit) = &self.audit
            {
                // Refused attempts are recorded too: they are what an audit is for.
                audit.record(kindred_store::NewAuditEntry {
                    at: chrono::Utc::now(),
                    key_name: caller.key_name.clone(),
                    role: caller.role,
                    action: info.name.to_owned(),
                    target: self.argument_target(&info),
                    outcome: outcome(&refusal),
                });
            }
            return refusal;
        }
        if info.parent_type != "Mutation" {
            return next.run(ctx, info).await;
        }
        let Some(audit) = &self.audit else { return next.run(ctx, info).await };
        let return_type = info.return_type.to_owned();
        // Recorded even if the request is dropped half-way (client gone, timeout): the
        // mutation may have been written by then.
        let mut pending = PendingAudit {
            audit,
            entry: Some(kindred_store::NewAuditEntry {
                at: chrono::Utc::now(),
                key_name: caller.key_name.clone(),
                role: caller.role,
                action: info.name.to_owned(),
                target: self.argument_target(&info),
                outcome: "CANCELLED".to_owned(),
            }),
        };
        let result = next.run(ctx, info).await;
        if let Some(mut entry) = pending.entry.take() {
            entry.target = entry.target.or_else(|| result_target(&return_type, &result));
            entry.outcome = outcome(&result);
            audit.record(entry);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_the_issue_says() {
        use Permission::*;
        let table = [
            (Role::Admin, [true, true, true, true]),
            (Role::Editor, [true, true, true, false]),
            (Role::Analyst, [true, false, false, false]),
            (Role::Ingest, [false, true, false, false]),
        ];
        for (role, expected) in table {
            let granted = [Read, Ingest, Manage, Admin].map(|permission| role.allows(permission));
            assert_eq!(granted, expected, "{role}");
        }
        assert_eq!("editor".parse::<Role>().unwrap(), Role::Editor);
        assert!("root".parse::<Role>().unwrap_err().to_string().contains("admin, editor, analyst or ingest"));
    }

    #[test]
    fn every_field_needs_a_permission() {
        assert_eq!(required_permission("Query", "customers"), Some(Permission::Read));
        assert_eq!(required_permission("Query", "auditLog"), Some(Permission::Admin));
        assert_eq!(required_permission("Mutation", "recordInteraction"), Some(Permission::Ingest));
        assert_eq!(required_permission("Mutation", "createSegmentation"), Some(Permission::Manage));
        assert_eq!(required_permission("Mutation", "eraseCustomer"), Some(Permission::Admin));
        assert_eq!(required_permission("Mutation", "somethingNew"), Some(Permission::Admin));
        assert_eq!(required_permission("SubscriptionRoot", "membershipChanged"), Some(Permission::Read));
        assert_eq!(required_permission("Customer", "interactions"), Some(Permission::Read));
        assert_eq!(required_permission("Customer", "id"), None, "a writer sees the id it wrote");
    }
}
