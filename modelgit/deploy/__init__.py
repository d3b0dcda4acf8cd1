"""Deployment: Kubernetes manifests per strategy, a deterministic weighted router, rollouts."""
