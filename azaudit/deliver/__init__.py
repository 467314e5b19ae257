"""Delivery of finished reports: the e-mail summary with the report files attached.

`message` builds the e-mail from a `ScanResult` (pure), `smtp` sends it (the only network I/O),
`settings` reads the SMTP settings, `results_file` reads a results.json back for `azaudit send`,
and `mail` ties them together for the CLI and the scan pipeline.
"""
