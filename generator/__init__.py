"""litellm-gitops: renders a GitOps repository for LiteLLM on AWS EKS from small environment files."""

__version__ = "0.1.0"
