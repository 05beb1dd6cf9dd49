"""The Spark job (an optional extra: ``pip install 'campaign-state-reports[spark]'``).

The metrics of ``queries/portable/`` over the store's complete snapshot files, on a cluster:
``portable`` (the SQL files, and the same SQL on DuckDB), ``job`` (the Spark session and the run).
Only the CLI imports this stage (``campaign-reports spark``); ``python -m pipeline.spark`` runs
the job under ``spark-submit``. pyspark and sqlglot are imported only when the job runs.
"""
