"""The expression languages of a workflow, as Argo's controller evaluates them."""
