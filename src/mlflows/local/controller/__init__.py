"""The workflow controller: executeTemplate, DAG and steps, nodes, memoization, the report."""
