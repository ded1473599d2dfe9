"""Pictures of a workflow and of a run: the DAG as Mermaid text or SVG (``mlflows graph``), and a
run's HTML report with its graph coloured by phase and a timeline (``report.html``).

One graph model (:mod:`.graph`) is built from a workflow's spec (:mod:`.workflow`) or from a
run's status (:mod:`.run`), laid out in layers (:mod:`.layout`) and drawn (:mod:`.svg`,
:mod:`.mermaid`). Nothing here needs the network or a browser: the output is self-contained.
"""
