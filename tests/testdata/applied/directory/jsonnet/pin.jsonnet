// Pins the Git source of app.yaml to the revision Argo CD passes ($ARGOCD_APP_REVISION).
local revision = std.extVar('revision');
local doc = std.parseYaml(importstr 'app.yaml');
[doc { spec+: { sources: [if std.objectHas(s, 'chart') then s else s { targetRevision: revision } for s in doc.spec.sources] },
       metadata+: { labels: { app: std.extVar('app') } } }]
