"""Kubernetes manifests (base and overlays) and the renderer CI checks them with."""
