"""What argoexec does in a pod: a container or script run as a local process, with its volumes."""
