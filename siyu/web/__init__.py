"""The console: server-rendered pages in zh-CN and en."""
