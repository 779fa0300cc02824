"""Operator tooling: Kubernetes rendering (deploy.k8s) and backup and recovery (deploy.backup)."""
