//! Setting deployments up: applications, deployment groups (configuration, alarms,
//! auto-rollback) and custom deployment configurations.

use std::collections::BTreeMap;
use std::time::SystemTime;

use protocol::codedeploy::{
    AlarmConfiguration, ApplicationInfo, AutoRollbackConfiguration, CodeDeployError,
    CodeDeployErrorType, ComputePlatform, CreateApplicationInput, CreateApplicationOutput,
    CreateDeploymentConfigInput, CreateDeploymentConfigOutput, CreateDeploymentGroupInput,
    CreateDeploymentGroupOutput, DeleteDeploymentGroupOutput, DeploymentConfigInfo,
    DeploymentGroupInfo, Extra, Timestamp, predefined_config,
};
use rollout::deployment::AutoRollback;

use super::{Application, DEFAULT_CONFIG, DeploymentGroup, Deployments, error, uuid};

impl Deployments {
    /// CreateApplication (Lambda applications only).
    pub fn create_application(
        &self,
        input: &CreateApplicationInput,
    ) -> Result<CreateApplicationOutput, CodeDeployError> {
        let name = input.application_name.trim();
        if name.is_empty() {
            return Err(error(
                CodeDeployErrorType::ApplicationNameRequired,
                "applicationName is empty: name the application",
            ));
        }
        if input.compute_platform != Some(ComputePlatform::Lambda) {
            return Err(error(
                CodeDeployErrorType::InvalidComputePlatform,
                format!(
                    "computePlatform is {:?}: the lab deploys Lambda aliases only; pass --compute-platform Lambda",
                    input.compute_platform
                ),
            ));
        }
        let mut store = self.lock();
        if store.applications.contains_key(name) {
            return Err(error(
                CodeDeployErrorType::ApplicationAlreadyExists,
                format!("The application {name} already exists"),
            ));
        }
        let id = uuid();
        store.applications.insert(
            name.to_owned(),
            Application {
                id: id.clone(),
                create_time: Timestamp::from_system_time(SystemTime::now()),
                groups: BTreeMap::new(),
            },
        );
        Ok(CreateApplicationOutput { application_id: id })
    }

    /// CreateDeploymentGroup: its deployment configuration, alarms and auto-rollback.
    pub fn create_deployment_group(
        &self,
        input: &CreateDeploymentGroupInput,
    ) -> Result<CreateDeploymentGroupOutput, CodeDeployError> {
        self.put_deployment_group(input, false)
    }

    /// Replaces deployment group `input.deployment_group_name` with `input` (created if it
    /// does not exist): what a stack update of an `AWS::CodeDeploy::DeploymentGroup` does
    /// (UpdateDeploymentGroup). Deployments already running keep the group they started with.
    pub fn replace_deployment_group(
        &self,
        input: &CreateDeploymentGroupInput,
    ) -> Result<CreateDeploymentGroupOutput, CodeDeployError> {
        self.put_deployment_group(input, true)
    }

    fn put_deployment_group(
        &self,
        input: &CreateDeploymentGroupInput,
        replace: bool,
    ) -> Result<CreateDeploymentGroupOutput, CodeDeployError> {
        let name = input.deployment_group_name.trim();
        if name.is_empty() {
            return Err(error(
                CodeDeployErrorType::DeploymentGroupNameRequired,
                "deploymentGroupName is empty: name the deployment group",
            ));
        }
        if input.service_role_arn.trim().is_empty() {
            return Err(error(
                CodeDeployErrorType::RoleRequired,
                "serviceRoleArn is empty: give any role ARN (the lab does not check it)",
            ));
        }
        let alarms = input.alarm_configuration.clone().unwrap_or_default();
        let count = alarms.alarms.as_ref().map_or(0, Vec::len);
        if count > AlarmConfiguration::MAX_ALARMS {
            return Err(error(
                CodeDeployErrorType::AlarmsLimitExceeded,
                format!(
                    "alarmConfiguration names {count} alarms: a deployment group monitors at most {}",
                    AlarmConfiguration::MAX_ALARMS
                ),
            ));
        }
        if alarms.enabled == Some(true) && count == 0 {
            return Err(error(
                CodeDeployErrorType::InvalidAlarmConfig,
                "alarmConfiguration is enabled but names no alarm: add alarms=[{name=...}] or disable it",
            ));
        }
        let auto_rollback = input
            .auto_rollback_configuration
            .as_ref()
            .map_or(AutoRollback::NONE, |c| c.auto_rollback());
        let config_name = input
            .deployment_config_name
            .clone()
            .unwrap_or_else(|| DEFAULT_CONFIG.to_owned());
        let mut store = self.lock();
        store.schedule(&config_name)?;
        let application = store.application_mut(&input.application_name)?;
        if !replace && application.groups.contains_key(name) {
            return Err(error(
                CodeDeployErrorType::DeploymentGroupAlreadyExists,
                format!(
                    "The deployment group {name} already exists for application {}",
                    input.application_name
                ),
            ));
        }
        // A replaced group keeps its id, as UpdateDeploymentGroup does.
        let id = application
            .groups
            .get(name)
            .map_or_else(uuid, |g| g.id.clone());
        application.groups.insert(
            name.to_owned(),
            DeploymentGroup {
                id: id.clone(),
                service_role_arn: input.service_role_arn.clone(),
                deployment_style: input.deployment_style.clone(),
                config_name,
                alarms,
                auto_rollback,
            },
        );
        Ok(CreateDeploymentGroupOutput {
            deployment_group_id: id,
        })
    }

    /// GetApplication.
    pub fn get_application(&self, name: &str) -> Result<ApplicationInfo, CodeDeployError> {
        let store = self.lock();
        let application = store.application(name)?;
        Ok(ApplicationInfo {
            application_id: application.id.clone(),
            application_name: name.to_owned(),
            create_time: application.create_time,
            linked_to_git_hub: false,
            compute_platform: ComputePlatform::Lambda,
        })
    }

    /// DeleteApplication: the application and its deployment groups. An application that
    /// does not exist is no error, as CodeDeploy answers it; deployments already running go
    /// on.
    pub fn delete_application(&self, name: &str) -> Result<(), CodeDeployError> {
        if name.trim().is_empty() {
            return Err(error(
                CodeDeployErrorType::ApplicationNameRequired,
                "applicationName is empty: name the application",
            ));
        }
        self.lock().applications.remove(name);
        Ok(())
    }

    /// GetDeploymentGroup.
    pub fn get_deployment_group(
        &self,
        application: &str,
        group: &str,
    ) -> Result<DeploymentGroupInfo, CodeDeployError> {
        let store = self.lock();
        let g = store.group(application, group)?;
        Ok(DeploymentGroupInfo {
            application_name: application.to_owned(),
            deployment_group_id: g.id.clone(),
            deployment_group_name: group.to_owned(),
            deployment_config_name: g.config_name.clone(),
            service_role_arn: g.service_role_arn.clone(),
            alarm_configuration: g.alarms.clone(),
            auto_rollback_configuration: AutoRollbackConfiguration::of(g.auto_rollback),
            deployment_style: g.deployment_style.clone(),
            compute_platform: ComputePlatform::Lambda,
        })
    }

    /// DeleteDeploymentGroup. A group that does not exist is no error, as CodeDeploy answers
    /// it; deployments already running go on.
    pub fn delete_deployment_group(
        &self,
        application: &str,
        group: &str,
    ) -> Result<DeleteDeploymentGroupOutput, CodeDeployError> {
        if group.trim().is_empty() {
            return Err(error(
                CodeDeployErrorType::DeploymentGroupNameRequired,
                "deploymentGroupName is empty: name the deployment group",
            ));
        }
        if let Some(app) = self.lock().applications.get_mut(application) {
            app.groups.remove(group);
        }
        Ok(DeleteDeploymentGroupOutput::default())
    }

    /// CreateDeploymentConfig: a custom TimeBasedCanary, TimeBasedLinear or AllAtOnce.
    pub fn create_deployment_config(
        &self,
        input: &CreateDeploymentConfigInput,
    ) -> Result<CreateDeploymentConfigOutput, CodeDeployError> {
        input.validate()?;
        let name = input.deployment_config_name.trim().to_owned();
        let mut store = self.lock();
        if store.configs.contains_key(&name) {
            return Err(error(
                CodeDeployErrorType::DeploymentConfigAlreadyExists,
                format!(
                    "A deployment configuration named {name} already exists: choose another name"
                ),
            ));
        }
        let id = uuid();
        store.configs.insert(
            name.clone(),
            DeploymentConfigInfo {
                deployment_config_id: Some(id.clone()),
                deployment_config_name: Some(name),
                create_time: Some(Timestamp::from_system_time(SystemTime::now())),
                compute_platform: Some(ComputePlatform::Lambda),
                traffic_routing_config: input.traffic_routing_config,
                extra: Extra::new(),
            },
        );
        Ok(CreateDeploymentConfigOutput {
            deployment_config_id: id,
        })
    }

    /// GetDeploymentConfig: a predefined or a custom configuration.
    pub fn deployment_config(&self, name: &str) -> Result<DeploymentConfigInfo, CodeDeployError> {
        if name.trim().is_empty() {
            return Err(error(
                CodeDeployErrorType::DeploymentConfigNameRequired,
                "deploymentConfigName is empty: name the configuration",
            ));
        }
        if let Some(info) = predefined_config(name) {
            return Ok(info);
        }
        self.lock()
            .configs
            .get(name)
            .cloned()
            .ok_or_else(|| CodeDeployError::deployment_config_does_not_exist(name))
    }
}
