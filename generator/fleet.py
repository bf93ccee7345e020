"""Hub mode: what one Argo CD (a hub) needs to drive many environments' EKS clusters.

An environment opts in with a `hub` block (schemas/environment.schema.json): which hub, its
rollout stage, the hub's Argo CD management role and the cluster's CA; `cluster.server` is then
the cluster's API endpoint. Its child Applications target the cluster by the name the hub
registers it under, the environment's name (generator.argocd.cluster_destination), and nothing
under rendered/<env>/ is applied by hand. Everything the hub needs renders once per hub into
rendered/fleet/<hub>/ (`FOLDER`):

    README.md                      what a person does once per hub, and the feature flag
    bootstrap/                     applied once per hub: the hub's root Application and its
                                   AppProject, the argocd-cm Application health check and
                                   argocd-cmd-params-cm (sync timeout, globbing, and
                                   application.namespaces: exactly the environments' namespaces)
    hub/                           synced by that root (wave 5, then the ApplicationSet in 6):
      applicationset.yaml          ONE ApplicationSet: every environment's root Application
      repository-<chart>.yaml      one repository Secret per chart repository of the fleet
      <env>/namespace.yaml         the namespace of the environment's Applications on the hub
      <env>/root-project.yaml      the AppProject its root runs in: Applications, in that namespace only
      <env>/project.yaml           the environment's AppProject: only its cluster's namespaces,
                                   used only by Applications in its own namespace (sourceNamespaces)
      <env>/cluster.yaml           its cluster Secret: AWS authentication, no credential
    environments/<env>.json        the git files generator's parameters for one environment
    management-role-policy.json    the sts:AssumeRole policy the hub's management role needs

Hubs isolate environments (Argo CD's "applications in any namespace",
docs/operator-manual/app-any-namespace.md, v3.5.1). The roots stay in the hub's Argo CD namespace,
where the ApplicationSet is (an ApplicationSet generates Applications in its own namespace only:
applicationset/controllers/template/template.go, and the doc's note on #11104); each environment's
children live in `argocd.app_namespace` (`<argocd namespace>-<env>`). Two locks, both Argo CD's:
the root's AppProject (`root_project`) has that namespace as its only destination and Application
as its only kind, so a root can neither create nor modify an Application in another environment's
namespace (controller: a resource outside the project's destinations is refused); and the
environment's AppProject lists only that namespace in `sourceNamespaces`, so an Application in
another namespace naming it is refused (AppProject.IsAppNamespacePermitted,
pkg/apis/application/v1alpha1/app_project_types.go). Argo CD reconciles Applications outside its
own namespace only in the namespaces `application.namespaces` names (argocd-cmd-params-cm, read
at start by argocd-server and argocd-application-controller): exactly this hub's environments'
namespaces, listed, never a glob that other namespaces could match. The namespaces themselves are
created by the hub's root (hub/<env>/namespace.yaml, wave 5, before the ApplicationSet in 6), not
by the roots (CreateNamespace would need the cluster-scoped Namespace kind in every root's
project). With annotation tracking (argocd_cm) the tracking id names the Application as
`<namespace>_<name>` when it is outside Argo CD's namespace (Application.InstanceName,
pkg/apis/application/v1alpha1/types.go; util/argo/resource_tracking.go): an id with no length
limit, which label tracking (63 characters) would not give.

The ApplicationSet uses Argo CD's git files generator over `environments/*.json` rather than a
list generator: the ApplicationSet stays the same object whatever the number of environments,
and each environment's parameters are a small file of its own that review, diff and the guard
see per environment (a list generator would rewrite one ever-growing object for every change).
Argo CD v3.5.1 reads the files through the repo server (applicationset/generators/git.go,
generateParamsForGitFiles / generateParamsFromGitFile); generator.appset evaluates the same in
the tests and for the guard.

Rollout order: `strategy: RollingSync` (ApplicationSet progressive syncs) steps through
`STAGES` by the `STAGE_LABEL` each generated root carries. It needs the ApplicationSet
controller's ARGOCD_APPLICATIONSET_CONTROLLER_ENABLE_PROGRESSIVE_SYNCS=true (flag
--enable-progressive-syncs, or applicationsetcontroller.enable.progressive.syncs in
argocd-cmd-params-cm; cmd/argocd-applicationset-controller/commands/applicationset_controller.go,
default false). Without it the controller ignores `strategy` (applicationset_controller.go,
`if r.EnableProgressiveSyncs`) and every root keeps the template's automated sync: all stages at
once. With it, the controller turns automated sync off on the roots and syncs them step by step
(applicationset/progressivesync/progressive_sync.go, disableAutomatedSync).

Cluster registration follows Argo CD's EKS recipe (docs/operator-manual/declarative-setup.md,
"Clusters" and "EKS", v3.5.1): a cluster Secret labelled argocd.argoproj.io/secret-type: cluster
whose `config` holds `awsAuthConfig` {clusterName, roleARN} (pkg/apis/application/v1alpha1/types.go,
AWSAuthConfig; the controller then runs `argocd-k8s-auth aws --cluster-name <clusterName>
--role-arn <roleARN>` as an exec credential provider for a token, Cluster.RawRestConfig in the same file) and
`tlsClientConfig.caData`, the cluster's public CA; `project` scopes the cluster to the
environment's AppProject and `namespaces` + `clusterResources` limit what Argo CD watches; the role lives in the environment's irsa-roles stack
(`hub_access_resources`), trusts only the hub's management role, has no IAM permission (an EKS
token is a presigned sts:GetCallerIdentity, which needs none) and is mapped into the cluster by
an EKS access entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from generator import argocd
from generator.artifacts import Artifact
from generator.aws import cfn
from generator.components import helm_repos
from generator.environment import DNS_LABEL, Environment, config_error
from generator.errors import InputError
from generator.phases import NAMESPACES

from generator.hubfolder import FOLDER, GENERATOR_FOLDER, IN_CLUSTER, KUBERNETES_FOLDERS, SYNCED_FOLDER  # noqa: F401

STAGES = ("dev", "staging", "prod")  # rollout order, one RollingSync step each
STAGE_LABEL = "litellm-gitops/stage"
HUB_LABEL = "litellm-gitops/hub"
# The stack installs CRDs, ClusterRoles and webhooks: only cluster admin covers them.
ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"
HUB_ROLE_SUFFIX = "argocd-hub-role"
HUB_ROLE_ID = "ArgocdHubRole"
HUB_ACCESS_ENTRY_ID = "ArgocdHubAccessEntry"
APPSET_WAVE = "6"  # after the projects, cluster and repository Secrets (wave 5)


def hub_name(env: Environment) -> str | None:
    block = argocd.hub(env)
    return block["name"] if block else None


def hub_role_name(env: Environment) -> str:
    return f"{env.name}-{HUB_ROLE_SUFFIX}"


def hub_role_arn(env: Environment) -> str:
    partition = argocd.hub(env)["argocdRoleArn"].split(":")[1]
    return f"arn:{partition}:iam::{env.account_id}:role/{hub_role_name(env)}"


def appset_name(hub: str) -> str:
    return f"fleet-{hub}"


def hub_root_name(hub: str) -> str:
    return f"fleet-{hub}"


def root_project_name(hub: str, env: str) -> str:
    """The AppProject of the environment's root (`env` may be the template's `{{.environment}}`)."""
    return f"fleet-{hub}-root-{env}"


APP_NAMESPACES_KEY = "application.namespaces"  # argocd-cmd-params-cm, docs/operator-manual/argocd-cmd-params-cm.yaml line 39


def cluster_secret_name(env: Environment) -> str:
    return f"cluster-{env.name}"


def check(env: Environment) -> None:
    """What hub mode asks of one environment beyond the schema."""
    if env.cluster["server"] == IN_CLUSTER:
        raise config_error(
            env, ["cluster", "server"],
            f"environment {env.name} is managed from hub {hub_name(env)} but cluster.server is the in-cluster address",
            "set cluster.server to the cluster's API endpoint (aws eks describe-cluster --query cluster.endpoint): "
            "the hub's Argo CD reaches the cluster from outside")
    cfn.require_access_entries(env, f"the hub reaches cluster {env.cluster['name']}")
    namespace = argocd.app_namespace(env)
    if not DNS_LABEL.fullmatch(namespace):
        raise config_error(
            env, ["argocd", "namespace"],
            f"environment {env.name}'s Applications would live in namespace {namespace!r} on hub {hub_name(env)}, "
            f"which is not a DNS-1123 label ({len(namespace)} characters, at most 63)",
            "shorten the environment's name or argocd.namespace: the hub keeps each environment's Applications "
            "in a namespace <argocd.namespace>-<environment>")


# --- the environment's side: CloudFormation (rendered into its irsa-roles stack) -----------------

def hub_access_resources(env: Environment) -> tuple[dict[str, Any], dict[str, Any]]:
    """(resources, outputs) for the irsa-roles stack of a hub-managed environment: the role the
    hub's Argo CD assumes for this cluster and its EKS access entry. Empty when standalone."""
    block = argocd.hub(env)
    if not block:
        return {}, {}
    check(env)
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": hub_role_name(env),
            "Description": (f"Argo CD on hub {block['name']} deploys to cluster {env.cluster['name']}: "
                            "EKS authentication only, no IAM permission"),
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "AssumeFromTheHubsArgoCD",
                    "Effect": "Allow",
                    "Principal": {"AWS": block["argocdRoleArn"]},
                    "Action": "sts:AssumeRole",
                }],
            },
            "MaxSessionDuration": 3600,
            "Tags": cfn.tags("irsa-roles") + [{"Key": HUB_LABEL, "Value": block["name"]}],
        },
    }
    entry = {
        "Type": "AWS::EKS::AccessEntry",
        "Properties": {
            "ClusterName": env.cluster["name"],
            "PrincipalArn": cfn.get_att(HUB_ROLE_ID, "Arn"),
            "Type": "STANDARD",
            "AccessPolicies": [{
                "PolicyArn": cfn.sub(f"arn:${{AWS::Partition}}:eks::aws:cluster-access-policy/{ACCESS_POLICY}"),
                "AccessScope": {"Type": "cluster"},
            }],
            "Tags": cfn.tags("irsa-roles"),
        },
    }
    outputs = {f"{HUB_ROLE_ID}Arn": {
        "Description": f"ARN of {hub_role_name(env)} (roleARN of cluster Secret {cluster_secret_name(env)} on hub {block['name']})",
        "Value": cfn.get_att(HUB_ROLE_ID, "Arn"),
    }}
    return {HUB_ROLE_ID: role, HUB_ACCESS_ENTRY_ID: entry}, outputs


# --- the hub's side: rendered/fleet/<hub>/ ---------------------------------------------------------

@dataclass
class Hub:
    name: str
    environments: list[Environment] = field(default_factory=list)

    @property
    def first(self) -> Environment:
        return self.environments[0]

    @property
    def namespace(self) -> str:
        return self.first.argocd["namespace"]

    @property
    def git(self) -> dict[str, str]:
        return self.first.git


def _meta(hub: Hub, name: str, wave: str | None, env: Environment | None = None) -> dict[str, Any]:
    labels = dict(argocd.PART_OF)
    labels[HUB_LABEL] = hub.name
    if env is not None:
        labels["litellm-gitops/environment"] = env.name
        labels[STAGE_LABEL] = argocd.hub(env)["stage"]
    meta: dict[str, Any] = {"name": name, "namespace": hub.namespace, "labels": labels}
    if wave is not None:
        meta["annotations"] = {argocd.WAVE: wave}
    return meta


def group(environments: list[Environment]) -> dict[str, Hub]:
    """Hub-managed environments by hub, checked to agree on what the hub shares."""
    hubs: dict[str, Hub] = {}
    for env in environments:
        name = hub_name(env)
        if name:
            check(env)
            hubs.setdefault(name, Hub(name)).environments.append(env)
    for hub in hubs.values():
        hub.environments.sort(key=lambda e: e.name)
        first = hub.first
        shared = (
            (["git", "repoURL"], lambda e: e.git["repoURL"], "the hub reads every environment's tree from one repository"),
            (["git", "targetRevision"], lambda e: e.git["targetRevision"], "the hub's ApplicationSet reads rendered/fleet at one revision"),
            (["argocd", "namespace"], lambda e: e.argocd["namespace"], "the hub's Argo CD runs in one namespace"),
            (["hub", "argocdRoleArn"], lambda e: argocd.hub(e)["argocdRoleArn"], "the hub's Argo CD has one management role"),
        )
        for path, value, why in shared:
            for env in hub.environments[1:]:
                if value(env) != value(first):
                    raise config_error(
                        env, path,
                        f"environments {first.name} and {env.name} share hub {hub.name} but differ in {'.'.join(path)}",
                        f"{why}: give both the same value, or put them on different hubs")
    return dict(sorted(hubs.items()))


def _repositories(hub: Hub) -> dict[str, str]:
    """Every chart repository of the hub's environments (URL -> chart name), one name per URL."""
    found: dict[str, str] = {}
    for env in hub.environments:
        for url, name in helm_repos.repositories(env).items():
            found.setdefault(url, name)
    names: dict[str, str] = {}
    for url, name in sorted(found.items()):
        if name in names:
            raise InputError(f"hub {hub.name}: chart {name} comes from two repositories, {names[name]} and {url}",
                             hint="pin the chart to one repository in every environment of the hub")
        names[name] = url
    return dict(sorted(found.items()))


def cluster_secret(hub: Hub, env: Environment) -> dict[str, Any]:
    """The cluster registration: server, name, the project it is scoped to, the namespaces Argo CD
    may use, and AWS authentication through the environment's hub role. No credential."""
    meta = _meta(hub, cluster_secret_name(env), "5", env)
    meta["labels"]["argocd.argoproj.io/secret-type"] = "cluster"
    config = {
        "awsAuthConfig": {"clusterName": env.cluster["name"], "roleARN": hub_role_arn(env)},
        "tlsClientConfig": {"insecure": False, "caData": argocd.hub(env)["caData"]},
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "stringData": {
            "name": env.name,
            "server": env.cluster["server"],
            "project": argocd.project_name(env),
            "namespaces": ",".join(sorted(NAMESPACES)),
            "clusterResources": "true",
            "config": json.dumps(config, sort_keys=True),
        },
    }


def environment_project(hub: Hub, env: Environment) -> dict[str, Any]:
    project = argocd.app_project(env)
    project["metadata"]["labels"][HUB_LABEL] = hub.name
    project["metadata"]["labels"][STAGE_LABEL] = argocd.hub(env)["stage"]
    return project


def root_project(hub: Hub, env: Environment) -> dict[str, Any]:
    """The environment's root may only create Applications, in the environment's own namespace on
    the hub, from the Git repository: never in another environment's namespace."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": _meta(hub, root_project_name(hub.name, env.name), "5", env),
        "spec": {
            "description": f"Root of environment {env.name} on hub {hub.name}: syncs rendered/{env.name}/apps",
            "sourceRepos": [hub.git["repoURL"]],
            "destinations": [{"server": IN_CLUSTER, "namespace": argocd.app_namespace(env)}],
            "clusterResourceWhitelist": [],
            "namespaceResourceWhitelist": [{"group": "argoproj.io", "kind": "Application"}],
        },
    }


def app_namespace_object(hub: Hub, env: Environment) -> dict[str, Any]:
    """The environment's namespace on the hub, created by the hub's root (which never prunes nor
    deletes it: deleting the namespace would delete the environment's Applications, and their
    resources finalizer the stack)."""
    meta = _meta(hub, argocd.app_namespace(env), "5", env)
    del meta["namespace"]  # cluster-scoped
    del meta["labels"][STAGE_LABEL]  # a stage change rewrites nothing here
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def generator_parameters(env: Environment) -> dict[str, str]:
    """One environment's parameters for the git files generator (every key the template reads)."""
    return {"environment": env.name, "stage": argocd.hub(env)["stage"], "targetRevision": env.git["targetRevision"]}


def generator_path(hub: str) -> str:
    return f"rendered/{FOLDER}/{hub}/{GENERATOR_FOLDER}/*.json"


def application_set(hub: Hub) -> dict[str, Any]:
    """The one ApplicationSet: a root Application per environment file, rolled out stage by stage."""
    template = {
        "metadata": {
            "name": "{{.environment}}-root",
            "labels": {**argocd.PART_OF, "litellm-gitops/environment": "{{.environment}}", STAGE_LABEL: "{{.stage}}",
                       HUB_LABEL: hub.name},
        },
        "spec": {
            "project": root_project_name(hub.name, "{{.environment}}"),
            "source": {
                "repoURL": hub.git["repoURL"],
                "targetRevision": "{{.targetRevision}}",
                "path": "rendered/{{.environment}}/apps",
                "directory": argocd.root_directory(),
            },
            # The environment's own namespace (argocd.app_namespace), where its children live.
            "destination": {"server": IN_CLUSTER, "namespace": f"{hub.namespace}-{{{{.environment}}}}"},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": argocd.ROOT_SYNC_OPTIONS,  # deleting a root keeps its children
                "retry": argocd.RETRY,
            },
            "revisionHistoryLimit": 10,
        },
    }
    steps = [{"matchExpressions": [{"key": STAGE_LABEL, "operator": "In", "values": [stage]}]} for stage in STAGES]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": _meta(hub, appset_name(hub.name), APPSET_WAVE),
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"git": {
                "repoURL": hub.git["repoURL"],
                "revision": hub.git["targetRevision"],
                "files": [{"path": generator_path(hub.name)}],
            }}],
            "strategy": {"type": "RollingSync", "rollingSync": {"steps": steps}},
            # Removing an environment from the hub deletes its root but never, through it, the stack.
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "template": template,
        },
    }


def hub_root(hub: Hub) -> tuple[dict[str, Any], dict[str, Any]]:
    """The hub's own root Application (applied once per hub) and its AppProject."""
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": _meta(hub, hub_root_name(hub.name), None),
        "spec": {
            "description": f"Hub {hub.name}: syncs rendered/{FOLDER}/{hub.name}/{SYNCED_FOLDER}",
            "sourceRepos": [hub.git["repoURL"]],
            "destinations": [{"server": IN_CLUSTER, "namespace": hub.namespace}],
            # The environments' namespaces (hub/<env>/namespace.yaml), where their children live.
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            "namespaceResourceWhitelist": [
                {"group": "argoproj.io", "kind": "ApplicationSet"},
                {"group": "argoproj.io", "kind": "AppProject"},
                {"group": "", "kind": "Secret"},
            ],
        },
    }
    meta = _meta(hub, hub_root_name(hub.name), None)  # no resources finalizer: see argocd.ROOT_SYNC_OPTIONS
    root = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": hub_root_name(hub.name),
            "source": {
                "repoURL": hub.git["repoURL"],
                "targetRevision": hub.git["targetRevision"],
                "path": f"rendered/{FOLDER}/{hub.name}/{SYNCED_FOLDER}",
                "directory": {"recurse": True},
            },
            "destination": {"server": IN_CLUSTER, "namespace": hub.namespace},
            # No prune: an environment leaving the hub must not take its project and cluster away
            # while its Applications still exist (see the README's procedure).
            # Delete=false: deleting the hub's root keeps the ApplicationSet, projects and clusters.
            "syncPolicy": {"automated": {"prune": False, "selfHeal": True}, "syncOptions": ["Delete=false"],
                           "retry": argocd.RETRY},
            "revisionHistoryLimit": 10,
        },
    }
    return project, root


def management_role_policy(hub: Hub) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AssumeTheFleetsClusterRoles",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [hub_role_arn(env) for env in hub.environments],
        }],
    }


# The git files generator's path matching, stated rather than assumed: the old globbing (a git
# pathspec, `*` crosses `/`), v3.5.1's default (docs/operator-manual/argocd-cmd-params-cm.yaml
# line 347, "Enable new globbing in Git files generator (default "false")"), which generator.appset
# and the guard evaluate. Pinned so that a later default cannot change what the hub generates.
NEW_GLOBBING_KEY = "applicationsetcontroller.enable.new.git.file.globbing"


def cmd_params(hub: Hub) -> dict[str, Any]:
    """The hub's argocd-cmd-params-cm: the sync timeout for its slowest environment, the git
    files generator's globbing, and the namespaces its environments' Applications live in (every
    one listed by name: a glob would also admit a namespace no environment owns)."""
    params = argocd.argocd_cmd_params_cm(hub.namespace, hub.environments)
    params["data"][NEW_GLOBBING_KEY] = "false"
    params["data"][APP_NAMESPACES_KEY] = ",".join(sorted(argocd.app_namespace(env) for env in hub.environments))
    return params


def render_hub(hub: Hub) -> dict[str, str]:
    """rendered/fleet/<hub>/, path -> text, sorted."""
    from generator.docs import render_fleet_readme  # docs imports argocd; keep module import order simple

    project, root = hub_root(hub)
    synced = SYNCED_FOLDER
    artifacts = [
        Artifact.yaml("bootstrap/project.yaml", project),
        Artifact.yaml("bootstrap/root-app.yaml", root),
        Artifact.yaml("bootstrap/argocd-cm.yaml", argocd.argocd_cm(hub.first)),
        Artifact.yaml("bootstrap/argocd-cmd-params-cm.yaml", cmd_params(hub)),
        Artifact.yaml(f"{synced}/applicationset.yaml", application_set(hub)),
        Artifact("management-role-policy.json", json.dumps(management_role_policy(hub), indent=2) + "\n"),
    ]
    for url, name in _repositories(hub).items():
        secret = helm_repos.repository_secret(_meta(hub, helm_repos.secret_name(name), "5"), url, name)
        artifacts.append(Artifact.yaml(f"{synced}/repository-{name}.yaml", secret))
    for env in hub.environments:
        artifacts.append(Artifact.yaml(f"{synced}/{env.name}/namespace.yaml", app_namespace_object(hub, env)))
        artifacts.append(Artifact.yaml(f"{synced}/{env.name}/root-project.yaml", root_project(hub, env)))
        artifacts.append(Artifact.yaml(f"{synced}/{env.name}/project.yaml", environment_project(hub, env)))
        artifacts.append(Artifact.yaml(f"{synced}/{env.name}/cluster.yaml", cluster_secret(hub, env)))
        artifacts.append(Artifact(f"{GENERATOR_FOLDER}/{env.name}.json",
                                  json.dumps(generator_parameters(env), indent=2) + "\n"))
    artifacts.append(render_fleet_readme(hub))
    return {a.path: a.content for a in sorted(artifacts, key=lambda a: a.path)}


def render_fleets(environments: list[Environment]) -> dict[str, dict[str, str]]:
    """Every hub's folder, by hub name."""
    return {name: render_hub(hub) for name, hub in group(environments).items()}
