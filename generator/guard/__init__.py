"""The pre-merge guard and the PR review: compare two rendered trees by meaning.

tree.py loads a rendered tree, cfn.py reads CloudFormation, flatten.py turns documents into dotted
paths, rules.py holds the red lines, pr.py, approvals.py and github.py read the PR and its reviews,
verdict.py decides, report.py and diff.py write what people read (redact.py keeps secrets out of
it), comment.py keeps one PR comment current.
"""
