"""The AWS side: CloudFormation building blocks (cfn, iam, bedrock), boto3 access with plain
error reporting (client), cluster discovery (discover) and the phase-1 preflight (preflight)."""
