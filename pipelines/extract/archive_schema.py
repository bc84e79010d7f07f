"""The archive columns extraction v4 fills (migration 20, listed in pipelines/store/migrations.py).

articles.doc_number    发文字号 of a 政务公开 document ("某政发〔2023〕5号")
articles.index_no      索引号, the catalogue number of the disclosure system
articles.issuing_org   发文机关 / 发布机构 (a facet in Datasette)
articles.written_date  成文日期, the signing date (not the publication date: that is `published`)
articles.extraction    the extraction provenance as JSON (Article.provenance): extractor version,
                       where title / date / 来源 came from, lines removed per rule family, warnings
"""

from __future__ import annotations

import sqlite_utils

EXTRACTION_COLUMNS = {"doc_number": str, "index_no": str, "issuing_org": str, "written_date": str,
                      "extraction": str}


def add_extraction_columns(db: sqlite_utils.Database) -> None:
    """Migration 20: the catalogue fields and the provenance column, plus an index for the
    issuing_org facet. Idempotent (a column that exists is left alone)."""
    table = db["articles"]
    existing = set(table.columns_dict)
    for name, kind in EXTRACTION_COLUMNS.items():
        if name not in existing:
            table.add_column(name, kind)
    table.create_index(["issuing_org"], index_name="idx_articles_issuing_org", if_not_exists=True)
