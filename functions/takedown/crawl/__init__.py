"""Crawling: source definitions, URL canonicalisation, the SSRF-safe fetcher, media extraction and
sniffing, and the one-page crawl step the crawl worker runs.

Pure Python (no AWS). Modules: ``sources``, ``urls``, ``ip_literals``, ``ssrf``, ``fetch``, ``errors``,
``html_media``, ``media_types``, ``email_addresses``, ``pacing`` (per-worker and shared per-host request
slots), ``source_credentials`` (a source secret's headers and cookies), ``server_country`` (RDAP country of a
server address), ``crawl_step``.
"""
