"""Reports over the analytics mirror: retention cohorts, funnels, active people, revenue, channels, AARRR.

File roles: ``models.py`` parses and checks what a report is asked (one parser for the API and the
CLI); ``calendar.py`` cuts days, weeks and months in the workspace's time zone; one pure module per
report shapes the figures (``retention.py`` ...) and its ``*_store.py`` holds the DuckDB SQL;
``run.py`` syncs the mirror and dispatches; ``export.py`` writes CSV and XLSX. The API router is
``siyu/analytics/reports_api.py``, the CLI ``siyu/analytics/reports_cli.py``, the console pages
``siyu/web/report_routes.py``.
"""
