use spoke_domain::{AuditAction, LabelName, ModuleName, Role, VersionId};

/// A registry write that needs a role and leaves an audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write<'a> {
    /// Push a version of an existing module: `writer`.
    PushVersion {
        module: &'a ModuleName,
        version: &'a VersionId,
    },
    /// Create a module (alone, or by its first push): `writer` on a scope
    /// covering the new name; the creator is granted `owner` on it.
    CreateModule { module: &'a ModuleName },
    /// Change a module's settings (its compatibility policy): `owner`.
    ChangePolicy { module: &'a ModuleName },
    /// Set (create or move) one of a module's labels: `owner`, as for the
    /// policy.
    SetLabel {
        module: &'a ModuleName,
        label: &'a LabelName,
    },
    /// Delete one of a module's labels: `owner`.
    DeleteLabel {
        module: &'a ModuleName,
        label: &'a LabelName,
    },
    /// Deprecate or un-deprecate the module (`version` `None`) or one of its
    /// versions: `owner`.
    Deprecate {
        module: &'a ModuleName,
        version: Option<&'a VersionId>,
    },
}

impl Write<'_> {
    pub fn module(&self) -> &ModuleName {
        match self {
            Write::PushVersion { module, .. }
            | Write::CreateModule { module }
            | Write::ChangePolicy { module }
            | Write::Deprecate { module, .. }
            | Write::SetLabel { module, .. }
            | Write::DeleteLabel { module, .. } => module,
        }
    }

    pub fn required_role(&self) -> Role {
        match self {
            Write::PushVersion { .. } | Write::CreateModule { .. } => Role::Writer,
            Write::ChangePolicy { .. }
            | Write::Deprecate { .. }
            | Write::SetLabel { .. }
            | Write::DeleteLabel { .. } => Role::Owner,
        }
    }

    pub fn action(&self) -> AuditAction {
        match self {
            Write::PushVersion { .. } => AuditAction::VersionPush,
            Write::CreateModule { .. } => AuditAction::ModuleCreate,
            Write::ChangePolicy { .. } => AuditAction::PolicyChange,
            Write::Deprecate { .. } => AuditAction::Deprecation,
            Write::SetLabel { .. } => AuditAction::LabelSet,
            Write::DeleteLabel { .. } => AuditAction::LabelDelete,
        }
    }

    /// What the audit entry names: `module@version`, `module@label` or the
    /// module.
    pub fn target(&self) -> String {
        match self {
            Write::PushVersion { module, version }
            | Write::Deprecate {
                module,
                version: Some(version),
            } => format!("{module}@{version}"),
            Write::SetLabel { module, label } | Write::DeleteLabel { module, label } => {
                format!("{module}@{label}")
            }
            Write::CreateModule { module }
            | Write::ChangePolicy { module }
            | Write::Deprecate {
                module,
                version: None,
            } => module.to_string(),
        }
    }

    /// For a refusal's message: "push to", "create", "change the policy
    /// of", "change the deprecation of", "set a label of", "delete a label
    /// of".
    fn verb(&self) -> &'static str {
        match self {
            Write::PushVersion { .. } => "push to",
            Write::CreateModule { .. } => "create",
            Write::ChangePolicy { .. } => "change the policy of",
            Write::Deprecate { .. } => "change the deprecation of",
            Write::SetLabel { .. } => "set a label of",
            Write::DeleteLabel { .. } => "delete a label of",
        }
    }

    /// Why a caller holding `held` (on this module) may not do this.
    pub(crate) fn refusal(&self, subject: &str, held: Option<Role>) -> String {
        let held = match held {
            Some(role) => format!("it holds {role}"),
            None => "it holds no role there".to_owned(),
        };
        format!(
            "{subject} may not {} module {}: that needs the {} role on a scope covering it, and {held}",
            self.verb(),
            self.module(),
            self.required_role(),
        )
    }
}
