// Rendered by litellm-gitops for environment prod: do not edit (`litellm-gitops render`).
// The root Application evaluates this file instead of applying the YAML files beside it: each is
// applied as it is, except that the sources reading this Git repository are pinned to the commit
// the root is syncing (extVar revision = $ARGOCD_APP_REVISION). A child therefore moves to a
// new commit only when the root applies it, in the child's sync wave.
local revision = std.extVar('revision');
local repo = "https://github.com/example-org/llm-gateway-gitops.git";
local pin(source) =
  if std.objectHas(source, 'repoURL') && source.repoURL == repo && !std.objectHas(source, 'chart')
  then source { targetRevision: revision }
  else source;
local pinned(doc) =
  if doc.kind != 'Application' then doc
  else doc {
    spec+: (if std.objectHas(doc.spec, 'source') then { source: pin(doc.spec.source) } else {})
           + (if std.objectHas(doc.spec, 'sources') then { sources: [pin(s) for s in doc.spec.sources] } else {}),
  };
[pinned(doc) for doc in [
  std.parseYaml(importstr '05-project.yaml'),
  std.parseYaml(importstr '05-repository-external-secrets.yaml'),
  std.parseYaml(importstr '05-repository-jaeger.yaml'),
  std.parseYaml(importstr '05-repository-kube-prometheus-stack.yaml'),
  std.parseYaml(importstr '05-repository-litellm-helm.yaml'),
  std.parseYaml(importstr '05-repository-open-webui.yaml'),
  std.parseYaml(importstr '05-repository-redis-ha.yaml'),
  std.parseYaml(importstr '05-repository-reloader.yaml'),
  std.parseYaml(importstr '06-namespaces.yaml'),
  std.parseYaml(importstr '06-storage-class.yaml'),
  std.parseYaml(importstr '07-external-secrets.yaml'),
  std.parseYaml(importstr '07-reloader.yaml'),
  std.parseYaml(importstr '08-secret-store.yaml'),
  std.parseYaml(importstr '09-kube-prometheus-stack.yaml'),
  std.parseYaml(importstr '10-grafana-dashboards.yaml'),
  std.parseYaml(importstr '11-jaeger.yaml'),
  std.parseYaml(importstr '12-redis-ha.yaml'),
  std.parseYaml(importstr '13-litellm.yaml'),
  std.parseYaml(importstr '14-open-webui.yaml'),
  std.parseYaml(importstr '15-verification.yaml'),
]]
