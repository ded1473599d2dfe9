"""A workflow's languages: ``{{...}}`` templating, ``when``, expr-lang, conditions, jsonpath."""
