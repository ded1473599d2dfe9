"""The Kubernetes stand-in: the API server's object store, resource templates and the operators."""
