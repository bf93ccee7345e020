"""The pre-merge guard and the PR review: compare two rendered trees by meaning.

tree.py loads a rendered tree (shapes.py checks each object's fields as it is read), cfn.py reads
CloudFormation and cfnschema.py its resource schemas, flatten.py turns documents into dotted paths;
rules.py holds the red lines and calls sources.py (what decides what Argo CD applies), synced.py
(what Argo CD syncs that the guard cannot read as it does, yamlcheck.py for YAML) and dataflow.py
(where LiteLLM's guarded values come from); pr.py, approvals.py and github.py read the PR, its
reviews and the reviewers' permissions, verdict.py decides, report.py and diff.py write what people
read (redact.py keeps secrets out of it), comment.py keeps one PR comment current.
"""
