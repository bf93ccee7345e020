"""The red lines, as data, and how a rendered environment is read against them.

For each protected secret the guard gathers the facts that determine the value LiteLLM reads
(the ExternalSecret entries that map its variable, the stores they read through, the Secrets
Manager secret in CloudFormation, LiteLLM's values that wire it, and any literal override), in
the base and the head tree, and reports every fact that differs. For the bastion it gathers the
EC2 instance's properties whose change makes CloudFormation replace it, and what they refer to.

Two groups of facts:
- wiring (ExternalSecrets, stores, CloudFormation, values that route the secret): compared once
  the base environment has any; an environment that never had the secret may introduce it;
- overrides (the variable named in values, Secrets, ConfigMaps, Application parameters): always
  compared; a new environment may reference the variable, never give it a literal value.

`evaluate` adds the data flow's chains (dataflow.py over objects_of/stacks_of), source changes
(sources.py), content the guard cannot read as Argo CD does (synced.py) and templates no deploy
manifest names, then keeps the most severe finding per field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Iterator, Sequence

from generator import naming
from generator.guard import allowlist, cfn, cfnschema, dataflow, isolation, sources, synced
from generator.guard.flatten import _item_label, flatten, join
from generator.guard.redact import MISSING
from generator.guard.tree import EnvTree, Obj, Tree, app_sources
from generator.yamlio import load_plain


class Policy(str, Enum):
    BLOCK = "blocked"  # refused whatever the approvals
    TWO_APPROVALS = "two approvals"


@dataclass(frozen=True)
class SecretRule:
    category: str
    secret: naming.StackSecret
    policy: Policy
    mentions: tuple[str, ...]  # variable names whose appearance in values or config is an override
    value_paths: tuple[str, ...]  # dotted paths in LiteLLM's values that route the value

    @property
    def name_hint(self) -> str:
        """The Secrets Manager name's last part, from the config key: saltKey -> salt-key."""
        return re.sub(r"(?<!^)([A-Z])", r"-\1", self.secret.key).lower()


# LiteLLM's pod reads every variable from envFrom sources in order, the last one winning: the
# list of Secrets and ConfigMaps it exports decides where each variable comes from.
ENV_SOURCES = ("environmentSecrets", "environmentConfigMaps", "envFrom", "extraEnvFrom")

# The variables LiteLLM reads each value from (dataflow.py, from LiteLLM's source), and those that
# change how it reads every variable (KMS decryption, where the config comes from).
SECRET_RULES: tuple[SecretRule, ...] = (
    SecretRule("salt-key", naming.SALT_KEY, Policy.BLOCK, (dataflow.SALT,) + dataflow.ALWAYS,
               ENV_SOURCES + ("proxy_config.general_settings.salt_key",)),
    SecretRule("master-key", naming.MASTER_KEY, Policy.TWO_APPROVALS, (dataflow.MASTER, "PROXY_MASTER_KEY"),
               ENV_SOURCES + ("masterkey", "masterkeySecretName", "masterkeySecretKey",
                              "proxy_config.general_settings.master_key")),
    SecretRule("database-url", naming.DATABASE_URL, Policy.TWO_APPROVALS,
               tuple(dict.fromkeys((dataflow.DATABASE, "DIRECT_URL") + dataflow.IAM_AUTH + dataflow.IAM_PARTS + dataflow.URL_PARTS)),
               ENV_SOURCES + ("db", "proxy_config.general_settings.database_url")),
)


@dataclass(frozen=True)
class ResourceRule:
    """CloudFormation resources whose loss or replacement needs approval. Which property changes
    replace them comes from the resource type's provider schema (cfnschema)."""

    category: str
    policy: Policy
    types: tuple[str, ...]


BASTION = ResourceRule("bastion", Policy.TWO_APPROVALS, ("AWS::EC2::Instance",))

# A resource the instance refers to changes the instance only when the reference's value changes,
# that is when the referenced resource is replaced (a new id: its createOnlyProperties), except for
# these types, whose attribute the instance reads (a launch template's LatestVersionNumber) moves
# with any update. A type without a schema: any property (fail closed).
UPDATED_BY_ANY_CHANGE = ("AWS::EC2::LaunchTemplate",)

# Referenced resource types whose every property and deletion/replace policy count, not only what
# replaces them: a secret's KMS key (KmsKeyId, and a replica's) decides who can decrypt the value and
# whether it survives (a key policy, Enabled, a DeletionPolicy that lets its removal schedule the key's
# deletion). Per type, the properties that reach neither (why: a description or tag is a label, and
# rotating key material keeps the old material able to decrypt).
FOLLOWED_IN_FULL: dict[str, frozenset[str]] = {
    "AWS::KMS::Key": frozenset({"Description", "Tags", "EnableKeyRotation", "RotationPeriodInDays"}),
}

# The ClusterSecretStore authenticates as External Secrets' service account (IRSA): which account
# and role that is decides what the store reads, so it counts as the store's authentication.
STORE_AUTH_CHART = "external-secrets"
STORE_AUTH_PATHS = (("serviceAccount", "name"), ("serviceAccount", "annotations", "eks.amazonaws.com/role-arn"))

# Beside the red lines: a source change on an Application that can reach the salt key's chain
# (sources.py), content Argo CD syncs that the guard cannot read as Argo CD does (synced.py), and
# any other source change.
SALT_SOURCE, UNMODELLED, SOURCE = "salt-key-source", "unmodelled", "source"
# One more replica of the salt secret, under the replica of the secret's own KMS key: its value and
# who can decrypt it are unchanged, one more region holds a copy (issue 20: promoting an environment
# to prod adds one). Removing a replica, or a replica under any other key, stays the salt itself.
SALT_REPLICA_ADDED = "salt-replica-added"
REPLICA_OF_OWN_KEY = re.compile(r"arn:\$\{AWS::Partition\}:kms:(?P<region>[a-z0-9-]+):\$\{AWS::AccountId\}:key/"
                                r"\$\{(?P<key>[A-Za-z0-9]+)\}\Z")
CROSSING = isolation.CROSSING  # one environment's files reaching another's namespace on a hub (isolation.py)
# The allowlist (allowlist.py over harmless.yaml): every other change in the applied state.
POLICIES = ({SECRET_RULES[0].category: SECRET_RULES[0].policy, SALT_SOURCE: Policy.BLOCK, UNMODELLED: Policy.BLOCK,
             CROSSING: Policy.BLOCK,
             allowlist.REFUSED: Policy.BLOCK, allowlist.REACHES: Policy.BLOCK}
            | {r.category: r.policy for r in SECRET_RULES[1:]} | {SOURCE: Policy.TWO_APPROVALS, BASTION.category: BASTION.policy}
            | {SALT_REPLICA_ADDED: Policy.TWO_APPROVALS, allowlist.IMAGE_REPOSITORY: Policy.TWO_APPROVALS,
               allowlist.DATA_LOSS: Policy.TWO_APPROVALS, allowlist.UNLISTED: Policy.TWO_APPROVALS})
CATEGORIES = tuple(POLICIES)  # most severe first
# Values paths the red lines trace, per chart: the allowlist leaves their changes to them.
TRACED_VALUES = {"litellm": tuple(dict.fromkeys([p for r in SECRET_RULES for p in r.value_paths]
                                                 + [f"envVars.{n}" for r in SECRET_RULES[1:] for n in r.mentions])),
                 STORE_AUTH_CHART: tuple(".".join(p) for p in STORE_AUTH_PATHS)}
# Variables the data flow traces in every LiteLLM container (dataflow.py): env entries of these names.
TRACED_ENV = tuple(sorted({n for r in SECRET_RULES for n in r.mentions}))

# ExternalSecret and store fields as External Secrets defaults them, so spelling a default out is no change.
REMOTE_REF_DEFAULTS = allowlist.REMOTE_REF_DEFAULTS
TEMPLATE_DEFAULTS = {"engineVersion": "v2", "mergePolicy": "Replace"}
SECRET_IGNORED_PROPERTIES = ("Description", "Tags")
_TEMPLATE_REF = re.compile(r"\{\{(.*?)\}\}", re.S)
_TEMPLATE_NAME = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_]*)|index\s+\.\s+"([^"]+)\"""")
_REFERENCE_ONLY = re.compile(r"^(os\.environ/|\$\(|\$\{)?[A-Z][A-Z0-9_]*[)}]?\Z")


@dataclass(frozen=True)
class Finding:
    category: str
    environment: str
    object: str
    field: str
    before: Any
    after: Any
    file: str = ""
    sensitive: bool = False
    shown_as: tuple[str, str] | None = None  # a shard's finding, read back as its JSON showed it (redacted already)

    @property
    def policy(self) -> Policy | None:
        return POLICIES.get(self.category)


@dataclass
class Facts:
    """(object, field) -> value, with the file each object lives in and which values are secret."""

    values: dict[tuple[str, str], Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    sensitive: set[tuple[str, str]] = field(default_factory=set)

    def add(self, obj: str, name: str, value: Any, file: str, sensitive: bool = False) -> None:
        self.values[(obj, name)] = value
        self.files.setdefault(obj, file)
        if sensitive:
            self.sensitive.add((obj, name))

    def add_tree(self, obj: str, prefix: str, node: Any, file: str, sensitive: bool = False) -> None:
        for path, value in flatten(node, prefix).items():
            self.add(obj, path, value, file, sensitive)

    def objects(self) -> set[str]:
        return {o for o, _ in self.values}

    def __bool__(self) -> bool:
        return bool(self.values)


# --- ExternalSecrets and stores -------------------------------------------------------------

EXTERNAL_SECRET_KINDS = ("ExternalSecret", "ClusterExternalSecret")


def _es_spec(es: Obj) -> dict[str, Any]:
    """An ExternalSecret's spec; a ClusterExternalSecret's is the ExternalSecret it stamps out."""
    if es.kind == "ClusterExternalSecret":
        spec = es.spec.get("externalSecretSpec")
        return spec if isinstance(spec, dict) else {}
    return es.spec


def _data(es: Obj) -> list[dict[str, Any]]:
    return [d for d in _es_spec(es).get("data") or [] if isinstance(d, dict)]


def _template(es: Obj) -> dict[str, Any] | None:
    target = _es_spec(es).get("target")
    template = target.get("template") if isinstance(target, dict) else None
    return template if isinstance(template, dict) else None


def _template_names(text: Any) -> set[str]:
    names: set[str] = set()
    for inner in _TEMPLATE_REF.findall(str(text)):
        for dotted, indexed in _TEMPLATE_NAME.findall(inner):
            names.add(dotted or indexed)
    return names


def _targets(es: Obj) -> tuple[str, str]:
    target = _es_spec(es).get("target")
    name = target.get("name") if isinstance(target, dict) else None
    return es.namespace, str(name or es.name)


def _es_relevant(es: Obj, env_var: str) -> bool:
    template = _template(es) or {}
    return (any(d.get("secretKey") == env_var for d in _data(es))
            or env_var in (template.get("data") or {})
            or _targets(es) == naming.LITELLM_SECRET)


def _store_ref(ref: Any, namespace: str) -> tuple[str, str, str] | None:
    if not isinstance(ref, dict) or not ref.get("name"):
        return None
    kind = str(ref.get("kind") or "SecretStore")
    return kind, ("" if kind == "ClusterSecretStore" else namespace), str(ref["name"])


def _entry_keys(es: Obj, env_var: str) -> list[dict[str, Any]]:
    """The data entries that feed `env_var`: its own entry, and those its template reads."""
    template = _template(es)
    wanted = {env_var}
    if template is not None:
        wanted |= _template_names((template.get("data") or {}).get(env_var, ""))
        for item in template.get("templateFrom") or []:
            wanted |= _template_names(item)
    return [d for d in _data(es) if d.get("secretKey") in wanted]


def _es_facts(es: Obj, env_var: str, out: Facts) -> set[tuple[str, str, str]]:
    """Facts of one ExternalSecret for `env_var`; returns the stores it reads through."""
    label, file = es.label, es.file
    stores = set()
    spec = _es_spec(es)
    store = _store_ref(spec.get("secretStoreRef"), es.namespace)
    out.add(label, "spec.secretStoreRef", f"{store[0]}/{store[2]}" if store else None, file)
    if store:
        stores.add(store)
    out.add(label, "spec.target.name", _targets(es)[1], file)
    seen: dict[str, int] = {}
    for entry in _entry_keys(es, env_var):
        index_label = _item_label(entry, 0, seen)
        prefix = f"spec.data{index_label}"
        out.add(label, prefix, "present", file)
        remote = dict(entry.get("remoteRef") or {})
        for key, default in REMOTE_REF_DEFAULTS.items():
            if remote.get(key) == default:
                remote.pop(key)
        out.add_tree(label, f"{prefix}.remoteRef", remote, file)
        if entry.get("sourceRef") is not None:
            out.add_tree(label, f"{prefix}.sourceRef", entry["sourceRef"], file)
            ref = _store_ref((entry["sourceRef"] or {}).get("storeRef"), es.namespace)
            if ref:
                stores.add(ref)
    template = _template(es)
    if template is not None:
        for key, default in TEMPLATE_DEFAULTS.items():
            out.add(label, f"spec.target.template.{key}", template.get(key, default), file)
        data = template.get("data") or {}
        out.add(label, f"spec.target.template.data.{env_var}", data.get(env_var, MISSING), file)
        if template.get("templateFrom"):
            out.add_tree(label, "spec.target.template.templateFrom", template["templateFrom"], file)
    if spec.get("dataFrom"):
        out.add_tree(label, "spec.dataFrom", spec["dataFrom"], file)
    if es.kind == "ClusterExternalSecret":  # where it stamps the ExternalSecret out
        for key in ("namespaceSelector", "namespaceSelectors", "namespaces", "externalSecretName"):
            if es.spec.get(key) is not None:
                out.add_tree(label, f"spec.{key}", es.spec[key], file)
    return stores


def _store_facts(env: EnvTree, ref: tuple[str, str, str], out: Facts) -> None:
    kind, namespace, name = ref
    for obj in env.of_kind(kind):
        if obj.name == name and (kind == "ClusterSecretStore" or obj.namespace == namespace):
            out.add(obj.label, "(object)", "present", obj.file)
            for key in sorted(obj.spec):
                if key not in ("refreshInterval", "retrySettings", "conditions"):
                    out.add_tree(obj.label, f"spec.{key}", obj.spec[key], obj.file)


# --- CloudFormation ----------------------------------------------------------------------------

def deployed_templates(env: EnvTree) -> list[Obj]:
    """The templates a deploy manifest names (every template when the environment has no deploy
    manifest). A template nobody deploys is never trusted: a copy of a real one would mask it."""
    templates = env.of_kind("CloudFormationTemplate")
    if not env.of_kind("CloudFormationDeploy"):
        return templates
    return [t for t in templates if deployment(env, t) is not None]


GUARDED_CFN_TYPES = ("AWS::SecretsManager::", *BASTION.types)


def undeployed_findings(name: str, env: EnvTree | None) -> list[Finding]:
    """A template no deploy manifest names that declares a secret or the bastion, when it changes."""
    if env is None:
        return []
    deployed = {t.key for t in deployed_templates(env)}
    found = []
    for template in env.of_kind("CloudFormationTemplate"):
        if template.key in deployed or not env.touched(template.file):
            continue
        types = sorted({str(r.get("Type")) for r in template.doc["Resources"].values()
                        if isinstance(r, dict) and str(r.get("Type", "")).startswith(GUARDED_CFN_TYPES)})
        if types:
            found.append(Finding(UNMODELLED, name, template.label, f"a template no deploy manifest names declares {', '.join(types)}"
                                 " (never trusted: name it in the deploy manifest or remove it)", MISSING, "present", template.file))
    return found


def cfn_resources(env: EnvTree) -> Iterator[tuple[Obj, str, dict[str, Any]]]:
    for template in deployed_templates(env):
        for logical_id, resource in template.doc["Resources"].items():
            if isinstance(resource, dict):
                yield template, str(logical_id), resource


def _folder(file: str) -> str:
    return file.rsplit("/", 1)[0] if "/" in file else ""


def deployment(env: EnvTree, template: Obj) -> dict[str, Any] | None:
    """How the deploy manifest beside `template` deploys it: stack name, region, account, parameters file."""
    folder = _folder(template.file)
    for manifest in env.of_kind("CloudFormationDeploy"):
        if _folder(manifest.file) != folder:
            continue
        for stack in manifest.doc["stacks"]:
            if "/".join(p for p in (folder, str(stack.get("template"))) if p) == template.file:
                return {"stack": stack.get("name"), "region": manifest.doc.get("region"),
                        "account": manifest.doc.get("account"), "parameters": stack.get("parameters")}
    return None


def _parameter_file_values(env: EnvTree, template: Obj) -> dict[str, Any]:
    """Parameter values the template is deployed with: the file its deploy manifest names, else
    the parameters file beside it with the same stem."""
    deploy = deployment(env, template)
    folder = _folder(template.file)
    named = "/".join(p for p in (folder, str(deploy["parameters"])) if p) if deploy and deploy.get("parameters") else None
    stem = cfn.template_stem(template.file)
    values: dict[str, Any] = {}
    for params in env.of_kind("CloudFormationParameters"):
        if (params.file == named) if named else (cfn.template_stem(params.file) == stem and _folder(params.file) == folder):
            values.update(cfn.parameter_values(params.doc) or {})
    return values


def _resource_label(logical_id: str, resource: dict[str, Any]) -> str:
    return f"CloudFormation {logical_id} ({resource.get('Type')})"


def _follow(env: EnvTree, template: Obj, node: Any, label: str, out: Facts, seen: set[str]) -> None:
    """Facts for what `node` refers to: parameters with their effective value, other resources."""
    doc = template.doc
    parameters = doc.get("Parameters") or {}
    resources = doc.get("Resources") or {}
    file_values = None
    for name in sorted(cfn.references(node) - seen):
        seen.add(name)
        if name in parameters:
            if file_values is None:
                file_values = _parameter_file_values(env, template)
            spec = parameters[name] if isinstance(parameters[name], dict) else {}
            no_echo = str(spec.get("NoEcho", "")).lower() == "true"  # CloudFormation masks it: so do we
            out.add(label, f"Parameters.{name}.Type", spec.get("Type"), template.file)
            out.add(label, f"Parameters.{name}.NoEcho", no_echo, template.file)
            out.add(label, f"Parameters.{name}.Default", spec.get("Default", MISSING), template.file, sensitive=no_echo)
            out.add(label, f"Parameters.{name}.Value", file_values.get(name, MISSING), template.file, sensitive=no_echo)
        elif name in resources and isinstance(resources[name], dict):
            kind = resources[name].get("Type")
            properties = resources[name].get("Properties") or {}
            if kind in FOLLOWED_IN_FULL:
                properties = {k: v for k, v in properties.items() if k not in FOLLOWED_IN_FULL[kind]}
                for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                    out.add(label, f"Resources.{name}.{policy}", resources[name].get(policy, "Delete"), template.file)
            else:
                replacing = cfnschema.replacing_properties(str(kind)) if kind not in UPDATED_BY_ANY_CHANGE else None
                if replacing is not None:
                    properties = {k: v for k, v in properties.items() if k in replacing}
            out.add(label, f"Resources.{name}.Type", kind, template.file)
            out.add_tree(label, f"Resources.{name}.Properties", properties, template.file)
            _follow(env, template, properties, label, out, seen)


def _resource_facts(env: EnvTree, template: Obj, logical_id: str, resource: dict[str, Any],
                    properties: dict[str, Any], out: Facts, policies: bool = True) -> None:
    """`policies`: whether the deletion and replace policies count (for a secret they decide
    whether its value survives; they never replace an instance)."""
    label = _resource_label(logical_id, resource)
    out.add(label, "(object)", "present", template.file)
    out.add(label, "Type", resource.get("Type"), template.file)
    deploy = deployment(env, template)
    if deploy:  # another stack, region or account: CloudFormation creates a new resource there
        for key in ("stack", "region", "account"):
            out.add(label, f"Deployment.{key}", deploy[key], template.file)
    for key in ("DeletionPolicy", "UpdateReplacePolicy") if policies else ():
        out.add(label, key, resource.get(key, "Delete"), template.file)
    if resource.get("Condition"):
        condition = str(resource["Condition"])
        out.add(label, "Condition", condition, template.file)
        definition = (template.doc.get("Conditions") or {}).get(condition)
        out.add_tree(label, f"Conditions.{condition}", definition, template.file)
        _follow(env, template, definition, label, out, set())
    for path, value in flatten(properties, "Properties").items():
        out.add(label, path, value, template.file, sensitive=path.startswith("Properties.SecretString"))
    _follow(env, template, properties, label, out, {logical_id})


def _secret_matches(rule: SecretRule, logical_id: str, resource: dict[str, Any], remote_keys: set[str]) -> bool:
    if resource.get("Type") != "AWS::SecretsManager::Secret":
        return False
    if logical_id == rule.secret.logical_id:
        return True
    name = (resource.get("Properties") or {}).get("Name")
    if isinstance(name, str) and name in remote_keys:
        return True
    return rule.name_hint in str(name)


# --- values and overrides ---------------------------------------------------------------------

def _inline_values(app: Obj) -> Iterator[tuple[str, Any]]:
    for index, source in enumerate(app_sources(app)):
        helm = source.get("helm")
        if not isinstance(helm, dict):
            continue
        prefix = f"spec.sources[{index}].helm"
        if isinstance(helm.get("values"), str):
            try:
                parsed = load_plain(helm["values"])
            except Exception:  # an unparsable string is scanned as text
                parsed = helm["values"]
            yield f"{prefix}.values", parsed
        elif helm.get("values") is not None:
            yield f"{prefix}.values", helm["values"]
        if helm.get("valuesObject") is not None:
            yield f"{prefix}.valuesObject", helm["valuesObject"]
        if helm.get("parameters"):
            yield f"{prefix}.parameters", helm["parameters"]


def _deploys_chart(app: Obj, chart: str) -> bool:
    return any(chart in str(s.get("chart", "")) for s in app_sources(app))


def chart_values(env: EnvTree, chart: str, component: str) -> list[tuple[Obj, str, Any]]:
    """Values of the Application that deploys `chart`: its values files and its inline values."""
    apps = [a for a in env.of_kind("Application") if _deploys_chart(a, chart)]
    owners = {a.name for a in apps}
    found = [(o, "", o.doc) for o in env.of_kind("HelmValues") if o.owner in owners or o.name == component]
    for app in apps:
        found += [(app, prefix, doc) for prefix, doc in _inline_values(app)]
    return found


def _get(doc: Any, parts: Sequence[str]) -> Any:
    node = doc
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def _scan(node: Any, names: tuple[str, ...], path: str, label: str, file: str, out: Facts) -> None:
    """Every place `names` appear: a key (its value is a literal), a {name: X, ...} item, a string."""
    if isinstance(node, dict):
        item_name = node.get("name")
        if isinstance(item_name, str) and any(n in item_name for n in names):
            for sub, value in flatten(node, path).items():
                last = sub.rsplit(".", 1)[-1]
                out.add(label, sub, value, file, sensitive=last == "value" and not (
                    isinstance(value, str) and _REFERENCE_ONLY.match(value)))
            return
        for key, value in node.items():
            sub = join(path, str(key))
            if any(n in str(key) for n in names):
                for leaf, inner in flatten(value, sub).items():
                    literal = not (isinstance(inner, str) and _REFERENCE_ONLY.match(inner))
                    out.add(label, leaf, inner, file, sensitive=literal and not leaf.endswith((".name", ".key")))
            else:
                _scan(value, names, sub, label, file, out)
    elif isinstance(node, list):
        seen: dict[str, int] = {}
        for index, value in enumerate(node):
            _scan(value, names, join(path, _item_label(value, index, seen)), label, file, out)
    elif isinstance(node, str) and any(n in node for n in names):
        out.add(label, path or "(document)", node, file, sensitive=not _REFERENCE_ONLY.match(node.strip()))


def _parsed_data(data: dict[str, Any]) -> dict[str, Any]:
    """A ConfigMap's values, those holding a YAML mapping (LiteLLM's config.yaml) parsed under
    `<key>::`, so a mention is a fact about its own field, not about the whole text (adding a
    model beside `master_key: os.environ/LITELLM_MASTER_KEY` changes no fact about it)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        inner = None
        if isinstance(value, str) and len(value) <= allowlist.MAX_EMBEDDED_YAML and not str(key).endswith(".json"):
            try:
                inner = load_plain(value)
            except Exception:  # not YAML: scanned as text
                inner = None
        if isinstance(inner, dict):
            out[f"{key}::"] = inner
        else:
            out[key] = value
    return out


def _override_facts(env: EnvTree, names: tuple[str, ...], out: Facts) -> None:
    for obj in env.of_kind("HelmValues"):
        if may_mention(obj, names):
            _scan(obj.doc, names, "", obj.label, obj.file, out)
    for app in env.of_kind("Application"):
        if may_mention(app, names):
            for prefix, doc in _inline_values(app):
                _scan(doc, names, prefix, app.label, app.file, out)
    for obj in env.of_kind("Secret", "ConfigMap"):
        if not may_mention(obj, names):
            continue
        for key in ("data", "stringData", "binaryData"):
            if isinstance(obj.doc.get(key), dict):
                _scan(_parsed_data(obj.doc[key]), names, key, obj.label, obj.file, out)


# --- what the guard must read ------------------------------------------------------------------

# Hex escapes and escaped line breaks in double-quoted scalars, explicit tags and tag directives
# can spell a name in disguise: a file holding any of them is always read.
_DISGUISE = rb"\\[xuU]|\\\r?\n|!!|!<|%TAG"


def _gate(words: set[str]) -> re.Pattern[bytes]:
    return re.compile(b"|".join([re.escape(w.encode()) for w in sorted(words)] + [_DISGUISE]))


_DISGUISED = re.compile(_DISGUISE)
_NAMES = {n for rule in SECRET_RULES for n in rule.mentions}
_MENTIONS = _gate(_NAMES)
_RELEVANT = _gate(_NAMES | {"ExternalSecret", "SecretStore", "PushSecret", "Resources", "AWSTemplateFormatVersion",
                            "ParameterKey"})
_APPLIED = re.compile(rb"""["']?kind["']?\s*:\s*["']?(Deployment|StatefulSet|DaemonSet|ReplicaSet|Job|CronJob|Pod|Secret)\b""")
_CHARTS = re.compile(rb"""chart["']?\s*:\s*["']?[^\s"',}]*(litellm|external-secrets)""")


def may_mention(obj: Obj, names: tuple[str, ...]) -> bool:
    """False only when the object's file cannot name one of `names`, even in disguise."""
    return not obj.raw or any(n.encode() in obj.raw for n in names) or _DISGUISED.search(obj.raw) is not None


_WIDE = re.compile(rb"ExternalSecret|SecretStore|PushSecret|" + _APPLIED.pattern + rb"|" + _DISGUISE)


def select(files: dict[str, bytes], changed: set[str]) -> set[str]:
    """The files of one side the guard reads besides those that differ (load_pair reads the union
    of both sides' choices on both sides, so an unchanged file is read on both or on neither).

    A file identical on both sides contributes identical facts to both, so it is read only when a
    changed file must be interpreted through it. When an ExternalSecret, store, PushSecret,
    workload, Secret or CloudFormation file changes (or anything in disguise), every file that
    names a kind or variable the rules read, with the Applications of the LiteLLM and External
    Secrets charts and their values; and always the Applications that deliver what is read.
    """
    wide = any(rel.startswith("cloudformation/") or (rel in files and _WIDE.search(files[rel])) for rel in changed)
    apps = {rel: raw for rel, raw in files.items() if rel.startswith(("apps/", "bootstrap/"))}
    chosen: set[str] = set()
    if wide:
        chosen = {rel for rel, raw in files.items()
                  if rel.startswith("cloudformation/") or (not rel.startswith(("apps/", "bootstrap/"))
                                                            and (_RELEVANT.search(raw) or _APPLIED.search(raw)))}
        key_apps = {rel for rel, raw in apps.items() if _CHARTS.search(raw) or _MENTIONS.search(raw)}
        chosen |= key_apps
        chosen |= {rel for rel in files if rel.startswith("values/") and any(rel.encode() in apps[a] for a in key_apps)}
    # The Applications that deliver what is read: owner, wave and default namespace.
    targets = {(rel if rel.startswith("values/") else rel.rsplit("/", 1)[0]).encode()
               for rel in chosen | changed if rel.startswith(("manifests/", "values/"))}
    chosen |= {rel for rel, raw in apps.items() if any(t in raw for t in targets)}
    return chosen


def had_secret(rule: SecretRule, env: EnvTree | None) -> bool:
    """Whether any file of `env` names the variable (read as bytes: a hash-only file counts too)."""
    needle = rule.secret.env_var.encode()
    return env is not None and any(needle in raw for raw in env.files.values())


# --- comparing --------------------------------------------------------------------------------

@dataclass
class Scope:
    """What a rule looks at, from both trees, so a rename or a removal is still seen."""

    externalsecrets: set[str] = field(default_factory=set)
    remote_keys: set[str] = field(default_factory=set)
    resources: set[str] = field(default_factory=set)
    referrers: set[str] = field(default_factory=set)  # CloudFormation resources acting on the secret
    pushes: set[str] = field(default_factory=set)  # PushSecrets that could write it


def _secret_scope(rule: SecretRule, envs: list[EnvTree]) -> Scope:
    scope = Scope()
    for env in envs:
        for es in env.of_kind(*EXTERNAL_SECRET_KINDS):
            if _es_relevant(es, rule.secret.env_var):
                scope.externalsecrets.add(es.key)
                for entry in _entry_keys(es, rule.secret.env_var):
                    key = (entry.get("remoteRef") or {}).get("key")
                    if isinstance(key, str):
                        scope.remote_keys.add(key)
    for env in envs:
        for _, logical_id, resource in cfn_resources(env):
            if _secret_matches(rule, logical_id, resource, scope.remote_keys):
                scope.resources.add(logical_id)
    needles = scope.remote_keys | {rule.name_hint}
    for env in envs:
        for _, logical_id, resource in cfn_resources(env):
            if logical_id in scope.resources:
                continue
            # a rotation schedule, a target attachment, anything that names the secret's resource
            if scope.resources and cfn.references(resource) & scope.resources or (
                    str(resource.get("Type", "")).startswith("AWS::SecretsManager::")
                    and any(n in json.dumps(resource, default=str) for n in needles)):
                scope.referrers.add(logical_id)
        for push in env.of_kind("PushSecret"):
            if any(n in json.dumps(push.spec, default=str) for n in needles):
                scope.pushes.add(push.key)
    return scope


def secret_facts(rule: SecretRule, env: EnvTree | None, scope: Scope) -> tuple[Facts, Facts]:
    """(wiring, overrides) of one protected secret in one environment."""
    wiring, overrides = Facts(), Facts()
    if env is None:
        return wiring, overrides
    stores = {("ClusterSecretStore", "", naming.CLUSTER_SECRET_STORE)}
    for key in sorted(scope.externalsecrets):
        es = env.objects.get(key)
        if es is not None:
            wiring.add(es.label, "(object)", "present", es.file)
            stores |= _es_facts(es, rule.secret.env_var, wiring)
    for ref in sorted(stores):
        _store_facts(env, ref, wiring)
    for template, logical_id, resource in cfn_resources(env):
        if logical_id in scope.resources and resource.get("Type") == "AWS::SecretsManager::Secret":
            properties = {k: v for k, v in (resource.get("Properties") or {}).items() if k not in SECRET_IGNORED_PROPERTIES}
            _resource_facts(env, template, logical_id, resource, properties, wiring)
        elif logical_id in scope.referrers:
            _resource_facts(env, template, logical_id, resource, resource.get("Properties") or {}, wiring)
    for key in sorted(scope.pushes):
        push = env.objects.get(key)
        if push is not None:
            wiring.add(push.label, "(object)", "present", push.file)
            wiring.add_tree(push.label, "spec", push.spec, push.file)
    for obj, prefix, doc in chart_values(env, STORE_AUTH_CHART, STORE_AUTH_CHART):
        for parts in STORE_AUTH_PATHS:
            value = _get(doc, parts)
            if value is not MISSING:
                wiring.add(obj.label, join(prefix, ".".join(parts)), value, obj.file)
    for obj, prefix, doc in chart_values(env, "litellm", "litellm"):
        for path in rule.value_paths:
            value = _get(doc, path.split("."))
            if value is not MISSING:
                wiring.add_tree(obj.label, join(prefix, path), value, obj.file)
    _override_facts(env, rule.mentions, overrides)
    return wiring, overrides


def bastion_facts(env: EnvTree | None, logical_ids: set[str]) -> Facts:
    facts = Facts()
    if env is None:
        return facts
    for template, logical_id, resource in cfn_resources(env):
        if logical_id in logical_ids and resource.get("Type") in BASTION.types:
            properties = resource.get("Properties") or {}
            kind = str(resource.get("Type"))
            replacing = cfnschema.replacing_properties(kind)
            kept = {k: cfnschema.replacing_value(kind, k, v) for k, v in properties.items() if replacing is None or k in replacing}
            _resource_facts(env, template, logical_id, resource, kept, facts, policies=False)
    return facts


def compare(category: str, env: str, before: Facts, after: Facts, only_sensitive: bool = False) -> list[Finding]:
    """Findings for every fact that differs; an object that appears or disappears is one finding."""
    findings = []
    before_objects, after_objects = before.objects(), after.objects()
    for obj in sorted(before_objects | after_objects):
        file = after.files.get(obj) or before.files.get(obj, "")
        whole = (obj, "(object)")
        if (whole in before.values) != (whole in after.values):
            gone = whole not in after.values
            findings.append(Finding(category, env, obj, "(whole object)", "present" if gone else MISSING,
                                    MISSING if gone else "present", file))
            continue
        fields = {f for o, f in before.values if o == obj} | {f for o, f in after.values if o == obj}
        for name in sorted(fields):
            old, new = before.values.get((obj, name), MISSING), after.values.get((obj, name), MISSING)
            if old == new and type(old) is type(new):
                continue
            sensitive = (obj, name) in before.sensitive or (obj, name) in after.sensitive
            if only_sensitive and (obj, name) not in after.sensitive:
                continue
            findings.append(Finding(category, env, obj, name, old, new, file, sensitive))
    return findings


def _replicas_added(findings: list[Finding], after: Facts) -> list[Finding]:
    """The salt secret's findings, those of an object whose only change is replica regions added
    at the end under the replica of the secret's own key (its `KmsKeyId` GetAtt) in the same region
    downgraded to SALT_REPLICA_ADDED (two approvals)."""
    by_object: dict[str, list[Finding]] = {}
    for finding in findings:
        by_object.setdefault(finding.object, []).append(finding)
    result = []
    for obj, found in by_object.items():
        own_key = after.values.get((obj, "Properties.KmsKeyId.Fn::GetAtt[0]"))
        items: dict[str, dict[str, Any]] = {}
        added = all(f.before is MISSING and f.field.startswith("Properties.ReplicaRegions[") for f in found)
        for finding in found if added else ():
            item, _, rest = finding.field.removeprefix("Properties.ReplicaRegions").partition("]")
            items.setdefault(item, {})[rest.lstrip(".")] = finding.after
        own = added and isinstance(own_key, str) and all(
            set(entry) == {"Region", "KmsKeyId.Fn::Sub"} and isinstance(entry["KmsKeyId.Fn::Sub"], str)
            and (match := REPLICA_OF_OWN_KEY.fullmatch(entry["KmsKeyId.Fn::Sub"])) is not None
            and match["region"] == entry["Region"] and match["key"] == own_key for entry in items.values())
        result += [replace(f, category=SALT_REPLICA_ADDED) if own else f for f in found]
    return result


# --- data flow ----------------------------------------------------------------------------------

CHAIN_CATEGORIES = {dataflow.SALT: SECRET_RULES[0].category, dataflow.MASTER: SECRET_RULES[1].category,
                    dataflow.DATABASE: SECRET_RULES[2].category}


def objects_of(env: EnvTree) -> list[dict[str, Any]]:
    """The Kubernetes objects the environment applies, as the data flow reads them (namespace
    defaulted to the delivering Application's destination).

    The hydrated applied state when the guard has it (`env.applied`: every object of every
    Application, charts rendered by `helm template` as Argo CD does, generator.applied); otherwise
    the rendered manifests the guard parsed, where a chart's own objects (LiteLLM's workloads) are
    missing and their chains are undetermined.
    """
    if env.applied is not None:
        return [obj.doc if not obj.namespace or (obj.doc.get("metadata") or {}).get("namespace") == obj.namespace
                else {**obj.doc, "metadata": {**obj.doc["metadata"], "namespace": obj.namespace}}
                for obj in env.applied]
    objects = []
    for obj in env.objects.values():
        if not obj.key.startswith("k8s/") or not isinstance(obj.doc, dict) or obj.owner == "other":
            continue  # not an object, or in a folder no Application syncs
        doc = obj.doc
        if obj.namespace and (doc.get("metadata") or {}).get("namespace") != obj.namespace:
            doc = {**doc, "metadata": {**doc["metadata"], "namespace": obj.namespace}}
        objects.append(doc)
    return objects


def stacks_of(env: EnvTree) -> list[dataflow.Stack]:
    """The environment's CloudFormation templates, deployed (named by the deploy manifest) or not."""
    stacks = []
    for template in env.of_kind("CloudFormationTemplate"):
        deploy = deployment(env, template)
        values = dict(_parameter_file_values(env, template))
        if deploy:
            stacks.append(dataflow.Stack(template.file, template.doc, True, str(deploy["stack"] or ""),
                                         str(deploy["region"] or ""), str(deploy["account"] or ""), values))
        else:
            stacks.append(dataflow.Stack(template.file, template.doc, False, parameters=values))
    return stacks


def chain_findings(name: str, old: EnvTree | None, new: EnvTree | None) -> list[Finding]:
    """Every difference in where a LiteLLM container's guarded values come from."""
    if old is None or new is None:
        return []
    before = dataflow.trace(objects_of(old), stacks_of(old))
    after = dataflow.trace(objects_of(new), stacks_of(new))
    findings = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        chain = b or a
        assert chain is not None
        category = CHAIN_CATEGORIES[chain.variable]
        if a is None or b is None:
            findings.append(Finding(category, name, key, "(whole chain)", "present" if a else MISSING,
                                    "present" if b else MISSING))
            continue
        for fact in sorted(set(a.facts) | set(b.facts)):
            old_value, new_value = a.facts.get(fact, MISSING), b.facts.get(fact, MISSING)
            if old_value != new_value or type(old_value) is not type(new_value):
                findings.append(Finding(category, name, key, fact, old_value, new_value, "",
                                        fact in a.sensitive or fact in b.sensitive))
    return findings


def evaluate(base: Tree, head: Tree) -> list[Finding]:
    """Every red-line finding between two rendered trees, most severe first, one per field."""
    findings: list[Finding] = []
    for name in sorted(set(base) | set(head)):
        old_env, new_env = base.get(name), head.get(name)
        envs = [e for e in (old_env, new_env) if e is not None]
        for rule in SECRET_RULES:
            scope = _secret_scope(rule, envs)
            old_wiring, old_overrides = secret_facts(rule, old_env, scope)
            new_wiring, new_overrides = secret_facts(rule, new_env, scope)
            had = bool(old_wiring) or had_secret(rule, old_env)
            if had:  # an environment that never had this secret may introduce it
                changes = compare(rule.category, name, old_wiring, new_wiring)
                findings += _replicas_added(changes, new_wiring) if rule is SECRET_RULES[0] else changes
            # Once it has the secret, any new mention counts (a reference to another variable too).
            findings += compare(rule.category, name, old_overrides, new_overrides, only_sensitive=not (old_overrides or had))
        findings += chain_findings(name, old_env, new_env) + undeployed_findings(name, new_env)
        for change in sources.compare(name, old_env, new_env):
            # A chart version bump, both sides hydrated, is judged by what it renders: its chains
            # (above) say whether a guarded value changes; the bump itself needs two approvals.
            bump_judged = change.chart_bump and old_env.applied is not None and new_env.applied is not None
            category = SALT_SOURCE if change.reaches and not bump_judged else SOURCE
            findings.append(Finding(category, name, change.object, change.field,
                                    change.before, change.after, change.file, change.sensitive))
        for item in synced.evaluate(name, old_env, new_env):
            where = f" (line {item.line})" if item.line else ""
            findings.append(Finding(UNMODELLED, name, item.object, item.field + where, MISSING, "refused", item.file))
        salt = _secret_scope(SECRET_RULES[0], envs)
        salt_names = salt.remote_keys | salt.resources | {SECRET_RULES[0].name_hint}
        # Every other change in the applied state, against the table of harmless ones. An object
        # another rule already judged needs no second, milder finding.
        judged = {f.object: CATEGORIES.index(f.category) for f in findings if f.environment == name}
        for change in allowlist.compare(old_env, new_env, salt_names, TRACED_VALUES, TRACED_ENV):
            if judged.get(change.object, len(CATEGORIES)) <= CATEGORIES.index(change.category):
                continue
            findings.append(Finding(change.category, name, change.object, f"{change.field} ({change.why})",
                                    change.before, change.after, change.file, change.sensitive))
        instances = {lid for e in envs for _, lid, r in cfn_resources(e) if r.get("Type") in BASTION.types}
        old_bastion, new_bastion = bastion_facts(old_env, instances), bastion_facts(new_env, instances)
        if old_bastion:
            findings += compare(BASTION.category, name, old_bastion, new_bastion)
    return _most_severe(findings)


def _most_severe(findings: list[Finding]) -> list[Finding]:
    best: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        key = (finding.environment, finding.object, finding.field)
        if key not in best or CATEGORIES.index(finding.category) < CATEGORIES.index(best[key].category):
            best[key] = finding
    return sorted(best.values(), key=lambda f: (CATEGORIES.index(f.category), f.environment, f.object, f.field))
