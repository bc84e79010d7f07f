"""Attachments of articles (附件: PDF, DOC(X), XLS(X), WPS, OFD, ZIP): stored as captures, listed, text searchable."""
