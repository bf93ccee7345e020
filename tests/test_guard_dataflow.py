"""Data flow: where each LiteLLM container's LITELLM_SALT_KEY, LITELLM_MASTER_KEY and DATABASE_URL
come from, over the objects an environment applies. Fixtures under testdata/guard/dataflow/ are the
LiteLLM chart rendered by `helm template` with dev's values, dev's secret-store manifests and its
secrets stack; attacks edit those objects the way a chart change, a values change or an extra
object would.

The guard reads rendered/ today; the end-to-end tests put the chart's objects into a synced
folder, as the hydrated objects will be, and expect the verdicts the hydrated guard must give."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from generator.guard import dataflow
from generator.guard.tree import _Loader
from guard_build import ENV, Rendered
from test_guard import SECRET_LITERAL, categories, guard, run_cli
from test_guard_real import real  # noqa: F401  (fixture)

DATA = Path(__file__).parent / "testdata" / "guard" / "dataflow"
DEPLOYMENT, JOB = "Deployment litellm/litellm container litellm", "Job litellm/litellm-migrations container prisma-migrations"
CLUSTER_SCOPED = ("ClusterSecretStore", "ClusterExternalSecret")


def _docs(name: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((DATA / name).read_text()) if d]
    for doc in docs:
        if doc["kind"] not in CLUSTER_SCOPED:
            doc["metadata"].setdefault("namespace", "litellm")  # the Application's destination
    return docs


def objects() -> list[dict[str, Any]]:
    return _docs("litellm-chart.yaml") + _docs("secret-store.yaml")


def stacks(deployed: bool = True) -> list[dataflow.Stack]:
    deploy = json.loads((DATA / "cloudformation-deploy.json").read_text())
    template = yaml.load((DATA / "cloudformation-secrets.yaml").read_text(), Loader=_Loader)
    return [dataflow.Stack("secrets.yaml", template, deployed, "litellm-dev-secrets", deploy["region"], deploy["account"],
                           {"EnvironmentName": "dev"})]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def container(docs: list[dict[str, Any]], kind: str = "Deployment", name: str = "litellm") -> dict[str, Any]:
    return find(docs, kind, name)["spec"]["template"]["spec"]["containers"][0]


def env_entry(docs: list[dict[str, Any]], entry: dict[str, Any], kind: str = "Deployment", name: str = "litellm") -> None:
    container(docs, kind, name).setdefault("env", []).append(entry)


def config(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return yaml.safe_load(find(docs, "ConfigMap", "litellm-config")["data"]["config.yaml"])


def set_config(docs: list[dict[str, Any]], edit: Callable[[dict[str, Any]], Any]) -> None:
    parsed = config(docs)
    edit(parsed)
    find(docs, "ConfigMap", "litellm-config")["data"]["config.yaml"] = yaml.safe_dump(parsed)


# --- the chains of the rendered chart ------------------------------------------------------------

def test_every_litellm_container_and_variable_is_traced() -> None:
    chains = dataflow.trace(objects(), stacks())
    assert set(chains) == {f"{w}: {v}" for w in (DEPLOYMENT, JOB) for v in dataflow.GUARDED}


def test_the_salt_key_is_followed_to_its_deployed_secrets_manager_secret() -> None:
    facts = dataflow.trace(objects(), stacks())[f"{DEPLOYMENT}: LITELLM_SALT_KEY"].facts
    es = "LITELLM_SALT_KEY.writer[ExternalSecret litellm/litellm-secrets]"
    assert facts["LITELLM_SALT_KEY.source"] == "envFrom Secret"
    assert facts["LITELLM_SALT_KEY.secret"] == "litellm/litellm-secrets[LITELLM_SALT_KEY]"
    assert facts[f"{es}.data[LITELLM_SALT_KEY].remoteRef.key"] == "dev/litellm/salt-key"
    store = f"{es}.data[LITELLM_SALT_KEY].store[ClusterSecretStore aws-secrets-manager]"
    assert facts[f"{store}.provider.aws.region"] == "us-east-1"
    aws = f"{es}.data[LITELLM_SALT_KEY].aws[SaltKeySecret]"
    assert facts[f"{aws}.stack"].startswith("litellm-dev-secrets us-east-1 111122223333")
    assert facts[f"{aws}.DeletionPolicy"] == "Retain"
    assert not dataflow.trace(objects(), stacks())[f"{DEPLOYMENT}: LITELLM_SALT_KEY"].undetermined


def test_the_master_key_goes_through_the_config_and_the_database_url_through_env() -> None:
    chains = dataflow.trace(objects(), stacks())
    master = chains[f"{DEPLOYMENT}: LITELLM_MASTER_KEY"].facts
    assert master["master.config.general_settings.master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert master["master.LITELLM_MASTER_KEY.secret"] == "litellm/litellm-secrets[LITELLM_MASTER_KEY]"
    database = chains[f"{JOB}: DATABASE_URL"].facts
    assert database["DATABASE_URL.source"] == "secretKeyRef"


def test_an_undeployed_template_is_flagged_and_never_trusted() -> None:
    chain = dataflow.trace(objects(), stacks(deployed=False))[f"{DEPLOYMENT}: LITELLM_SALT_KEY"]
    assert any("undeployed[secrets.yaml:SaltKeySecret]" in k for k in chain.facts)
    assert any("no deployed CloudFormation stack creates" in u for u in chain.undetermined)


# --- attacks: each must change the salt chain (blocked) or the other chains (two approvals) -------

def _salt_from_other_variable(docs):
    env_entry(docs, {"name": "LITELLM_SALT_KEY", "value": "$(REDIS_PASSWORD)"})


def _extra_resources_external_secret(docs):
    docs.append({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                 "metadata": {"name": "chart-extra", "namespace": "litellm"},
                 "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"},
                          "target": {"name": "litellm-secrets", "creationPolicy": "Merge"},
                          "data": [{"secretKey": "LITELLM_SALT_KEY", "remoteRef": {"key": "dev/attacker/salt"}}]}})


def _later_env_from(docs):
    docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "more", "namespace": "litellm"},
                 "stringData": {"LITELLM_SALT_KEY": SECRET_LITERAL}})
    container(docs)["envFrom"].append({"secretRef": {"name": "more"}})


SALT_ATTACKS: dict[str, Callable[[list[dict[str, Any]]], Any]] = {
    "envVars entry reading the salt from another variable": _salt_from_other_variable,
    "ExternalSecret from a chart's extraResources": _extra_resources_external_secret,
    "a later envFrom Secret": _later_env_from,
    "config environment_variables": lambda d: set_config(d, lambda c: c.setdefault("environment_variables", {}).__setitem__(
        "LITELLM_SALT_KEY", "os.environ/REDIS_PASSWORD")),
    "salt unset: LiteLLM falls back to the master key": lambda d: find(d, "ExternalSecret", "litellm-secrets")["spec"][
        "target"]["template"]["data"].pop("LITELLM_SALT_KEY"),
    "plain Secret with the same name": lambda d: d.append({"apiVersion": "v1", "kind": "Secret",
                                                           "metadata": {"name": "litellm-secrets", "namespace": "litellm"},
                                                           "stringData": {"LITELLM_SALT_KEY": SECRET_LITERAL}}),
    "ClusterExternalSecret": lambda d: d.append({"apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
                                                 "metadata": {"name": "everywhere"},
                                                 "spec": {"namespaces": ["litellm"], "externalSecretSpec": {
                                                     "secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"},
                                                     "target": {"name": "litellm-secrets", "creationPolicy": "Merge"},
                                                     "dataFrom": [{"extract": {"key": "dev/attacker"}}]}}}),
    "PushSecret overwriting the remote secret": lambda d: d.append({
        "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret", "metadata": {"name": "p", "namespace": "litellm"},
        "spec": {"secretStoreRefs": [{"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}],
                 "selector": {"secret": {"name": "mine"}},
                 "data": [{"match": {"secretKey": "k", "remoteRef": {"remoteKey": "dev/litellm/salt-key"}}}]}}),
    "store region": lambda d: find(d, "ClusterSecretStore", "aws-secrets-manager")["spec"]["provider"]["aws"].__setitem__(
        "region", "eu-west-1"),
    "$(VAR) in the store-facing env": lambda d: env_entry(d, {"name": "LITELLM_SALT_KEY",
                                                             "valueFrom": {"secretKeyRef": {"name": "other", "key": "k"}}}),
}


@pytest.mark.parametrize("name", sorted(SALT_ATTACKS))
def test_salt_attacks_change_the_salt_chain(name: str) -> None:
    head = copy.deepcopy(objects())
    SALT_ATTACKS[name](head)
    before, after = dataflow.trace(objects(), stacks()), dataflow.trace(head, stacks())
    key = f"{DEPLOYMENT}: LITELLM_SALT_KEY"
    assert before[key].facts != after[key].facts


def test_env_beats_env_from_and_the_later_env_entry_wins() -> None:
    docs = copy.deepcopy(objects())
    env_entry(docs, {"name": "LITELLM_SALT_KEY", "value": "first"})
    env_entry(docs, {"name": "LITELLM_SALT_KEY", "valueFrom": {"secretKeyRef": {"name": "litellm-secrets", "key": "X"}}})
    facts = dataflow.trace(docs, stacks())[f"{DEPLOYMENT}: LITELLM_SALT_KEY"].facts
    assert facts["LITELLM_SALT_KEY.source"] == "secretKeyRef"
    assert facts["LITELLM_SALT_KEY.secret"] == "litellm/litellm-secrets[X]"


def test_a_literal_is_sensitive_by_where_it_is() -> None:
    docs = copy.deepcopy(objects())
    env_entry(docs, {"name": "LITELLM_SALT_KEY", "value": "plainword"})
    chain = dataflow.trace(docs, stacks())[f"{DEPLOYMENT}: LITELLM_SALT_KEY"]
    assert chain.facts["LITELLM_SALT_KEY.value"] == "plainword" and "LITELLM_SALT_KEY.value" in chain.sensitive


def test_database_url_rebuilt_from_its_parts() -> None:
    docs = copy.deepcopy(objects())
    for job in (("Deployment", "litellm"), ("Job", "litellm-migrations")):
        env_entry(docs, {"name": "IAM_TOKEN_DB_AUTH", "value": "true"}, *job)
        env_entry(docs, {"name": "DATABASE_HOST", "value": "attacker.example"}, *job)
    facts = dataflow.trace(docs, stacks())[f"{JOB}: DATABASE_URL"].facts
    assert facts["DATABASE_HOST.value"] == "attacker.example" and "DATABASE_URL.source" not in facts


def test_database_url_from_the_config() -> None:
    docs = copy.deepcopy(objects())
    set_config(docs, lambda c: c["general_settings"].__setitem__("database_url", "os.environ/OTHER_DB"))
    facts = dataflow.trace(docs, stacks())[f"{DEPLOYMENT}: DATABASE_URL"].facts
    assert facts["database_url.config.general_settings.database_url"] == "os.environ/OTHER_DB"
    assert facts["database_url.OTHER_DB.source"] == "(unset)"


def test_a_config_that_cannot_be_read_is_undetermined() -> None:
    docs = [d for d in copy.deepcopy(objects()) if d["metadata"]["name"] != "litellm-config"]
    chain = dataflow.trace(docs, stacks())[f"{DEPLOYMENT}: LITELLM_SALT_KEY"]
    assert any("holding the config is not applied" in u for u in chain.undetermined)


def test_unrelated_changes_leave_every_chain_alone() -> None:
    docs = copy.deepcopy(objects())
    env_entry(docs, {"name": "OTEL_SERVICE_NAME", "value": "gateway"})
    find(docs, "Deployment", "litellm")["spec"]["replicas"] = 3
    set_config(docs, lambda c: c["router_settings"].__setitem__("num_retries", 5))
    assert {k: c.facts for k, c in dataflow.trace(docs, stacks()).items()} == \
        {k: c.facts for k, c in dataflow.trace(objects(), stacks()).items()}


# --- end to end: the guard over a tree holding the chart's objects --------------------------------

HYDRATED = "manifests/secret-store/zz-litellm-chart.yaml"


@pytest.fixture
def hydrated(real: Rendered) -> Rendered:  # noqa: F811
    tree = real.copy()
    tree.envs[ENV][HYDRATED] = [d for d in _docs("litellm-chart.yaml")]
    return tree


def _head(tree: Rendered, edit: Callable[[list[dict[str, Any]]], Any]) -> Rendered:
    head = tree.copy()
    edit(head.envs[ENV][HYDRATED])
    return head


def test_guard_blocks_the_salt_read_from_another_variable(hydrated: Rendered, tmp_path: Path, github) -> None:
    github.review("bob")
    github.review("carol")
    code, report = guard(tmp_path, hydrated, _head(hydrated, _salt_from_other_variable))
    assert code == 1 and "salt-key" in categories(report), report
    assert any(f["object"] == f"{DEPLOYMENT}: LITELLM_SALT_KEY" for f in report["findings"])


def test_guard_blocks_an_external_secret_from_extra_resources(hydrated: Rendered, tmp_path: Path) -> None:
    code, report = guard(tmp_path, hydrated, _head(hydrated, _extra_resources_external_secret))
    assert code == 1 and "salt-key" in categories(report), report


def test_guard_needs_two_approvals_for_a_rebuilt_database_url(hydrated: Rendered, tmp_path: Path, github) -> None:
    def edit(docs):
        env_entry(docs, {"name": "DATABASE_URL", "value": "$(DATABASE_HOST)"}, "Job", "litellm-migrations")
    head = _head(hydrated, edit)
    code, report = guard(tmp_path, hydrated, head)
    assert code == 1 and categories(report) == {"database-url"}, report
    github.review("bob")
    github.review("carol")
    assert guard(tmp_path, hydrated, head)[0] == 0


def test_guard_never_prints_a_literal_feeding_a_guarded_variable(hydrated: Rendered, tmp_path: Path) -> None:
    head = _head(hydrated, lambda d: env_entry(d, {"name": "LITELLM_SALT_KEY", "value": "correct horse battery"}))
    b, h = hydrated.write(tmp_path / "b"), head.write(tmp_path / "h")
    md = tmp_path / "v.md"
    for extra in (("--json",), ("--markdown", md), ()):
        code, out, err = run_cli("guard", "--base", b, "--head", h, *extra)
        assert code == 1
        assert "correct horse battery" not in out + err + (md.read_text() if md.exists() else "")


def test_guard_allows_unrelated_chart_object_changes(hydrated: Rendered, tmp_path: Path) -> None:
    head = _head(hydrated, lambda d: env_entry(d, {"name": "OTEL_SERVICE_NAME", "value": "gateway"}))
    code, report = guard(tmp_path, hydrated, head)
    assert code == 0, report


def test_guard_flags_an_undeployed_copy_of_the_secrets_template(real: Rendered, tmp_path: Path) -> None:  # noqa: F811
    """A copy nobody deploys must not mask a change to the real template."""
    path = next(p for p in real.envs[ENV] if p.endswith("cloudformation/secrets.yaml") or p == "cloudformation/secrets.yaml")
    head = real.copy()
    head.envs[ENV]["cloudformation/zz-secrets-copy.yaml"] = copy.deepcopy(head.envs[ENV][path])
    head.cfn_secret("LITELLM_SALT_KEY")[1]["Properties"]["GenerateSecretString"]["PasswordLength"] = 12
    code, report = guard(tmp_path, real, head)
    assert code == 1 and {"salt-key", "unmodelled"} <= categories(report), report


def test_a_config_from_a_bucket_is_undetermined() -> None:
    docs = copy.deepcopy(objects())
    env_entry(docs, {"name": "LITELLM_CONFIG_BUCKET_NAME", "value": "configs"})
    chain = dataflow.trace(docs, stacks())[f"{DEPLOYMENT}: LITELLM_SALT_KEY"]
    assert any("bucket" in u for u in chain.undetermined)
