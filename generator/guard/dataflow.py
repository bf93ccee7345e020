"""Where LiteLLM's guarded values come from: a pure function over the Kubernetes objects an
environment applies and the CloudFormation it deploys.

`trace(objects, stacks)` returns, for every container of every workload running LiteLLM (an image
named litellm*: the Deployment, the migration hook Job, anything else) and each guarded variable,
a Chain: flat facts from the container to the value's origin, which the guard compares between
base and head. Any link it cannot follow is a fact too (`undetermined`), so a change that makes
the chain unreadable is itself a difference.

Kubernetes' rules (the Pod API: EnvVar, EnvFromSource): `envFrom` sources in order, a later one
winning, then `env` entries in order, a later one winning over everything; `$(VAR)` in a value
expands a variable defined before it (`$$` escapes); `secretKeyRef`, `configMapKeyRef`,
`fieldRef`, `resourceFieldRef`.

LiteLLM's rules (BerriAI/litellm, litellm/proxy/proxy_cli.py, proxy_server.py ProxyConfig.load_config
and litellm/proxy/common_utils/encrypt_decrypt_utils.py `_get_salt_key`):
- the config file (`--config PATH`, or CONFIG_FILE_PATH; from a bucket with
  LITELLM_CONFIG_BUCKET_NAME, which the guard cannot read) may set any variable through
  `environment_variables` (a value may be `os.environ/OTHER`), overriding the container's;
- the master key is `general_settings.master_key` (`os.environ/NAME` reads NAME), else
  LITELLM_MASTER_KEY;
- the salt key is LITELLM_SALT_KEY, else the master key;
- DATABASE_URL: with IAM_TOKEN_DB_AUTH (or AZURE_POSTGRESQL_AUTH) it is rebuilt from DATABASE_HOST,
  DATABASE_PORT, DATABASE_USER, DATABASE_NAME, DATABASE_SCHEMA and a token; else
  `general_settings.database_url`; else DATABASE_URL; else construct_database_url_from_env_vars
  (DATABASE_HOST, DATABASE_USERNAME or DATABASE_USER, DATABASE_PASSWORD, DATABASE_NAME,
  DATABASE_PORT, DATABASE_SCHEMA); DIRECT_URL is read beside it by the migrations; USE_AWS_KMS
  decrypts variables and `key_management_system` reads `os.environ/` references from a secret
  manager, so both are part of every chain.

A Secret key is followed to every object that writes that Secret (a plain Secret, an
ExternalSecret or ClusterExternalSecret targeting it, whatever a chart created), each writer's
store and provider and remote key, the PushSecrets that write that remote key, and the Secrets
Manager secret of that name in the CloudFormation stacks actually deployed (the templates the
deploy manifest names); a template nobody deploys that declares it is flagged, never trusted.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import yaml

from generator.guard.flatten import flatten

SALT, MASTER, DATABASE = "LITELLM_SALT_KEY", "LITELLM_MASTER_KEY", "DATABASE_URL"
GUARDED = (SALT, MASTER, DATABASE)
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
LITELLM_IMAGE = re.compile(r"(^|/)litellm[^/:@]*([:@]|\Z)", re.I)
IAM_AUTH = ("IAM_TOKEN_DB_AUTH", "AZURE_POSTGRESQL_AUTH")
IAM_PARTS = ("DATABASE_HOST", "DATABASE_PORT", "DATABASE_USER", "DATABASE_NAME", "DATABASE_SCHEMA")
URL_PARTS = ("DATABASE_HOST", "DATABASE_USERNAME", "DATABASE_USER", "DATABASE_PASSWORD", "DATABASE_NAME",
             "DATABASE_PORT", "DATABASE_SCHEMA")
REMOTE_CONFIG = ("LITELLM_CONFIG_BUCKET_NAME", "LITELLM_CONFIG_BUCKET_OBJECT_KEY", "LITELLM_CONFIG_BUCKET_TYPE")
ALWAYS = ("USE_AWS_KMS", "CONFIG_FILE_PATH") + REMOTE_CONFIG
TRUTHY = ("1", "on", "t", "true", "y", "yes")
ES_KINDS = ("ExternalSecret", "ClusterExternalSecret")
_EXPAND = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_TEMPLATE_NAME = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_]*)|index\s+\.\s+"([^"]+)\"""")
_SUB = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")


@dataclass(frozen=True)
class Stack:
    """A CloudFormation template and how it is deployed (deployed=False: no deploy manifest names it)."""

    file: str
    template: dict[str, Any]
    deployed: bool
    stack: str = ""
    region: str = ""
    account: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class Chain:
    """Where one variable of one container comes from, as flat facts."""

    workload: str
    container: str
    variable: str
    facts: dict[str, Any] = field(default_factory=dict)
    sensitive: set[str] = field(default_factory=set)  # facts holding a value (literal, Secret data, ...)

    def add(self, key: str, value: Any, sensitive: bool = False) -> None:
        self.facts[key] = value
        if sensitive:
            self.sensitive.add(key)

    def add_tree(self, prefix: str, node: Any, sensitive: bool = False) -> None:
        for path, value in flatten(node, prefix).items():
            self.add(path, value, sensitive)

    @property
    def undetermined(self) -> list[str]:
        return [v for k, v in self.facts.items() if k.endswith("undetermined")]


# --- the objects ---------------------------------------------------------------------------------

def _meta(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class Objects:
    def __init__(self, objects: Iterable[dict[str, Any]]) -> None:
        self.by_kind: dict[str, list[dict[str, Any]]] = {}
        for obj in objects:
            if isinstance(obj, dict) and isinstance(obj.get("kind"), str):
                self.by_kind.setdefault(obj["kind"], []).append(obj)

    def get(self, kind: str, namespace: str, name: str) -> list[dict[str, Any]]:
        return [o for o in self.by_kind.get(kind, []) if _meta(o) == (namespace, name)
                or (kind.startswith("Cluster") and _meta(o)[1] == name)]


def _label(obj: dict[str, Any]) -> str:
    namespace, name = _meta(obj)
    return f"{obj.get('kind')} {namespace + '/' if namespace else ''}{name}"


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if obj.get("kind") == "Pod":
        return spec
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    inner = template.get("spec")
    return inner if isinstance(inner, dict) else {}


# --- Kubernetes: a container's environment -------------------------------------------------------

@dataclass
class Source:
    """What one environment variable is set from."""

    how: str  # value, secretKeyRef, configMapKeyRef, envFrom secret, envFrom configMap, fieldRef, ...
    namespace: str = ""
    name: str = ""
    key: str = ""
    value: Any = None
    refs: tuple[str, ...] = ()  # $(VAR) a literal expands
    optional: bool = False


def _expand_refs(value: str) -> tuple[str, ...]:
    return tuple(m.group(1) for m in _EXPAND.finditer(value) if m.group(1))


def container_env(objects: Objects, namespace: str, container: dict[str, Any]) -> tuple[dict[str, Source], list[str]]:
    """The container's variables by Kubernetes' precedence, and what could not be read."""
    env: dict[str, Source] = {}
    unknown: list[str] = []
    for item in container.get("envFrom") or []:
        if not isinstance(item, dict):
            continue
        prefix = str(item.get("prefix") or "")
        for ref_key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
            ref = item.get(ref_key)
            if not isinstance(ref, dict):
                continue
            name = str(ref.get("name") or "")
            found = writers(objects, namespace, name) if kind == "Secret" else objects.get(kind, namespace, name)
            if not found:
                unknown.append(f"envFrom {kind} {namespace}/{name}: no applied object writes it; its keys are unknown")
            keys: set[str] = set()
            for obj in found:
                if obj.get("kind") in ("Secret", "ConfigMap"):
                    for data_key in ("data", "stringData", "binaryData"):
                        keys |= set(obj[data_key]) if isinstance(obj.get(data_key), dict) else set()
            if kind == "Secret":
                keys |= _written_keys(objects, namespace, name)
                if _writes_unknown_keys(objects, namespace, name):
                    unknown.append(f"envFrom Secret {namespace}/{name}: a writer's keys are not known (dataFrom)")
            for key in sorted(keys):
                env[prefix + key] = Source(f"envFrom {kind}", namespace, name, key, optional=bool(ref.get("optional")))
    for item in container.get("env") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        name = item["name"]
        source = item.get("valueFrom")
        if isinstance(source, dict):
            if isinstance(source.get("secretKeyRef"), dict):
                ref = source["secretKeyRef"]
                env[name] = Source("secretKeyRef", namespace, str(ref.get("name") or ""), str(ref.get("key") or ""),
                                   optional=bool(ref.get("optional")))
            elif isinstance(source.get("configMapKeyRef"), dict):
                ref = source["configMapKeyRef"]
                env[name] = Source("configMapKeyRef", namespace, str(ref.get("name") or ""), str(ref.get("key") or ""),
                                   optional=bool(ref.get("optional")))
            else:
                env[name] = Source("valueFrom", value=source)
        else:
            value = str(item.get("value") if item.get("value") is not None else "")
            env[name] = Source("value", value=value, refs=tuple(r for r in _expand_refs(value) if r in env))
    return env, unknown


# --- External Secrets and the other writers of a Secret ------------------------------------------

def _es_spec(es: dict[str, Any]) -> dict[str, Any]:
    spec = es.get("spec") if isinstance(es.get("spec"), dict) else {}
    if es.get("kind") == "ClusterExternalSecret":
        inner = spec.get("externalSecretSpec")
        return inner if isinstance(inner, dict) else {}
    return spec


def _es_target(es: dict[str, Any]) -> str:
    target = _es_spec(es).get("target")
    name = target.get("name") if isinstance(target, dict) else None
    if es.get("kind") == "ClusterExternalSecret":
        return str(name or (es.get("spec") or {}).get("externalSecretName") or _meta(es)[1])
    return str(name or _meta(es)[1])


def _es_namespaces(es: dict[str, Any]) -> set[str] | None:
    """Where it writes: its namespace; a ClusterExternalSecret's listed namespaces (None: selectors)."""
    if es.get("kind") != "ClusterExternalSecret":
        return {_meta(es)[0]}
    spec = es.get("spec") or {}
    if spec.get("namespaceSelector") or spec.get("namespaceSelectors"):
        return None
    return {str(n) for n in spec.get("namespaces") or []}


def writers(objects: Objects, namespace: str, name: str) -> list[dict[str, Any]]:
    """Every object that writes Secret namespace/name."""
    found = list(objects.get("Secret", namespace, name))
    for kind in ES_KINDS:
        for es in objects.by_kind.get(kind, []):
            spaces = _es_namespaces(es)
            if _es_target(es) == name and (spaces is None or namespace in spaces):
                found.append(es)
    return found


def _template(es: dict[str, Any]) -> dict[str, Any]:
    target = _es_spec(es).get("target")
    template = target.get("template") if isinstance(target, dict) else None
    return template if isinstance(template, dict) else {}


def _written_keys(objects: Objects, namespace: str, name: str) -> set[str]:
    keys: set[str] = set()
    for es in writers(objects, namespace, name):
        if es.get("kind") in ES_KINDS:
            template = _template(es)
            data = template.get("data") if isinstance(template.get("data"), dict) else None
            if data is not None and template.get("mergePolicy", "Replace") == "Replace":
                keys |= set(data)
            else:
                keys |= set(data or ()) | {str(d.get("secretKey")) for d in _es_spec(es).get("data") or [] if isinstance(d, dict)}
    return keys


def _writes_unknown_keys(objects: Objects, namespace: str, name: str) -> bool:
    return any(es.get("kind") in ES_KINDS and (_es_spec(es).get("dataFrom") or _template(es).get("templateFrom"))
               for es in writers(objects, namespace, name))


def _template_names(text: Any) -> set[str]:
    names: set[str] = set()
    for inner in re.findall(r"\{\{(.*?)\}\}", str(text), re.S):
        for dotted, indexed in _TEMPLATE_NAME.findall(inner):
            names.add(dotted or indexed)
    return names


def _store(objects: Objects, ref: Any, namespace: str) -> tuple[str, dict[str, Any] | None]:
    if not isinstance(ref, dict):
        return "(none)", None
    kind = str(ref.get("kind") or "SecretStore")
    name = str(ref.get("name") or "")
    found = objects.get(kind, "" if kind == "ClusterSecretStore" else namespace, name)
    return f"{kind} {name}", (found[0] if len(found) == 1 else None)


# --- CloudFormation ------------------------------------------------------------------------------

def _resolve(node: Any, stack: Stack) -> Any:
    """A property value with Ref, Fn::Sub and Fn::Join over parameters resolved; None if it cannot be."""
    params = {k: v.get("Default") if isinstance(v, dict) else None
              for k, v in (stack.template.get("Parameters") or {}).items()} | stack.parameters
    pseudo = {"AWS::StackName": stack.stack, "AWS::Region": stack.region, "AWS::AccountId": stack.account,
              "AWS::Partition": "aws"}
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (key, value), = node.items()
        if key == "Ref" and isinstance(value, str):
            resolved = (params | pseudo).get(value)
            return str(resolved) if resolved not in (None, "") else None
        if key == "Fn::Sub":
            text, extra = (value[0], value[1]) if isinstance(value, list) and len(value) == 2 else (value, {})
            if not isinstance(text, str):
                return None
            table = params | pseudo | {k: _resolve(v, stack) for k, v in (extra or {}).items()}
            names = _SUB.findall(text)
            if any(table.get(n) in (None, "") for n in names):
                return None
            return _SUB.sub(lambda m: str(table[m.group(1)]), text)
        if key == "Fn::Join" and isinstance(value, list) and len(value) == 2 and isinstance(value[1], list):
            parts = [_resolve(p, stack) for p in value[1]]
            return None if any(p is None for p in parts) else str(value[0]).join(str(p) for p in parts)
    return None


def secrets_manager(stacks: Sequence[Stack], remote_key: str) -> list[tuple[Stack, str, dict[str, Any], str | None]]:
    """(stack, logical id, resource, resolved name) of every Secrets Manager secret that is or may be `remote_key`."""
    found = []
    for stack in stacks:
        for logical_id, resource in (stack.template.get("Resources") or {}).items():
            if not isinstance(resource, dict) or resource.get("Type") != "AWS::SecretsManager::Secret":
                continue
            name = _resolve((resource.get("Properties") or {}).get("Name"), stack)
            if name is None or name == remote_key or remote_key.startswith("arn:") and remote_key.endswith(f":{name}"):
                found.append((stack, str(logical_id), resource, name))
    return found


# --- following a chain ---------------------------------------------------------------------------

class Tracer:
    def __init__(self, objects: Objects, stacks: Sequence[Stack]) -> None:
        self.objects, self.stacks = objects, stacks

    def secret_key(self, chain: Chain, prefix: str, namespace: str, name: str, key: str, depth: int = 0) -> None:
        chain.add(f"{prefix}.secret", f"{namespace}/{name}[{key}]")
        found = writers(self.objects, namespace, name)
        if not found:
            chain.add(f"{prefix}.undetermined", f"no applied object writes Secret {namespace}/{name}")
        for writer in found:
            where = f"{prefix}.writer[{_label(writer)}]"
            if writer.get("kind") == "Secret":
                for data_key in ("data", "stringData"):
                    data = writer.get(data_key) if isinstance(writer.get(data_key), dict) else {}
                    if key in data:
                        chain.add(f"{where}.{data_key}.{key}", data[key], sensitive=True)
                chain.add(f"{where}.type", writer.get("type"))
                continue
            self._external_secret(chain, where, writer, namespace, key, depth)

    def _external_secret(self, chain: Chain, where: str, es: dict[str, Any], namespace: str, key: str, depth: int) -> None:
        spec = _es_spec(es)
        template = _template(es)
        store_label, store = _store(self.objects, spec.get("secretStoreRef"), namespace)
        chain.add(f"{where}.secretStoreRef", store_label)
        chain.add(f"{where}.target", {k: v for k, v in (spec.get("target") or {}).items() if k != "template"}
                  if isinstance(spec.get("target"), dict) else None)
        if es.get("kind") == "ClusterExternalSecret":
            for field_name in ("namespaceSelector", "namespaceSelectors", "namespaces", "externalSecretName"):
                if (es.get("spec") or {}).get(field_name) is not None:
                    chain.add_tree(f"{where}.spec.{field_name}", es["spec"][field_name])
        wanted = {key}
        if template:
            chain.add_tree(f"{where}.template", {k: v for k, v in template.items() if k not in ("data", "metadata")})
            data = template.get("data") if isinstance(template.get("data"), dict) else {}
            if key in data:
                chain.add(f"{where}.template.data.{key}", data[key])
                wanted = _template_names(data[key])
            elif data and template.get("mergePolicy", "Replace") == "Replace":
                chain.add(f"{where}.template.data.{key}", "(absent: the template replaces the data)")
                wanted = set()
        for item in spec.get("dataFrom") or []:
            chain.add_tree(f"{where}.dataFrom", item)
            chain.add(f"{where}.undetermined", "dataFrom: which keys it writes depends on the remote secret")
        for entry in spec.get("data") or []:
            if not isinstance(entry, dict) or entry.get("secretKey") not in wanted:
                continue
            entry_where = f"{where}.data[{entry.get('secretKey')}]"
            remote = entry.get("remoteRef") if isinstance(entry.get("remoteRef"), dict) else {}
            chain.add_tree(f"{entry_where}.remoteRef", remote)
            entry_store_label, entry_store = store_label, store
            if isinstance(entry.get("sourceRef"), dict):
                chain.add_tree(f"{entry_where}.sourceRef", entry["sourceRef"])
                if entry["sourceRef"].get("storeRef"):
                    entry_store_label, entry_store = _store(self.objects, entry["sourceRef"]["storeRef"], namespace)
                else:
                    chain.add(f"{entry_where}.undetermined", "a generator writes this key")
            self._store_and_remote(chain, entry_where, entry_store_label, entry_store, str(remote.get("key") or ""))

    def _store_and_remote(self, chain: Chain, where: str, label: str, store: dict[str, Any] | None, remote_key: str) -> None:
        if store is None:
            chain.add(f"{where}.store.undetermined", f"{label} is not applied (or is ambiguous)")
            return
        spec = store.get("spec") if isinstance(store.get("spec"), dict) else {}
        chain.add_tree(f"{where}.store[{label}].provider", spec.get("provider"))
        aws = (spec.get("provider") or {}).get("aws") if isinstance(spec.get("provider"), dict) else None
        if not isinstance(aws, dict) or aws.get("service") != "SecretsManager":
            chain.add(f"{where}.store.undetermined", "the store is not AWS Secrets Manager: its secrets are not modelled")
            return
        for push in self.objects.by_kind.get("PushSecret", []):
            pushes = [d for d in ((push.get("spec") or {}).get("data") or []) if isinstance(d, dict)]
            if any(((d.get("match") or {}).get("remoteRef") or {}).get("remoteKey") == remote_key for d in pushes):
                chain.add_tree(f"{where}.pushed-by[{_label(push)}]", push.get("spec"))
        region = str(aws.get("region") or "")
        matches = secrets_manager(self.stacks, remote_key)
        deployed = [m for m in matches if m[0].deployed and (not region or not m[0].region or m[0].region == region)]
        for stack, logical_id, resource, name in matches:
            if not stack.deployed:
                chain.add(f"{where}.undeployed[{stack.file}:{logical_id}]", "declared in a template no deploy manifest names: not trusted")
        if not deployed:
            chain.add(f"{where}.aws.undetermined", f"no deployed CloudFormation stack creates {remote_key!r} in {region or 'the store region'}")
        for stack, logical_id, resource, name in deployed:
            at = f"{where}.aws[{logical_id}]"
            chain.add(f"{at}.stack", f"{stack.stack} {stack.region} {stack.account} ({stack.file})")
            chain.add(f"{at}.name", name if name is not None else "(unresolved)")
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                chain.add(f"{at}.{policy}", resource.get(policy, "Delete"))
            properties = {k: v for k, v in (resource.get("Properties") or {}).items() if k not in ("Description", "Tags")}
            for path, value in flatten(properties, f"{at}.Properties").items():
                chain.add(path, value, sensitive=".SecretString" in path)
            for other_id, other in (stack.template.get("Resources") or {}).items():
                if isinstance(other, dict) and other_id != logical_id and logical_id in _mentions(other) \
                        and str(other.get("Type", "")).startswith("AWS::SecretsManager::"):
                    chain.add_tree(f"{at}.acted-on-by[{other_id}]", other)


def _mentions(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt" and isinstance(value, list) and value:
                found.add(str(value[0]))
            else:
                found |= _mentions(value)
    elif isinstance(node, list):
        for value in node:
            found |= _mentions(value)
    return found


# --- LiteLLM's own rules -------------------------------------------------------------------------

def _config_path(container: dict[str, Any], env: dict[str, Source]) -> str | None:
    args = [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]
    if len(args) == 1:
        args = shlex.split(args[0]) if " " in args[0] else args
    for index, arg in enumerate(args):
        if arg == "--config" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    source = env.get("CONFIG_FILE_PATH")
    return str(source.value) if source is not None and source.how == "value" else None


def _config(objects: Objects, namespace: str, pod: dict[str, Any], container: dict[str, Any], path: str) \
        -> tuple[dict[str, Any] | None, str]:
    """LiteLLM's config file at `path` in the container, from the ConfigMap or Secret mounted there."""
    volumes = {v.get("name"): v for v in pod.get("volumes") or [] if isinstance(v, dict)}
    for mount in container.get("volumeMounts") or []:
        if not isinstance(mount, dict):
            continue
        mount_path = str(mount.get("mountPath") or "").rstrip("/")
        if path != mount_path and not path.startswith(mount_path + "/"):
            continue
        volume = volumes.get(mount.get("name")) or {}
        rel = str(mount.get("subPath") or "") or path[len(mount_path) + 1:]
        for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
            ref = volume.get(key)
            if not isinstance(ref, dict):
                continue
            name = str(ref.get("name") or ref.get("secretName") or "")
            data_key = rel
            for item in ref.get("items") or []:
                if isinstance(item, dict) and item.get("path") == rel:
                    data_key = str(item.get("key"))
            found = objects.get(kind, namespace, name)
            if len(found) != 1:
                return None, f"{kind} {namespace}/{name} holding the config is not applied (or is ambiguous)"
            data = found[0].get("data") if isinstance(found[0].get("data"), dict) else {}
            text = (found[0].get("stringData") or {}).get(data_key) if kind == "Secret" else data.get(data_key)
            if kind == "Secret" and text is None:
                return None, f"the config is base64 in Secret {namespace}/{name}"
            try:
                parsed = yaml.safe_load(str(text or "")) or {}
            except yaml.YAMLError:
                return None, f"the config in {kind} {namespace}/{name}[{data_key}] is not YAML"
            return (parsed if isinstance(parsed, dict) else None), f"{kind} {namespace}/{name}[{data_key}]"
        return None, f"volume {mount.get('name')} holding the config is neither a ConfigMap nor a Secret"
    return None, f"no volume is mounted at {path}"


def _os_environ(value: Any) -> str | None:
    return value[len("os.environ/"):] if isinstance(value, str) and value.startswith("os.environ/") else None


class Container:
    """One LiteLLM container: its variables as LiteLLM sees them."""

    def __init__(self, tracer: Tracer, workload: dict[str, Any], pod: dict[str, Any], container: dict[str, Any]) -> None:
        self.tracer = tracer
        self.namespace = _meta(workload)[0]
        self.label = _label(workload)
        self.name = str(container.get("name") or "")
        self.env, self.unknown = container_env(tracer.objects, self.namespace, container)
        self.config: dict[str, Any] = {}
        self.config_from = "(no config file)"
        path = _config_path(container, self.env)
        if any(name in self.env for name in REMOTE_CONFIG):  # proxy_server reads it from S3 or GCS instead
            self.config_from = "undetermined: the config is read from a bucket the guard cannot see"
        elif path:
            config, self.config_from = _config(tracer.objects, self.namespace, pod, container, path)
            if config is None:
                self.config_from = f"undetermined: {self.config_from}"
            else:
                self.config = config
        settings = self.config.get("general_settings")
        self.general = settings if isinstance(settings, dict) else {}
        overrides = self.config.get("environment_variables")
        self.overrides = overrides if isinstance(overrides, dict) else {}

    def variable(self, chain: Chain, prefix: str, name: str, seen: frozenset[str] = frozenset()) -> None:
        """Facts for variable `name` as the LiteLLM process reads it."""
        if name in seen:
            chain.add(f"{prefix}.undetermined", f"{name} refers to itself")
            return
        if name in self.overrides:
            value = self.overrides[name]
            chain.add(f"{prefix}.config.environment_variables.{name}", value, sensitive=_os_environ(value) is None)
            ref = _os_environ(value)
            if ref:
                self.variable(chain, f"{prefix}.{ref}", ref, seen | {name})
            return
        source = self.env.get(name)
        if source is None:
            chain.add(f"{prefix}.source", "(unset)")
            for problem in self.unknown:
                chain.add(f"{prefix}.undetermined", problem)
            return
        chain.add(f"{prefix}.source", source.how)
        if source.how == "value":
            chain.add(f"{prefix}.value", source.value, sensitive=not source.refs or bool(_EXPAND.sub("", str(source.value)).strip()))
            for ref in source.refs:
                self.variable(chain, f"{prefix}.$({ref})", ref, seen | {name})
        elif source.how in ("secretKeyRef", "envFrom Secret"):
            self.tracer.secret_key(chain, prefix, source.namespace, source.name, source.key)
        elif source.how in ("configMapKeyRef", "envFrom ConfigMap"):
            found = self.tracer.objects.get("ConfigMap", source.namespace, source.name)
            chain.add(f"{prefix}.configMap", f"{source.namespace}/{source.name}[{source.key}]")
            if len(found) != 1:
                chain.add(f"{prefix}.undetermined", f"ConfigMap {source.namespace}/{source.name} is not applied (or is ambiguous)")
            else:
                chain.add(f"{prefix}.value", (found[0].get("data") or {}).get(source.key), sensitive=True)
        else:
            chain.add_tree(f"{prefix}.valueFrom", source.value)

    def _setting(self, chain: Chain, prefix: str, key: str) -> bool:
        """general_settings.<key> as LiteLLM resolves it; False when unset."""
        if key not in self.general:
            return False
        value = self.general[key]
        chain.add(f"{prefix}.config.general_settings.{key}", value, sensitive=_os_environ(value) is None)
        ref = _os_environ(value)
        if ref:
            self.variable(chain, f"{prefix}.{ref}", ref)
        return True

    def master(self, chain: Chain, prefix: str) -> None:
        if not self._setting(chain, prefix, "master_key"):
            self.variable(chain, f"{prefix}.{MASTER}", MASTER)

    def salt(self, chain: Chain) -> None:
        self.variable(chain, SALT, SALT)
        if chain.facts.get(f"{SALT}.source") == "(unset)" and SALT not in self.overrides:
            self.master(chain, "master-key-as-salt")  # _get_salt_key: the master key when unset

    def database(self, chain: Chain) -> None:
        token_auth = [n for n in IAM_AUTH if n in self.env or n in self.overrides]
        for flag in token_auth:
            self.variable(chain, flag, flag)
        if token_auth:
            for part in IAM_PARTS:
                self.variable(chain, part, part)
        elif not self._setting(chain, "database_url", "database_url"):
            self.variable(chain, DATABASE, DATABASE)
            if chain.facts.get(f"{DATABASE}.source") == "(unset)":
                for part in URL_PARTS:
                    if part in self.env or part in self.overrides:
                        self.variable(chain, part, part)
        if "DIRECT_URL" in self.env or "DIRECT_URL" in self.overrides:
            self.variable(chain, "DIRECT_URL", "DIRECT_URL")

    def chains(self) -> list[Chain]:
        out = []
        for variable in GUARDED:
            chain = Chain(self.label, self.name, variable)
            chain.add("config.undetermined" if self.config_from.startswith("undetermined") else "config", self.config_from)
            for name in ALWAYS:
                if name in self.env or name in self.overrides:
                    self.variable(chain, name, name)
            if self.general.get("key_management_system") is not None:
                chain.add_tree("config.general_settings.key_management_system", self.general["key_management_system"])
            {SALT: self.salt, MASTER: lambda c: self.master(c, "master"), DATABASE: self.database}[variable](chain)
            out.append(chain)
        return out


def litellm_containers(objects: Objects) -> Iterable[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    for kind in WORKLOAD_KINDS:
        for workload in objects.by_kind.get(kind, []):
            pod = _pod_spec(workload)
            for key in ("initContainers", "containers"):
                for container in pod.get(key) or []:
                    if isinstance(container, dict) and LITELLM_IMAGE.search(str(container.get("image") or "")):
                        yield workload, pod, container


def trace(objects: Iterable[dict[str, Any]], stacks: Sequence[Stack]) -> dict[str, Chain]:
    """Every guarded variable of every LiteLLM container, keyed "<workload> container <name>: <VAR>".

    `objects`: the Kubernetes objects the environment applies, each with metadata.namespace set
    for namespaced kinds. `stacks`: its CloudFormation templates, deployed or not.
    """
    index = Objects(objects)
    tracer = Tracer(index, stacks)
    chains: dict[str, Chain] = {}
    for workload, pod, container in litellm_containers(index):
        for chain in Container(tracer, workload, pod, container).chains():
            chains[f"{chain.workload} container {chain.container}: {chain.variable}"] = chain
    return dict(sorted(chains.items()))
