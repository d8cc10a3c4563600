"""The online test course: every online asset of every notebook built in its real format (real file names, keys,
archive layouts; sizes scaled down only where the format does not change) and served from 127.0.0.1, so that the
online and auto paths run without the internet. ``python -m tests.online.run_course`` executes every notebook
against it; the suite uses the same builders for per-asset tests."""
