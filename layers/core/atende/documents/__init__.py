"""Documents: PDF validation and inspection, OCR, entity extraction.

- :mod:`~atende.documents.pdf` — upload validation, page inspection, text layer.
- :mod:`~atende.documents.ocr` — the PaddleOCR adapter (explicit model dirs, never
  downloads).
- :mod:`~atende.documents.keys` — where a document's files live, and their purge.
- :mod:`~atende.documents.jobs` — the API's and the pipeline's use cases.
- :mod:`~atende.documents.contract_llm` — contract fields from the private LLM,
  each checked against the source text.
"""
