"""Logger, Tracer and Metrics, created once per process for every handler.

The service name comes from ``POWERTOOLS_SERVICE_NAME``. Handlers log ids and outcomes, never media bytes, task
tokens, link signatures or draft bodies.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
