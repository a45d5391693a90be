"""Crawling: source definitions, URL canonicalisation, the SSRF-safe fetcher, media extraction and
sniffing, and the one-page crawl step the crawl worker runs.

Pure Python (no AWS). Modules: ``sources``, ``urls``, ``ip_literals``, ``ssrf``, ``fetch``, ``errors``,
``html_media``, ``media_types``, ``email_addresses``, ``pacing``, ``crawl_step``.
"""
