//! Labels: movable named pointers to a module's versions, with their
//! history (see docs/labels.md). Where a label points now is part of the
//! module record; its history is read from the store when asked for.

use std::collections::BTreeMap;

use spoke_domain::{
    AccessRecords, Label, LabelName, LabelTarget, Module, ModuleName, Timestamp, VersionSelector,
};

use crate::{Registry, RegistryError};

impl Registry {
    /// Points `label` at the version `target` names now (an exact version,
    /// `latest` or another label, resolved once) and returns the label with
    /// its history. `records` are stored with the change (see
    /// [`AccessRecords`]). Unknown module, version or label: not found,
    /// nothing written.
    pub async fn set_label(
        &self,
        module: &ModuleName,
        label: &LabelName,
        target: &VersionSelector,
        records: &AccessRecords,
    ) -> Result<Label, RegistryError> {
        // The module first, so that a missing one is named as such.
        self.get_module(module).await?;
        let version = self.get_version(module, target).await?.version.clone();
        let updated = self
            .meta
            .set_label(module, label, &version, Timestamp::now(), records)
            .await?;
        self.label_of(&updated, label).await
    }

    /// A label with its history, newest move first.
    pub async fn get_label(
        &self,
        module: &ModuleName,
        label: &LabelName,
    ) -> Result<Label, RegistryError> {
        let found = self.get_module(module).await?;
        self.label_of(&found, label).await
    }

    /// Where each of a module's labels points now, by name.
    pub async fn list_labels(
        &self,
        module: &ModuleName,
    ) -> Result<BTreeMap<LabelName, LabelTarget>, RegistryError> {
        Ok(self.get_module(module).await?.labels)
    }

    /// Deletes a label with its history; `records` as for
    /// [`Registry::set_label`].
    pub async fn delete_label(
        &self,
        module: &ModuleName,
        label: &LabelName,
        records: &AccessRecords,
    ) -> Result<(), RegistryError> {
        self.meta
            .delete_label(module, label, Timestamp::now(), records)
            .await?;
        Ok(())
    }

    /// Where `label` points now.
    pub(crate) async fn label_target(
        &self,
        module: &ModuleName,
        label: &LabelName,
    ) -> Result<LabelTarget, RegistryError> {
        let found = self.get_module(module).await?;
        target_in(&found, label).cloned()
    }

    /// `label` of `module` as read, with its history.
    async fn label_of(&self, module: &Module, label: &LabelName) -> Result<Label, RegistryError> {
        let target = target_in(module, label)?;
        let history = self.meta.label_history(&module.name, label).await?;
        Ok(Label {
            name: label.clone(),
            version: target.version.clone(),
            updated_at: target.updated_at,
            history,
        })
    }
}

pub(crate) fn target_in<'m>(
    module: &'m Module,
    label: &LabelName,
) -> Result<&'m LabelTarget, RegistryError> {
    module
        .labels
        .get(label)
        .ok_or_else(|| RegistryError::LabelNotFound {
            module: module.name.clone(),
            label: label.clone(),
        })
}
