"""Phases 7 and 9 to 14: the Helm values are real (every key exists in the pinned chart or under a
documented free-form map) and say what the stack needs (secrets from ExternalSecrets, Redis through
HAProxy, the migration Job's DATABASE_URL, no generated credentials)."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
import pytest
import yaml

from conftest import CHART_VALUES, REPO
from generator import chartkeys, endpoints, naming
from generator.components import (external_secrets, jaeger, kube_prometheus_stack, litellm, open_webui,
                                  redis_ha)
from generator.environment import deep_merge, load_environment
from generator.errors import InputError
from generator.render import render_environment

HELM_COMPONENTS = ("external-secrets", "reloader", "kube-prometheus-stack", "jaeger", "redis-ha", "litellm", "open-webui")
ENVIRONMENTS = ("dev", "prod")


def env_of(name: str, **overrides):
    env = load_environment(REPO / "environments", name)
    return dataclasses.replace(env, config=deep_merge(env.config, overrides)) if overrides else env


def rendered_values(env_name: str, component: str) -> dict:
    files = render_environment(env_of(env_name)).files
    return yaml.safe_load(files[f"values/{component}.yaml"])


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
@pytest.mark.parametrize("component", HELM_COMPONENTS)
def test_every_value_key_exists_in_the_pinned_chart(env_name, component):
    env = env_of(env_name)
    chart = env.component(component)["chart"]
    path = chartkeys.values_file(CHART_VALUES, chart["name"], chart["version"])
    assert path.is_file(), f"no values.yaml for {chart['name']} {chart['version']} under {CHART_VALUES}"
    unknown = chartkeys.unknown_keys(rendered_values(env_name, component), chartkeys.load_chart_values(path),
                                     chartkeys.FREE_FORM[chart["name"]])
    assert not unknown, f"{component}: keys the chart does not define: {unknown}"


def test_the_key_check_catches_a_misspelt_key():
    chart = {"serviceAccount": {"create": True, "annotations": {}}, "resources": {}}
    free = frozenset({"serviceAccount.annotations"})
    assert chartkeys.unknown_keys({"serviceAccount": {"annotations": {"a": "b"}}}, chart, free) == []
    assert chartkeys.unknown_keys({"serviceAcount": {"create": True}}, chart, free) == ["serviceAcount"]
    assert chartkeys.unknown_keys({"resources": {"requests": {"cpu": "1"}}}, chart, free) == ["resources.requests"]
    # A list is passed through, but its key must still exist.
    assert chartkeys.unknown_keys({"env": [{"name": "A"}], "extraEnv": []}, {"env": []}, free) == ["extraEnv"]


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_external_secrets_values_satisfy_the_charts_own_schema(env_name):
    schema = json.loads((CHART_VALUES / "external-secrets-2.9.0.values.schema.json").read_text())
    jsonschema.validate(external_secrets.values(env_of(env_name)), schema)


def test_external_secrets_runs_with_its_irsa_role_and_ignores_injected_ca_bundles():
    env = env_of("prod")
    values = external_secrets.values(env)
    assert values["installCRDs"] is True
    assert values["serviceAccount"]["name"] == naming.EXTERNAL_SECRETS.service_account
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == \
        "arn:aws:iam::444455556666:role/prod-external-secrets-role"
    assert values["replicaCount"] == 2 and values["leaderElect"] is True
    app = yaml.safe_load(render_environment(env).files["apps/07-external-secrets.yaml"])
    assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]
    ignored = {d["kind"] for d in app["spec"]["ignoreDifferences"]}
    assert {"ValidatingWebhookConfiguration", "CustomResourceDefinition"} <= ignored
    assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]
    # Metrics Services only: the monitors sync in wave 10, after the CRD (test_stack_day2).
    assert values["serviceMonitor"] == {"enabled": False}
    assert values["metrics"]["service"]["enabled"] is True


def test_prometheus_selects_monitors_from_every_namespace_and_grafana_uses_the_owned_secret():
    values = kube_prometheus_stack.values(env_of("prod"))
    spec = values["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False
    assert spec["retention"] == "30d"
    assert values["grafana"]["admin"]["existingSecret"] == endpoints.GRAFANA_ADMIN_SECRET[1]
    assert values["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"
    assert values["grafana"]["sidecar"]["dashboards"]["labelValue"] == "1"
    assert "adminPassword" not in values["grafana"]


def test_grafana_gets_a_jaeger_data_source_only_with_jaeger():
    assert kube_prometheus_stack.values(env_of("dev"))["grafana"]["additionalDataSources"][0]["url"] == \
        "http://jaeger.monitoring.svc.cluster.local:16686"
    without = env_of("dev", components={"jaeger": {"state": "disabled"}})
    assert "additionalDataSources" not in kube_prometheus_stack.values(without)["grafana"]


def test_jaeger_keeps_traces_in_memory_in_dev_and_in_elasticsearch_in_prod():
    dev = jaeger.values(env_of("dev"))
    assert dev["userconfig"]["extensions"]["jaeger_storage"]["backends"]["primary_store"] == {"memory": {"max_traces": 100000}}
    assert "extraEnv" not in dev["jaeger"]
    prod = jaeger.values(env_of("prod"))
    backend = prod["userconfig"]["extensions"]["jaeger_storage"]["backends"]["primary_store"]["elasticsearch"]
    assert backend["server_urls"] == ["https://vpc-llm-prod-traces.eu-west-1.es.amazonaws.com:443"]
    assert backend["auth"]["basic"]["password"] == "${env:ES_PASSWORD}"
    secret_ref = prod["jaeger"]["extraEnv"][0]["valueFrom"]["secretKeyRef"]
    assert secret_ref["name"] == endpoints.JAEGER_ES_SECRET[1]
    for values in (dev, prod):
        protocols = values["userconfig"]["receivers"]["otlp"]["protocols"]
        assert protocols == {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}


def test_elasticsearch_storage_without_its_settings_is_refused(scratch_repo):
    prod = scratch_repo / "environments" / "prod" / "environment.yaml"
    text = prod.read_text()
    start = text.index("    elasticsearch:\n")
    end = text.index("  redis-ha:")
    prod.write_text(text[:start] + text[end:])
    with pytest.raises(InputError) as caught:
        load_environment(scratch_repo / "environments", "prod")
    assert "elasticsearch" in str(caught.value)


def test_redis_authenticates_redis_and_sentinel_from_litellm_secrets():
    values = redis_ha.values(env_of("prod"))
    assert values["replicas"] == 3
    for part in (values, values["sentinel"]):
        assert part["auth"] is True
        assert part["existingSecret"] == "litellm-secrets"
        assert part["authKey"] == "REDIS_PASSWORD"
    assert values["haproxy"]["enabled"] is True
    assert values["persistentVolume"]["enabled"] is True
    assert values["hardAntiAffinity"] is True
    assert values["sentinel"]["quorum"] == 2
    assert values["exporter"]["enabled"] and values["exporter"]["serviceMonitor"]["enabled"]
    without_kps = env_of("dev", components={"kube-prometheus-stack": {"state": "disabled"},
                                            "grafana-dashboards": {"state": "disabled"}})
    assert redis_ha.values(without_kps)["exporter"]["serviceMonitor"]["enabled"] is False


def test_litellm_reads_every_credential_from_litellm_secrets():
    values = litellm.values(env_of("prod"))
    assert values["masterkeySecretName"] == "litellm-secrets"
    assert values["masterkeySecretKey"] == "LITELLM_MASTER_KEY"
    assert values["environmentSecrets"] == ["litellm-secrets"]
    # extraEnvVars reaches the migration Job too (environmentSecrets does not).
    assert values["extraEnvVars"] == [{"name": "DATABASE_URL", "valueFrom": {
        "secretKeyRef": {"name": "litellm-secrets", "key": "DATABASE_URL"}}}]
    assert values["db"] == {"useExisting": False, "deployStandalone": False}
    assert values["serviceAccount"] == {"create": False, "name": "litellm"}
    config = values["proxy_config"]
    assert config["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert config["general_settings"]["database_connection_pool_limit"] == 10


def test_litellm_models_go_through_bedrock_with_irsa_and_no_keys():
    models = litellm.values(env_of("prod"))["proxy_config"]["model_list"]
    assert [m["model_name"] for m in models] == ["claude-sonnet-4", "claude-3-7-sonnet", "titan-embed-text-v2"]
    for model in models:
        assert model["litellm_params"]["model"].startswith("bedrock/")
        assert model["litellm_params"]["aws_region_name"] == "eu-west-1"
        assert not {"api_key", "aws_access_key_id", "aws_secret_access_key"} & set(model["litellm_params"])


def test_litellm_reaches_redis_through_haproxy():
    config = litellm.values(env_of("prod"))["proxy_config"]
    assert config["router_settings"]["redis_host"] == "redis-ha-haproxy.litellm.svc.cluster.local"
    assert config["litellm_settings"]["cache_params"]["host"] == config["router_settings"]["redis_host"]
    assert config["router_settings"]["redis_password"] == "os.environ/REDIS_PASSWORD"


def test_litellm_metrics_and_traces_follow_the_observability_components():
    # LiteLLM's Prometheus metrics need an Enterprise licence (premium_user in
    # litellm/integrations/prometheus.py): without secrets.names.license neither callback nor monitor.
    unlicensed = litellm.values(env_of("dev"))
    assert unlicensed["proxy_config"]["litellm_settings"]["callbacks"] == ["otel"]
    assert unlicensed["serviceMonitor"]["enabled"] is False
    licensed = env_of("dev", secrets={"names": {"license": "litellm/license"}})
    full = litellm.values(licensed)
    assert full["proxy_config"]["litellm_settings"]["callbacks"] == ["prometheus", "otel"]
    assert full["serviceMonitor"]["enabled"] is True
    # the licence reaches the proxy as LITELLM_LICENSE, from its own Secrets Manager secret
    files = render_environment(licensed).files
    es = yaml.safe_load(files["manifests/secret-store/externalsecret-litellm-secrets.yaml"])
    assert {"secretKey": "LITELLM_LICENSE", "remoteRef": {"key": "dev/litellm/license", "conversionStrategy": "Default",
                                                          "decodingStrategy": "None", "metadataPolicy": "None"}} in es["spec"]["data"]
    secret = yaml.safe_load(files["cloudformation/secrets.yaml"])["Resources"]["LicenseSecret"]["Properties"]
    assert "GenerateSecretString" not in secret  # put out of band, like the database URL
    assert full["envVars"]["OTEL_ENDPOINT"] == "http://jaeger.monitoring.svc.cluster.local:4318/v1/traces"
    bare = env_of("dev", components={"jaeger": {"state": "disabled"}, "kube-prometheus-stack": {"state": "disabled"},
                                     "grafana-dashboards": {"state": "disabled"}})
    values = litellm.values(bare)
    assert "callbacks" not in values["proxy_config"]["litellm_settings"]
    assert not any(name.startswith("OTEL_") for name in values["envVars"]) and values["serviceMonitor"]["enabled"] is False


def test_litellm_replicas_resources_and_disruption_budget_come_from_config():
    prod = litellm.values(env_of("prod"))
    assert prod["replicaCount"] == 4 and prod["pdb"]["enabled"] is True
    assert prod["resources"]["limits"]["memory"] == "4Gi"
    dev = litellm.values(env_of("dev"))
    assert dev["replicaCount"] == 1 and dev["pdb"]["enabled"] is False


@pytest.mark.parametrize("field, value", [("imageTag", "main-v1.82.7-stable"), ("chart", {"version": "1.82.8"})])
def test_a_compromised_litellm_release_is_refused(field, value):
    env = env_of("dev", components={"litellm": {field: value}})
    with pytest.raises(InputError, match="compromised"):
        litellm.values(env)


def test_open_webui_talks_to_litellms_service_with_owned_secrets():
    values = open_webui.values(env_of("prod"))
    assert values["openaiBaseApiUrl"] == "http://litellm.litellm.svc.cluster.local:4000/v1"
    assert values["ollama"]["enabled"] is False and values["pipelines"]["enabled"] is False
    assert values["openaiApiKeyExistingSecret"] == "openwebui-secrets"
    assert values["openaiApiKeyExistingSecretKey"] == "OPENAI_API_KEY"
    webui_key = next(e for e in values["extraEnvVars"] if e["name"] == "WEBUI_SECRET_KEY")
    assert webui_key["valueFrom"]["secretKeyRef"] == {"name": "openwebui-secrets", "key": "WEBUI_SECRET_KEY"}
    assert values["persistence"]["enabled"] is True
    assert "openaiApiKey" not in values


def test_open_webui_refuses_several_replicas(scratch_repo):
    prod = scratch_repo / "environments" / "prod" / "environment.yaml"
    prod.write_text(prod.read_text().replace("  open-webui:\n    replicas: 1\n", "  open-webui:\n    replicas: 2\n"))
    with pytest.raises(InputError, match="replicas"):
        load_environment(scratch_repo / "environments", "prod")


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_no_chart_is_left_to_generate_a_credential(env_name):
    """Values that would make a chart randomise a secret per render are never set or left empty."""
    kps = rendered_values(env_name, "kube-prometheus-stack")
    assert kps["grafana"]["admin"]["existingSecret"]
    assert rendered_values(env_name, "litellm")["masterkeySecretName"]
    redis = rendered_values(env_name, "redis-ha")
    assert redis["existingSecret"] and redis["sentinel"]["existingSecret"]
    assert "redisPassword" not in redis and "password" not in redis["sentinel"]
    webui = rendered_values(env_name, "open-webui")
    assert webui["openaiApiKeyExistingSecret"]


def test_a_compromised_release_in_the_environment_file_is_reported_at_its_line(scratch_repo):
    dev = scratch_repo / "environments" / "dev" / "environment.yaml"
    dev.write_text(dev.read_text().replace("  litellm:\n    replicas: 1\n",
                                           "  litellm:\n    imageTag: main-v1.82.8-stable\n    replicas: 1\n"))
    environment = load_environment(scratch_repo / "environments", "dev")
    with pytest.raises(InputError) as caught:
        litellm.values(environment)
    line = dev.read_text().splitlines().index("    imageTag: main-v1.82.8-stable") + 1
    assert (caught.value.file, caught.value.line) == (dev, line)


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_kube_prometheus_stack_creates_nothing_in_kube_system(env_name):
    """The AppProject only admits the stack's namespaces: every chart Service that would land in
    kube-system is off (the control plane is EKS's, CoreDNS is scraped through its own Service)."""
    values = kube_prometheus_stack.values(env_of(env_name))
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[component]["enabled"] is False
    assert values["coreDns"]["service"]["enabled"] is False
    assert values["coreDns"]["serviceMonitor"]["selector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
