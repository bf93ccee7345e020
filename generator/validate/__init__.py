"""`litellm-gitops validate`: check environments and everything rendered from them.

One module per kind of check (kubernetes.py for core and custom kinds, values.py for Helm values,
cfn.py for CloudFormation, dashboards.py for Grafana dashboards), problems.py for what a problem
is and how it prints, runner.py to find the files and check them in parallel.
Python API: `generator.validate.runner.validate(Options(...)) -> Report`.
"""
