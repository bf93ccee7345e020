"""The pre-merge guard and the PR review: compare two rendered trees by meaning.

tree.py loads a rendered tree, cfn.py reads CloudFormation, flatten.py turns documents into dotted
paths, rules.py holds the red lines, approvals.py and github.py read the PR's reviews, verdict.py
decides, report.py and diff.py write what people read, comment.py keeps one PR comment current.
"""
