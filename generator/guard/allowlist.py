"""The allowlist: every change in the applied state is judged, and passes silently only when a row
of harmless.yaml says it is harmless.

What is compared, per environment that differs: every Kubernetes object Argo CD applies (the
hydrated applied state; on a side that is not hydrated, the rendered manifests and each chart's
values file), and every resource of every CloudFormation template. Applications, ApplicationSets,
AppProjects and Argo CD repository Secrets are sources (sources.py judges them), so they are left
out here.

Each changed field not on the table is a finding:
- `reaches-litellm`, blocked, when the object is one of `Reach` below: what the LiteLLM proxy or
  its migration Job runs with, the External Secrets controller and its stores and ExternalSecrets,
  anything that can select or mutate LiteLLM's pods, Argo CD's own configuration, CloudFormation
  naming the salt secret or building a secret's name the guard cannot resolve;
- `refused`, blocked: CloudFormation macros (`Transform`, `Fn::Transform`, `AWS::Include`) in any
  stack;
- `image-repository`, two approvals: a LiteLLM or Open WebUI container image from another repository;
- `data-loss`, two approvals: a PersistentVolumeClaim, a volume or a claim template removed;
- `unlisted`, two approvals: any other change.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml

from generator import naming
from generator.applied.model import BOOTSTRAP
from generator.guard import dataflow
from generator.guard.sources import hub_namespace  # judged as a source (sources.py)
from generator.guard.flatten import flatten
from generator.guard.redact import MISSING
from generator.guard.tree import EnvTree

TABLE = Path(__file__).with_name("harmless.yaml")
REACHES, REFUSED, IMAGE_REPOSITORY, DATA_LOSS, UNLISTED = (
    "reaches-litellm", "refused", "image-repository", "data-loss", "unlisted")
ARGOCD_NAMESPACE = "argocd"
SOURCE_KINDS = ("Application", "ApplicationSet", "AppProject")
SECRET_TYPE = "argocd.argoproj.io/secret-type"
WORKLOAD_KINDS = dataflow.WORKLOAD_KINDS
OPEN_WEBUI_IMAGE = re.compile(r"(^|/)open-webui([:@]|\Z)", re.I)
ESO_IMAGE = re.compile(r"(^|/)external-secrets([:@]|\Z)", re.I)
MAX_EMBEDDED_YAML = 1_000_000


@dataclass(frozen=True)
class Reach:
    """Objects whose change can reach what LiteLLM runs with, as data."""

    # Every object of these API groups: they write LiteLLM's Secret or mutate pods at admission.
    # (ExternalSecrets, stores and PushSecrets are not here: the red lines trace every entry of them
    # that feeds a guarded variable, rules.py and dataflow.py; their other fields are rows or unlisted.)
    groups: tuple[str, ...] = ("generators.external-secrets.io", "kyverno.io",
                               "policies.kyverno.io", "mutations.gatekeeper.sh", "policies.kubewarden.io",
                               "policy.jspolicy.com", "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io")
    # Every object of these kinds, whatever the group.
    kinds: tuple[str, ...] = ("MutatingWebhookConfiguration", "MutatingAdmissionPolicy",
                              "MutatingAdmissionPolicyBinding", "PodPreset")
    # The External Secrets controller's values (unhydrated side) and LiteLLM's.
    charts: tuple[str, ...] = ("litellm", "litellm-helm", "external-secrets")


REACH = Reach()


@dataclass(frozen=True)
class Row:
    id: str
    kinds: tuple[str, ...]
    paths: tuple[re.Pattern[str], ...]
    reaching: bool
    compare: str | None
    reason: str
    names: tuple[str, ...] = ("*",)

    def matches(self, item: "Item", path: str, before: Any, after: Any, docs: tuple[Any, Any]) -> bool:
        if not any(fnmatch.fnmatchcase(item.kind, k) for k in self.kinds):
            return False
        if not any(fnmatch.fnmatchcase(item.name, n) for n in self.names):
            return False
        if not any(p.fullmatch(path) for p in self.paths):
            return False
        return COMPARES[self.compare](before, after, docs) if self.compare else True


def _pattern(text: str) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\*\*|\*)", text):
        out.append(".*" if part == "**" else r"[^.]*" if part == "*" else re.escape(part))
    return re.compile("".join(out))


@lru_cache(maxsize=1)
def rows() -> tuple[Row, ...]:
    """harmless.yaml, checked: a row missing a field is a bug in the guard's own data (exit 70)."""
    doc = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    found = []
    for row in doc["rows"]:
        unknown = set(row) - {"id", "kinds", "names", "paths", "reaching", "compare", "reason"}
        if unknown or not row.get("reason") or (row.get("compare") is not None and row["compare"] not in COMPARES):
            raise ValueError(f"harmless.yaml row {row.get('id')}: unknown fields {sorted(unknown)}, compare or no reason")
        found.append(Row(str(row["id"]), tuple(map(str, row["kinds"])), tuple(_pattern(str(p)) for p in row["paths"]),
                         bool(row.get("reaching", False)), row.get("compare"), str(row["reason"]),
                         tuple(map(str, row.get("names") or ["*"]))))
    return tuple(found)


def harmless(item: "Item", path: str, before: Any, after: Any, reaching: bool, docs: tuple[Any, Any]) -> Row | None:
    for row in rows():
        if (row.reaching or not reaching) and row.matches(item, path, before, after, docs):
            return row
    return None


def _repository(image: Any) -> str | None:
    if not isinstance(image, str) or not image:
        return None
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: len(name) - len(last[-1]) + last[-1].index(":")]
    return name


def same_repository(before: Any, after: Any) -> bool:
    a, b = _repository(before), _repository(after)
    return a is not None and a == b


def _actions(node: Any) -> list[Any]:
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if key in ("Action", "NotAction"):
                found += value if isinstance(value, list) else [value]
                if key == "NotAction":
                    found.append(None)  # never a Bedrock-only statement
            else:
                found += _actions(value)
        return found
    if isinstance(node, list):
        return [a for v in node for a in _actions(v)]
    return []


BEDROCK_ONLY = re.compile(r"^(bedrock:[A-Za-z*]+|sts:AssumeRoleWithWebIdentity|sts:TagSession)\Z")


def bedrock_only(before: Any, after: Any, docs: tuple[Any, Any]) -> bool:
    """Both sides of the resource allow nothing but Bedrock calls (and the IRSA trust)."""
    actions = _actions(docs[0]) + _actions(docs[1])
    return bool(actions) and all(isinstance(a, str) and BEDROCK_ONLY.match(a) for a in actions)


# LiteLLM's built-in logging callbacks (litellm/litellm_core_utils/custom_logger_registry.py): names
# LiteLLM resolves itself. Any other value is a `module.instance` path it imports and runs.
BUILTIN_CALLBACKS = frozenset({"otel", "prometheus", "langfuse", "datadog", "s3", "sentry", "lago", "openmeter",
                               "gcs_bucket", "langsmith", "arize", "opik", "helicone", "lunary", "braintrust"})


def builtin_callback(before: Any, after: Any, docs: tuple[Any, Any]) -> bool:
    return all(v is MISSING or (isinstance(v, str) and v in BUILTIN_CALLBACKS) for v in (before, after))


COMPARES = {"image-tag": lambda before, after, docs: same_repository(before, after), "bedrock-only": bedrock_only,
            "builtin-callback": builtin_callback}


# --- the objects of one side ----------------------------------------------------------------------

@dataclass
class Item:
    key: str
    kind: str  # "group/Kind", "HelmValues <chart>", or a CloudFormation type
    label: str
    file: str
    doc: Any
    namespace: str = ""
    name: str = ""


def _group(api: Any) -> str:
    return str(api).split("/", 1)[0] if "/" in str(api) else ""


# External Secrets' defaults (its CRDs): spelling one out is no change.
REMOTE_REF_DEFAULTS = {"conversionStrategy": "Default", "decodingStrategy": "None", "metadataPolicy": "None",
                       "nullBytePolicy": "Ignore"}
ES_KINDS = ("ExternalSecret", "ClusterExternalSecret")


def _es_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    inner = spec.get("externalSecretSpec") if doc.get("kind") == "ClusterExternalSecret" else spec
    if not isinstance(inner, dict) or not isinstance(inner.get("data"), list):
        return doc
    data = []
    for entry in inner["data"]:
        if isinstance(entry, dict) and isinstance(entry.get("remoteRef"), dict):
            remote = {k: v for k, v in entry["remoteRef"].items() if REMOTE_REF_DEFAULTS.get(k, MISSING) != v}
            entry = {**entry, "remoteRef": remote}
        data.append(entry)
    inner = {**inner, "data": data}
    spec = {**spec, "externalSecretSpec": inner} if doc.get("kind") == "ClusterExternalSecret" else inner
    return {**doc, "spec": spec}


def _k8s_item(doc: dict[str, Any], namespace: str, file: str) -> Item:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    kind, group = str(doc.get("kind")), _group(doc.get("apiVersion"))
    ns = str(meta.get("namespace") or namespace or "")
    name = str(meta.get("name") or "")
    label = f"{kind} {ns}/{name}" if ns else f"{kind} {name}"
    if kind == "ConfigMap":
        doc = _expand(doc)
    elif kind in ES_KINDS:
        doc = _es_defaults(doc)
    return Item(f"k8s/{group}/{kind}/{ns}/{name}", f"{group}/{kind}" if group else kind, label, file, doc, ns, name)


def _expand(doc: dict[str, Any]) -> dict[str, Any]:
    """A ConfigMap whose values hold YAML mappings (LiteLLM's config.yaml) gets them parsed, under
    `<key>::`, so rows can name fields inside (the text itself stays compared as well)."""
    data = doc.get("data")
    if not isinstance(data, dict):
        return doc
    parsed = {}
    for key, value in data.items():
        if isinstance(value, str) and len(value) <= MAX_EMBEDDED_YAML and not str(key).endswith(".json"):
            try:
                inner = yaml.safe_load(value)
            except yaml.YAMLError:
                continue
            if isinstance(inner, dict):
                parsed[f"{key}::"] = inner
    if not parsed:
        return doc
    data = {k: v for k, v in data.items() if f"{k}::" not in parsed}
    return {**doc, "data": {**data, **parsed}}


def items(env: EnvTree) -> dict[str, Item]:
    found: dict[str, Item] = {}

    def add(item: Item) -> None:
        found.setdefault(item.key, item)

    if env.applied is not None:
        for obj in env.applied:  # bootstrap/ is applied by a person and judged as a source (sources.py)
            if isinstance(obj.doc, dict) and obj.kind not in SOURCE_KINDS and obj.application != BOOTSTRAP:
                add(_k8s_item(obj.doc, obj.namespace, obj.origin))
    else:
        for obj in env.objects.values():
            if obj.key.startswith("k8s/") and isinstance(obj.doc, dict) and obj.kind not in SOURCE_KINDS \
                    and obj.owner != "other" and not obj.file.startswith("bootstrap/") and not hub_namespace(obj):
                add(_k8s_item(obj.doc, obj.namespace, obj.file))
            elif obj.kind == "HelmValues":
                add(Item(obj.key, f"HelmValues {obj.name}", obj.label, obj.file, obj.doc, name=obj.name))
    for template in env.of_kind("CloudFormationTemplate"):
        for logical_id, resource in (template.doc.get("Resources") or {}).items():
            if isinstance(resource, dict):
                add(Item(f"cfn/{template.file}/{logical_id}", str(resource.get("Type")),
                         f"CloudFormation {logical_id} ({resource.get('Type')})", template.file,
                         resource, name=str(logical_id)))
    return found


# --- what reaches LiteLLM ------------------------------------------------------------------------

def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    return dataflow._pod_spec(doc)


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod(doc)
    return [c for key in ("initContainers", "containers", "ephemeralContainers")
            for c in pod.get(key) or [] if isinstance(c, dict)]


def _pod_labels(doc: dict[str, Any]) -> dict[str, str]:
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    if doc.get("kind") == "Pod":
        meta = doc.get("metadata") or {}
    else:
        if doc.get("kind") == "CronJob":
            spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        meta = (spec.get("template") or {}).get("metadata") or {}
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _references(doc: dict[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of the ConfigMaps, Secrets and ServiceAccount a pod reads."""
    pod = _pod(doc)
    found: set[tuple[str, str]] = set()
    account = pod.get("serviceAccountName") or pod.get("serviceAccount")
    found.add(("ServiceAccount", str(account or "default")))
    for volume in pod.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        sources = [volume] + [s for s in (volume.get("projected") or {}).get("sources") or [] if isinstance(s, dict)]
        for source in sources:
            if isinstance(source.get("configMap"), dict):
                found.add(("ConfigMap", str(source["configMap"].get("name"))))
            if isinstance(source.get("secret"), dict):
                found.add(("Secret", str(source["secret"].get("secretName") or source["secret"].get("name"))))
    for container in _containers(doc):
        for item in container.get("envFrom") or []:
            if isinstance(item, dict):
                for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if isinstance(item.get(key), dict):
                        found.add((kind, str(item[key].get("name"))))
        for var in container.get("env") or []:
            source = var.get("valueFrom") if isinstance(var, dict) else None
            if isinstance(source, dict):
                for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    if isinstance(source.get(key), dict):
                        found.add((kind, str(source[key].get("name"))))
    return found


@dataclass
class Scope:
    """What reaches, gathered from both sides (a rename or removal is still seen)."""

    workloads: set[str]  # item keys of LiteLLM's and External Secrets' workloads
    litellm: set[str]  # of those, LiteLLM's and Open WebUI's (image repository rule)
    read: set[tuple[str, str, str]]  # (kind, namespace, name) their pods read
    selectors: list[tuple[str, dict[str, str]]]  # (namespace, pod labels) of LiteLLM's pods
    salt_names: set[str]  # the salt secret's Secrets Manager names and logical ids


def _is_litellm(doc: dict[str, Any]) -> bool:
    return any(dataflow.LITELLM_IMAGE.search(str(c.get("image") or "")) for c in _containers(doc))


def scope(sides: Iterable[dict[str, Item]], salt_names: set[str]) -> Scope:
    result = Scope(set(), set(), {("Secret",) + naming.LITELLM_SECRET}, [], set(salt_names))
    sides = list(sides)
    for side in sides:
        for item in side.values():
            if item.kind.rsplit("/", 1)[-1] not in WORKLOAD_KINDS or not isinstance(item.doc, dict):
                continue
            images = " ".join(str(c.get("image") or "") for c in _containers(item.doc))
            if _is_litellm(item.doc) or ESO_IMAGE.search(images):
                result.workloads.add(item.key)
                result.read |= {(k, item.namespace, n) for k, n in _references(item.doc)}
                if _is_litellm(item.doc):
                    result.selectors.append((item.namespace, _pod_labels(item.doc)))
            if _is_litellm(item.doc) or OPEN_WEBUI_IMAGE.search(images):
                result.litellm.add(item.key)
    # Another workload whose pods carry LiteLLM's labels is selected as LiteLLM (its Service, its
    # PodDisruptionBudget, policies written for it): it reaches too, whatever its image.
    for side in sides:
        for item in side.values():
            if item.kind.rsplit("/", 1)[-1] in WORKLOAD_KINDS and isinstance(item.doc, dict):
                labels = _pod_labels(item.doc)
                if any(ns == item.namespace and wanted and wanted.items() <= labels.items()
                       for ns, wanted in result.selectors):
                    result.workloads.add(item.key)
                    result.read |= {(k, item.namespace, n) for k, n in _references(item.doc)}
    return result


_SECRET_REF = re.compile(r"secretsmanager|:secret:", re.I)
_BUILT = ("Fn::Join", "Fn::Sub", "Fn::Select", "Fn::Split", "Fn::ImportValue", "Fn::FindInMap", "Fn::If")
MACROS = ("Fn::Transform", "AWS::Include")


# Secrets Manager and KMS actions that only read (AWS Service Authorization Reference, "Actions
# defined by AWS Secrets Manager": access level Read or List).
READ_ONLY_ACTIONS = frozenset({"secretsmanager:getsecretvalue", "secretsmanager:describesecret",
                               "secretsmanager:listsecretversionids", "secretsmanager:getresourcepolicy",
                               "secretsmanager:batchgetsecretvalue", "secretsmanager:listsecrets",
                               "kms:decrypt", "kms:describekey", "sts:assumerolewithwebidentity", "sts:assumerole",
                               "sts:tagsession"})


def _read_only(node: Any) -> bool:
    """Every IAM statement in `node` allows only read actions (no NotAction, no wildcard)."""
    actions: list[Any] = []

    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            if "NotAction" in value:
                return False
            if "Action" in value:
                listed = value["Action"] if isinstance(value["Action"], list) else [value["Action"]]
                actions.extend(listed)
            return all(walk(v) for k, v in value.items() if k != "Action")
        if isinstance(value, list):
            return all(walk(v) for v in value)
        return True

    return walk(node) and bool(actions) and all(isinstance(a, str) and a.lower() in READ_ONLY_ACTIONS for a in actions)


def _cfn_reach(item: Item, text: str, names: set[str]) -> str | None:
    """Why a CloudFormation resource can act on the salt secret, or None."""
    if item.kind == "AWS::SecretsManager::Secret":
        return None  # the red lines compare every property of a secret (rules.py: secret_facts)
    if str(item.kind).startswith("AWS::IAM::") and _read_only(item.doc):
        return None  # an IAM policy that can only read: it cannot write, delete or re-key the secret
    if any(name and name in text for name in names):
        return "names the salt key's secret (it can write, delete, replace or re-key it)"
    if str(item.kind).startswith("AWS::SecretsManager::") and any(fn in text for fn in _BUILT):
        return "a Secrets Manager resource whose secret the guard cannot resolve (a computed name)"
    if _SECRET_REF.search(text) and any(fn in text for fn in _BUILT):
        return "acts on Secrets Manager with a computed name or ARN: cannot be proven not to be the salt key's secret"
    return None


def reach(item: Item, scope_: Scope) -> str | None:
    """Why a change to `item` can reach what LiteLLM runs with, or None."""
    kind = item.kind.rsplit("/", 1)[-1]
    group = item.kind.rsplit("/", 1)[0] if "/" in item.kind else ""
    if item.key.startswith("cfn/"):
        return None  # judged by _cfn_reach with the resource's text
    if item.kind.startswith("HelmValues "):
        chart = item.kind.split(" ", 1)[1]
        return "values of a chart LiteLLM or External Secrets runs from" if chart in REACH.charts else None
    if item.key in scope_.workloads:
        return "a workload of LiteLLM, its migration Job or External Secrets (or one carrying LiteLLM's pod labels)"
    if group in REACH.groups:
        return f"{group} objects write LiteLLM's Secret or rewrite pods"
    if kind in REACH.kinds:
        return "rewrites pods at admission (LiteLLM's included)"
    if (kind, item.namespace, item.name) in scope_.read:
        return f"a {kind} LiteLLM's or External Secrets' pods read"
    if item.namespace == ARGOCD_NAMESPACE or item.namespace.startswith(ARGOCD_NAMESPACE + "-") or item.name.startswith("argocd-"):
        return "Argo CD's own namespace or configuration (it decides what every Application applies)"
    return None


# --- comparing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    category: str
    object: str
    field: str
    before: Any
    after: Any
    file: str
    why: str
    sensitive: bool


_SENSITIVE = re.compile(r"(^|\.)(data|stringData|binaryData)(\.|\Z)|\.env\[|\.value\Z|\.command|\.args|"
                        r"^Properties\.|SecretString|::", re.I)


def _argo_source_object(item: Item) -> bool:
    labels = ((item.doc.get("metadata") or {}).get("labels") or {}) if isinstance(item.doc, dict) else {}
    return item.kind == "Secret" and isinstance(labels, dict) and SECRET_TYPE in labels


def compare(old: EnvTree | None, new: EnvTree | None, salt_names: set[str],
            traced: dict[str, tuple[str, ...]] | None = None, traced_env: tuple[str, ...] = ()) -> list[Change]:
    """Every changed field between the two sides not on the table, with its category and why.

    `salt_names`: the salt key's Secrets Manager names and logical ids (rules.py finds them).
    `traced`: per chart, the values paths the red lines trace (a change there is theirs to judge:
    it is not blocked here, only counted as unlisted). `traced_env`: the variables the red lines
    trace through every LiteLLM container (an env entry of that name is theirs too)."""
    if new is None:
        return []  # a removed environment: the red lines judge what it delivered
    before = items(old) if old is not None else {}
    after = items(new)
    fresh = old is None  # a new environment: its objects are new, nothing existing changes
    scope_ = scope((before, after), salt_names)
    changes: list[Change] = []
    for template in new.of_kind("CloudFormationTemplate"):
        # Anywhere in any stack: a macro rewrites the template CloudFormation runs.
        if any(m in json.dumps(template.doc, default=str) for m in MACROS):
            changes.append(Change(REFUSED, template.label, "Fn::Transform / AWS::Include", MISSING, "present", template.file,
                                  "a CloudFormation macro: the template that runs is not the one in git", False))
        if "Transform" in template.doc:
            changes.append(Change(REFUSED, template.label, "Transform", MISSING, "present", template.file,
                                  "a CloudFormation macro: the template that runs is not the one in git", False))
    if fresh:
        return changes
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is not None and b is not None and a.doc == b.doc:
            continue
        item = b or a
        assert item is not None
        if _argo_source_object(item):
            continue  # an Argo CD repository Secret: sources.py judges it
        why = reach(item, scope_)
        if item.key.startswith("cfn/"):
            why = _cfn_reach(item, json.dumps(a.doc if a else {}, default=str) + json.dumps(b.doc if b else {}, default=str),
                             scope_.salt_names)
        if a is None or b is None:
            changes += _whole(item, a is None, why)
            continue
        pinned = key in scope_.litellm or item.kind.startswith(("HelmValues litellm", "HelmValues open-webui"))
        paths = (traced or {}).get(item.kind.split(" ", 1)[-1], ()) if item.kind.startswith("HelmValues ") else ()
        # An env entry of a traced variable: the data flow computes its effective value in both
        # trees and reports any difference (rules.chain_findings); an unchanged value is no change.
        skip = tuple(f"{prefix}.env[{name}" for prefix in _container_prefixes(a.doc, b.doc) for name in traced_env
                     if key in scope_.litellm)
        changes += _fields(item, a.doc, b.doc, why, pinned, paths, skip)
    return changes


def _container_prefixes(*docs: Any) -> set[str]:
    """The flattened paths of every container of the workloads `docs`."""
    found = set()
    for doc in docs:
        for path in flatten(doc):
            match = re.match(r"^(.*?\.(?:initContainers|containers|ephemeralContainers)\[[^\]]*\])\.env\[", path)
            if match:
                found.add(match.group(1))
    return found


def _whole(item: Item, added: bool, why: str | None) -> list[Change]:
    present = ("present" if not added else MISSING, "present" if added else MISSING)
    kind = item.kind.rsplit("/", 1)[-1]
    if why:
        return [Change(REACHES, item.label, "(whole object)", *present, item.file, why, False)]
    if not added and kind == "PersistentVolumeClaim":
        return [Change(DATA_LOSS, item.label, "(whole object)", *present, item.file,
                       "a PersistentVolumeClaim pruned: its volume may be deleted with it", False)]
    if not added and item.kind in ("AWS::EC2::Volume", "AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::S3::Bucket"):
        return [Change(DATA_LOSS, item.label, "(whole object)", *present, item.file, "a stateful resource removed", False)]
    if added and kind in ("Namespace", "PodDisruptionBudget", "ServiceMonitor", "PodMonitor", "PrometheusRule"):
        return []  # a new object of a harmless kind
    return [Change(UNLISTED, item.label, "(whole object)", *present, item.file,
                   "added" if added else "removed", False)]


_DATA_LOSS = re.compile(r"(^|\.)(volumeClaimTemplates|volumes)(\[[^\]]*\])?(\.|\Z)")


def _fields(item: Item, left: Any, right: Any, why: str | None, pinned_image: bool,
            traced: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> list[Change]:
    flat_a, flat_b = flatten(left), flatten(right)
    found = []
    removed_volumes: set[str] = set()
    for path in sorted(set(flat_a) | set(flat_b)):
        va, vb = flat_a.get(path, MISSING), flat_b.get(path, MISSING)
        if va == vb and type(va) is type(vb):
            continue
        if harmless(item, path, va, vb, why is not None, (left, right)):
            continue
        if any(path.startswith((t + "]", t + "#")) for t in skip):
            continue
        sensitive = bool(_SENSITIVE.search(path)) or item.kind == "Secret" or item.kind.startswith("HelmValues ")
        image_move = path.endswith((".image", "image.repository")) and pinned_image and not same_repository(va, vb) and va is not MISSING \
            and vb is not MISSING
        if image_move:
            found.append(Change(IMAGE_REPOSITORY, item.label, path, va, vb, item.file,
                                "LiteLLM's or Open WebUI's image from another repository (supply chain)", False))
            continue
        # A workload's own labels and annotations reach no pod (the pod template's do): two approvals.
        own_metadata = path.startswith("metadata.") and item.kind.rsplit("/", 1)[-1] in WORKLOAD_KINDS
        if why and not own_metadata and not any(path == t or path.startswith((t + ".", t + "[", t + "]", t + "#"))
                                                for t in traced):
            found.append(Change(REACHES, item.label, path, va, vb, item.file,
                                why + "; not on the allowlist (harmless.yaml)", sensitive))
            continue
        match = _DATA_LOSS.search(path)
        if match and vb is MISSING:
            group = path[: match.end(3) if match.group(3) else match.end(2)]
            if group not in removed_volumes:
                removed_volumes.add(group)
                found.append(Change(DATA_LOSS, item.label, group, "present", MISSING, item.file,
                                    "a volume or claim template removed: its data may go with it", False))
            continue
        found.append(Change(UNLISTED, item.label, path, va, vb, item.file, "not on the allowlist (harmless.yaml)", sensitive))
    return found


