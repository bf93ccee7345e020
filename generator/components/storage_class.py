"""Phase 6, storage: the StorageClass every persistent volume of the stack names.

EKS clusters created at Kubernetes 1.30 or later have no default StorageClass, so a claim that
names none stays Pending (and with it Redis, wave 12, and everything after it). The stack never
relies on a default: `components.storage-class.name` is set on every claim of every chart
(Prometheus, Alertmanager, Redis, Open WebUI).

- `enabled` (the default): this project renders the class, an encrypted gp3 volume on the EBS CSI
  driver (`ebs.csi.aws.com`, the `aws-ebs-csi-driver` add-on; `preflight` checks it is ACTIVE),
  optionally with a customer-managed KMS key. `reclaimPolicy: Retain`: deleting a claim never
  deletes the EBS volume behind it. `WaitForFirstConsumer`: the volume is created in the zone the
  pod is scheduled to. The class is protected from prune and deletion like the namespaces.
- `external`: the cluster already has a class of that name (managed elsewhere); nothing is rendered.

Backups: the EBS CSI driver tags every volume it provisions for this class
(`tagSpecification_<n>` parameters, kubernetes-sigs/aws-ebs-csi-driver docs/tagging.md) with the
environment and `litellm-gitops/backup: daily`; the `backups.yaml` stack (this module, deployed
with the others by the CloudFormation workflow) has AWS Backup take a daily recovery point of
every volume carrying both tags (Open WebUI's data, Redis, Prometheus, Alertmanager), kept
`backup.retentionDays`, and optionally a weekly one. A class managed elsewhere (`external`) gets
neither: its volumes must be tagged there.
"""

from __future__ import annotations

from typing import Any

from generator.argocd import manifest_application
from generator.artifacts import Artifact
from generator.aws import cfn, readme
from generator.environment import Environment

COMPONENT = "storage-class"
PROVISIONER = "ebs.csi.aws.com"
EBS_CSI_ADDON = "aws-ebs-csi-driver"  # the EKS add-on that runs the provisioner
KEEP = {"argocd.argoproj.io/sync-options": "Prune=false,Delete=false"}
# A StorageClass's parameters are immutable: a changed class (new tags) is deleted and created
# again (`Replace=true` with `Force=true`: kubectl replace --force; argo-cd v3.5.1
# gitops-engine/pkg/sync/sync_context.go, shouldReplace and force). Volumes already provisioned keep
# their PersistentVolume, which names the class only by name.
CLASS_SYNC_OPTIONS = {"argocd.argoproj.io/sync-options": "Prune=false,Delete=false,Replace=true,Force=true"}
BACKUP_TAG = ("litellm-gitops/backup", "daily")
ENVIRONMENT_TAG = "litellm-gitops/environment"
BACKUP_STEM = "backups"


def name(env: Environment) -> str:
    """The class every claim of the stack names (rendered here or existing)."""
    return env.component(COMPONENT)["name"]


def storage_class(env: Environment) -> dict[str, Any]:
    parameters = {"type": "gp3", "encrypted": "true"}
    if kms := env.component(COMPONENT).get("kmsKeyArn"):
        parameters["kmsKeyId"] = kms
    for index, (key, value) in enumerate(volume_tags(env), start=1):
        parameters[f"tagSpecification_{index}"] = f"{key}={value}"
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name(env), "annotations": dict(CLASS_SYNC_OPTIONS)},
        "provisioner": PROVISIONER,
        "parameters": parameters,
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def volume_tags(env: Environment) -> list[tuple[str, str]]:
    """The tags the EBS CSI driver puts on each volume of the class; the backup selects by them."""
    return [(ENVIRONMENT_TAG, env.name), BACKUP_TAG]


def backup_template(env: Environment) -> dict[str, Any]:
    """AWS Backup: a vault (kept), a plan with a daily rule (and a weekly one when configured), and
    a selection of the volumes carrying every tag of `volume_tags`, backed up by a role with AWS's
    managed backup and restore policies."""
    settings = env.component(COMPONENT)["backup"]
    vault_name = f"litellm-{env.name}"
    rules = [{"RuleName": "daily", "TargetBackupVault": cfn.ref("Vault"),
              "ScheduleExpression": "cron(0 3 * * ? *)", "StartWindowMinutes": 60,
              "CompletionWindowMinutes": 480, "Lifecycle": {"DeleteAfterDays": settings["retentionDays"]},
              "RecoveryPointTags": {ENVIRONMENT_TAG: env.name}}]
    if weekly := settings.get("weeklyRetentionDays"):
        rules.append({**rules[0], "RuleName": "weekly", "ScheduleExpression": "cron(0 4 ? * SUN *)",
                      "Lifecycle": {"DeleteAfterDays": weekly}})
    resources = {
        "Vault": {"Type": "AWS::Backup::BackupVault", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                  "Properties": {"BackupVaultName": vault_name,
                                 "BackupVaultTags": {ENVIRONMENT_TAG: cfn.ref(cfn.ENVIRONMENT_PARAMETER)}}},
        "Plan": {"Type": "AWS::Backup::BackupPlan", "Properties": {
            "BackupPlan": {"BackupPlanName": f"litellm-{env.name}-volumes", "BackupPlanRule": rules},
            "BackupPlanTags": {ENVIRONMENT_TAG: cfn.ref(cfn.ENVIRONMENT_PARAMETER)}}},
        "BackupRole": {"Type": "AWS::IAM::Role", "Properties": {
            "Description": f"AWS Backup for the litellm-gitops {env.name} volumes",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": [
                cfn.sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"),
                cfn.sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores")],
            "Tags": cfn.tags(COMPONENT)}},
        "Selection": {"Type": "AWS::Backup::BackupSelection", "Properties": {
            "BackupPlanId": cfn.ref("Plan"),
            "BackupSelection": {
                "SelectionName": "tagged-volumes",
                "IamRoleArn": cfn.get_att("BackupRole", "Arn"),
                "Resources": [cfn.sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*")],
                "Conditions": {"StringEquals": [{"ConditionKey": f"aws:ResourceTag/{key}", "ConditionValue": value}
                                                for key, value in volume_tags(env)]},
            }}},
    }
    outputs = {"VaultName": {"Description": "The vault the volumes' recovery points are in", "Value": cfn.ref("Vault")}}
    return cfn.template(env, BACKUP_STEM, "AWS Backup of the volumes of the stack's StorageClass (selected by tag)",
                        {}, resources, outputs)


def render(env: Environment) -> list[Artifact]:
    artifacts = manifest_application(env, COMPONENT, [(f"storageclass-{name(env)}.yaml", storage_class(env))])
    if env.component(COMPONENT).get("backup"):
        artifacts += cfn.artifacts(env, BACKUP_STEM, backup_template(env), {}) + readme.render_if_owner(env, COMPONENT)
    return artifacts
