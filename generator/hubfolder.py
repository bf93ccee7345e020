"""The layout of a hub's folder, `rendered/fleet/<hub>/`: the names `render` writes it with
(generator/fleet.py) and hydrate and the guard read it by (generator/applied/build.py,
generator/guard/isolation.py). Its own module so that reading a hub imports nothing of rendering
one (the environment schema and jsonschema: a fifth of the guard's start-up)."""

FOLDER = "fleet"  # rendered/fleet/<hub>/; no environment may be called this
GENERATOR_FOLDER = "environments"  # rendered/fleet/<hub>/environments/<env>.json
SYNCED_FOLDER = "hub"  # what the hub's root Application syncs
KUBERNETES_FOLDERS = ("bootstrap", SYNCED_FOLDER)  # where a hub's folder holds Kubernetes documents
IN_CLUSTER = "https://kubernetes.default.svc"
