"""Recipient discovery: who a removal notice can go to, each candidate with where it was found.

Modules: ``resolve`` (address validation, the first resolver), ``discover`` (all sources together),
``platforms`` (the platform registry), ``site_contacts`` and ``text_addresses`` (what a site publishes),
``rdap`` and ``rdap_json`` (IP network and registrar abuse contacts), ``cdn`` (CDN fronting), ``domains``
(registered domains), ``fetching``, ``ttl_cache``, ``contact_form``.

Pure Python (no AWS).
"""
