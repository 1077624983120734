"""LLM layer, pure Python (no Dagster): one client over several backends, with a persistent
response cache, bounded adaptive concurrency, retries and usage / cost accounting."""
