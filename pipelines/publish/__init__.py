"""Publishing: Datasette (serve settings, plugin, templates) and WARC export."""
