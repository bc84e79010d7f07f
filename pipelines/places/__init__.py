"""Places: a registry `region` string as administrative levels (province → city → county) with codes."""
