"""Logger, Tracer and Metrics, created once per process for every handler.

The service name comes from ``POWERTOOLS_SERVICE_NAME``. Handlers log ids and outcomes, never media bytes, task
tokens, link signatures or draft bodies.

``metrics`` carries each handler's own counts and is flushed by ``@metrics.log_metrics`` on the handler. The
metrics of case transitions (counts and intervals per recipient domain and country) are not added here: each
saved transition writes its own EMF document (``takedown.aws.case_metrics``), because its dimensions differ from
one case to the next. Metric names the dashboard and alarms read are in ``takedown.metric_names``.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
