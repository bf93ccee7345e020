"""Pod Security Standards on the applied state: every pod template against its namespace's level.

The level is the namespace's `pod-security.kubernetes.io/enforce` label (Pod Security Admission),
at its `enforce-version` (else the cluster's); a namespace without it, or one the applied state does
not create, is not checked (`privileged`).
The checks mirror the API server's PodSecurity admission, kubernetes/pod-security-admission
`policy/check_*.go` (commit 8f84a87c7f617f64a4ddc1aea24aeeb7a2e07cb8), one function per upstream check
with its ID, at that version: a `baseline` pod
passes every baseline check, a `restricted` pod every baseline and restricted check. The upstream
YAML fixtures (`test/testdata/<level>/v1.33/{pass,fail}`) are the test vectors
(tests/test_podsecurity.py). Each violation names the field and the rule, as admission would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from generator.applied.model import AppliedObject, AppliedState
from generator.validate.wiring import Finding
from generator.validate.wiring.pods import POD_SPEC_PATHS, pod_spec

LABEL = "pod-security.kubernetes.io/"
LEVELS = ("privileged", "baseline", "restricted")  # each stricter than the one before
MODES = ("enforce", "audit", "warn")
Version = tuple[int, int]
Violation = tuple[str, str]  # (field, message)

CONTAINERS = ("containers", "initContainers", "ephemeralContainers")
# check_capabilities_baseline.go capabilities_allowed_1_0
DEFAULT_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                  "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
# check_sysctls.go: the safe set grows with the version
SAFE_SYSCTLS: tuple[tuple[Version, frozenset[str]], ...] = (
    ((1, 0), frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                        "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})),
    ((1, 27), frozenset({"net.ipv4.ip_local_reserved_ports"})),
    ((1, 29), frozenset({"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                         "net.ipv4.tcp_keepalive_probes"})),
    ((1, 32), frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})),
    ((1, 37), frozenset({"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"})),
)
# check_seLinuxOptions.go selinuxAllowedTypes1_0 / 1_31
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES_1_31 = SELINUX_TYPES | {"container_engine_t"}
# check_restrictedVolumes.go: the inline volume sources `restricted` allows
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                                "persistentVolumeClaim", "projected", "secret"})
HOST_USERS_EXEMPT = (1, 35)  # runAsNonRoot, runAsUser, procMount allow anything with hostUsers: false


@dataclass(frozen=True)
class Pod:
    meta: dict[str, Any]
    spec: dict[str, Any]
    base: str  # field path of the pod spec in its object
    version: Version

    def ctx(self) -> dict[str, Any]:
        return _dict(self.spec.get("securityContext"))

    def containers(self, groups: tuple[str, ...] = CONTAINERS) -> Iterator[tuple[dict[str, Any], str]]:
        for group in groups:
            for index, container in enumerate(self.spec.get(group) or []):
                if isinstance(container, dict):
                    yield container, f"{self.base}.{group}[{index}]"

    @property
    def windows(self) -> bool:
        return _dict(self.spec.get("os")).get("name") == "windows" and self.version >= (1, 25)

    @property
    def user_namespace(self) -> bool:
        return self.spec.get("hostUsers") is False and self.version >= HOST_USERS_EXEMPT


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sc(container: dict[str, Any]) -> dict[str, Any]:
    return _dict(container.get("securityContext"))


# --- baseline (check IDs as upstream) -----------------------------------------------------------

def host_namespaces(pod: Pod) -> list[Violation]:
    return [(f"{pod.base}.{key}", f"{key}=true is not allowed")
            for key in ("hostNetwork", "hostPID", "hostIPC") if pod.spec.get(key) is True]


def privileged(pod: Pod) -> list[Violation]:
    return [(f"{at}.securityContext.privileged", "privileged containers are not allowed")
            for c, at in pod.containers() if _sc(c).get("privileged") is True]


def capabilities_baseline(pod: Pod) -> list[Violation]:
    return [(f"{at}.securityContext.capabilities.add", f"non-default capability {cap} is not allowed")
            for c, at in pod.containers() for cap in _dict(_sc(c).get("capabilities")).get("add") or []
            if cap not in DEFAULT_CAPABILITIES]


def host_path_volumes(pod: Pod) -> list[Violation]:
    return [(f"{pod.base}.volumes[{i}].hostPath", f"hostPath volume {v.get('name')} is not allowed")
            for i, v in enumerate(pod.spec.get("volumes") or []) if isinstance(v, dict) and v.get("hostPath") is not None]


def host_ports(pod: Pod) -> list[Violation]:
    return [(f"{at}.ports[{i}].hostPort", f"hostPort {p['hostPort']} is not allowed")
            for c, at in pod.containers() for i, p in enumerate(c.get("ports") or [])
            if isinstance(p, dict) and p.get("hostPort") not in (None, 0)]


def host_probes(pod: Pod) -> list[Violation]:
    """check_hostProbesAndhostLifecycle.go, from 1.34."""
    if pod.version < (1, 34):
        return []
    found = []
    for c, at in pod.containers():
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            for handler in ("httpGet", "tcpSocket"):
                if _dict(_dict(c.get(probe)).get(handler)).get("host"):
                    found.append((f"{at}.{probe}.{handler}.host", "a probe's host is not allowed"))
        for hook in ("postStart", "preStop"):
            for handler in ("httpGet", "tcpSocket"):
                if _dict(_dict(_dict(c.get("lifecycle")).get(hook)).get(handler)).get("host"):
                    found.append((f"{at}.lifecycle.{hook}.{handler}.host", "a lifecycle handler's host is not allowed"))
    return found


def app_armor(pod: Pod) -> list[Violation]:
    found = [(f"metadata.annotations[{key}]", f"AppArmor profile {value} is not allowed")
             for key, value in _dict(pod.meta.get("annotations")).items()
             if key.startswith("container.apparmor.security.beta.kubernetes.io/")
             and not (value in ("", "runtime/default") or str(value).startswith("localhost/"))]
    contexts = [(pod.ctx(), f"{pod.base}.securityContext")] + [(_sc(c), f"{at}.securityContext") for c, at in pod.containers()]
    found += [(f"{at}.appArmorProfile.type", f"AppArmor profile type {t} is not allowed")
              for ctx, at in contexts if (t := _dict(ctx.get("appArmorProfile")).get("type")) not in (None, "RuntimeDefault", "Localhost")]
    return found


def se_linux_options(pod: Pod) -> list[Violation]:
    allowed = SELINUX_TYPES_1_31 if pod.version >= (1, 31) else SELINUX_TYPES
    contexts = [(pod.ctx(), f"{pod.base}.securityContext")] + [(_sc(c), f"{at}.securityContext") for c, at in pod.containers()]
    found = []
    for ctx, at in contexts:
        options = _dict(ctx.get("seLinuxOptions"))
        if options.get("type", "") not in allowed:
            found.append((f"{at}.seLinuxOptions.type", f"SELinux type {options['type']} is not allowed"))
        found += [(f"{at}.seLinuxOptions.{key}", f"a custom SELinux {key} is not allowed")
                  for key in ("user", "role") if options.get(key)]
    return found


def proc_mount_baseline(pod: Pod) -> list[Violation]:
    if pod.user_namespace:
        return []
    return [(f"{at}.securityContext.procMount", f"procMount {m} is not allowed")
            for c, at in pod.containers() if (m := _sc(c).get("procMount")) not in (None, "Default")]


def seccomp_profile_baseline(pod: Pod) -> list[Violation]:
    contexts = [(pod.ctx(), f"{pod.base}.securityContext")] + [(_sc(c), f"{at}.securityContext") for c, at in pod.containers()]
    return [(f"{at}.seccompProfile.type", f"seccomp profile {t} is not allowed")
            for ctx, at in contexts if (t := _dict(ctx.get("seccompProfile")).get("type")) not in (None, "RuntimeDefault", "Localhost")]


def sysctls(pod: Pod) -> list[Violation]:
    allowed = frozenset().union(*(names for since, names in SAFE_SYSCTLS if pod.version >= since))
    return [(f"{pod.base}.securityContext.sysctls[{i}]", f"sysctl {s.get('name')} is not allowed")
            for i, s in enumerate(pod.ctx().get("sysctls") or []) if isinstance(s, dict) and s.get("name") not in allowed]


def windows_host_process(pod: Pod) -> list[Violation]:
    contexts = [(pod.ctx(), f"{pod.base}.securityContext")] + [(_sc(c), f"{at}.securityContext") for c, at in pod.containers()]
    return [(f"{at}.windowsOptions.hostProcess", "hostProcess containers are not allowed")
            for ctx, at in contexts if _dict(ctx.get("windowsOptions")).get("hostProcess") is True]


# --- restricted --------------------------------------------------------------------------------

def restricted_volumes(pod: Pod) -> list[Violation]:
    found = []
    for i, volume in enumerate(pod.spec.get("volumes") or []):
        if not isinstance(volume, dict):
            continue
        sources = [key for key in volume if key != "name"]
        # A volume without a source is an emptyDir once the API server defaults it (restrictedvolumes0.yaml).
        if sources and not any(source in RESTRICTED_VOLUMES for source in sources):
            found.append((f"{pod.base}.volumes[{i}]", f"volume {volume.get('name')} of type {', '.join(sources)} "
                          "is not allowed (only configMap, csi, downwardAPI, emptyDir, ephemeral, image, "
                          "persistentVolumeClaim, projected, secret)"))
    return found


def allow_privilege_escalation(pod: Pod) -> list[Violation]:
    if pod.windows:
        return []
    return [(f"{at}.securityContext.allowPrivilegeEscalation", "must be false")
            for c, at in pod.containers() if _sc(c).get("allowPrivilegeEscalation") is not False]


def run_as_non_root(pod: Pod) -> list[Violation]:
    if pod.user_namespace:
        return []
    pod_level = pod.ctx().get("runAsNonRoot")
    found = [(f"{pod.base}.securityContext.runAsNonRoot", "must not be false")] if pod_level is False else []
    unset = []
    for c, at in pod.containers():
        value = _sc(c).get("runAsNonRoot")
        if value is False:
            found.append((f"{at}.securityContext.runAsNonRoot", "must not be false"))
        elif value is None and pod_level is not True:
            unset.append(at)
    found += [(f"{at}.securityContext.runAsNonRoot", "must be true (here or in the pod's securityContext)") for at in unset]
    return found


def run_as_user(pod: Pod) -> list[Violation]:
    if pod.version < (1, 23) or pod.user_namespace:
        return []
    contexts = [(pod.ctx(), f"{pod.base}.securityContext")] + [(_sc(c), f"{at}.securityContext") for c, at in pod.containers()]
    return [(f"{at}.runAsUser", "must not be 0") for ctx, at in contexts if ctx.get("runAsUser") == 0]


def seccomp_profile_restricted(pod: Pod) -> list[Violation]:
    if pod.version < (1, 19) or pod.windows:
        return []
    pod_type = _dict(pod.ctx().get("seccompProfile")).get("type")
    found = []
    if pod_type is not None and pod_type not in ("RuntimeDefault", "Localhost"):
        found.append((f"{pod.base}.securityContext.seccompProfile.type", f"must be RuntimeDefault or Localhost, not {pod_type}"))
    for c, at in pod.containers():
        value = _dict(_sc(c).get("seccompProfile")).get("type")
        if value is not None and value not in ("RuntimeDefault", "Localhost"):
            found.append((f"{at}.securityContext.seccompProfile.type", f"must be RuntimeDefault or Localhost, not {value}"))
        elif value is None and pod_type is None:
            found.append((f"{at}.securityContext.seccompProfile.type", "must be RuntimeDefault or Localhost (here or in the pod's securityContext)"))
    return found


def capabilities_restricted(pod: Pod) -> list[Violation]:
    if pod.version < (1, 22) or pod.windows:
        return []
    found = []
    for c, at in pod.containers():
        caps = _dict(_sc(c).get("capabilities"))
        if "ALL" not in (caps.get("drop") or []):
            found.append((f"{at}.securityContext.capabilities.drop", "must include ALL"))
        found += [(f"{at}.securityContext.capabilities.add", f"only NET_BIND_SERVICE may be added, not {cap}")
                  for cap in caps.get("add") or [] if cap != "NET_BIND_SERVICE"]
    return found


def proc_mount_restricted(pod: Pod) -> list[Violation]:
    """From 1.35 restricted keeps the default /proc masks even in a user namespace."""
    if pod.version < (1, 35):
        return []
    return [(f"{at}.securityContext.procMount", f"procMount {m} is not allowed")
            for c, at in pod.containers() if (m := _sc(c).get("procMount")) not in (None, "Default")]


Check = Callable[[Pod], list[Violation]]
# (upstream check ID, level it belongs to, function): policy/check_<ID>.go
CHECKS: tuple[tuple[str, str, Check], ...] = (
    ("hostNamespaces", "baseline", host_namespaces),
    ("privileged", "baseline", privileged),
    ("capabilities_baseline", "baseline", capabilities_baseline),
    ("hostPathVolumes", "baseline", host_path_volumes),
    ("hostPorts", "baseline", host_ports),
    ("hostProbesAndHostLifecycle", "baseline", host_probes),
    ("appArmorProfile", "baseline", app_armor),
    ("seLinuxOptions", "baseline", se_linux_options),
    ("procMount_baseline", "baseline", proc_mount_baseline),
    ("seccompProfile_baseline", "baseline", seccomp_profile_baseline),
    ("sysctls", "baseline", sysctls),
    ("windowsHostProcess", "baseline", windows_host_process),
    ("restrictedVolumes", "restricted", restricted_volumes),
    ("allowPrivilegeEscalation", "restricted", allow_privilege_escalation),
    ("runAsNonRoot", "restricted", run_as_non_root),
    ("runAsUser", "restricted", run_as_user),
    ("seccompProfile_restricted", "restricted", seccomp_profile_restricted),
    ("capabilities_restricted", "restricted", capabilities_restricted),
    ("procMount_restricted", "restricted", proc_mount_restricted),
)
# A restricted check that overrides a baseline one at restricted (upstream `OverrideCheckIDs`).
OVERRIDES = {"capabilities_restricted": "capabilities_baseline", "seccompProfile_restricted": "seccompProfile_baseline",
             "procMount_restricted": "procMount_baseline", "restrictedVolumes": "hostPathVolumes"}


def parse_version(text: str) -> Version:
    major, minor = str(text).split(".")[:2]
    return int(major), int(minor)


def evaluate(level: str, meta: dict[str, Any], spec: dict[str, Any], version: Version, base: str = "spec") -> list[tuple[str, str, str]]:
    """(check ID, field, message) of every violation of `level` by one pod."""
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level}")
    wanted = LEVELS[1:LEVELS.index(level) + 1]
    ids = {check_id for check_id, at, _ in CHECKS if at in wanted}
    skipped = {OVERRIDES[i] for i in ids if i in OVERRIDES and not _overridden_inactive(i, version)}
    pod = Pod(meta, spec, base, version)
    return [(check_id, field, message) for check_id, at, check in CHECKS
            if check_id in ids and check_id not in skipped for field, message in check(pod)]


def _overridden_inactive(check_id: str, version: Version) -> bool:
    """procMount_restricted exists only from 1.35: before, the baseline check still applies."""
    return check_id == "procMount_restricted" and version < (1, 35)


def namespace_levels(state: AppliedState, default_version: Version) -> dict[str, tuple[str, Version]]:
    """namespace -> (enforced level, version): the `enforce-version` label, else the cluster's
    (`latest` on a cluster is its own version)."""
    levels = {}
    for ns in state.of_kind("Namespace"):
        labels = (ns.doc.get("metadata") or {}).get("labels") or {}
        level = labels.get(f"{LABEL}enforce")
        if level:
            pinned = str(labels.get(f"{LABEL}enforce-version") or "latest")
            levels[ns.name] = (str(level), default_version if pinned == "latest" else parse_version(pinned.removeprefix("v")))
    return levels


def _pod_meta(obj: AppliedObject) -> dict[str, Any]:
    if obj.kind == "Pod":
        return _dict(obj.doc.get("metadata"))
    node: Any = obj.doc
    for key in POD_SPEC_PATHS[obj.kind][:-1]:
        node = _dict(node).get(key)
    return _dict(_dict(node).get("metadata"))


def check(state: AppliedState, kubernetes_version: str) -> list[Finding]:
    levels = namespace_levels(state, parse_version(kubernetes_version))
    findings = []
    for obj in state:
        found = pod_spec(obj)
        level, version = levels.get(obj.namespace, ("privileged", (0, 0)))
        if found is None or level == "privileged":
            continue
        spec, base = found
        findings += [Finding(obj, field, f"violates PodSecurity \"{level}:v{version[0]}.{version[1]}\" of namespace "
                             f"{obj.namespace}, check {check_id}: {message}")
                     for check_id, field, message in evaluate(level, _pod_meta(obj), spec, version, base)]
    return findings
